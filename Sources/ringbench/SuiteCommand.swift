import ArgumentParser
import BenchHarness

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run the default suite (what 'ringbench' with no arguments does).",
        discussion: """
            Every transport, at 8 B, 64 B, 1 KiB and 64 KiB where it can carry the size, in throughput and roundtrip mode; the ring on the sysv and mmap backings. Each repetition runs for a fixed time (full: 3 x 0.2 s after a 0.2 s warm-up; --quick: 1 x 0.08 s). The physical-limit probes run first (about 0.5 s) and every row shows its efficiency against them and its speed relative to pipe.

            Examples:
              ringbench suite --quick
              ringbench suite --transports spsc,pipe --sizes 8,64K --format json --output out.json
            """)

    @Flag(help: "Finish in well under 20 s: one short repetition per scenario, no warm-up.")
    var quick = false

    @Option(help: ArgumentHelp("Only these transports, comma-separated (default: all of \(TransportCatalog.suite.map(\.name).joined(separator: ","))).",
                               valueName: "A,B,..."))
    var transports: String?

    @Option(parsing: .unconditional,
            help: OptionRules.messageSize.help("Only these message sizes, comma-separated, suffixes K, M (default: 8,64,1K,64K).",
                                               valueName: "S,..."),
            transform: OptionRules.sizeList)
    var sizes: [Int]?

    @Option(help: ArgumentHelp("Only these modes, comma-separated: throughput, roundtrip (default: both). bench/ab.sh's confirmation measures only the modes it suspects.",
                               valueName: "M,..."))
    var modes: String?

    @Option(help: ArgumentHelp("Only these scenarios, comma-separated, named transport[/backing]/bytes/mode[/wait] as compare's JSON reports them (suiteName), e.g. spsc/sysv/8/throughput,pipe/64/roundtrip. bench/ab.sh's confirmation measures exactly the scenarios it suspects.",
                               valueName: "NAME,..."))
    var scenarios: String?

    @OptionGroup var placementOptions: PlacementOptions
    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let profile = quick ? SuitePlan.quick : SuitePlan.full
        var options = try output.runOptions(defaultRepetitions: profile.repetitions, defaultWarmup: profile.warmup)
        options.probesHostState = !probeOptions.noProbes
        options.placement = try placementOptions.request()
        let entries = try transports.map { try SuitePlan.transports(named: try list($0, flag: "--transports")) } ?? TransportCatalog.suite
        let chosenModes = try modes.map { try SuitePlan.modes(named: try list($0, flag: "--modes")) } ?? SuitePlan.modes
        var plan = SuitePlan.scenarios(transports: entries, sizes: sizes ?? SuitePlan.defaultSizes, modes: chosenModes, profile: profile)
        if let scenarios { plan = try SuitePlan.only(try list(scenarios, flag: "--scenarios"), of: plan) }
        guard !plan.isEmpty else {
            throw CommandFailure(message: "nothing to run: no selected transport carries the selected sizes and modes", code: 2)
        }
        // Everything is checked before the first fork, so a bad plan fails at once.
        for scenario in plan {
            let capabilities = try TransportCatalog.named(scenario.transport).capabilities
            try BenchmarkRunner.validate(scenario, capabilities: capabilities, options: options.applicable(to: capabilities))
        }
        var effective = profile
        effective.repetitions = options.repetitions
        effective.warmup = options.warmup
        let progress = SuiteProgress(total: plan.count, profile: effective)
        progress.show("probing physical limits (cache line, memcpy, futex wake-up, clock)...")
        var probes = try probeOptions.measure(pin: options.pin)
        options.settle = try probeOptions.settling(probes)
        var records: [RunRecord] = []
        for (index, scenario) in plan.enumerated() {
            progress.starting(index, scenario)
            let capabilities = try TransportCatalog.named(scenario.transport).capabilities
            do { records.append(try BenchmarkRunner.run(scenario, options: options.applicable(to: capabilities))) } catch {
                progress.finish()
                throw error
            }
            options.settle?.saw(records.last?.hostState)
        }
        if var limits = probes {
            // The host may have moved the CPUs since the first probe.
            limits.cacheLine.keepFastest(try CacheLineProbe.measure(cpus: limits.cacheLine.cpus))
            probes = limits
        }
        progress.finish()
        var document = ResultDocument(tool: .current(), machine: .current(), runs: records, probes: probes)
        document.doctor = MachineDoctor.check()
        document.annotate()
        try output.emit(document)
        try output.checkIntegrity(document)
        try placementOptions.check(document)
    }

    func list(_ text: String, flag: String) throws -> [String] {
        do { return try OptionRules.items(text) } catch {
            throw CommandFailure(message: "\(flag) needs at least one value", code: 2)
        }
    }
}
