import CShim

/// What one harness timestamp costs: back-to-back `cshim_monotonic_ns` calls
/// (clock_gettime(CLOCK_MONOTONIC) through the vDSO), timed in batches; the
/// figure is the fastest batch's time per call. The roundtrip loop reads the
/// clock twice per round trip, so twice this is part of every latency.
public enum ClockReadProbe {
    static let callsPerBatch = 20_000
    static let batches = 10

    /// Runs in a probe child: figure "clockReadNs".
    static func measureInChild() -> [String: Double] {
        var best = Double.infinity
        for _ in 0..<batches {
            let start = cshim_monotonic_ns()
            for _ in 0..<callsPerBatch { _ = cshim_monotonic_ns() } // an opaque C call: never elided
            let end = cshim_monotonic_ns()
            // One of the calls counted is the final one: callsPerBatch + 1 reads.
            best = min(best, Double(end &- start) / Double(callsPerBatch + 1))
        }
        return ["clockReadNs": best]
    }
}
