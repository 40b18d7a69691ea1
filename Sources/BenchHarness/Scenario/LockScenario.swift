/// What one lock-engine run measures (`ringbench locks`). Encoded into
/// results as a lock run's `scenario` (docs/results-format.md).
public struct LockScenario: Codable, Sendable, Equatable {
    public var lock: LockKind
    /// Worker processes contending for the lock.
    public var processes: Int
    /// Target duration of the work inside the critical section, besides the
    /// counter increment; 0 is the increment alone.
    public var criticalNs: Int
    /// Seconds each repetition runs.
    public var durationSeconds: Double
    /// One acquisition in this many is timed (1: every one).
    public var latencySampleEvery: Int
    /// Fault injection: kill worker 0 while it holds the lock this many
    /// seconds into each repetition; nil for none.
    public var killHolderAfterSeconds: Double?
    /// Where each worker ran; filled in when the run is placed.
    public var placement: [PlacementEntry]

    public init(lock: LockKind, processes: Int, criticalNs: Int, durationSeconds: Double,
                latencySampleEvery: Int = 1, killHolderAfterSeconds: Double? = nil,
                placement: [PlacementEntry] = []) {
        self.lock = lock
        self.processes = processes
        self.criticalNs = criticalNs
        self.durationSeconds = durationSeconds
        self.latencySampleEvery = latencySampleEvery
        self.killHolderAfterSeconds = killHolderAfterSeconds
        self.placement = placement
    }

    enum CodingKeys: String, CodingKey {
        case lock, processes, criticalNs, durationSeconds = "duration", latencySampleEvery
        case killHolderAfterSeconds = "killHolderAfter", placement
    }
}
