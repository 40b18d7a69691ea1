import ArgumentParser
import BenchHarness

/// Latency under load: a --rate sweep per transport, up to its saturation.
struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "One-way latency under load: paced runs at several rates and at each transport's saturation point.",
        discussion: """
            For each transport: an unpaced throughput run finds its saturation rate S; then 'run --rate R' for every
            R in --rates and for S. Producers send on a fixed schedule and every message carries its intended send
            time, so a stall is charged to every message it delayed (no coordinated omission, as in wrk2); the
            consumer records one-way latency from that time in an HdrHistogram. Rates above S show latency growing
            with the queue over the run.
            Examples:
              ringbench latency
              ringbench latency --transports spsc,pipe --rates 100k,1M --format json --output latency.json
            """)

    @Option(help: ArgumentHelp("Transports, comma-separated (default: \(LatencySweep.defaultTransports.joined(separator: ","))).", valueName: "A,B,..."))
    var transports: String = LatencySweep.defaultTransports.joined(separator: ",")

    @Option(help: ArgumentHelp("Rates in messages per second, comma-separated, suffixes k, M (default: 1M,10M,50M; the saturation rate is added).", valueName: "R,..."))
    var rates: String = "1M,10M,50M"

    @Option(name: .customLong("message-size"), parsing: .unconditional,
            help: OptionRules.messageSize.help("Bytes per message, at least 16 (suffixes K, M).", valueName: "BYTES", default: 64),
            transform: OptionRules.messageSize.transform)
    var messageSize: Int = 64

    @Option(parsing: .unconditional,
            help: OptionRules.duration.help("Seconds per repetition.", valueName: "SECONDS", default: 0.2),
            transform: OptionRules.duration.transform)
    var duration: Double = 0.2

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let names = transports.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var rateValues: [Double] = []
        for item in rates.split(separator: ",") {
            let text = String(item).trimmingCharacters(in: .whitespaces)
            do { rateValues.append(Double(try OptionRules.rate.parse(text))) } catch {
                throw CommandFailure(message: "--rates: '\(text)': \(error)", code: 2)
            }
        }
        guard !names.isEmpty, !rateValues.isEmpty else { throw CommandFailure(message: "--transports and --rates need at least one value", code: 2) }
        var options = try output.runOptions(defaultRepetitions: 3, defaultWarmup: 1)
        options.probesHostState = !probeOptions.noProbes
        // Every scenario is checked before the first fork.
        for name in names {
            let entry = try TransportCatalog.named(name)
            let check = Scenario(transport: name, backing: entry.capabilities.usesBacking ? "sysv" : nil, messageSize: messageSize,
                                 messages: nil, durationSeconds: duration, capacity: 4096, batch: 1, mode: .throughput,
                                 rate: rateValues[0])
            try BenchmarkRunner.validate(check, capabilities: entry.capabilities, options: options)
        }
        let probes = try probeOptions.measure(pin: options.pin)
        options.settle = try probeOptions.settling(probes)
        let records = try LatencySweep.run(transports: names, rates: rateValues, messageSize: messageSize,
                                           durationSeconds: duration, options: options)
        var document = ResultDocument(tool: .current(), machine: .current(), runs: records, probes: probes)
        document.annotate()
        try output.emit(document)
        try output.checkIntegrity(document)
    }
}
