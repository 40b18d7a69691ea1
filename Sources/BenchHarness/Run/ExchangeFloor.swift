import CShim
import ShmRing

/// The exchange's round-trip floor: the smallest public-API program over one
/// `Exchange` (8-byte messages), run like `RingFloor`'s round-trip floor so
/// that `ringbench floor --mode roundtrip --transport exchange` puts the
/// harness's `exchange` transport beside it. The client writes its sequence
/// number in place with `send(length:)`, retries `tryReceive` with the
/// library's `SpinWait` until the answer is in, checks it and times every
/// trip with one clock read (every K trips with `--trips-per-sample K`:
/// `TripTimer`); the server retries `tryServe`, answering each
/// request with its own 8 bytes.
public enum ExchangeFloor {
    /// The name in results (`scenario.transport`); not a catalog transport.
    public static func name(lines: Exchange.Lines) -> String {
        lines == .separate ? "exchange-floor" : "exchange-shared-floor"
    }

    static let capabilities = TransportCapabilities(modes: [.roundtrip], maximumMessageSize: 8,
                                                    limitReason: "the floor carries one UInt64",
                                                    usesBacking: true, needsMessageCount: true)

    /// The arrangement a floor scenario names.
    static func lines(_ scenario: Scenario) -> Exchange.Lines {
        scenario.transport == name(lines: .shared) ? .shared : .separate
    }

    static func repetition(_ scenario: Scenario, _ context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let backing = try RegionNames.backing(scenario)
        let exchange: Exchange
        do {
            exchange = try Exchange.create(backing: backing, name: RegionNames.make(backing, "floor-exchange", cleanup),
                                           maximumMessageSize: 8, lines: lines(scenario))
        } catch { throw .shm(error) }
        cleanup.register("exchange floor \(exchange.region.name)") { [exchange] in exchange.region.removeName() }
        RegionNames.releaseAfterAttach(exchange.region, cleanup)
        let control = try ControlBlock(children: 2)
        let specs = [ChildSpec(role: .producer(0), cpu: context.cpus[0]), ChildSpec(role: .consumer(0), cpu: context.cpus[1])]
        let total = UInt64(scenario.messages ?? 0)
        let clock = context.clock
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            do throws(ShmError) {
                let mine = backing == .anon ? exchange : try Exchange.open(backing: backing, name: exchange.region.name)
                if case .producer = spec.role {
                    var client = try mine.client(wait: .spin)
                    var timer = TripTimer(clock: clock, tripsPerSample: scenario.tripsPerSample)
                    var wrong: UInt64 = 0
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    timer.start()
                    var sequence: UInt64 = 0
                    var spin = SpinWait()
                    while sequence < total {
                        try client.send(length: 8, timeoutSeconds: nil) { $0.storeBytes(of: sequence, as: UInt64.self) }
                        // The previous sample, recorded while this trip is in flight.
                        timer.recordPending()
                        spin.reset()
                        var answer: UInt64 = 0
                        while try !client.tryReceive({ answer = $0.loadUnaligned(as: UInt64.self) }) { spin.wait() }
                        _ = timer.tripEnded()
                        if answer != sequence { wrong &+= 1 }
                        sequence &+= 1
                    }
                    report.latencyBuckets = timer.finish()
                    report.endNs = cshim_monotonic_ns()
                    report.integrity.sent = sequence
                    report.integrity.received = sequence &- wrong
                    report.integrity.reordered = wrong
                } else {
                    var server = try mine.server(wait: .spin)
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    var answered: UInt64 = 0
                    var spin = SpinWait()
                    while answered < total {
                        guard try server.tryServe({ request, response in
                            response.storeBytes(of: request.loadUnaligned(as: UInt64.self), as: UInt64.self)
                            return 8
                        }) else {
                            spin.wait()
                            continue
                        }
                        spin.reset()
                        answered &+= 1
                    }
                    report.endNs = cshim_monotonic_ns()
                }
            } catch { throw .shm(error) }
            return report
        }.reports
        return RepetitionRunner.summarise(scenario: scenario, reports: reports)
    }
}
