import ArgumentParser
import BenchHarness
import Foundation

/// Options shared by every measuring subcommand.
struct OutputOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: OptionRules.repetitions.help("Measured repetitions per scenario (default 5; the suite: 3, or 1 with --quick).", valueName: "N"),
            transform: OptionRules.repetitions.transform)
    var `repeat`: Int?

    @Option(parsing: .unconditional,
            help: OptionRules.warmup.help("Warm-up repetitions per scenario, run and discarded first (default 1; the suite with --quick: 0).", valueName: "N"),
            transform: OptionRules.warmup.transform)
    var warmup: Int?

    @Option(help: ArgumentHelp("Pinning: 'auto' (distinct CPUs, spread over NUMA nodes), 'none', or a CPU list like 0,1.",
                               valueName: "auto|none|LIST"))
    var pin: String = "auto"

    @OptionGroup var destination: Destination

    @Option(parsing: .unconditional,
            help: OptionRules.timeout.help("Kill a repetition's processes after this many seconds (default: derived from the run's size).",
                                           valueName: "SECONDS"),
            transform: OptionRules.timeout.transform)
    var timeout: Double?

    /// The options, with the command's own defaults for what was not given.
    func runOptions(defaultRepetitions: Int = 5, defaultWarmup: Int = 1) throws -> RunOptions {
        // Ranges were checked while parsing (OptionRules).
        let repetitions = `repeat` ?? defaultRepetitions, warmupRuns = warmup ?? defaultWarmup
        return RunOptions(repetitions: repetitions, warmup: warmupRuns, pin: try PinPolicy(parsing: pin), timeoutSeconds: timeout)
    }

    /// Writes the document in the chosen format to --output or stdout.
    func emit(_ document: ResultDocument) throws {
        try destination.write { ResultRenderer.render(document, as: $0) }
    }

    /// A run whose messages were lost or damaged fails, after its results are written.
    func checkIntegrity(_ document: ResultDocument) throws {
        let failed = document.runs.filter { !$0.integrityHolds }
        guard let first = failed.first else { return }
        let i = first.integrity
        throw CommandFailure(message: "integrity check failed in \(failed.count) run(s); first: \(first.scenario.transport) \(first.scenario.mode.rawValue) \(first.scenario.messageSize) B: lost \(i.lost), duplicated \(i.duplicated), reordered \(i.reordered), corrupt \(i.corrupt)")
    }
}

/// Writes `text` to the file `path`, or to stdout when `path` is nil.
/// `--format` and `--output`: how and where every command writes.
struct Destination: ParsableArguments {
    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    /// Called by ArgumentParser after parsing: a bad --output fails before any work.
    func validate() throws {
        if let output { try OutputFile.checkWritable(output) }
    }

    /// Renders with the chosen format and writes to --output or stdout.
    func write(_ render: (OutputFormat) -> String) throws {
        try writeOutput(render(format), to: output)
    }
}

func writeOutput(_ text: String, to path: String?) throws {
    try OutputFile.write(text, to: path)
}

/// `--no-probes`, for commands that write result files.
struct ProbeOptions: ParsableArguments {
    @Flag(name: .customLong("no-probes"),
          help: "Skip the physical-limit probes (about 0.5 s): no 'probes' object and no efficiency figures in the results.")
    var noProbes = false

    @Option(parsing: .unconditional,
            help: OptionRules.wait.help("Before each run, wait up to this long for the host to return to the fastest cache-line state the command has seen (on a VM whose host moves its vCPUs; a run that waited says so in its notes; a state that did not come back is given up). 0: never wait.",
                                        valueName: "SECONDS", default: 0),
            transform: OptionRules.wait.transform)
    var settle: Double = 0

    @Option(name: .customLong("settle-budget"), parsing: .unconditional,
            help: OptionRules.wait.help("With --settle: the most the whole command waits, all runs together; once it is spent, runs start at once and say so in their notes. Default: no cap.",
                                        valueName: "SECONDS"),
            transform: OptionRules.wait.transform)
    var settleBudget: Double?

    /// Probes the CPUs runs with this pinning use, unless --no-probes.
    func measure(pin: PinPolicy, processes: Int = 2) throws -> ProbeResults? {
        if settle > 0, noProbes {
            throw CommandFailure(message: "--settle waits for the state the probes saw: it cannot be used with --no-probes", code: 2)
        }
        return noProbes ? nil : try PhysicalProbes.run(cpus: try PhysicalProbes.cpus(for: pin, processes: processes))
    }

    /// What `--settle` asks of every run: the command's first probe (`probes`)
    /// is the first reference state, lowered by faster runs and given up
    /// when a run never saw it (`HostSettle.saw`). Nil without `--settle`.
    func settling(_ probes: ProbeResults?) throws -> HostSettle? {
        guard settle > 0 else {
            if settleBudget != nil { throw CommandFailure(message: "--settle-budget caps the waits of --settle: give --settle SECONDS too", code: 2) }
            return nil
        }
        guard let reference = probes?.cacheLine.bestRoundTrip?.ns else {
            throw CommandFailure(message: "--settle needs two CPUs to probe a cache line between", code: 2)
        }
        return HostSettle(referenceNs: reference, seconds: settle, budgetSeconds: settleBudget)
    }
}

extension OutputFormat: ExpressibleByArgument {}
extension Scenario.Mode: ExpressibleByArgument {}
