import ArgumentParser
import BenchHarness

/// The harness's cost as a ratio: the spsc transport against the smallest
/// public-API loop over the same ring, back to back.
struct FloorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor",
        abstract: "Measure the ring's floor (a minimal tryPush/tryPop loop) against the spsc transport, back to back.",
        discussion: """
            The floor forks a producer looping on tryPush(UInt64) and a consumer looping on tryPop(as: UInt64.self)
            that checks every value is the next sequence number, pinned and timed like every run. Each round runs
            the floor and then 'ringbench run --transport spsc' (8 B, same batch, backing and capacity); the
            result is the median of the per-round ratios spsc / floor (1.0: the harness costs nothing).
            With --batch K the floor loops on tryPushBatch/tryPopBatch, K messages at a time.
            With --mode roundtrip the floor pings its sequence number over one ring and spins on the echo from
            another, timing every trip with one clock read as the harness's pinger does; each round compares the
            round trip's p50 (floor p50 / spsc p50). With --trips-per-sample K both loops read the clock once
            per K trips instead and record the mean, as the cache-line probe does with its batches of 100.
            Examples:
              ringbench floor
              ringbench floor --backing mmap --messages 50M --rounds 5 --format json --output floor.json
              ringbench floor --batch 32 --messages 200M
              ringbench floor --mode roundtrip --messages 2M
              ringbench floor --mode roundtrip --transport exchange
              ringbench floor --mode roundtrip --transport exchange --trips-per-sample 100
            With --transport boost-spsc, ck-spsc or cached-spsc (a rigtorp-style cached-index ring) the floor is
            that rival's own tight loop in C or C++ (Rivals/), beside the same rival through the harness's port.
            With --transport exchange (or exchange-shared) the floor is one Exchange: the client sends its sequence
            number in place and spins on tryReceive, the server spins on tryServe; each round compares it with
            'ringbench run --transport exchange --mode roundtrip'.
            """)

    @Option(help: ArgumentHelp("Shared-memory backing of both rings: sysv, mmap or anon.", valueName: "sysv|mmap|anon"))
    var backing: String = "mmap"

    @Option(parsing: .unconditional,
            help: OptionRules.messages.help("Messages per repetition (round trips in roundtrip mode); suffixes k, M. Default 50M, or 2M in roundtrip mode.", valueName: "N"),
            transform: OptionRules.messages.transform)
    var messages: Int?

    @Option(help: "What to measure: throughput or roundtrip.")
    var mode: Scenario.Mode = .throughput

    @Option(help: ArgumentHelp("The transport beside its floor: spsc, exchange / exchange-shared (roundtrip only), or a rival (boost-spsc, ck-spsc, cached-spsc) beside its own native loop (throughput, batch 1).",
                               valueName: "spsc|exchange|exchange-shared|boost-spsc|ck-spsc|cached-spsc"))
    var transport: String = "spsc"

    @Option(name: .customLong("trips-per-sample"), parsing: .unconditional,
            help: OptionRules.tripsPerSample.help("Roundtrip mode: both loops read the clock once per K round trips and record their mean, as the cache-line probe does (its 100); percentiles are then of K-trip means.", valueName: "K", default: 1),
            transform: OptionRules.tripsPerSample.transform)
    var tripsPerSample: Int = 1

    @Option(parsing: .unconditional,
            help: OptionRules.capacity.help("Ring slots (a power of two).", valueName: "N", default: 4096),
            transform: OptionRules.capacity.transform)
    var capacity: Int = 4096

    @Option(parsing: .unconditional,
            help: OptionRules.batch.help("Messages per push and pop, in both loops.", valueName: "K", default: 1),
            transform: OptionRules.batch.transform)
    var batch: Int = 1

    @Option(parsing: .unconditional,
            help: OptionRules.repetitions.help("Back-to-back pairs (floor, spsc).", valueName: "N", default: 5),
            transform: OptionRules.repetitions.transform)
    var rounds: Int = 5

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        var options = try output.runOptions(defaultRepetitions: 1, defaultWarmup: 1)
        options.probesHostState = !probeOptions.noProbes
        let messages = messages ?? (mode == .roundtrip ? 2_000_000 : 50_000_000)
        let trips = tripsPerSample == 1 ? nil : tripsPerSample
        var checked = RingFloor.scenario(backing: backing, messages: messages, capacity: capacity, batch: batch, mode: mode)
        checked.transport = transport
        checked.tripsPerSample = trips
        try BenchmarkRunner.validate(checked, capabilities: try TransportCatalog.named(transport).capabilities, options: options)
        let probes = try probeOptions.measure(pin: options.pin, processes: 2)
        options.settle = try probeOptions.settling(probes)
        let (comparison, records) = try FloorComparison.measure(backing: backing, messages: messages, capacity: capacity,
                                                                batch: batch, mode: mode, transport: transport,
                                                                tripsPerSample: trips, rounds: rounds, options: options)
        var document = ResultDocument(tool: .current(), machine: .current(), runs: records, probes: probes)
        document.floor = comparison
        document.annotate()
        try output.emit(document)
        try output.checkIntegrity(document)
    }
}
