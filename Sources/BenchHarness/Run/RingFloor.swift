import CShim
import Histogram
import ShmRing

/// The ring's floor: the smallest program a user of the public API would
/// write to move 8-byte messages, run by the tool itself so that the
/// harness's own cost is a measured ratio (`spsc` / floor), not a guess.
///
/// One SPSC ring of `capacity` x 8 B slots; the producer loops on
/// `tryPush(UInt64)` with the sequence number, the consumer on
/// `tryPop(as: UInt64.self)` and counts every value that is not the next
/// sequence number. With a batch of K > 1 they loop on `tryPushBatch` and
/// `tryPopBatch` instead, K at a time, with the same check. Nothing else: no
/// checksums, no clock inside the loop, no stop flag (runs are bounded by a
/// message count). The
/// round-trip floor (`--mode roundtrip`) is the same over two rings: the
/// pinger pushes its sequence number on one and retries `tryPop` of the
/// other until the echo comes back, checks it, and times every trip with one
/// clock read (or every K trips with `--trips-per-sample K`), with the
/// harness pinger's `TripTimer` (`MessageLoops.ping`); the echoer
/// pops and pushes each value back. Both retry with the library's public
/// `SpinWait` (a `pause` between attempts), as the harness's ports do: a
/// bare retry loop measured slower here (140-150 ns against 120-130 ns). The
/// children are forked, pinned, started and timed exactly like a transport's
/// (same runner, same barrier, same start/end clock reads), so only the
/// loops differ.
public enum RingFloor {
    /// The name in results (`scenario.transport`); not a catalog transport.
    public static let name = "ring-floor"

    static let capabilities = TransportCapabilities(modes: [.throughput, .roundtrip], maximumMessageSize: 8,
                                                    limitReason: "the floor carries one UInt64",
                                                    usesBacking: true, usesCapacity: true, needsMessageCount: true)

    /// The floor's scenario: 8 B, throughput, bounded by `messages`.
    public static func scenario(backing: String, messages: Int, capacity: Int = 4096, batch: Int = 1,
                                mode: Scenario.Mode = .throughput) -> Scenario {
        Scenario(transport: name, backing: backing, messageSize: 8, messages: messages, capacity: capacity,
                 batch: batch, mode: mode)
    }

    /// Runs the floor like any scenario (placement, warm-up, repetitions).
    public static func run(_ scenario: Scenario, options: RunOptions) throws(HarnessError) -> RunRecord {
        try BenchmarkRunner.run(scenario, options: options, capabilities: capabilities, repetition: repetition)
    }

    static func repetition(_ scenario: Scenario, _ context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        if scenario.mode == .roundtrip { return try roundTrips(scenario, context) }
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let backing = try RegionNames.backing(scenario)
        let ring = try createRing(scenario, backing: backing, label: "floor", cleanup: cleanup)
        let control = try ControlBlock(children: 2)
        let specs = [ChildSpec(role: .producer(0), cpu: context.cpus[0]), ChildSpec(role: .consumer(0), cpu: context.cpus[1])]
        let total = UInt64(scenario.messages ?? 0)
        let batch = UInt64(scenario.batch)
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            do throws(ShmError) {
                let mine = try attach(ring, backing: backing)
                if case .producer = spec.role {
                    var producer = try mine.producer(wait: .spin)
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    var sequence: UInt64 = 0
                    if batch == 1 {
                        while sequence < total {
                            if try producer.tryPush(sequence) { sequence &+= 1 }
                        }
                    } else {
                        while sequence < total {
                            let first = sequence
                            let pushed = try producer.tryPushBatch(maxCount: Int(min(batch, total &- sequence))) { i, slot in
                                slot.storeBytes(of: first &+ UInt64(truncatingIfNeeded: i), as: UInt64.self)
                            }
                            sequence &+= UInt64(truncatingIfNeeded: pushed)
                        }
                    }
                    report.endNs = cshim_monotonic_ns()
                    report.integrity.sent = sequence
                } else {
                    var consumer = try mine.consumer(wait: .spin)
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    var expected: UInt64 = 0, wrong: UInt64 = 0
                    if batch == 1 {
                        while expected < total {
                            if let value = try consumer.tryPop(as: UInt64.self) {
                                if value != expected { wrong &+= 1 }
                                expected &+= 1
                            }
                        }
                    } else {
                        while expected < total {
                            _ = try consumer.tryPopBatch(maxCount: Int(batch)) { _, slot in
                                if slot.loadUnaligned(as: UInt64.self) != expected { wrong &+= 1 }
                                expected &+= 1
                            }
                        }
                    }
                    report.endNs = cshim_monotonic_ns()
                    report.integrity.received = expected &- wrong
                    report.integrity.reordered = wrong
                }
            } catch { throw .shm(error) }
            return report
        }.reports
        return RepetitionRunner.summarise(scenario: scenario, reports: reports)
    }

    /// A ring of the scenario's capacity of 8-byte slots, whose name goes
    /// once both children have attached (or with `cleanup`).
    static func createRing(_ scenario: Scenario, backing: RegionBacking, label: String,
                           cleanup: CleanupRegistry) throws(HarnessError) -> SPSCRing {
        let ring: SPSCRing
        do {
            ring = try SPSCRing.create(backing: backing, name: RegionNames.make(backing, label, cleanup),
                                       capacity: scenario.capacity, messageSize: 8)
        } catch { throw .shm(error) }
        cleanup.register("ring floor \(ring.region.name)") { [ring] in ring.region.removeName() }
        RegionNames.releaseAfterAttach(ring.region, cleanup)
        return ring
    }

    /// A child's own view of `ring`: named rings are opened by name, as an
    /// unrelated process would; anonymous ones are inherited through fork.
    static func attach(_ ring: SPSCRing, backing: RegionBacking) throws(ShmError) -> SPSCRing {
        backing == .anon ? ring : try SPSCRing.open(backing: backing, name: ring.region.name)
    }

    /// The round-trip floor: ring `out` carries pings, ring `back` echoes.
    static func roundTrips(_ scenario: Scenario, _ context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let backing = try RegionNames.backing(scenario)
        let outbound = try createRing(scenario, backing: backing, label: "floor-out", cleanup: cleanup)
        let inbound = try createRing(scenario, backing: backing, label: "floor-back", cleanup: cleanup)
        let control = try ControlBlock(children: 2)
        let specs = [ChildSpec(role: .producer(0), cpu: context.cpus[0]), ChildSpec(role: .consumer(0), cpu: context.cpus[1])]
        let total = UInt64(scenario.messages ?? 0)
        let clock = context.clock
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            do throws(ShmError) {
                let out = try attach(outbound, backing: backing)
                let back = try attach(inbound, backing: backing)
                if case .producer = spec.role {
                    var ping = try out.producer(wait: .spin)
                    var echo = try back.consumer(wait: .spin)
                    var timer = TripTimer(clock: clock, tripsPerSample: scenario.tripsPerSample)
                    var wrong: UInt64 = 0
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    timer.start()
                    var sequence: UInt64 = 0
                    while sequence < total {
                        var spin = SpinWait()
                        while try !ping.tryPush(sequence) { spin.wait() }
                        // The previous sample, recorded while this trip is in flight.
                        timer.recordPending()
                        spin.reset()
                        var echoed = try echo.tryPop(as: UInt64.self)
                        while echoed == nil {
                            spin.wait()
                            echoed = try echo.tryPop(as: UInt64.self)
                        }
                        _ = timer.tripEnded()
                        if echoed != sequence { wrong &+= 1 }
                        sequence &+= 1
                    }
                    report.latencyBuckets = timer.finish()
                    report.endNs = cshim_monotonic_ns()
                    report.integrity.sent = sequence
                    report.integrity.received = sequence &- wrong
                    report.integrity.reordered = wrong
                } else {
                    var ping = try out.consumer(wait: .spin)
                    var echo = try back.producer(wait: .spin)
                    control.arriveAndWait()
                    report.startNs = cshim_monotonic_ns()
                    var echoed: UInt64 = 0
                    var spin = SpinWait()
                    while echoed < total {
                        guard let value = try ping.tryPop(as: UInt64.self) else {
                            spin.wait()
                            continue
                        }
                        spin.reset()
                        while try !echo.tryPush(value) { spin.wait() }
                        echoed &+= 1
                    }
                    report.endNs = cshim_monotonic_ns()
                }
            } catch { throw .shm(error) }
            return report
        }.reports
        return RepetitionRunner.summarise(scenario: scenario, reports: reports)
    }
}

/// `ringbench floor`: the floor and the `spsc` transport (8 B, same batch,
/// backing and capacity, same mode) back to back, round after round, so that
/// machine noise hits both alike; the ratio of each round's pair and their
/// median. In throughput mode a round compares messages per second (spsc /
/// floor); in roundtrip mode the round trip's median (floor p50 / spsc p50).
/// Either way 1.0 means the harness costs nothing, and less means it hides
/// part of the ring.
public struct FloorComparison: Codable, Sendable {
    public struct Round: Codable, Sendable {
        /// The floor's and the spsc transport's figure in this round:
        /// messages per second, or the round trip's p50 in nanoseconds.
        public var floor: Double
        public var spsc: Double
        /// spsc / floor (throughput), floor / spsc (roundtrip).
        public var ratio: Double
    }

    /// "messagesPerSecond" or "roundTripP50Ns" (absent in older files:
    /// messages per second).
    public var metric: String?
    /// The harness transport compared with its floor (absent: spsc; the
    /// rounds' `spsc` field holds its figure).
    public var transport: String?
    public var rounds: [Round]
    /// Median of the per-round ratios.
    public var medianRatio: Double

    public init(rounds: [Round], metric: String? = nil, transport: String? = nil) {
        self.metric = metric
        self.transport = transport
        self.rounds = rounds
        medianRatio = Spread(rounds.map(\.ratio)).median
    }

    /// Runs `rounds` pairs (floor, then spsc), one repetition each after one
    /// warm-up of each, and returns the comparison with both runs' records
    /// (every round's repetition merged into one record per loop).
    /// `transport` `exchange` or `exchange-shared` (roundtrip only) pairs
    /// that transport with `ExchangeFloor` instead of spsc with `RingFloor`;
    /// a rival (`RivalFloor.rivals`) pairs its native loop with its port.
    public static func measure(backing: String, messages: Int, capacity: Int = 4096, batch: Int = 1, mode: Scenario.Mode = .throughput,
                               transport: String = SPSCTransport.name, tripsPerSample: Int? = nil,
                               rounds: Int, options: RunOptions) throws(HarnessError) -> (FloorComparison, [RunRecord]) {
        var floor = RingFloor.scenario(backing: backing, messages: messages, capacity: capacity, batch: batch, mode: mode)
        // Both loops time alike (the harness's transport copies the floor's scenario).
        floor.tripsPerSample = tripsPerSample
        let floorCapabilities: TransportCapabilities
        let floorRepetition: (Scenario, RepetitionContext) throws(HarnessError) -> RepetitionResult
        switch transport {
        case SPSCTransport.name:
            (floorCapabilities, floorRepetition) = (RingFloor.capabilities, RingFloor.repetition)
        case ExchangeArrangements.Separate.transportName, ExchangeArrangements.Shared.transportName:
            guard mode == .roundtrip, batch == 1 else {
                throw .invalidScenario("the exchange's floor is a round trip of one message: --mode roundtrip, --batch 1")
            }
            floor.transport = ExchangeFloor.name(lines: transport == ExchangeArrangements.Shared.transportName ? .shared : .separate)
            (floorCapabilities, floorRepetition) = (ExchangeFloor.capabilities, ExchangeFloor.repetition)
        case let rival where RivalFloor.rivals.contains(rival):
            guard mode == .throughput, batch == 1 else {
                throw .invalidScenario("a rival's native loop moves one message at a time: --mode throughput, --batch 1")
            }
            floor.transport = RivalFloor.name(rival)
            (floorCapabilities, floorRepetition) = (RivalFloor.capabilities, RivalFloor.repetition)
        default:
            throw .invalidScenario("ringbench floor measures spsc, exchange, exchange-shared or a rival's native loop (\(RivalFloor.rivals.joined(separator: ", "))), not '\(transport)'")
        }
        var spsc = floor
        spsc.transport = transport
        let entry = try TransportCatalog.named(transport)
        var floors: [RunRecord] = [], harnessed: [RunRecord] = []
        // Every measured repetition's round-trip histogram, to merge exactly.
        var floorBuckets: [[UInt64]] = [], spscBuckets: [[UInt64]] = []
        var once = options
        once.repetitions = 1
        /// One run of `scenario`, keeping its measured repetitions' histograms.
        func run(_ scenario: Scenario, _ capabilities: TransportCapabilities,
                 _ repetition: (Scenario, RepetitionContext) throws(HarnessError) -> RepetitionResult,
                 keeping buckets: inout [[UInt64]]) throws(HarnessError) -> RunRecord {
            var seen = 0
            var kept: [[UInt64]] = []
            let record = try BenchmarkRunner.run(scenario, options: once, capabilities: capabilities) { s, c throws(HarnessError) in
                let result = try repetition(s, c)
                if seen >= once.warmup, let measured = result.latencyBuckets { kept.append(measured) }
                seen += 1
                return result
            }
            buckets += kept
            return record
        }
        for round in 0..<rounds {
            once.warmup = round == 0 ? options.warmup : 0
            floors.append(try run(floor, floorCapabilities, floorRepetition, keeping: &floorBuckets))
            once.settle?.saw(floors.last?.hostState)
            harnessed.append(try run(spsc, entry.capabilities, entry.runRepetition, keeping: &spscBuckets))
            once.settle?.saw(harnessed.last?.hostState)
        }
        let pairs = zip(floors, harnessed).map { f, s in
            guard mode == .roundtrip else {
                let a = f.summary.messagesPerSecond.median, b = s.summary.messagesPerSecond.median
                return Round(floor: a, spsc: b, ratio: a > 0 ? b / a : 0)
            }
            let a = Double(f.summary.latencyNs?.p50 ?? 0), b = Double(s.summary.latencyNs?.p50 ?? 0)
            return Round(floor: a, spsc: b, ratio: b > 0 ? a / b : 0)
        }
        let clock = floors.first?.summary.latencyNs?.clock
        return (FloorComparison(rounds: pairs, metric: mode == .roundtrip ? "roundTripP50Ns" : "messagesPerSecond",
                                transport: transport == SPSCTransport.name ? nil : transport),
                [RunRecord.merging(floors, latencyBuckets: floorBuckets, clock: clock),
                 RunRecord.merging(harnessed, latencyBuckets: spscBuckets, clock: clock)])
    }
}

extension RunRecord {
    /// One record of the same scenario's repetitions from several records;
    /// in roundtrip mode, with the latency of every repetition's histogram
    /// (`latencyBuckets`, one per repetition) merged.
    static func merging(_ records: [RunRecord], latencyBuckets: [[UInt64]] = [], clock: String? = nil) -> RunRecord {
        let reps = records.flatMap(\.repetitions)
        let integrity = records.reduce(IntegrityCounts()) { $0 + $1.integrity }
        let notes = Array(Set(records.flatMap { $0.notes ?? [] })).sorted()
        var merged = RunRecord(scenario: records[0].scenario, repetitions: reps, integrity: integrity,
                               summary: RunSummary(messagesPerSecond: Spread(reps.map(\.messagesPerSecond)),
                                                   bytesPerSecond: Spread(reps.map(\.bytesPerSecond)),
                                                   latencyNs: latencyBuckets.isEmpty ? nil : LatencyHistogram.summary(
                                                       latencyBuckets.reduce(into: LatencyHistogram.make()) { LatencyHistogram.add($1, to: &$0) },
                                                       kind: "roundtrip", clock: clock)),
                               notes: notes.isEmpty ? nil : notes)
        // The first round's probe before and the last one's after; steady
        // only if every round's probes agree with each other.
        let states = records.compactMap(\.hostState)
        if let first = states.first, let last = states.last, states.count == records.count {
            merged.hostState = HostState(cpus: first.cpus, cacheLineBeforeNs: first.cacheLineBeforeNs, cacheLineAfterNs: last.cacheLineAfterNs)
            let all = states.flatMap { [$0.cacheLineBeforeNs, $0.cacheLineAfterNs] }
            merged.hostState?.steady = HostState.agree(all.min() ?? 0, all.max() ?? 0)
        }
        return merged
    }
}
