import CPlacement
import Foundation

/// The CPUs and NUMA nodes this process may use. Behind a protocol so tests
/// can place processes on a fake many-node machine.
public protocol Topology: Sendable {
    /// CPUs the process may run on (its affinity mask), ascending.
    var allowedCPUs: [Int] { get }
    /// Configured NUMA nodes (1 without NUMA).
    var nodeCount: Int { get }
    /// The node a CPU belongs to.
    func node(ofCPU cpu: Int) -> Int
    /// Every online node: its CPUs, its memory and its distances.
    var nodes: [NodeInfo] { get }
}

extension Topology {
    /// The node with this id, if it is online.
    public func node(_ id: Int) -> NodeInfo? { nodes.first { $0.id == id } }

    /// The node's CPUs this process may run on, ascending.
    public func allowedCPUs(ofNode id: Int) -> [Int] {
        allowedCPUs.filter { node(ofCPU: $0) == id }
    }

    /// "node 0" or "nodes 0, 1": for error messages.
    var nodeListDescription: String {
        let ids = nodes.map(\.id)
        return ids.count == 1 ? "node \(ids[0])" : "nodes " + ids.map(String.init).joined(separator: ", ")
    }
}

/// One NUMA node as the kernel describes it under /sys/devices/system/node.
public struct NodeInfo: Codable, Sendable, Equatable {
    public var id: Int
    /// Every online CPU of the node (not only those this process may use).
    public var cpus: [Int]
    /// MemTotal of the node; 0 for a node without memory (CPUs only).
    public var memoryBytes: UInt64
    /// Distance to each node, in the order of `Topology.nodes` (10 is local;
    /// the firmware's SLIT table, as /sys/devices/system/node/nodeN/distance).
    public var distances: [Int]

    public init(id: Int, cpus: [Int], memoryBytes: UInt64, distances: [Int]) {
        self.id = id
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.distances = distances
    }
}

/// The machine we run on, read through sched_getaffinity, libnuma and sysfs.
public struct SystemTopology: Topology {
    public let allowedCPUs: [Int]
    public let nodeCount: Int
    public let nodes: [NodeInfo]
    private let nodeOfCPU: [Int: Int]

    public init() {
        var buffer = [Int32](repeating: 0, count: 4096)
        let n = cplacement_allowed_cpus(&buffer, Int32(buffer.count))
        allowedCPUs = n > 0 ? buffer[0..<Int(n)].map(Int.init) : [0]
        nodeCount = Int(cplacement_numa_node_count())
        var nodes: [Int: Int] = [:]
        for cpu in allowedCPUs { nodes[cpu] = max(0, Int(cplacement_numa_node_of_cpu(Int32(cpu)))) }
        self.nodeOfCPU = nodes
        self.nodes = Self.readNodes(root: "/sys/devices/system/node") ?? [Self.singleNode(cpus: allowedCPUs)]
    }

    public func node(ofCPU cpu: Int) -> Int { nodeOfCPU[cpu] ?? 0 }

    /// The online nodes under `root`, or nil on a kernel without NUMA sysfs.
    static func readNodes(root: String) -> [NodeInfo]? {
        guard let online = read(root + "/online").flatMap(CPUList.parse), !online.isEmpty else { return nil }
        return online.map { id in
            let dir = "\(root)/node\(id)"
            let distances = (read(dir + "/distance") ?? "").split(separator: " ").compactMap { Int($0) }
            return NodeInfo(id: id, cpus: read(dir + "/cpulist").flatMap(CPUList.parse) ?? [],
                            memoryBytes: read(dir + "/meminfo").map(memTotal) ?? 0, distances: distances)
        }
    }

    /// A machine without NUMA: node 0 holds every CPU and all memory.
    static func singleNode(cpus: [Int]) -> NodeInfo {
        let memory = read("/proc/meminfo").map(memTotal) ?? 0
        return NodeInfo(id: 0, cpus: cpus, memoryBytes: memory, distances: [10])
    }

    /// "Node 0 MemTotal:  8218828 kB" (or /proc/meminfo's "MemTotal: ... kB") in bytes.
    static func memTotal(_ text: String) -> UInt64 {
        for line in text.split(separator: "\n") where line.contains("MemTotal:") {
            let fields = line.split(separator: " ")
            if let kb = fields.dropLast().last.flatMap({ UInt64($0) }) { return kb * 1024 }
        }
        return 0
    }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A topology given as data: for tests and for planning runs elsewhere.
public struct FakeTopology: Topology {
    public let allowedCPUs: [Int]
    public let nodeCount: Int
    public let nodes: [NodeInfo]
    private let nodeOfCPU: [Int: Int]

    /// `nodes[i]` lists the CPUs of node i; `memoryBytes[i]` its memory
    /// (default 1 GiB each). Distances are 10 local, 20 remote.
    public init(nodes: [[Int]], memoryBytes: [UInt64]? = nil) {
        var map: [Int: Int] = [:]
        for (node, cpus) in nodes.enumerated() { for cpu in cpus { map[cpu] = node } }
        nodeOfCPU = map
        allowedCPUs = map.keys.sorted()
        nodeCount = nodes.count
        self.nodes = nodes.enumerated().map { id, cpus in
            NodeInfo(id: id, cpus: cpus, memoryBytes: memoryBytes?[id] ?? 1 << 30,
                     distances: nodes.indices.map { $0 == id ? 10 : 20 })
        }
    }

    public func node(ofCPU cpu: Int) -> Int { nodeOfCPU[cpu] ?? 0 }
}

/// The kernel's list format: "0-3,8,10-11".
public enum CPUList {
    public static func parse(_ text: String) -> [Int]? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        var result: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard let low = bounds.first.flatMap({ Int($0) }), low >= 0 else { return nil }
            let high = bounds.count == 2 ? Int(bounds[1]) : (bounds.count == 1 ? low : nil)
            guard let high, high >= low, high - low < 1 << 16 else { return nil }
            result.append(contentsOf: low...high)
        }
        return result
    }
}
