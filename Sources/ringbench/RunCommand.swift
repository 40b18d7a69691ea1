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
              ringbench run --mode roundtrip --transport exchange --trips-per-sample 100
            """)

    @Option(help: ArgumentHelp("Transport: \(TransportCatalog.names.joined(separator: ", ")).", valueName: "NAME"))
    var transport: String = "spsc"

    @Option(help: ArgumentHelp("Shared-memory backing for ring transports: sysv, mmap or anon.", valueName: "sysv|mmap|anon"))
    var backing: String = "sysv"

    @Option(name: .customLong("message-size"), parsing: .unconditional,
            help: OptionRules.messageSize.help("Bytes per message (suffixes K, M); kernel transports may carry less.", valueName: "BYTES", default: 8),
            transform: OptionRules.messageSize.transform)
    var messageSize: Int = 8

    @Option(parsing: .unconditional,
            help: OptionRules.messages.help("Messages per repetition (round trips in roundtrip mode); suffixes k, M. Default 10M, or 100k in roundtrip mode.", valueName: "N"),
            transform: OptionRules.messages.transform)
    var messages: Int?

    @Option(parsing: .unconditional,
            help: OptionRules.duration.help("Run each repetition for this many seconds instead of a message count.", valueName: "SECONDS"),
            transform: OptionRules.duration.transform)
    var duration: Double?

    @Option(parsing: .unconditional,
            help: OptionRules.capacity.help("Ring slots (a power of two).", valueName: "N", default: 4096),
            transform: OptionRules.capacity.transform)
    var capacity: Int = 4096

    @Option(parsing: .unconditional,
            help: OptionRules.batch.help("Messages per publication: the producer writes up to K before publishing, the consumer reads up to K at once.", valueName: "K", default: 1),
            transform: OptionRules.batch.transform)
    var batch: Int = 1

    @Option(help: "throughput or roundtrip.")
    var mode: Scenario.Mode = .throughput

    @Option(name: .customLong("trips-per-sample"), parsing: .unconditional,
            help: OptionRules.tripsPerSample.help("Roundtrip mode: read the clock once per K round trips and record their mean, as the cache-line probe does (its 100), so the clock's ~20 ns stays out of the figure; percentiles are then of K-trip means.", valueName: "K", default: 1),
            transform: OptionRules.tripsPerSample.transform)
    var tripsPerSample: Int = 1

    @Option(parsing: .unconditional,
            help: OptionRules.processesPerSide.help("Producer processes (transports that allow several).", valueName: "P", default: 1),
            transform: OptionRules.processesPerSide.transform)
    var producers: Int = 1

    @Option(parsing: .unconditional,
            help: OptionRules.processesPerSide.help("Consumer processes (transports that allow several).", valueName: "C", default: 1),
            transform: OptionRules.processesPerSide.transform)
    var consumers: Int = 1

    @OptionGroup var placementOptions: PlacementOptions
    @Option(parsing: .unconditional,
            help: OptionRules.rate.help("Throughput mode, paced: messages per second per producer on a fixed schedule; the consumers record one-way latency from each message's intended send time (suffixes k, M). Messages of 16 B or more.", valueName: "R"),
            transform: OptionRules.rate.transform)
    var rate: Int?

    @Option(name: .customLong("record-sizes"),
            help: ArgumentHelp("records: how record lengths vary up to --message-size: fixed, uniform or log-uniform (8 B ... --message-size).",
                               valueName: "fixed|uniform|log-uniform"))
    var recordSizes: String?

    @Option(help: ArgumentHelp("Seed of the record lengths (with --record-sizes; recorded in the results).", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("spsc, records, broadcast, exchange: wait in the library's blocking calls with this strategy (default: the harness spins).",
                               valueName: "spin|yield|park|backoff"))
    var wait: String?

    /// broadcast: `--policy`, `--evict-after` (checked with the scenario).
    @OptionGroup var policyOptions: BroadcastPolicyOptions

    @Option(name: .customLong("stalled-consumers"),
            help: ArgumentHelp("broadcast with --policy overwrite: the first K consumers read nothing until the producer has finished (their cursors stand still, as a SIGSTOPped reader's), so the producer's own rate (producerMessagesPerSecond) shows what a stalled reader costs it.",
                               valueName: "K"))
    var stalledConsumers: Int?

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        if messages != nil && duration != nil {
            throw CommandFailure(message: "give either --messages or --duration, not both", code: 2)
        }
        let count = duration == nil ? (messages ?? (mode == .roundtrip ? 100_000 : 10_000_000)) : nil
        var scenario = Scenario(transport: transport, backing: backing, producers: producers, consumers: consumers,
                                messageSize: messageSize, messages: count, durationSeconds: duration,
                                capacity: capacity, batch: batch, mode: mode, rate: rate.map { Double($0) })
        scenario.recordSizes = recordSizes
        scenario.seed = recordSizes == nil ? seed : (seed ?? MessageLengths.defaultSeed)
        scenario.wait = wait
        scenario.policy = policyOptions.name
        scenario.evictAfter = policyOptions.evictAfter
        scenario.stalledConsumers = stalledConsumers
        // 1 is the default timing: left out of the scenario (and its key).
        scenario.tripsPerSample = tripsPerSample == 1 ? nil : tripsPerSample
        var options = try output.runOptions()
        options.probesHostState = !probeOptions.noProbes
        options.placement = try placementOptions.request()
        // Checked before probing, so bad input fails at once.
        try BenchmarkRunner.validate(scenario, capabilities: try TransportCatalog.named(transport).capabilities, options: options)
        // With node flags, probe the CPUs the placement chose.
        let placedCPUs = options.placement.isEmpty ? [] : try Placement.resolve(
            options.pin, producers: producers, consumers: consumers, request: options.placement, topology: options.topology).cpus.compactMap { $0 }
        let probes = try probeOptions.measure(pin: placedCPUs.isEmpty ? options.pin : .cpus(placedCPUs), processes: scenario.processCount)
        options.settle = try probeOptions.settling(probes)
        let record = try BenchmarkRunner.run(scenario, options: options)
        var document = ResultDocument(tool: .current(), machine: .current(), runs: [record], probes: probes)
        document.doctor = MachineDoctor.check()
        document.annotate()
        try output.emit(document)
        try output.checkIntegrity(document)
        try placementOptions.check(document)
    }
}
