/// Where the ring's memory should live (`--memory-node`).
public enum MemoryNodeRequest: Sendable, Equatable, CustomStringConvertible {
    /// Bind every page to this node.
    case node(Int)
    /// Bind to the node producer 0 runs on.
    case localProducer
    /// Bind to the node consumer 0 runs on.
    case localConsumer
    /// Spread pages round-robin over every node that has memory.
    case interleave

    /// Parses "K", "local-producer", "local-consumer" or "interleave".
    public init(parsing text: String) throws(HarnessError) {
        switch text {
        case "local-producer": self = .localProducer
        case "local-consumer": self = .localConsumer
        case "interleave": self = .interleave
        default:
            guard let node = Int(text), node >= 0 else {
                throw .invalidScenario("--memory-node takes a node number, local-producer, local-consumer or interleave; got '\(text)'")
            }
            self = .node(node)
        }
    }

    public var description: String {
        switch self {
        case let .node(node): "\(node)"
        case .localProducer: "local-producer"
        case .localConsumer: "local-consumer"
        case .interleave: "interleave"
        }
    }
}

/// What the user asked for with `--producer-node`, `--consumer-node` and
/// `--memory-node`. Empty means: place as `--pin` says, memory where first touched.
public struct PlacementRequest: Sendable, Equatable {
    public var producerNode: Int?
    public var consumerNode: Int?
    public var memory: MemoryNodeRequest?
    /// Fail the run when the observed placement differs from the requested one
    /// (`--strict-placement`); otherwise warn.
    public var strict: Bool

    public init(producerNode: Int? = nil, consumerNode: Int? = nil, memory: MemoryNodeRequest? = nil, strict: Bool = false) {
        self.producerNode = producerNode
        self.consumerNode = consumerNode
        self.memory = memory
        self.strict = strict
    }

    public var isEmpty: Bool { producerNode == nil && consumerNode == nil && memory == nil }
}

/// The memory policy a run applies while it creates its shared memory.
public struct MemoryPolicy: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Every page on one of `nodes` (MPOL_BIND).
        case bind
        /// Pages round-robin over `nodes` (MPOL_INTERLEAVE).
        case interleave
    }
    public var mode: Mode
    public var nodes: [Int]

    public init(mode: Mode, nodes: [Int]) {
        self.mode = mode
        self.nodes = nodes
    }
}

extension Placement {
    /// Chooses a CPU for every producer and consumer, and the memory policy.
    ///
    /// Without a node request this is `resolve(_:count:topology:)`. With
    /// `--producer-node N`, every producer takes the next CPU of node N that
    /// no other process took (likewise consumers), so several processes on
    /// one node spread over its CPUs; a process with no node of its own takes
    /// the next free CPU in `--pin auto` order. Node requests need `--pin auto`.
    public static func resolve(_ policy: PinPolicy, producers: Int, consumers: Int, request: PlacementRequest,
                               topology: some Topology) throws(HarnessError) -> Placement {
        let count = producers + consumers
        var placement: Placement
        if request.producerNode == nil && request.consumerNode == nil {
            placement = try resolve(policy, count: count, topology: topology)
        } else {
            guard policy == .auto else {
                throw .invalidScenario("--producer-node and --consumer-node choose CPUs themselves: use them with --pin auto, not --pin \(policy)")
            }
            let wanted = (0..<count).map { $0 < producers ? request.producerNode : request.consumerNode }
            for (flag, node) in [("--producer-node", request.producerNode), ("--consumer-node", request.consumerNode)] {
                guard let node else { continue }
                try checkCPUs(flag: flag, node: node, topology: topology)
            }
            placement = try spread(wanted: wanted, topology: topology)
        }
        if let memory = request.memory {
            placement.memory = try memoryPolicy(memory, producerCPU: placement.cpus.first ?? nil,
                                                consumerCPU: placement.cpus.count > producers ? placement.cpus[producers] : nil,
                                                topology: topology)
        }
        return placement
    }

    /// Gives each process a CPU of its wanted node (nil: any node), distinct
    /// while there are enough, node-requested processes first.
    private static func spread(wanted: [Int?], topology: some Topology) throws(HarnessError) -> Placement {
        let autoOrder = try resolve(.auto, count: topology.allowedCPUs.count, topology: topology).cpus.compactMap { $0 }
        var cpus = [Int?](repeating: nil, count: wanted.count)
        var taken = Set<Int>()
        var oversubscribed = false
        func take(from candidates: [Int], index: Int) {
            if let free = candidates.first(where: { !taken.contains($0) }) {
                cpus[index] = free
            } else {
                // More processes than CPUs: wrap around the candidates.
                oversubscribed = true
                let used = cpus.compactMap { $0 }.filter { candidates.contains($0) }.count
                cpus[index] = candidates[used % candidates.count]
            }
            taken.insert(cpus[index]!)
        }
        for (index, node) in wanted.enumerated() {
            if let node { take(from: topology.allowedCPUs(ofNode: node), index: index) }
        }
        for (index, node) in wanted.enumerated() where node == nil { take(from: autoOrder, index: index) }
        return Placement(cpus: cpus, oversubscribed: oversubscribed)
    }

    private static func checkNodeExists(flag: String, node: Int, topology: some Topology) throws(HarnessError) -> NodeInfo {
        guard let info = topology.node(node) else {
            throw .invalidScenario("\(flag) \(node): no such NUMA node (this machine has \(topology.nodeListDescription))")
        }
        return info
    }

    private static func checkCPUs(flag: String, node: Int, topology: some Topology) throws(HarnessError) {
        let info = try checkNodeExists(flag: flag, node: node, topology: topology)
        guard !topology.allowedCPUs(ofNode: node).isEmpty else {
            let why = info.cpus.isEmpty ? "it has no CPUs" : "none of its CPUs (\(info.cpus.map(String.init).joined(separator: ","))) is in this process's affinity mask"
            throw .invalidScenario("\(flag) \(node): cannot run there: \(why)")
        }
    }

    private static func memoryPolicy(_ request: MemoryNodeRequest, producerCPU: Int?, consumerCPU: Int?,
                                     topology: some Topology) throws(HarnessError) -> MemoryPolicy {
        let node: Int
        switch request {
        case .interleave:
            let nodes = topology.nodes.filter { $0.memoryBytes > 0 }.map(\.id)
            guard !nodes.isEmpty else { throw .invalidScenario("--memory-node interleave: no node has memory") }
            return MemoryPolicy(mode: .interleave, nodes: nodes)
        case let .node(k):
            node = k
        case .localProducer:
            guard let cpu = producerCPU else {
                throw .invalidScenario("--memory-node local-producer needs the producer pinned (use --pin auto or --producer-node)")
            }
            node = topology.node(ofCPU: cpu)
        case .localConsumer:
            guard let cpu = consumerCPU else {
                throw .invalidScenario("--memory-node local-consumer needs the consumer pinned (use --pin auto or --consumer-node)")
            }
            node = topology.node(ofCPU: cpu)
        }
        let info = try checkNodeExists(flag: "--memory-node", node: node, topology: topology)
        guard info.memoryBytes > 0 else {
            throw .invalidScenario("--memory-node \(request): node \(node) has no memory")
        }
        return MemoryPolicy(mode: .bind, nodes: [node])
    }
}
