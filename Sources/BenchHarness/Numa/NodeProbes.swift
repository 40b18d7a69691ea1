/// Cache-line round trips grouped by node pair: `CacheLineProbe` over up to
/// two CPUs of every node, then, per pair of nodes, the fastest round trip
/// between a CPU of one and a (different) CPU of the other.
public struct NodeCacheLine: Codable, Sendable {
    /// The CPU-level matrix the node figures come from.
    public var perCPU: CacheLineLatency
    /// The node of each CPU of `perCPU.cpus`.
    public var nodeOfCPU: [Int]
    /// The nodes of `roundTripNs`, in row and column order.
    public var nodes: [Int]
    /// roundTripNs[a][b]: fastest round trip between distinct CPUs of nodes
    /// a and b, ns; nil where no such pair exists (a node with one CPU, on the diagonal).
    public var roundTripNs: [[Double?]]

    public static let cpusPerNode = 2

    static func measure(topology: some Topology) throws(HarnessError) -> NodeCacheLine {
        let nodes = topology.nodes.map(\.id).filter { !topology.allowedCPUs(ofNode: $0).isEmpty }
        let cpus = nodes.flatMap { topology.allowedCPUs(ofNode: $0).prefix(cpusPerNode) }
        let matrix = try CacheLineProbe.measure(cpus: cpus)
        return grouped(matrix, nodes: nodes, topology: topology)
    }

    static func grouped(_ matrix: CacheLineLatency, nodes: [Int], topology: some Topology) -> NodeCacheLine {
        let nodeOfCPU = matrix.cpus.map { topology.node(ofCPU: $0) }
        let byNode: [[Double?]] = nodes.map { a in
            nodes.map { b in
                var best: Double?
                for (i, row) in matrix.roundTripNs.enumerated() where i < nodeOfCPU.count && nodeOfCPU[i] == a {
                    for (j, cell) in row.enumerated() where j < nodeOfCPU.count && nodeOfCPU[j] == b {
                        if let ns = cell { best = min(best ?? ns, ns) }
                    }
                }
                return best
            }
        }
        return NodeCacheLine(perCPU: matrix, nodeOfCPU: nodeOfCPU, nodes: nodes, roundTripNs: byNode)
    }
}

/// memcpy bandwidth of one core of `cpuNode` with both buffers bound to
/// `memoryNode`: at 64 MiB, far beyond the caches, what crossing the
/// interconnect costs a bulk copy.
public struct NodeMemcpy: Codable, Sendable {
    public var cpuNode: Int
    public var memoryNode: Int
    public var cpu: Int
    public var bytes: Int
    public var bytesPerSecond: Double
    /// This figure over the same CPU node's local-memory figure.
    public var ratioToLocal: Double?
    /// Pages of both buffers, and how many of them were on `memoryNode`.
    public var pages: Int
    public var pagesOnMemoryNode: Int
    /// Pages per node (keys: node numbers) and pages on no node.
    public var pagesByNode: [String: Int]
    public var unknownPages: Int
    public var placementMatches: Bool

    public static let bytes = 64 << 20

    static func measure(topology: some Topology) throws(HarnessError) -> [NodeMemcpy] {
        let cpuNodes = topology.nodes.map(\.id).filter { !topology.allowedCPUs(ofNode: $0).isEmpty }
        let memoryNodes = topology.nodes.filter { $0.memoryBytes > 0 }.map(\.id)
        var results: [NodeMemcpy] = []
        for cpuNode in cpuNodes {
            let cpu = topology.allowedCPUs(ofNode: cpuNode)[0]
            for memoryNode in memoryNodes {
                let policy = MemoryPolicy(mode: .bind, nodes: [memoryNode])
                let figures = try ProbeProcesses.run(cpus: [cpu]) { _ throws(HarnessError) in
                    try MemoryBinding.whileCreating(policy) { () throws(HarnessError) in
                        try MemcpyProbe.measureInChild(sizes: [bytes]) { source, destination in
                            let census = PageCensus.of([source, destination])
                            var figures = ["pages": Double(census.pages), "unknown": Double(census.unknown)]
                            for (node, count) in census.byNode { figures["node.\(node)"] = Double(count) }
                            return figures
                        }
                    }
                }[0]
                let pages = Int(figures["pages"] ?? 0)
                var byNode: [String: Int] = [:]
                for (key, count) in figures where key.hasPrefix("node.") { byNode[String(key.dropFirst(5))] = Int(count) }
                let onNode = byNode[String(memoryNode)] ?? 0
                results.append(NodeMemcpy(cpuNode: cpuNode, memoryNode: memoryNode, cpu: cpu, bytes: bytes,
                                          bytesPerSecond: figures["memcpy.\(bytes)"] ?? 0, ratioToLocal: nil,
                                          pages: pages, pagesOnMemoryNode: onNode, pagesByNode: byNode,
                                          unknownPages: Int(figures["unknown"] ?? 0),
                                          placementMatches: pages > 0 && pages == onNode))
            }
        }
        for i in results.indices {
            if let local = results.first(where: { $0.cpuNode == results[i].cpuNode && $0.memoryNode == $0.cpuNode }),
               local.bytesPerSecond > 0 {
                results[i].ratioToLocal = results[i].bytesPerSecond / local.bytesPerSecond
            }
        }
        return results
    }
}
