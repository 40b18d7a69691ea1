import CShim
import Glibc

/// The host's state around one run: the cache-line round trip between the
/// run's first producer's and first consumer's CPUs, probed just before and
/// just after its repetitions.
///
/// Why per run: on a virtual machine the host may move the vCPUs while a
/// suite runs (on the development VM a line crosses in ~35, ~70 or ~300 ns
/// depending on where the host put them, and every shared-memory figure
/// moves about threefold with it). The document's probes, taken at the start
/// and end of a command, cannot say which rows saw which state; these can,
/// so a reader (and `bench/harness-ratios.py`) compares only rows measured in
/// the same state, and a run whose two probes disagree is marked unsteady.
///
/// Cost: two short probes of `samples` x 100 round trips (under 10 ms each,
/// mostly the fork of the two probe processes). Skipped with `--no-probes`,
/// and for runs whose first producer and consumer share a CPU or are unpinned.
public struct HostState: Codable, Sendable, Equatable {
    /// The two CPUs probed (the run's first producer and first consumer).
    public var cpus: [Int]
    /// Minimum round trip over `samples` batches, before and after the run.
    public var cacheLineBeforeNs: Double
    public var cacheLineAfterNs: Double
    /// The two probes agree within `tolerance`: the run saw one host state.
    public var steady: Bool
    /// `--settle`: how long the run waited for the reference state before
    /// it started (nil: it did not wait). Counts against `--settle-budget`.
    public var settleWaitSeconds: Double?

    public static let samples = 20
    /// The host's states here differ by 2x or more; probes of one state
    /// differ by well under 1.5x.
    public static let tolerance = 1.5

    public init(cpus: [Int], cacheLineBeforeNs: Double, cacheLineAfterNs: Double) {
        self.cpus = cpus
        self.cacheLineBeforeNs = cacheLineBeforeNs
        self.cacheLineAfterNs = cacheLineAfterNs
        steady = Self.agree(cacheLineBeforeNs, cacheLineAfterNs)
    }

    /// Whether two cache-line figures belong to the same host state (within
    /// `tolerance`, a factor; `compare --state-tolerance` may ask for less).
    public static func agree(_ a: Double, _ b: Double, within tolerance: Double = tolerance) -> Bool {
        min(a, b) > 0 && max(a, b) <= min(a, b) * tolerance
    }

    /// The CPUs to probe for a run placed on `cpus` (producers first), or nil
    /// when there is no pair of distinct pinned CPUs to probe.
    static func probedCPUs(_ cpus: [Int?], producers: Int) -> [Int]? {
        guard producers < cpus.count, let a = cpus[0], let b = cpus[producers], a != b else { return nil }
        return [a, b]
    }

    /// One probe of the pair (minimum over `samples` batches).
    static func probe(_ cpus: [Int]) throws(HarnessError) -> Double {
        try CacheLineProbe.measurePair(cpus[0], cpus[1], samples: samples).min
    }

    /// Waits, probing every 0.25 s for up to `settle.nextWaitSeconds`
    /// (`--settle`, cut by what is left of `--settle-budget`), until the
    /// pair's cache line agrees with the fastest state seen (the reference,
    /// or this first probe if it is faster); returns the last probe, the
    /// seconds waited and, if it waited (or the budget was spent), a note for
    /// the run saying how long and whether the state came back.
    static func settle(_ cpus: [Int], from first: Double,
                       _ settle: HostSettle) throws(HarnessError) -> (line: Double, note: String?, waited: Double) {
        let target = min(settle.referenceNs, first)
        guard !agree(first, target) else { return (first, nil, 0) }
        if settle.isBudgetSpent {
            return (first, String(format: "settle: the command's --settle-budget of %.1f s is spent; started at once in %.0f ns (fastest host state seen %.0f ns)",
                                  settle.budgetSeconds ?? 0, first, target), 0)
        }
        let limit = settle.nextWaitSeconds
        let start = cshim_monotonic_ns()
        var line = first, waited = 0.0
        while !agree(line, target), waited < limit {
            usleep(250_000)
            line = try probe(cpus)
            waited = Double(cshim_monotonic_ns() &- start) / 1e9
        }
        let outcome = agree(line, target) ? "it came back" : "it did not come back"
        return (line, String(format: "settle: waited %.1f s for the fastest host state seen (cache line %.0f ns; %.0f ns when the run was due, %.0f ns when it started): %@",
                             waited, target, first, line, outcome), waited)
    }
}

/// `--settle`: before each run, wait up to `seconds` for the host to return
/// to the fastest state the command has seen (`referenceNs`, a cache-line
/// round trip: the first probe's, lowered by every faster run probe), so
/// that a suite's rows land in one state where they can.
///
/// `--settle-budget` caps what the whole command waits: on a host that
/// flips placement every few seconds, 3 s waits before most runs made each
/// gate run take 220-425 s instead of ~140 (96-282 s of settling per gate
/// run, results/vm-2026-12-07-gate/gate-check-rounds10-e). Once the budget
/// is spent, runs start at once (and say so); the compare then judges the
/// rows that landed in one state and leaves the others out.
public struct HostSettle: Sendable {
    public var referenceNs: Double
    public var seconds: Double
    /// The whole command's waiting allowance (nil: no cap), and what is left of it.
    public let budgetSeconds: Double?
    public private(set) var budgetLeftSeconds: Double?

    public init(referenceNs: Double, seconds: Double, budgetSeconds: Double? = nil) {
        self.referenceNs = referenceNs
        self.seconds = seconds
        self.budgetSeconds = budgetSeconds
        budgetLeftSeconds = budgetSeconds
    }

    /// The longest the next run may wait.
    public var nextWaitSeconds: Double { min(seconds, max(0, budgetLeftSeconds ?? .infinity)) }

    /// A budget was set and nothing of it is left.
    public var isBudgetSpent: Bool { (budgetLeftSeconds ?? 1) <= 0 }

    /// Follows the states a run's own probes saw: a faster one lowers the
    /// reference; a run that did not see the reference state at all (its
    /// settle waited in vain, or it would have started in it) raises the
    /// reference to the state the host is in now. Waiting for the fastest
    /// state ever seen before every run made suites stall: the host showed
    /// a ~46 ns state for one run, and every later run of that suite waited
    /// its full 3 s for it (138 s of a 6 s suite, gate-check 2026-12-06).
    /// Now a lost state costs one wait; a state that comes back is caught
    /// again by the next run that sees it.
    public mutating func saw(_ state: HostState?) {
        guard let state else { return }
        if let waited = state.settleWaitSeconds, let left = budgetLeftSeconds { budgetLeftSeconds = left - waited }
        let line = min(state.cacheLineBeforeNs, state.cacheLineAfterNs)
        if line < referenceNs || !HostState.agree(line, referenceNs) { referenceNs = line }
    }
}
