import CShim

/// The "about X ns of work on shared data" a lock holder does: a calibrated
/// number of read-modify-write steps over the arena's shared-data line.
///
/// A loop rather than a clock-bounded spin, so every lock gets the same amount
/// of work even when a holder is preempted mid-section. The steps use relaxed
/// atomic loads and stores only so the compiler keeps every one of them (it
/// may not merge or drop atomic accesses); under the lock nothing races. The
/// calibration runs on a cache-hot private line, so a holder that first has to
/// pull the shared line from the previous holder's cache pays that miss on
/// top, as any real critical section would.
public struct CriticalSectionWork: Sendable {
    /// Steps per critical section; 0 for `--critical-ns 0`.
    public let iterations: Int
    /// What one step cost when calibrated.
    public let nsPerIteration: Double

    public init(iterations: Int, nsPerIteration: Double) {
        self.iterations = iterations
        self.nsPerIteration = nsPerIteration
    }

    @inlinable
    public func run(on data: UnsafeMutablePointer<UInt64>) {
        var i = 0
        while i < iterations {
            let word = data + (i & 7)
            // Relaxed: runs under the lock, whose acquire and release order it.
            cshim_store_relaxed(word, cshim_load_relaxed(word) &+ 1)
            i &+= 1
        }
    }

    /// Times the steps in this (the parent) process: the best of five runs of
    /// 100 000 steps, the least disturbed by other processes.
    public static func calibrated(targetNs: Int) -> CriticalSectionWork {
        let steps = 100_000
        let probe = CriticalSectionWork(iterations: steps, nsPerIteration: 0)
        let line = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
        defer { line.deallocate() }
        line.initialize(repeating: 0, count: 8)
        var best = UInt64.max
        for _ in 0..<5 {
            let t0 = cshim_monotonic_ns()
            probe.run(on: line)
            best = min(best, cshim_monotonic_ns() &- t0)
        }
        let perStep = max(Double(best) / Double(steps), 0.01)
        let iterations = targetNs == 0 ? 0 : max(1, Int((Double(targetNs) / perStep).rounded()))
        return CriticalSectionWork(iterations: iterations, nsPerIteration: perStep)
    }
}
