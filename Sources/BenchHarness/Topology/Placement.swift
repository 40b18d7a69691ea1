/// How processes are pinned to CPUs (`--pin`).
public enum PinPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Distinct CPUs, spread over NUMA nodes when there are several.
    case auto
    /// No pinning: the scheduler decides.
    case none
    /// Process i runs on `cpus[i % cpus.count]`.
    case cpus([Int])

    /// Parses "auto", "none" or a comma-separated CPU list like "0,1".
    public init(parsing text: String) throws(HarnessError) {
        switch text {
        case "auto": self = .auto
        case "none": self = .none
        default:
            var cpus: [Int] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let cpu = Int(String(part.filter { $0 != " " })), cpu >= 0 else {
                    throw .invalidScenario("--pin takes 'auto', 'none' or a list of CPU numbers like 0,1; got '\(text)'")
                }
                cpus.append(cpu)
            }
            self = .cpus(cpus)
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .none: "none"
        case let .cpus(list): list.map(String.init).joined(separator: ",")
        }
    }
}

/// Where each process will run. `cpu` nil means unpinned.
public struct Placement: Sendable, Equatable {
    public var cpus: [Int?]
    /// True when more processes run than there are CPUs to give them.
    public var oversubscribed: Bool
    /// The policy for the run's shared memory (`--memory-node`); nil: first touch.
    public var memory: MemoryPolicy? = nil

    /// Chooses a CPU for each of `count` processes.
    ///
    /// `auto` walks the nodes round-robin and takes the next unused CPU of
    /// each, so two processes land on different nodes when there are several
    /// (the cross-node cost is what users want to see first), and on distinct
    /// CPUs while there are enough. With more processes than CPUs it wraps and
    /// reports oversubscription.
    public static func resolve(_ policy: PinPolicy, count: Int, topology: some Topology) throws(HarnessError) -> Placement {
        let allowed = topology.allowedCPUs
        switch policy {
        case .none:
            return Placement(cpus: Array(repeating: nil, count: count), oversubscribed: count > allowed.count)
        case let .cpus(list):
            guard !list.isEmpty else { throw .invalidScenario("--pin needs at least one CPU") }
            for cpu in list where !allowed.contains(cpu) {
                throw .invalidScenario("--pin: CPU \(cpu) is not available to this process (allowed: \(allowed.map(String.init).joined(separator: ",")))")
            }
            let cpus = (0..<count).map { list[$0 % list.count] }
            return Placement(cpus: cpus, oversubscribed: Set(cpus).count < count)
        case .auto:
            var byNode: [Int: [Int]] = [:]
            for cpu in allowed { byNode[topology.node(ofCPU: cpu), default: []].append(cpu) }
            let nodes = byNode.keys.sorted()
            // Interleave: first CPU of each node, then second of each, ...
            var order: [Int] = []
            let depth = byNode.values.map(\.count).max() ?? 0
            for i in 0..<depth { for node in nodes where i < byNode[node]!.count { order.append(byNode[node]![i]) } }
            guard !order.isEmpty else { throw .invalidScenario("no CPU is available to this process") }
            let cpus = (0..<count).map { order[$0 % order.count] }
            return Placement(cpus: cpus, oversubscribed: count > order.count)
        }
    }
}
