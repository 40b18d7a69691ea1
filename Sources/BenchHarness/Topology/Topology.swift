import CPlacement

/// The CPUs and NUMA nodes this process may use. Behind a protocol so tests
/// can place processes on a fake many-node machine.
public protocol Topology: Sendable {
    /// CPUs the process may run on (its affinity mask), ascending.
    var allowedCPUs: [Int] { get }
    /// Configured NUMA nodes (1 without NUMA).
    var nodeCount: Int { get }
    /// The node a CPU belongs to.
    func node(ofCPU cpu: Int) -> Int
}

/// The machine we run on, read through sched_getaffinity and libnuma.
public struct SystemTopology: Topology {
    public let allowedCPUs: [Int]
    public let nodeCount: Int
    private let nodes: [Int: Int]

    public init() {
        var buffer = [Int32](repeating: 0, count: 4096)
        let n = cplacement_allowed_cpus(&buffer, Int32(buffer.count))
        allowedCPUs = n > 0 ? buffer[0..<Int(n)].map(Int.init) : [0]
        nodeCount = Int(cplacement_numa_node_count())
        var nodes: [Int: Int] = [:]
        for cpu in allowedCPUs { nodes[cpu] = max(0, Int(cplacement_numa_node_of_cpu(Int32(cpu)))) }
        self.nodes = nodes
    }

    public func node(ofCPU cpu: Int) -> Int { nodes[cpu] ?? 0 }
}

/// A topology given as data: for tests and for planning runs elsewhere.
public struct FakeTopology: Topology {
    public let allowedCPUs: [Int]
    public let nodeCount: Int
    private let nodeOfCPU: [Int: Int]

    /// `nodes[i]` lists the CPUs of node i.
    public init(nodes: [[Int]]) {
        var map: [Int: Int] = [:]
        for (node, cpus) in nodes.enumerated() { for cpu in cpus { map[cpu] = node } }
        nodeOfCPU = map
        allowedCPUs = map.keys.sorted()
        nodeCount = nodes.count
    }

    public func node(ofCPU cpu: Int) -> Int { nodeOfCPU[cpu] ?? 0 }
}
