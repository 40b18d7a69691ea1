import ArgumentParser
import BenchHarness
import Foundation

/// `ringbench compare BASE NEW`: the regression gate. Exit codes follow
/// ordo-one/package-benchmark where it has one (2 = a regression):
/// 0 nothing regressed, 2 a regression, 3 not comparable, 4 not enough
/// evidence, 1 an error.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results (files or directories of A/B rounds): verdict per scenario and metric; exit 2 on a regression.",
        discussion: """
            Runs are matched by scenario. Metrics: msgs/s (bigger is better), round-trip p50, p99, p99.9 (smaller is better). When both sides are directories of rounds run side by side (bench/ab.sh: base/round-I.json and head/round-I.json), each round's new/base ratio is one observation and Yuen's two-sided trimmed t test of the rounds' log ratios (20 % trimmed from each end, so a round whose two runs saw different host states cannot decide) at --alpha decides (at least 4 rounds in common; the drift between rounds cancels; --unpaired turns this off). Otherwise, with at least --min-repetitions values on both sides, a two-sided Mann-Whitney U test at --alpha decides (within each machine state when the values fall into two clusters, as when the host moves the vCPUs); with fewer, the change must leave a noise band derived from the runs' own spread. Either way a change below --threshold (msgs/s, p50) or --tail-threshold (p99, p99.9) is 'unchanged'. A directory stands for every *.json in it, repetitions pooled per scenario (bench/ab.sh writes such directories).

            Each run's own host probes (runs[].hostState) choose what is judged: a run whose probes disagree (the host moved the vCPUs during it) is left out, and so is a run in another host state than the one judged (the fastest state both sides have enough values in); the counts are printed. Round trips are judged on p50, p99 and p99.9, not on trips per second. The headline lists every change beyond --threshold, judged or not.

            Exit status: 0 nothing regressed, 2 at least one regression, 3 not comparable (different machines, no scenario in common, or a regression-sized change while the probes say the machine was in another state), 4 not enough evidence (nothing regressed, but fewer than --min-judged percent of the metrics could be judged; one-repetition files can never fail and say so), 1 an error.

            Examples:
              ringbench compare results/base.json results/new.json
              ringbench compare base/ head/ --format markdown >> "$GITHUB_STEP_SUMMARY"
            """)

    @Argument(help: ArgumentHelp("The reference: a results file, or a directory of them.", valueName: "BASE"))
    var base: String

    @Argument(help: ArgumentHelp("The candidate: a results file, or a directory of them.", valueName: "NEW"))
    var new: String

    @OptionGroup var settings: CompareSettings

    func run() throws {
        let report = try settings.compare(base: try Self.load(base), new: try Self.load(new))
        try settings.emit(report)
    }

    static func load(_ path: String) throws -> ResultSet {
        do { return try ResultSet.load(path) } catch { throw CommandFailure(message: error.description, code: 1) }
    }
}

/// The options `compare` and `baseline compare` share.
struct CompareSettings: ParsableArguments {
    @Option(help: ArgumentHelp("Minimum effect size in percent for msgs/s and p50: smaller changes are 'unchanged'.", valueName: "PERCENT"))
    var threshold: Double = 5

    @Option(help: "Significance level of the Mann-Whitney U test (two-sided).")
    var alpha: Double = 0.01

    @Option(name: .customLong("tail-threshold"),
            help: ArgumentHelp("Minimum effect size in percent for the tail percentiles p99 and p99.9 (they move more between identical runs).", valueName: "PERCENT"))
    var tailThreshold: Double = 15

    @Option(name: .customLong("min-repetitions"),
            help: ArgumentHelp("Values each side needs for the U test; with fewer, the noise band decides.", valueName: "N"))
    var minRepetitions: Int = 5

    @Option(name: .customLong("probe-tolerance"),
            help: ArgumentHelp("Percent by which a probe (cache line, memcpy, wake-up) may differ before the machine state is flagged.", valueName: "PERCENT"))
    var probeTolerance: Double = 50

    @Option(name: .customLong("state-tolerance"),
            help: ArgumentHelp("Percent by which runs' own cache-line probes may differ and still be one host state (only runs in one state are judged).", valueName: "PERCENT"))
    var stateTolerance: Double = (HostState.tolerance - 1) * 100

    @Option(name: .customLong("min-judged"),
            help: ArgumentHelp("Percent of metrics that must be judged (not inconclusive) for 'ok'; below it, exit 4.", valueName: "PERCENT"))
    var minJudged: Double = 50

    @Flag(help: "Rank all values of one side against the other's even when both sides are directories of rounds run side by side (by default such rounds are compared pair by pair).")
    var unpaired = false

    @Flag(help: "Compare efficiency (figure / physical limit from the probes) instead of raw figures.")
    var normalize = false

    @Flag(name: .customLong("allow-different-machines"), help: "Compare results from different machines (CPU model, count, NUMA, kernel).")
    var allowDifferentMachines = false

    @Option(help: "Output format: table, markdown or json.")
    var format: ComparisonRenderer.Format = .table

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    func options() throws -> CompareOptions {
        guard threshold >= 0, threshold.isFinite else { throw CommandFailure(message: "--threshold must be a percentage >= 0", code: 1) }
        guard tailThreshold >= 0, tailThreshold.isFinite else { throw CommandFailure(message: "--tail-threshold must be a percentage >= 0", code: 1) }
        guard alpha > 0, alpha < 1 else { throw CommandFailure(message: "--alpha must be between 0 and 1", code: 1) }
        guard minRepetitions >= 2 else { throw CommandFailure(message: "--min-repetitions must be at least 2", code: 1) }
        guard probeTolerance >= 0, probeTolerance.isFinite else { throw CommandFailure(message: "--probe-tolerance must be a percentage >= 0", code: 1) }
        guard stateTolerance > 0, stateTolerance.isFinite else { throw CommandFailure(message: "--state-tolerance must be a percentage > 0", code: 1) }
        guard minJudged >= 0, minJudged <= 100 else { throw CommandFailure(message: "--min-judged must be a percentage between 0 and 100", code: 1) }
        var o = CompareOptions()
        o.threshold = threshold / 100
        o.tailThreshold = tailThreshold / 100
        o.alpha = alpha
        o.minRankRepetitions = minRepetitions
        o.probeTolerance = probeTolerance / 100
        o.stateTolerance = 1 + stateTolerance / 100
        o.normalize = normalize
        o.paired = !unpaired
        o.allowDifferentMachines = allowDifferentMachines
        o.minimumJudgedShare = minJudged / 100
        return o
    }

    func compare(base: ResultSet, new: ResultSet) throws -> ComparisonReport {
        ResultComparison.compare(base, new, options: try options())
    }

    /// Writes the report, then exits with its status (0, 2, 3 or 4).
    func emit(_ report: ComparisonReport) throws {
        try writeOutput(ComparisonRenderer.render(report, as: format), to: output)
        if report.exitCode != 0 { throw CompareExit(code: report.exitCode) }
    }
}

/// A finished comparison whose verdict is a non-zero exit status (not an error: nothing more is printed).
struct CompareExit: Error {
    var code: Int32
}

extension ComparisonRenderer.Format: ExpressibleByArgument {}
