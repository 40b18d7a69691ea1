/// One lock scenario's results over its measured repetitions: the `lockRuns`
/// entries of a results document (docs/results-format.md).
public struct LockRunRecord: Codable, Sendable {
    public var scenario: LockScenario
    public var criticalSection: CriticalSectionRecord
    public var repetitions: [LockRepetitionRecord]
    /// Summed over the measured repetitions. Present only for runs that
    /// passed: a violation fails the run instead of being recorded.
    public var mutualExclusion: MutualExclusionRecord
    public var summary: LockRunSummary
    public var notes: [String]?
}

/// The calibrated work inside the critical section.
public struct CriticalSectionRecord: Codable, Sendable {
    public var targetNs: Int
    public var iterations: Int
    public var nsPerIteration: Double
}

public struct LockRepetitionRecord: Codable, Sendable {
    /// From the first worker's start to the last worker's end.
    public var seconds: Double
    public var acquisitions: UInt64
    public var acquisitionsPerSecond: Double
    /// Acquisitions of worker 0, 1, ... (a killed holder's up to its death).
    public var perProcessAcquisitions: [UInt64]
    /// Jain's index over `perProcessAcquisitions`.
    public var fairness: Double
    /// The protected counter at the end; equals `acquisitions`.
    public var protectedCounter: UInt64
    /// Present when the fault injection killed a holder in this repetition.
    public var killedHolder: KilledHolderRecord?
}

/// A holder killed on purpose (`--kill-holder-after`) and how the lock recovered.
public struct KilledHolderRecord: Codable, Sendable {
    public var worker: Int
    public var pid: Int32
    /// Its acquisitions, the one it died holding included.
    public var acquisitions: UInt64
    /// The mechanism that freed the lock.
    public var recovery: String
    /// EOWNERDEAD take-overs the survivors reported (pthread-mutex: 1).
    public var ownerDeathsRecovered: Int
}

public struct MutualExclusionRecord: Codable, Sendable {
    /// Always true in a written record.
    public var verified: Bool
    public var acquisitions: UInt64
    public var protectedCounter: UInt64
}

public struct LockRunSummary: Codable, Sendable {
    public var acquisitionsPerSecond: Spread
    public var fairness: Spread
    /// Acquire latency (kind "acquire") over every timed acquisition of
    /// every measured repetition.
    public var acquireLatencyNs: LatencySummary?
}
