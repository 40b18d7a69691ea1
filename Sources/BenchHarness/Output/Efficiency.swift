/// How close a run came to the machine's physical limit (docs/design.md,
/// "Physical limits and efficiency"):
///
/// - roundtrip runs: the cache-line round trip between the two CPUs the run
///   was pinned to, divided by the run's p50 round trip. A message round trip
///   must move at least one line there and one back, so 100% is the floor no
///   shared-memory transport can beat. A transport with one line per
///   direction (two rings, each written by one side) meets a higher floor,
///   the probes' `twoLineRoundTripNs` (about 1.5x the one-line figure here),
///   which the results carry beside this one.
/// - throughput runs: the run's bandwidth (bytes/s, median) divided by one
///   core's memcpy bandwidth at the probed size closest to the run's working
///   set: message size × ring capacity for transports with a capacity (the
///   bytes in flight between the two cores), else the message size.
public struct RunEfficiency: Codable, Sendable, Equatable {
    public enum Limit: String, Codable, Sendable {
        case cacheLineRoundTrip, memcpy
    }

    public var limit: Limit
    /// The limit: ns for `cacheLineRoundTrip`, bytes/s for `memcpy`.
    public var limitValue: Double
    /// What was compared with it: p50 ns, or median bytes/s.
    public var measuredValue: Double
    /// 1.0 means the run reached the limit; 0.25 means a quarter of it.
    public var fraction: Double
    /// The CPU pair whose round trip was the limit (roundtrip runs).
    public var cpus: [Int]?
    /// The memcpy size used and the working set it was matched to (throughput runs).
    public var memcpyBytes: Int?
    public var workingSetBytes: Int?

    /// The efficiency of `run` against `probes`, or nil when no limit applies
    /// (both processes on one CPU, a CPU that was not probed, no samples).
    public static func of(_ run: RunRecord, probes: ProbeResults, usesCapacity: Bool) -> RunEfficiency? {
        let s = run.scenario
        switch s.mode {
        case .roundtrip:
            guard let p50 = run.summary.latencyNs?.p50, p50 > 0 else { return nil }
            let pinned = s.placement.map(\.cpu)
            let limit: (cpus: [Int], ns: Double)?
            if pinned.count >= 2, let a = pinned[0], let b = pinned[1] {
                limit = a == b ? nil : probes.cacheLine.roundTrip(between: a, b).map { ([a, b], $0) }
            } else {
                // Unpinned: the scheduler may pick any pair; the fastest is the limit.
                limit = probes.cacheLine.bestRoundTrip
            }
            guard let limit else { return nil }
            return RunEfficiency(limit: .cacheLineRoundTrip, limitValue: limit.ns, measuredValue: Double(p50),
                                 fraction: limit.ns / Double(p50), cpus: limit.cpus)
        case .throughput:
            let workingSet = workingSetBytes(s, usesCapacity: usesCapacity)
            guard let copy = probes.memcpy(closestTo: workingSet), copy.bytesPerSecond > 0 else { return nil }
            let measured = run.summary.bytesPerSecond.median
            return RunEfficiency(limit: .memcpy, limitValue: copy.bytesPerSecond, measuredValue: measured,
                                 fraction: measured / copy.bytesPerSecond, memcpyBytes: copy.bytes,
                                 workingSetBytes: workingSet)
        }
    }

    /// Bytes a throughput run keeps moving between the two cores.
    public static func workingSetBytes(_ s: Scenario, usesCapacity: Bool) -> Int {
        let (bytes, overflow) = s.messageSize.multipliedReportingOverflow(by: usesCapacity ? max(1, s.capacity) : 1)
        return overflow ? .max : bytes
    }
}
