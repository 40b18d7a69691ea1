/// `ringbench numa`: the placement study. For every producer node x consumer
/// node x memory node, the ring (`spsc`) at 8 B and 64 KiB in throughput
/// mode and its 8 B round trip, each compared with the all-local placement;
/// then the probes per node pair: the cache-line round trip between CPUs of
/// two nodes, and memcpy with its buffers on the local and on a remote node.
/// Every run and probe checks where its processes and pages were
/// (`PlacementReport`), so a figure is never attributed to a placement it
/// did not have.
public enum NumaStudy {
    public struct Options: Sendable {
        public var backing: String
        public var secondsPerRepetition: Double
        public var repetitions: Int
        public var warmup: Int
        public var probes: Bool
        public var topology: any Topology

        public init(backing: String = "sysv", secondsPerRepetition: Double = 0.2, repetitions: Int = 3, warmup: Int = 1,
                    probes: Bool = true, topology: any Topology = SystemTopology()) {
            self.backing = backing
            self.secondsPerRepetition = secondsPerRepetition
            self.repetitions = repetitions
            self.warmup = warmup
            self.probes = probes
            self.topology = topology
        }
    }

    /// The three measurements of every placement.
    public static func scenarios(backing: String, seconds: Double) -> [Scenario] {
        [(8, Scenario.Mode.throughput), (65536, .throughput), (8, .roundtrip)].map { size, mode in
            Scenario(transport: SPSCTransport.name, backing: backing, messageSize: size, messages: nil, durationSeconds: seconds,
                     capacity: SuitePlan.capacity(messageSize: size), batch: 1, mode: mode)
        }
    }

    /// Every (producer node, consumer node, memory node): CPU nodes for the
    /// processes, nodes with memory for the ring, all-local ones first.
    public static func placements(topology: some Topology) -> [(producer: Int, consumer: Int, memory: Int)] {
        let cpuNodes = topology.nodes.map(\.id).filter { !topology.allowedCPUs(ofNode: $0).isEmpty }
        let memoryNodes = topology.nodes.filter { $0.memoryBytes > 0 }.map(\.id)
        var result: [(producer: Int, consumer: Int, memory: Int)] = []
        for p in cpuNodes { for c in cpuNodes { for m in memoryNodes { result.append((p, c, m)) } } }
        return result
    }

    /// Runs the study; `progress` hears about each step.
    public static func run(_ options: Options, progress: (String) -> Void) throws(HarnessError) -> (runs: [RunRecord], study: NumaStudyResult) {
        let topology = options.topology
        let placements = placements(topology: topology)
        guard !placements.isEmpty else { throw .invalidScenario("no NUMA node has both CPUs this process may use and memory") }
        var runs: [RunRecord] = []
        var rows: [NumaPlacementResult] = []
        for (index, p) in placements.enumerated() {
            progress("placement \(index + 1)/\(placements.count): producer node \(p.producer), consumer node \(p.consumer), memory node \(p.memory)")
            var runOptions = RunOptions(repetitions: options.repetitions, warmup: options.warmup, pin: .auto, topology: topology)
            runOptions.placement = PlacementRequest(producerNode: p.producer, consumerNode: p.consumer, memory: .node(p.memory))
            var records: [RunRecord] = []
            for scenario in scenarios(backing: options.backing, seconds: options.secondsPerRepetition) {
                try BenchmarkRunner.validate(scenario, capabilities: SPSCTransport.capabilities, options: runOptions)
                records.append(try BenchmarkRunner.run(scenario, options: runOptions))
            }
            rows.append(NumaPlacementResult(producerNode: p.producer, consumerNode: p.consumer, memoryNode: p.memory,
                                            records: records, firstRun: runs.count))
            runs += records
        }
        NumaPlacementResult.addRatios(&rows)
        var study = NumaStudyResult(nodes: topology.nodes, backing: options.backing, placements: rows)
        if options.probes {
            progress("probes: cache-line round trips between nodes")
            study.cacheLine = try NodeCacheLine.measure(topology: topology)
            progress("probes: memcpy with local and remote buffers")
            study.memcpy = try NodeMemcpy.measure(topology: topology)
        }
        return (runs, study)
    }
}

/// The study's part of the results document (`numaStudy`).
public struct NumaStudyResult: Codable, Sendable {
    /// The machine's nodes (CPUs, memory, distances), as in `machine.nodes`.
    public var nodes: [NodeInfo]
    public var backing: String
    public var placements: [NumaPlacementResult]
    /// Cache-line round trips grouped by node pair; absent with --no-probes.
    public var cacheLine: NodeCacheLine?
    /// memcpy per (CPU node, memory node); absent with --no-probes.
    public var memcpy: [NodeMemcpy]?

    /// True when every run and every probe buffer was placed as asked.
    public var placementsMatch: Bool {
        placements.allSatisfy(\.placementMatches) && (memcpy ?? []).allSatisfy(\.placementMatches)
    }
}

/// One placement's three figures and their ratios to the all-local run.
public struct NumaPlacementResult: Codable, Sendable {
    public var producerNode: Int
    public var consumerNode: Int
    public var memoryNode: Int
    /// spsc 8 B throughput, messages/s (median over repetitions).
    public var messagesPerSecond8B: Double
    /// spsc 64 KiB throughput, bytes/s (median).
    public var bytesPerSecond64KiB: Double
    /// spsc 8 B round trip, p50 in ns.
    public var roundTripP50Ns: UInt64
    /// Each figure over the same figure of the all-local placement on the
    /// producer's node (producer, consumer and memory all on it): below 1 is
    /// slower for throughput; above 1 is slower for the round trip. Absent
    /// when that placement was not run (its node has no memory).
    public var ratio8B: Double?
    public var ratio64KiB: Double?
    public var ratioRoundTrip: Double?
    /// Every process and page of the three runs was where asked.
    public var placementMatches: Bool
    /// Where the three runs are in the document's `runs`.
    public var runs: [Int]

    init(producerNode: Int, consumerNode: Int, memoryNode: Int, records: [RunRecord], firstRun: Int) {
        self.producerNode = producerNode
        self.consumerNode = consumerNode
        self.memoryNode = memoryNode
        messagesPerSecond8B = records[0].summary.messagesPerSecond.median
        bytesPerSecond64KiB = records[1].summary.bytesPerSecond.median
        roundTripP50Ns = records[2].summary.latencyNs?.p50 ?? 0
        placementMatches = records.allSatisfy { $0.placement?.matches == true }
        runs = Array(firstRun..<(firstRun + records.count))
    }

    var isAllLocal: Bool { producerNode == consumerNode && consumerNode == memoryNode }

    static func addRatios(_ rows: inout [NumaPlacementResult]) {
        for i in rows.indices {
            guard let base = rows.first(where: { $0.isAllLocal && $0.producerNode == rows[i].producerNode }) else { continue }
            rows[i].ratio8B = ratio(rows[i].messagesPerSecond8B, base.messagesPerSecond8B)
            rows[i].ratio64KiB = ratio(rows[i].bytesPerSecond64KiB, base.bytesPerSecond64KiB)
            rows[i].ratioRoundTrip = ratio(Double(rows[i].roundTripP50Ns), Double(base.roundTripP50Ns))
        }
    }

    static func ratio(_ value: Double, _ base: Double) -> Double? { base > 0 ? value / base : nil }
}
