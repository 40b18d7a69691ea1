import ArgumentParser
import BenchHarness
import Foundation

/// An integer argument with an optional k/M/G suffix.
protocol ScaledArgument: ExpressibleByArgument, CustomStringConvertible {
    /// 1024 for byte sizes, 1000 for counts.
    static var base: Int { get }
    var value: Int { get }
    init(_ value: Int)
}

extension ScaledArgument {
    init?(argument: String) {
        guard let v = parseScaled(argument, base: Self.base), v >= 0 else { return nil }
        self.init(v)
    }
    var description: String { "\(value)" }
}

/// A byte count: 64, 64K, 1M (powers of 1024).
struct ByteCount: ScaledArgument {
    static let base = 1024
    var value: Int
    init(_ value: Int) { self.value = value }
}

/// A count: 10M, 500k (powers of 1000).
struct Count: ScaledArgument {
    static let base = 1000
    var value: Int
    init(_ value: Int) { self.value = value }
}

func parseScaled(_ text: String, base: Int) -> Int? {
    let lowered = text.lowercased()
    let scale: Int
    var digits = Substring(lowered)
    switch lowered.last {
    case "k": scale = base; digits = digits.dropLast()
    case "m": scale = base * base; digits = digits.dropLast()
    case "g": scale = base * base * base; digits = digits.dropLast()
    default: scale = 1
    }
    if base == 1024, digits.hasSuffix("i") { return nil }
    guard let n = Int(digits) else { return nil }
    let (r, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : r
}

/// Options shared by every measuring subcommand.
struct OutputOptions: ParsableArguments {
    @Option(help: "Measured repetitions per scenario (default 5; the suite: 3, or 1 with --quick).")
    var `repeat`: Int?

    @Option(help: "Warm-up repetitions per scenario, run and discarded first (default 1; the suite with --quick: 0).")
    var warmup: Int?

    @Option(help: ArgumentHelp("Pinning: 'auto' (distinct CPUs, spread over NUMA nodes), 'none', or a CPU list like 0,1.",
                               valueName: "auto|none|LIST"))
    var pin: String = "auto"

    @OptionGroup var destination: Destination

    @Option(help: ArgumentHelp("Kill a repetition's processes after this many seconds (default: derived from the run's size).",
                               valueName: "SECONDS"))
    var timeout: Double?

    /// The options, with the command's own defaults for what was not given.
    func runOptions(defaultRepetitions: Int = 5, defaultWarmup: Int = 1) throws -> RunOptions {
        let repetitions = `repeat` ?? defaultRepetitions, warmupRuns = warmup ?? defaultWarmup
        guard repetitions >= 1 else { throw CommandFailure(message: "--repeat must be at least 1", code: 2) }
        guard warmupRuns >= 0 else { throw CommandFailure(message: "--warmup must not be negative", code: 2) }
        if let timeout, !(timeout > 0) { throw CommandFailure(message: "--timeout must be a positive number of seconds", code: 2) }
        return RunOptions(repetitions: repetitions, warmup: warmupRuns, pin: try PinPolicy(parsing: pin), timeoutSeconds: timeout)
    }

    /// Writes the document in the chosen format to --output or stdout.
    func emit(_ document: ResultDocument) throws {
        try destination.write { ResultRenderer.render(document, as: $0) }
    }

    /// A run whose messages were lost or damaged fails, after its results are written.
    func checkIntegrity(_ document: ResultDocument) throws {
        let failed = document.runs.filter { !$0.integrity.clean }
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

    /// Renders with the chosen format and writes to --output or stdout.
    func write(_ render: (OutputFormat) -> String) throws {
        try writeOutput(render(format), to: output)
    }
}

func writeOutput(_ text: String, to path: String?) throws {
    guard let path else {
        print(text, terminator: "")
        return
    }
    do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
        throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)")
    }
}

/// `--no-probes`, for commands that write result files.
struct ProbeOptions: ParsableArguments {
    @Flag(name: .customLong("no-probes"),
          help: "Skip the physical-limit probes (about 0.5 s): no 'probes' object and no efficiency figures in the results.")
    var noProbes = false

    /// Probes the CPUs runs with this pinning use, unless --no-probes.
    func measure(pin: PinPolicy, processes: Int = 2) throws -> ProbeResults? {
        noProbes ? nil : try PhysicalProbes.run(cpus: try PhysicalProbes.cpus(for: pin, processes: processes))
    }
}

extension OutputFormat: ExpressibleByArgument {}
extension Scenario.Mode: ExpressibleByArgument {}
