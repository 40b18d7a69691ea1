import Foundation

/// What `ringbench compare` measures per scenario.
public enum ComparedMetric: String, Codable, Sendable, CaseIterable {
    case messagesPerSecond, latencyP50, latencyP99, latencyP999

    public var biggerIsBetter: Bool { self == .messagesPerSecond }

    public var label: String {
        switch self {
        case .messagesPerSecond: "msgs/s"
        case .latencyP50: "p50"
        case .latencyP99: "p99"
        case .latencyP999: "p99.9"
        }
    }

    /// The unit of the raw figure; with --normalize see `normalizedUnit`.
    public var unit: String { self == .messagesPerSecond ? "msgs/s" : "ns" }
}

/// The knobs of a comparison; every one is a `compare` flag.
public struct CompareOptions: Codable, Sendable, Equatable {
    /// Directories of rounds with matching file names (`bench/ab.sh`) are
    /// judged round by round (`PairedRounds`) rather than by ranking all
    /// values of one side against the other's.
    public var paired: Bool = true
    /// Minimum effect size: a change smaller than this is `unchanged` however
    /// significant (0.05 = 5 %). For msgs/s and p50; see `tailThreshold`.
    public var threshold: Double = 0.05
    /// The same for the tail percentiles (p99, p99.9), which move more
    /// between identical runs: on the development VM a p99.9 moved by a
    /// median 11-15 % between A/A rounds (p99 2-3 %, up to 14 %), so a 5 %
    /// promise on it left most of them "inconclusive" and the gate judged
    /// under 70 % of its metrics (issue 20).
    public var tailThreshold: Double = 0.15

    /// The minimum effect size for `metric`.
    public func threshold(for metric: ComparedMetric) -> Double {
        metric == .latencyP99 || metric == .latencyP999 ? tailThreshold : threshold
    }
    /// Significance level of the two-sided Mann-Whitney U test.
    public var alpha: Double = 0.01
    /// Repetitions each side needs for the U test; with fewer, the noise band.
    public var minRankRepetitions: Int = 5
    /// Noise band = this many times the pooled coefficient of variation.
    public var noiseMultiplier: Double = 3
    /// A probe differing by more than this fraction flags the machine state.
    public var probeTolerance: Double = 0.5
    /// Runs whose own cache-line probes are within this factor of a state's
    /// fastest run are one host state (`RunSelection`).
    public var stateTolerance: Double = HostState.tolerance
    /// Compare figure / physical limit instead of raw figures.
    public var normalize: Bool = false
    public var allowDifferentMachines: Bool = false
    /// Below this share of metrics judged (improved, regressed or
    /// unchanged), a comparison without a regression is `notEnoughEvidence`
    /// rather than `ok` (0.5 = half).
    public var minimumJudgedShare: Double = 0.5

    public init() {}
}

public enum Verdict: String, Codable, Sendable, CaseIterable {
    case improved, regressed, unchanged, inconclusive
}

/// One metric of one scenario, base against new.
public struct MetricComparison: Codable, Sendable {
    public var scenario: String
    public var transport: String
    public var mode: String
    public var messageSize: Int
    /// The scenario's name for `ringbench suite --scenarios`
    /// (`SuitePlan.suiteName(of:)`), so a gate can measure exactly it
    /// again; nil for a scenario not shaped like the suite's.
    public var suiteName: String?
    public var metric: ComparedMetric
    public var unit: String
    public var biggerIsBetter: Bool
    public var base: SideFigures
    public var new: SideFigures
    /// new median / base median.
    public var ratio: Double
    /// (new - base) / base, signed; whether that is better depends on `biggerIsBetter`.
    public var change: Double
    public var verdict: Verdict
    /// Why, in one sentence.
    public var reason: String
    /// `paired-yuen`, `mann-whitney-stratified`, `mann-whitney-exact`,
    /// `mann-whitney-normal`, `noise-band` or `none`.
    public var method: String
    /// Two-sided p of the paired t test or the U test (those methods only).
    public var p: Double?
    /// The band a change had to leave (noise-band method), as a fraction.
    public var noiseBand: Double?
    /// The host state judged (cache-line round trip, ns), when runs carry
    /// their own probes (`RunSelection`).
    public var judgedStateNs: Double?
    /// Runs of this scenario left out by their own probes (both sides).
    public var excludedRuns: Int?

    /// Whether the metric got a verdict (improved, regressed, unchanged).
    public var judged: Bool { verdict != .inconclusive }
}

public struct SideFigures: Codable, Sendable {
    public var median: Double
    /// How many values were ranked (repetitions pooled over the side's files).
    public var n: Int
    /// Coefficient of variation of the values (0 for one value).
    public var cv: Double
    public var values: [Double]
}

/// The whole answer of `ringbench compare` (schema `ringbench/compare-v1`,
/// documented in docs/results-format.md).
public struct ComparisonReport: Codable, Sendable {
    public static let schemaName = "ringbench/compare-v1"

    public enum Status: String, Codable, Sendable {
        /// Nothing regressed (exit 0).
        case ok
        /// At least one metric regressed (exit 2).
        case regressed
        /// Different machines, nothing in common, or a regression-sized change
        /// while the machine's state differed (exit 3).
        case notComparable = "not-comparable"
        /// Nothing regressed, but too few metrics could be judged
        /// (`CompareOptions.minimumJudgedShare`) to call it ok (exit 4).
        case notEnoughEvidence = "not-enough-evidence"
    }

    public var schema = ComparisonReport.schemaName
    public var base: SideInfo
    public var new: SideInfo
    public var options: CompareOptions
    public var status: Status
    /// Why `not-comparable`, or notes (different machines allowed, probes flagged).
    public var notes: [String]
    /// Empty when the machines are the same.
    public var machineDifferences: [String]
    public var probes: [ProbeDifference]
    public var results: [MetricComparison]
    public var onlyInBase: [String]
    public var onlyInNew: [String]
    public var counts: [String: Int]
    /// Runs left out by their own host probes (`RunSelection`).
    public var excluded = ExcludedRuns()
    /// Share of metrics judged (improved, regressed or unchanged).
    public var judgedShare: Double = 0
    /// Changes beyond the threshold, judged or not: "scenario metric -33.5% (inconclusive)".
    public var beyondThreshold: [String] = []

    public struct SideInfo: Codable, Sendable {
        public var source: String
        public var commits: [String]
        public var machine: MachineInfo
        public var machineID: String
    }

    public var exitCode: Int32 {
        switch status {
        case .ok: 0
        case .regressed: 2
        case .notComparable: 3
        case .notEnoughEvidence: 4
        }
    }
}

/// Matches runs by scenario and judges each metric.
public enum ResultComparison {
    public static func compare(_ base: ResultSet, _ new: ResultSet, options: CompareOptions) -> ComparisonReport {
        let machineDifferences = MachineIdentity.differences(base.machine, new.machine)
        let probes = MachineState.differences(base: base.documents.compactMap(\.probes), new: new.documents.compactMap(\.probes),
                                              tolerance: options.probeTolerance)
        let flagged = probes.filter(\.flagged)
        var report = ComparisonReport(
            base: side(base), new: side(new), options: options, status: .ok, notes: [],
            machineDifferences: machineDifferences, probes: probes, results: [],
            onlyInBase: [], onlyInNew: [], counts: [:])
        if !machineDifferences.isEmpty {
            guard options.allowDifferentMachines else {
                report.status = .notComparable
                report.notes.append("different machines (\(machineDifferences.joined(separator: "; "))): not compared; --allow-different-machines compares anyway")
                return finish(report)
            }
            report.notes.append("different machines compared (--allow-different-machines): \(machineDifferences.joined(separator: "; "))")
        }
        let newByKey = Dictionary(new.runs.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let baseKeys = Set(base.runs.map(\.key))
        report.onlyInBase = base.runs.map(\.key).filter { newByKey[$0] == nil }.map(\.description)
        report.onlyInNew = new.runs.map(\.key).filter { !baseKeys.contains($0) }.map(\.description)
        let machineState = flagged.isEmpty || options.normalize ? nil
            : flagged.map { String(format: "%@ %.4g -> %.4g (%+.0f%%)", $0.probe, $0.base, $0.new, $0.change * 100) }.joined(separator: ", ")
        var masked = 0
        for b in base.runs {
            guard let n = newByKey[b.key] else { continue }
            // Each run's own probes choose the runs judged (RunSelection);
            // without them, the document's probes flag the machine state.
            let choice = RunSelection.choose(b, n, minimumValues: options.minRankRepetitions, tolerance: options.stateTolerance)
            report.excluded = report.excluded + choice.excluded
            let state: String?
            if options.normalize {
                state = nil
            } else if !choice.common {
                state = hostStateDifference(b, n) ?? "no host state holds steady runs of both sides"
            } else {
                state = choice.stateNs == nil ? machineState : nil
            }
            for metric in ComparedMetric.allCases {
                guard var result = judge(metric, choice.base, choice.new, options: options) else { continue }
                result.judgedStateNs = choice.stateNs
                if choice.excluded.total > 0 {
                    result.excludedRuns = choice.excluded.total
                    result.reason += String(format: "; judged in the %.0f ns host state, left out: %@", choice.stateNs ?? 0, choice.excluded.summary)
                }
                if let machineState = state, result.verdict == .regressed || result.verdict == .improved {
                    if result.verdict == .regressed { masked += 1 }
                    result.reason = "would be \(result.verdict.rawValue) (\(result.reason)), but the machine state differs: \(machineState)"
                    result.verdict = .inconclusive
                }
                report.results.append(result)
            }
        }
        if report.excluded.total > 0 {
            report.notes.append("runs left out by their own host probes: \(report.excluded.summary)")
        }
        if !flagged.isEmpty {
            report.notes.append("probes differ beyond \(Int(options.probeTolerance * 100))%: "
                + flagged.map { String(format: "%@ %+.0f%%", $0.probe, $0.change * 100) }.joined(separator: ", ")
                + (options.normalize ? " (figures normalised by the physical limits)" : "; rerun both in one machine state (bench/ab.sh) or use --normalize"))
        }
        if let doctor = DoctorComparison.difference(base: base.documents.compactMap(\.doctor), new: new.documents.compactMap(\.doctor)) {
            report.notes.append(doctor)
        }
        if report.results.isEmpty {
            report.status = .notComparable
            report.notes.append("no scenario in common: nothing to compare")
        } else if report.results.contains(where: { $0.verdict == .regressed }) {
            report.status = .regressed
        } else if masked > 0 {
            report.status = .notComparable
            report.notes.append("\(masked) regression-sized change(s) not judged because the machine state differs")
        }
        if report.results.contains(where: { $0.mode == Scenario.Mode.roundtrip.rawValue }) {
            report.notes.append("round trips are judged on their p50, p99 and p99.9; their msgs/s is not gated (one stall of a few ms dominates it), "
                + "nor a percentile with fewer than \(tailSamples) round trips beyond it per repetition (p99 needs 1 000 a repetition, p99.9 10 000)")
        }
        if !report.results.isEmpty, !report.results.contains(where: { canFail($0, options) }) {
            report.notes.append("this comparison cannot fail: no scenario has \(minimumForSpread) values on a side "
                + "(one-repetition files, e.g. suite --quick); use --repeat \(options.minRankRepetitions) or bench/ab.sh rounds")
        }
        report = finish(report)
        if report.status == .ok, report.judgedShare < options.minimumJudgedShare {
            report.status = .notEnoughEvidence
            report.notes.append(String(format: "not enough evidence: %.0f%% of metrics judged, below the %.0f%% asked (--min-judged); "
                + "more rounds or repetitions, or --settle, judge more", report.judgedShare * 100, options.minimumJudgedShare * 100))
        }
        return report
    }

    /// Why a scenario's two sides saw different host states, when both carry
    /// per-run probes (`RunRecord.hostState`) and their medians do not agree;
    /// nil otherwise. The document-level probes cannot tell: the host may move
    /// the vCPUs between a suite's first and last row.
    static func hostStateDifference(_ base: ResultSet.PooledRun, _ new: ResultSet.PooledRun) -> String? {
        func line(_ side: ResultSet.PooledRun) -> Double? {
            let figures = side.runs.compactMap { $0.hostState.map { min($0.cacheLineBeforeNs, $0.cacheLineAfterNs) } }
            return figures.isEmpty ? nil : Spread(figures).median
        }
        guard let b = line(base), let n = line(new), !HostState.agree(b, n) else { return nil }
        return String(format: "this scenario's cache-line probe %.0f ns -> %.0f ns", b, n)
    }

    static func finish(_ report: ComparisonReport) -> ComparisonReport {
        var r = report
        for v in Verdict.allCases { r.counts[v.rawValue] = r.results.filter { $0.verdict == v }.count }
        r.judgedShare = r.results.isEmpty ? 0 : Double(r.results.filter(\.judged).count) / Double(r.results.count)
        r.beyondThreshold = r.results.filter { $0.ratio > 0 && abs($0.change) >= r.options.threshold(for: $0.metric) }
            .sorted { abs($0.change) > abs($1.change) }
            .map { String(format: "%@ %@ %+.1f%% (%@)", $0.scenario, $0.metric.label, $0.change * 100, $0.verdict.rawValue) }
        return r
    }

    /// Whether the metric had the values to be called regressed: enough for
    /// the U test, or for a spread on at least one side (noise band).
    static func canFail(_ r: MetricComparison, _ options: CompareOptions) -> Bool {
        (r.base.n >= options.minRankRepetitions && r.new.n >= options.minRankRepetitions)
            || r.base.n >= minimumForSpread || r.new.n >= minimumForSpread
    }

    static func side(_ set: ResultSet) -> ComparisonReport.SideInfo {
        .init(source: set.label, commits: set.commits, machine: set.machine, machineID: MachineIdentity.id(set.machine))
    }

    /// One metric's values on one side: per repetition when the run has them,
    /// else the run's summary figure (with `proxyCV`, the run's msgs/s spread,
    /// standing in for the spread it lacks).
    struct Values {
        var values: [Double]
        var proxyCV: Double?
        /// Each run's figure (the median of its values) and its round.
        var perRun: [(round: String?, value: Double)] = []
    }

    enum Extracted {
        case values(Values)
        /// The metric applies but cannot be compared, and why.
        case unusable(String)
    }

    /// Samples a round-trip percentile needs beyond it, per repetition, to be
    /// gated (so p99 needs 1 000 round trips a repetition, p99.9 10 000).
    static let tailSamples = 10

    /// Round trips per repetition a percentile metric needs; nil for msgs/s and p50.
    static func minimumSamples(_ metric: ComparedMetric) -> Int? {
        switch metric {
        case .latencyP99: tailSamples * 100
        case .latencyP999: tailSamples * 1000
        case .messagesPerSecond, .latencyP50: nil
        }
    }

    /// Values a side needs before its spread means anything (two values
    /// that happen to agree would make any change look significant).
    static let minimumForSpread = 3

    static func values(_ metric: ComparedMetric, _ pooled: ResultSet.PooledRun, normalize: Bool) -> Extracted? {
        var all: [Double] = [], proxy: [Double] = [], perRun: [(round: String?, value: Double)] = []
        for ((run, probes), round) in zip(zip(pooled.runs, pooled.probes), pooled.rounds) {
            let roundtrip = run.scenario.mode == .roundtrip
            if metric != .messagesPerSecond && !roundtrip { return nil }
            // Round trips per second: one stall of a few ms in a short run
            // divides it while every percentile stays put; the percentiles
            // are what a round trip is judged on.
            if metric == .messagesPerSecond && roundtrip { return nil }
            // A percentile with fewer than `tailSamples` samples beyond it is a
            // handful of trips (p99.9 of a 0.08 s run of 64 KiB trips is
            // four of them): not a figure a gate can hold anyone to.
            if let needed = minimumSamples(metric), let l = run.summary.latencyNs,
               Int(l.samples) / max(1, run.repetitions.count) < needed { return nil }
            var raw: [Double]
            switch metric {
            case .messagesPerSecond:
                raw = run.repetitions.map(\.messagesPerSecond)
                if raw.isEmpty { raw = [run.summary.messagesPerSecond.median] }
            case .latencyP50, .latencyP99, .latencyP999:
                let perRep = run.repetitions.compactMap(\.latencyNs).map { l -> Double in
                    Double(metric == .latencyP50 ? l.p50 : metric == .latencyP99 ? l.p99 : l.p999)
                }
                if !perRep.isEmpty && perRep.count == run.repetitions.count {
                    raw = perRep
                } else if let l = run.summary.latencyNs {
                    raw = [Double(metric == .latencyP50 ? l.p50 : metric == .latencyP99 ? l.p99 : l.p999)]
                    proxy += run.repetitions.map(\.messagesPerSecond)
                } else {
                    return nil
                }
            }
            if normalize {
                guard let factor = normalization(metric, run, probes) else {
                    return .unusable("no probes to normalise by")
                }
                raw = raw.map { $0 * factor }
            }
            all += raw
            if !raw.isEmpty { perRun.append((round, Spread(raw).median)) }
        }
        return .values(Values(values: all, proxyCV: proxy.count >= minimumForSpread ? Spread(proxy).cv : nil, perRun: perRun))
    }

    /// Multiplier turning a raw figure into figure / physical limit:
    /// throughput runs: bytes/s over one core's memcpy bandwidth at the
    /// working set; roundtrip runs: round trips/s times the cache-line round
    /// trip, and latencies in multiples of that round trip.
    static func normalization(_ metric: ComparedMetric, _ run: RunRecord, _ probes: ProbeResults?) -> Double? {
        var efficiency = run.efficiency
        if efficiency == nil, let probes {
            let usesCapacity = (try? TransportCatalog.named(run.scenario.transport))?.capabilities.usesCapacity ?? false
            efficiency = RunEfficiency.of(run, probes: probes, usesCapacity: usesCapacity)
        }
        guard let e = efficiency, e.limitValue > 0 else { return nil }
        switch (e.limit, metric) {
        case (.memcpy, .messagesPerSecond): return Double(run.scenario.messageSize) / e.limitValue
        case (.cacheLineRoundTrip, .messagesPerSecond): return e.limitValue / 1e9
        case (.cacheLineRoundTrip, _): return 1 / e.limitValue
        default: return nil
        }
    }

    public static func normalizedUnit(_ metric: ComparedMetric) -> String {
        metric == .messagesPerSecond ? "fraction of limit" : "x cache-line RTT"
    }

    static func judge(_ metric: ComparedMetric, _ b: ResultSet.PooledRun, _ n: ResultSet.PooledRun,
                      options: CompareOptions) -> MetricComparison? {
        guard let baseValues = values(metric, b, normalize: options.normalize),
              let newValues = values(metric, n, normalize: options.normalize) else { return nil }
        let first = b.runs[0].scenario
        var result = MetricComparison(
            scenario: b.key.description, transport: first.transport, mode: first.mode.rawValue, messageSize: first.messageSize,
            suiteName: SuitePlan.suiteName(of: first),
            metric: metric, unit: options.normalize ? normalizedUnit(metric) : metric.unit, biggerIsBetter: metric.biggerIsBetter,
            base: SideFigures(median: 0, n: 0, cv: 0, values: []), new: SideFigures(median: 0, n: 0, cv: 0, values: []),
            ratio: 0, change: 0, verdict: .inconclusive, reason: "", method: "none")
        let x: Values, y: Values
        switch (baseValues, newValues) {
        case let (.values(a), .values(c)): x = a; y = c
        case let (.unusable(why), _), let (_, .unusable(why)):
            result.reason = why
            return result
        }
        result.base = SideFigures(median: Spread(x.values).median, n: x.values.count, cv: Spread(x.values).cv, values: x.values)
        result.new = SideFigures(median: Spread(y.values).median, n: y.values.count, cv: Spread(y.values).cv, values: y.values)
        guard result.base.median > 0, result.new.median > 0 else {
            result.reason = "a side has no positive figure"
            return result
        }
        let nb = x.values.count, nn = y.values.count
        let ranked = nb >= options.minRankRepetitions && nn >= options.minRankRepetitions
        result.ratio = result.new.median / result.base.median
        // The test to apply, if any: round by round when the sides are rounds
        // run side by side (PairedRounds); else a rank test, within machine
        // states when the values are bimodal (StateStrata), else on all values.
        var test: (p: Double, name: String)?
        if options.paired, let pairs = PairedRounds.pairs(x.perRun, y.perRun), let paired = PairedRounds.test(pairs) {
            result.ratio = paired.ratio
            result.method = "paired-yuen"
            test = (paired.p, "Yuen's paired test over \(paired.pairs) rounds")
        } else if ranked, let strata = StateStrata.split(x.values, y.values) {
            result.ratio = StateStrata.ratio(strata)
            result.method = "mann-whitney-stratified"
            let counts = strata.map { "\($0.base.count)/\($0.new.count)" }.joined(separator: ", ")
            test = (StateStrata.p(strata), "within \(strata.count) machine states (\(counts) values), stratified U test")
        } else if ranked, let u = MannWhitney.test(x.values, y.values) {
            result.method = u.exact ? "mann-whitney-exact" : "mann-whitney-normal"
            test = (u.p, "U test")
        }
        result.change = result.ratio - 1
        let better = metric.biggerIsBetter ? result.change > 0 : result.change < 0
        let direction: Verdict = better ? .improved : .regressed
        let changeText = String(format: "%+.1f%%", result.change * 100)
        let threshold = options.threshold(for: metric)
        let thresholdText = String(format: "%.0f%%", threshold * 100)
        if abs(result.change) < threshold {
            result.verdict = .unchanged
            result.reason = "\(changeText) is within the \(thresholdText) threshold"
            return result
        }
        if let test {
            result.p = test.p
            let detail = String(format: "%@ p=%.3g", test.name, test.p) + " (n=\(nb)/\(nn))"
            if test.p < options.alpha {
                result.verdict = direction
                result.reason = "\(changeText), \(detail) < \(options.alpha)"
            } else {
                result.verdict = .inconclusive
                result.reason = "\(changeText) but not significant: \(detail) >= \(options.alpha)"
            }
            return result
        }
        // Too few repetitions to rank: the change must leave the runs' own noise.
        result.method = "noise-band"
        let spreads = [x, y].compactMap { v -> Double? in v.values.count >= minimumForSpread ? Spread(v.values).cv : v.proxyCV }
        guard !spreads.isEmpty else {
            result.reason = "\(changeText) from \(nb)/\(nn) repetitions: too few to judge the noise (run with --repeat \(options.minRankRepetitions) or more)"
            return result
        }
        let pooledCV = (spreads.map { $0 * $0 }.reduce(0, +) / Double(spreads.count)).squareRoot()
        let band = max(threshold, options.noiseMultiplier * pooledCV * 2.0.squareRoot())
        result.noiseBand = band
        let bandText = String(format: "%.1f%%", band * 100)
        // And no overlap: every new value beyond every base value in the bad (or good) direction.
        let separated = better == metric.biggerIsBetter
            ? x.values.max()! < y.values.min()! : y.values.max()! < x.values.min()!
        if abs(result.change) > band && separated {
            result.verdict = direction
            result.reason = "\(changeText) leaves the noise band ±\(bandText) and the repetitions do not overlap (n=\(nb)/\(nn))"
        } else {
            result.verdict = .inconclusive
            result.reason = "\(changeText) is inside the noise band ±\(bandText) or the repetitions overlap (n=\(nb)/\(nn))"
        }
        return result
    }
}
