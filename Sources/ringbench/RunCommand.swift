import ArgumentParser
import BenchHarness

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one scenario: fork producers and consumers, measure, check every message.",
        discussion: """
            Throughput mode streams messages from producers to consumers; roundtrip mode sends one
            message, waits for its echo, and records every round trip in a histogram.
            Examples:
              ringbench run --transport spsc --backing mmap --message-size 64 --messages 10M
              ringbench run --mode roundtrip --messages 200k --format json --output rtt.json
            """)

    @Option(help: ArgumentHelp("Transport: \(TransportCatalog.names.joined(separator: ", ")).", valueName: "NAME"))
    var transport: String = "spsc"

    @Option(help: ArgumentHelp("Shared-memory backing for ring transports: sysv, mmap or anon.", valueName: "sysv|mmap|anon"))
    var backing: String = "sysv"

    @Option(name: .customLong("message-size"), help: ArgumentHelp("Bytes per message, at least 8 (suffixes K, M).", valueName: "BYTES"))
    var messageSize: ByteCount = ByteCount(8)

    @Option(help: ArgumentHelp("Messages per repetition (round trips in roundtrip mode); suffixes k, M. Default 10M, or 100k in roundtrip mode.", valueName: "N"))
    var messages: Count?

    @Option(help: ArgumentHelp("Run each repetition for this many seconds instead of a message count.", valueName: "SECONDS"))
    var duration: Double?

    @Option(help: ArgumentHelp("Ring slots (a power of two).", valueName: "N"))
    var capacity: Int = 4096

    @Option(help: ArgumentHelp("Messages per publication: the producer writes up to K before publishing, the consumer reads up to K at once.", valueName: "K"))
    var batch: Int = 1

    @Option(help: "throughput or roundtrip.")
    var mode: Scenario.Mode = .throughput

    @Option(help: ArgumentHelp("Producer processes (transports that allow several).", valueName: "P"))
    var producers: Int = 1

    @Option(help: ArgumentHelp("Consumer processes (transports that allow several).", valueName: "C"))
    var consumers: Int = 1

    @Option(name: .customLong("record-sizes"),
            help: ArgumentHelp("records: how record lengths vary up to --message-size: fixed, uniform or log-uniform (8 B ... --message-size).",
                               valueName: "fixed|uniform|log-uniform"))
    var recordSizes: String?

    @Option(help: ArgumentHelp("Seed of the record lengths (with --record-sizes; recorded in the results).", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("spsc, records: wait in the library's blocking calls with this strategy (default: the harness spins).",
                               valueName: "spin|yield|park"))
    var wait: String?

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        if messages != nil && duration != nil {
            throw CommandFailure(message: "give either --messages or --duration, not both", code: 2)
        }
        if let duration, !(duration > 0) {
            throw CommandFailure(message: "--duration must be a positive number of seconds", code: 2)
        }
        let count = duration == nil ? (messages?.value ?? (mode == .roundtrip ? 100_000 : 10_000_000)) : nil
        var scenario = Scenario(transport: transport, backing: backing, producers: producers, consumers: consumers,
                                messageSize: messageSize.value, messages: count, durationSeconds: duration,
                                capacity: capacity, batch: batch, mode: mode)
        scenario.recordSizes = recordSizes
        scenario.seed = recordSizes == nil ? seed : (seed ?? MessageLengths.defaultSeed)
        scenario.wait = wait
        let options = try output.runOptions()
        // Checked before probing, so bad input fails at once.
        try BenchmarkRunner.validate(scenario, capabilities: try TransportCatalog.named(transport).capabilities, options: options)
        let probes = try probeOptions.measure(pin: options.pin, processes: scenario.processCount)
        let record = try BenchmarkRunner.run(scenario, options: options)
        var document = ResultDocument(tool: .current(), machine: .current(), runs: [record], probes: probes)
        document.annotate()
        try output.emit(document)
        try output.checkIntegrity(document)
    }
}
