import CShim

/// Runs every probe once, on the given CPUs, and gathers `ProbeResults`.
/// Each probe forks its own pinned children (never the calling process):
/// one child on the first CPU for memcpy and the clock, a pair per CPU pair
/// for the cache line, and two pairs for the futex wake-up. With the default
/// sizes this takes well under 2 s on a 2-CPU machine; the cache-line matrix
/// grows with the square of the CPU count, so callers probe only the CPUs
/// their runs use.
public enum PhysicalProbes {
    public static func run(cpus requested: [Int]) throws(HarnessError) -> ProbeResults {
        var cpus: [Int] = []
        for cpu in requested where !cpus.contains(cpu) { cpus.append(cpu) }
        guard let first = cpus.first else { throw .invalidScenario("probes need at least one CPU") }
        let start = cshim_monotonic_ns()
        let single = try ProbeProcesses.run(cpus: [first]) { _ throws(HarnessError) in
            try MemcpyProbe.measureInChild().merging(ClockReadProbe.measureInChild()) { a, _ in a }
        }[0]
        let memcpy = try MemcpyProbe.results(from: single, cpu: first)
        guard let clock = single["clockReadNs"] else { throw .protocolViolation("clock probe reported no figure") }
        let cacheLine = try CacheLineProbe.measure(cpus: cpus)
        let wakeup = try FutexWakeProbe.measure(cpus: cpus)
        return ProbeResults(cacheLine: cacheLine, memcpy: memcpy, wakeup: wakeup, clockReadNs: clock,
                            seconds: Double(cshim_monotonic_ns() &- start) / 1e9)
    }

    /// The CPUs a run with this pinning lands on: the probes to run with it.
    /// Unpinned runs (`none`) get the CPUs `auto` would choose, where the
    /// scheduler most likely puts two busy processes.
    public static func cpus(for pin: PinPolicy, processes: Int = 2,
                            topology: some Topology = SystemTopology()) throws(HarnessError) -> [Int] {
        let policy = pin == .none ? .auto : pin
        let count = min(processes, max(1, topology.allowedCPUs.count))
        var cpus: [Int] = []
        for cpu in try Placement.resolve(policy, count: count, topology: topology).cpus.compactMap({ $0 })
        where !cpus.contains(cpu) { cpus.append(cpu) }
        return cpus
    }
}
