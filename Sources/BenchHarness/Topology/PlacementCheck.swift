import CPlacement
import ShmRing

/// Applies a run's memory policy to the shared memory a transport creates.
///
/// The seam is the transport's creation in the parent: with the thread's
/// policy set (set_mempolicy), every page the creator faults in lands where
/// the policy says. `SharedRegion.create` touches every page before it
/// returns (`RegionOptions.prefault`, on by default), so no page of a ring is
/// ever first touched elsewhere; shared memory (shmem: SysV segments, /dev/shm
/// files, anonymous shared mappings) keeps its pages' nodes for every process
/// that maps it. ShmRing itself knows nothing of NUMA. The check afterwards
/// (`PageCensus`) is what proves it.
public enum MemoryBinding {
    public static func whileCreating<R>(_ policy: MemoryPolicy?, _ body: () throws(HarnessError) -> R) throws(HarnessError) -> R {
        guard let policy else { return try body() }
        let nodes = policy.nodes.map(Int32.init)
        guard cplacement_set_memory_policy(nodes, Int32(nodes.count), policy.mode == .interleave ? 1 : 0) == 0 else {
            throw .lastErrno("set_mempolicy(\(policy.mode.rawValue), nodes \(policy.nodes.map(String.init).joined(separator: ",")))")
        }
        defer { _ = cplacement_reset_memory_policy() }
        return try body()
    }
}

/// Where a process ran, as it saw it at the end of its loop.
public struct ProcessLocation: Codable, Sendable, Equatable {
    /// The CPU it was running on (sched_getcpu).
    public var cpu: Int
    /// That CPU's node.
    public var node: Int
    /// Its affinity mask.
    public var allowedCPUs: [Int]

    public init(cpu: Int, node: Int, allowedCPUs: [Int]) {
        self.cpu = cpu
        self.node = node
        self.allowedCPUs = allowedCPUs
    }

    /// Asks the kernel, in the calling process.
    public static func current() -> ProcessLocation {
        let cpu = Int(cplacement_current_cpu())
        var buffer = [Int32](repeating: 0, count: 4096)
        let n = cplacement_allowed_cpus(&buffer, Int32(buffer.count))
        return ProcessLocation(cpu: cpu, node: cpu >= 0 ? Int(cplacement_numa_node_of_cpu(Int32(cpu))) : -1,
                               allowedCPUs: n > 0 ? buffer[0..<Int(n)].map(Int.init) : [])
    }
}

/// Where the pages of some memory are, as the kernel reports them (move_pages).
public struct PageCensus: Codable, Sendable, Equatable {
    /// Pages counted (every page of every region).
    public var pages: Int
    /// Pages per node; keys are node numbers (strings, for JSON).
    public var byNode: [String: Int]
    /// Pages the kernel placed on no node (not present, or the query failed).
    public var unknown: Int
    /// The regions counted.
    public var regions: Int

    public init(pages: Int, byNode: [String: Int], unknown: Int, regions: Int) {
        self.pages = pages
        self.byNode = byNode
        self.unknown = unknown
        self.regions = regions
    }

    /// Asks the kernel for every page of `ranges` (mapped in this process).
    public static func of(_ ranges: [UnsafeRawBufferPointer]) -> PageCensus {
        var census = PageCensus(pages: 0, byNode: [:], unknown: 0, regions: ranges.count)
        for range in ranges {
            guard let base = range.baseAddress, range.count > 0 else { continue }
            var nodes = [Int32](repeating: -1, count: range.count / 4096 + 2)
            let pages = cplacement_page_nodes(base, range.count, &nodes, nodes.count)
            guard pages > 0 else { continue }
            census.pages += pages
            for node in nodes.prefix(min(pages, nodes.count)) {
                if node >= 0 { census.byNode[String(node), default: 0] += 1 } else { census.unknown += 1 }
            }
            if pages > nodes.count { census.unknown += pages - nodes.count }
        }
        return census
    }

    /// Pages on `node`.
    public func count(onNode node: Int) -> Int { byNode[String(node)] ?? 0 }
}

/// What one repetition observed: where each process ran, where the pages were.
public struct PlacementObservation: Sendable {
    public var processes: [ObservedProcess]
    /// Nil for transports without shared memory of their own.
    public var pages: PageCensus?
}

/// One process: where it was meant to run and where it ran.
public struct ObservedProcess: Codable, Sendable, Equatable {
    /// "producer 0", "consumer 1".
    public var role: String
    /// The CPU it was pinned to; nil when unpinned.
    public var plannedCPU: Int?
    /// Where it ran; nil if the child sent no location.
    public var ran: ProcessLocation?
}

/// The placement part of a run's result: asked for, resolved, observed, and
/// whether they agree (docs/results-format.md, docs/numa.md).
public struct PlacementReport: Codable, Sendable {
    /// The flags as given; absent when not given.
    public var requested: RequestedPlacement
    /// The memory policy `--memory-node` resolved to (local-producer becomes
    /// a bind to that producer's node); absent without `--memory-node`.
    public var memoryPolicy: MemoryPolicy?
    /// Every process of the last measured repetition.
    public var processes: [ObservedProcess]
    /// Where the transport's pages were after the last measured repetition;
    /// absent for transports without shared memory.
    public var pages: PageCensus?
    /// True when every process ran on its planned CPU and node and every page
    /// is where the memory policy asked, in every repetition.
    public var matches: Bool
    /// One line per disagreement (deduplicated over repetitions).
    public var mismatches: [String]?

    public struct RequestedPlacement: Codable, Sendable, Equatable {
        public var producerNode: Int?
        public var consumerNode: Int?
        /// "K", "local-producer", "local-consumer" or "interleave".
        public var memoryNode: String?
    }

    /// Compares every repetition's observation with the request.
    public static func check(request: PlacementRequest, memory: MemoryPolicy?, producers: Int,
                             observations: [PlacementObservation]) -> PlacementReport {
        var mismatches: [String] = []
        for observation in observations {
            for line in problems(request: request, memory: memory, producers: producers, observation: observation)
            where !mismatches.contains(line) {
                mismatches.append(line)
            }
        }
        let last = observations.last
        return PlacementReport(
            requested: RequestedPlacement(producerNode: request.producerNode, consumerNode: request.consumerNode,
                                          memoryNode: request.memory?.description),
            memoryPolicy: memory, processes: last?.processes ?? [], pages: last?.pages,
            matches: mismatches.isEmpty, mismatches: mismatches.isEmpty ? nil : mismatches)
    }

    static func problems(request: PlacementRequest, memory: MemoryPolicy?, producers: Int,
                         observation: PlacementObservation) -> [String] {
        var problems: [String] = []
        for (index, process) in observation.processes.enumerated() {
            guard let ran = process.ran else {
                problems.append("\(process.role): did not report where it ran")
                continue
            }
            if let planned = process.plannedCPU, ran.cpu != planned || ran.allowedCPUs != [planned] {
                problems.append("\(process.role): pinned to CPU \(planned) but ran on CPU \(ran.cpu) (allowed \(ran.allowedCPUs.map(String.init).joined(separator: ",")))")
            }
            if let node = index < producers ? request.producerNode : request.consumerNode, ran.node != node {
                problems.append("\(process.role): asked for node \(node), ran on node \(ran.node) (CPU \(ran.cpu))")
            }
        }
        guard let memory else { return problems }
        guard let pages = observation.pages, pages.pages > 0 else {
            problems.append("memory: the transport exposes no shared memory whose pages could be checked")
            return problems
        }
        let elsewhere = pages.byNode.filter { !memory.nodes.contains(Int($0.key) ?? -1) }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        let asked = memory.nodes.map(String.init).joined(separator: ",")
        if pages.unknown > 0 { problems.append("memory: \(pages.unknown) of \(pages.pages) pages on no node the kernel reports") }
        if !elsewhere.isEmpty {
            let where_ = elsewhere.map { "\($0.1) on node \($0.0)" }.joined(separator: ", ")
            problems.append("memory: \(memory.mode.rawValue) to node \(asked) but \(where_) (of \(pages.pages) pages)")
        }
        if memory.mode == .interleave, memory.nodes.count > 1, pages.pages >= memory.nodes.count * 2 {
            // Interleaving deals pages round-robin per region: per node, the
            // counts differ by at most one page per region.
            let counts = memory.nodes.map { pages.count(onNode: $0) }
            if counts.max()! - counts.min()! > pages.regions + pages.pages / 16 {
                problems.append("memory: interleave over nodes \(asked) is uneven: \(zip(memory.nodes, counts).map { "node \($0): \($1)" }.joined(separator: ", ")) pages")
            }
        }
        return problems
    }
}

extension SharedRegion {
    /// The whole mapping, for the page census.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
