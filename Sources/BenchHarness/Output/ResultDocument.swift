/// The JSON results file, schema `ringbench/result-v1`. Every field is
/// documented in docs/results-format.md; change both together.
public struct ResultDocument: Codable, Sendable {
    public static let schemaName = "ringbench/result-v1"

    public var schema = ResultDocument.schemaName
    public var tool: ToolInfo
    public var machine: MachineInfo
    public var runs: [RunRecord]
    /// The physical limits of the machine (absent with --no-probes and in
    /// files written before probes existed).
    public var probes: ProbeResults?
    /// `ringbench doctor`'s findings when the document was written (absent
    /// in files written before issue 18); `compare` notes when they differ.
    public var doctor: [DoctorFinding]?
    /// Lock-engine runs (`ringbench locks`); absent from documents without any.
    public var lockRuns: [LockRunRecord]?
    /// The NUMA placement study (`ringbench numa`); absent elsewhere.
    public var numaStudy: NumaStudyResult?
    /// `ringbench floor`: the spsc transport against the ring's minimal loop.
    public var floor: FloorComparison?

    public init(tool: ToolInfo, machine: MachineInfo, runs: [RunRecord], probes: ProbeResults? = nil,
                lockRuns: [LockRunRecord]? = nil) {
        self.tool = tool
        self.machine = machine
        self.runs = runs
        self.probes = probes
        self.lockRuns = lockRuns
    }
}

public struct ToolInfo: Codable, Sendable {
    public var version: String
    public var commit: String
}

/// One scenario's results over all its measured repetitions.
public struct RunRecord: Codable, Sendable {
    public var scenario: Scenario
    public var repetitions: [RepetitionRecord]
    /// Summed over the measured repetitions (warm-up excluded).
    public var integrity: IntegrityCounts
    public var summary: RunSummary
    /// Remarks a reader must see, such as oversubscribed CPUs.
    public var notes: [String]?
    /// How close the run came to the machine's physical limit (needs probes).
    public var efficiency: RunEfficiency?
    /// Speed relative to the `pipe` run of the same mode and size (>1: faster
    /// than pipe); absent when the document has no such pipe run.
    public var versusPipe: Double?
    /// Requested and observed placement of processes and pages (docs/numa.md).
    public var placement: PlacementReport?
    /// The cache line between the run's CPUs just before and after it: which
    /// host state the run saw (`HostState`; absent with `--no-probes`).
    public var hostState: HostState?

    /// Whether the integrity counts are what the scenario allows: nothing
    /// lost, duplicated, reordered or corrupt, except losses under the
    /// broadcast transport's overwrite policy (each counted exactly, from the
    /// ring's overrun reports checked against the sequence numbers).
    public var integrityHolds: Bool {
        var allowed = integrity
        if scenario.policy == "overwrite" { allowed.lost = 0 }
        return allowed.clean
    }

    public init(scenario: Scenario, repetitions: [RepetitionRecord], integrity: IntegrityCounts,
                summary: RunSummary, notes: [String]? = nil, efficiency: RunEfficiency? = nil, versusPipe: Double? = nil) {
        self.scenario = scenario
        self.repetitions = repetitions
        self.integrity = integrity
        self.summary = summary
        self.notes = notes
        self.efficiency = efficiency
        self.versusPipe = versusPipe
    }
}

public struct RepetitionRecord: Codable, Sendable {
    public var seconds: Double
    public var messagesPerSecond: Double
    public var bytesPerSecond: Double
    /// Roundtrip mode: this repetition's own percentiles, so `compare` can
    /// rank repetitions (absent in throughput mode and in older files).
    public var latencyNs: RepetitionLatency?
    /// Broadcast throughput: the producer's own rate (messages it sent over
    /// its own time), beside `messagesPerSecond`, which counts deliveries to
    /// every consumer until the last one finished. Absent elsewhere.
    public var producerMessagesPerSecond: Double? = nil
}

public struct RunSummary: Codable, Sendable {
    public var messagesPerSecond: Spread
    public var bytesPerSecond: Spread
    /// Present in roundtrip mode.
    public var latencyNs: LatencySummary?
    /// Broadcast throughput: the repetitions' `producerMessagesPerSecond`.
    public var producerMessagesPerSecond: Spread? = nil
}

/// Median, extremes and coefficient of variation of per-repetition figures.
public struct Spread: Codable, Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// Standard deviation over mean (0 for one repetition).
    public var cv: Double

    public init(_ values: [Double]) {
        let sorted = values.sorted()
        guard !sorted.isEmpty else {
            median = 0; min = 0; max = 0; cv = 0
            return
        }
        let n = sorted.count
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        min = sorted[0]
        max = sorted[n - 1]
        let mean = sorted.reduce(0, +) / Double(n)
        if n > 1, mean > 0 {
            let variance = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
            cv = variance.squareRoot() / mean
        } else {
            cv = 0
        }
    }
}

/// Latency percentiles in nanoseconds from the merged histogram of all
/// measured repetitions.
public struct LatencySummary: Codable, Sendable {
    /// "roundtrip": a full ping and echo; "acquire": a lock acquisition.
    public var kind: String
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var mean: Double
    public var samples: UInt64
    /// What timed the samples: "tsc", "cntvct" or "monotonic" (see CycleClock).
    public var clock: String?
    /// The merged histogram's percentile distribution, for plots (absent in
    /// older files).
    public var distribution: [PercentilePoint]?
}
