/// `ringbench latency`: one-way latency under load. For each transport, an
/// unpaced run finds the saturation throughput S; then paced runs at each
/// requested rate and at S itself record the latency of every message from
/// its intended send time (see `FixedSchedule`), so the table shows where
/// each transport's latency knee is.
public enum LatencySweep {
    public static let defaultTransports = ["spsc", "mpmc-lockfree", "mpmc-sem", "pipe"]
    public static let defaultRates: [Double] = [1e6, 10e6, 50e6]

    /// The scenarios of one transport's sweep, after its saturation run.
    public static func paced(_ base: Scenario, rates: [Double], saturation: Double) -> [Scenario] {
        (rates + (saturation > 0 ? [saturation.rounded()] : [])).map { rate in
            var s = base
            s.rate = rate
            return s
        }
    }

    /// Runs the sweep; `progress` hears each scenario before it runs.
    public static func run(transports: [String], rates: [Double], messageSize: Int, durationSeconds: Double,
                           options: RunOptions, progress: (Scenario) -> Void = { _ in }) throws(HarnessError) -> [RunRecord] {
        var records: [RunRecord] = []
        var options = options
        for transport in transports {
            let entry = try TransportCatalog.named(transport)
            let base = Scenario(transport: transport, backing: entry.capabilities.usesBacking ? "sysv" : nil,
                                messageSize: messageSize, messages: nil, durationSeconds: durationSeconds,
                                capacity: 4096, batch: 1, mode: .throughput)
            progress(base)
            let saturated = try BenchmarkRunner.run(base, options: options)
            records.append(saturated)
            options.settle?.saw(saturated.hostState)
            for scenario in paced(base, rates: rates, saturation: saturated.summary.messagesPerSecond.median) {
                progress(scenario)
                records.append(try BenchmarkRunner.run(scenario, options: options))
                options.settle?.saw(records.last?.hostState)
            }
        }
        return records
    }
}
