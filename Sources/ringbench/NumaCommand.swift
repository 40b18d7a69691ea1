import ArgumentParser
import BenchHarness

struct NumaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "numa",
        abstract: "The NUMA placement study: every producer node x consumer node x memory node, and the probes per node pair.",
        discussion: """
            For every placement, the spsc ring at 8 B and 64 KiB (throughput) and its 8 B round trip, with ratios to the
            all-local placement; then cache-line round trips grouped by node and memcpy with local and remote buffers.
            Every run records where its processes ran and where its pages were, and says so when that differs from the
            request (docs/numa.md). On one node it runs the single all-local placement.
            Examples:
              ringbench numa
              ringbench numa --format json --output results/numa.json
              ringbench numa --duration 0.02 --repeat 1 --warmup 0 --placement-only --strict-placement
            """)

    @Option(help: ArgumentHelp("Shared-memory backing of the ring: sysv, mmap or anon.", valueName: "sysv|mmap|anon"))
    var backing: String = "sysv"

    @Option(help: ArgumentHelp("Seconds per repetition.", valueName: "SECONDS"))
    var duration: Double = 0.2

    @Option(help: "Measured repetitions per run.")
    var `repeat`: Int = 3

    @Option(help: "Warm-up repetitions per run.")
    var warmup: Int = 1

    @Flag(name: .customLong("no-probes"), help: "Skip the cache-line and memcpy probes per node pair.")
    var noProbes = false

    @Flag(name: .customLong("placement-only"),
          help: "Print requested against observed placement instead of figures (for emulated machines, whose timings mean nothing).")
    var placementOnly = false

    @Flag(name: .customLong("strict-placement"), help: "Fail (after writing the results) when anything was not placed as asked.")
    var strict = false

    @OptionGroup var destination: Destination

    func run() throws {
        guard duration > 0, duration.isFinite else { throw CommandFailure(message: "--duration must be a positive number of seconds", code: 2) }
        guard `repeat` >= 1 else { throw CommandFailure(message: "--repeat must be at least 1", code: 2) }
        guard warmup >= 0 else { throw CommandFailure(message: "--warmup must not be negative", code: 2) }
        let options = NumaStudy.Options(backing: backing, secondsPerRepetition: duration, repetitions: `repeat`, warmup: warmup,
                                        probes: !noProbes)
        let (runs, study) = try NumaStudy.run(options) { FileHandleOutput.stderr("ringbench numa: \($0)\n") }
        var document = ResultDocument(tool: .current(), machine: .current(), runs: runs)
        document.numaStudy = study
        try destination.write { format in
            switch format {
            case .table: placementOnly ? NumaRenderer.placementOnly(document) : NumaRenderer.study(document)
            case .json, .csv: ResultRenderer.render(document, as: format)
            }
        }
        try PlacementOptions.check(document, strict: strict)
    }
}
