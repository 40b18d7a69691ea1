import Foundation

/// Which runs of one scenario a comparison judges, chosen by each run's own
/// host probes (`RunRecord.hostState`).
///
/// On the development VM the host moves the vCPUs between placements in
/// which a cache line crosses in ~70 ns or ~300 ns, and every shared-memory
/// figure moves about threefold with it. A run's two probes (just before and
/// just after its repetitions) say which placement it saw:
/// - a run whose probes disagree (`steady == false`) saw both, and its
///   figures mix them: it is left out;
/// - the other runs fall into states (cache-line figures within
///   `HostState.tolerance` of the state's fastest run); one state is judged,
///   runs in any other state are left out.
/// The judged state is the fastest one in which both sides have at least
/// `minimumValues` values; failing that, the one whose poorer side has the
/// most values (the faster on a tie). Runs without probes are left out when
/// others have them; when no run has probes, every run is judged (and
/// `StateStrata` may still split the values).
public enum RunSelection {
    public struct Choice: Sendable {
        public var base: ResultSet.PooledRun
        public var new: ResultSet.PooledRun
        /// The judged state's cache-line round trip (its fastest run's), or
        /// nil when no run had probes.
        public var stateNs: Double?
        /// Runs left out, both sides together.
        public var excluded: ExcludedRuns
        /// False when probes exist but no state holds runs of both sides;
        /// `base` and `new` are then every run, for the caller to mask.
        public var common: Bool
    }

    /// Steady runs whose cache line agrees with the state's fastest run.
    struct State {
        var fastestNs: Double
        var baseValues = 0
        var newValues = 0
        var poorerSide: Int { min(baseValues, newValues) }
    }

    /// `tolerance` (`compare --state-tolerance`): how far apart two cache
    /// lines may be and still be one state, as a factor; by default the
    /// factor that decides `HostState.steady`. Finer than that, a run whose
    /// own two probes differ by more is unsteady here too.
    public static func choose(_ base: ResultSet.PooledRun, _ new: ResultSet.PooledRun, minimumValues: Int,
                              tolerance: Double = HostState.tolerance) -> Choice {
        let all = Choice(base: base, new: new, stateNs: nil, excluded: ExcludedRuns(), common: true)
        let probed = (base.runs + new.runs).compactMap(\.hostState)
        guard !probed.isEmpty else { return all }
        func agree(_ a: Double, _ b: Double) -> Bool { HostState.agree(a, b, within: tolerance) }
        func steady(_ h: HostState) -> Bool { h.steady && agree(h.cacheLineBeforeNs, h.cacheLineAfterNs) }
        let lines = probed.filter(steady).map(line).sorted()
        var states: [State] = []
        for l in lines where !(states.last.map { agree($0.fastestNs, l) } ?? false) {
            states.append(State(fastestNs: l))
        }
        func stateIndex(_ run: RunRecord) -> Int? {
            guard let h = run.hostState, steady(h) else { return nil }
            return states.firstIndex { agree($0.fastestNs, line(h)) }
        }
        for run in base.runs { if let i = stateIndex(run) { states[i].baseValues += values(run) } }
        for run in new.runs { if let i = stateIndex(run) { states[i].newValues += values(run) } }
        let judged = states.firstIndex { $0.poorerSide >= minimumValues }
            ?? states.indices.max { a, b in
                states[a].poorerSide != states[b].poorerSide ? states[a].poorerSide < states[b].poorerSide : a > b
            }
        guard let judged, states[judged].poorerSide > 0 else {
            var masked = all
            masked.common = false
            return masked
        }
        var excluded = ExcludedRuns()
        func keep(_ side: ResultSet.PooledRun) -> ResultSet.PooledRun {
            var out = side
            out.runs = []
            out.probes = []
            out.rounds = []
            for ((run, probes), round) in zip(zip(side.runs, side.probes), side.rounds) {
                if run.hostState == nil {
                    excluded.unprobed += 1
                } else if let h = run.hostState, !steady(h) {
                    excluded.unsteady += 1
                } else if stateIndex(run) != judged {
                    excluded.otherState += 1
                } else {
                    out.runs.append(run)
                    out.probes.append(probes)
                    out.rounds.append(round)
                }
            }
            return out
        }
        let b = keep(base), n = keep(new)
        return Choice(base: b, new: n, stateNs: states[judged].fastestNs, excluded: excluded, common: true)
    }

    /// A steady run's cache line: the faster of its two probes.
    static func line(_ h: HostState) -> Double { min(h.cacheLineBeforeNs, h.cacheLineAfterNs) }

    /// How many values a run contributes (its repetitions, or its summary).
    static func values(_ run: RunRecord) -> Int { max(1, run.repetitions.count) }
}

/// Runs a comparison left out, by reason (each counted once per scenario it
/// belongs to, both sides together).
public struct ExcludedRuns: Codable, Sendable, Equatable {
    /// The run's own probes disagree: the host moved the vCPUs during it.
    public var unsteady = 0
    /// Steady, but in another host state than the one judged.
    public var otherState = 0
    /// No probes of its own while other runs of the scenario have them.
    public var unprobed = 0

    public init() {}

    public var total: Int { unsteady + otherState + unprobed }

    public static func + (a: ExcludedRuns, b: ExcludedRuns) -> ExcludedRuns {
        var r = a
        r.unsteady += b.unsteady
        r.otherState += b.otherState
        r.unprobed += b.unprobed
        return r
    }

    /// "2 unsteady, 1 in another host state", or "" when none.
    public var summary: String {
        [(unsteady, "unsteady (own probes disagree)"), (otherState, "in another host state"), (unprobed, "without probes")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }
}
