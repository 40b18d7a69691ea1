import CShim
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
/// children are forked, pinned, started and timed exactly like a transport's
/// (same runner, same barrier, same start/end clock reads), so only the
/// loops differ.
public enum RingFloor {
    /// The name in results (`scenario.transport`); not a catalog transport.
    public static let name = "ring-floor"

    static let capabilities = TransportCapabilities(modes: [.throughput], maximumMessageSize: 8,
                                                    limitReason: "the floor carries one UInt64",
                                                    usesBacking: true, usesCapacity: true, needsMessageCount: true)

    /// The floor's scenario: 8 B, throughput, bounded by `messages`.
    public static func scenario(backing: String, messages: Int, capacity: Int = 4096, batch: Int = 1) -> Scenario {
        Scenario(transport: name, backing: backing, messageSize: 8, messages: messages, capacity: capacity,
                 batch: batch, mode: .throughput)
    }

    /// Runs the floor like any scenario (placement, warm-up, repetitions).
    public static func run(_ scenario: Scenario, options: RunOptions) throws(HarnessError) -> RunRecord {
        try BenchmarkRunner.run(scenario, options: options, capabilities: capabilities, repetition: repetition)
    }

    static func repetition(_ scenario: Scenario, _ context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let backing = try RegionNames.backing(scenario)
        let ring: SPSCRing
        do {
            ring = try SPSCRing.create(backing: backing, name: RegionNames.make(backing, "floor", cleanup),
                                       capacity: scenario.capacity, messageSize: 8)
        } catch { throw .shm(error) }
        cleanup.register("ring floor \(ring.region.name)") { [ring] in ring.region.removeName() }
        RegionNames.releaseAfterAttach(ring.region, cleanup)
        let control = try ControlBlock(children: 2)
        let specs = [ChildSpec(role: .producer(0), cpu: context.cpus[0]), ChildSpec(role: .consumer(0), cpu: context.cpus[1])]
        let total = UInt64(scenario.messages ?? 0)
        let batch = UInt64(scenario.batch)
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            do throws(ShmError) {
                // Named rings are opened by name, as an unrelated process would.
                let mine = backing == .anon ? ring : try SPSCRing.open(backing: backing, name: ring.region.name)
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
}

/// `ringbench floor`: the floor and the `spsc` transport (8 B, same batch,
/// backing and capacity) back to back, round after round, so that machine
/// noise hits both alike; the ratio of each round's pair and their median.
public struct FloorComparison: Codable, Sendable {
    public struct Round: Codable, Sendable {
        /// Messages per second of the floor and of the spsc transport in this round.
        public var floor: Double
        public var spsc: Double
        /// spsc / floor.
        public var ratio: Double
    }

    public var rounds: [Round]
    /// Median of the per-round ratios.
    public var medianRatio: Double

    public init(rounds: [Round]) {
        self.rounds = rounds
        medianRatio = Spread(rounds.map(\.ratio)).median
    }

    /// Runs `rounds` pairs (floor, then spsc), one repetition each after one
    /// warm-up of each, and returns the comparison with both runs' records
    /// (every round's repetition merged into one record per loop).
    public static func measure(backing: String, messages: Int, capacity: Int = 4096, batch: Int = 1, rounds: Int,
                               options: RunOptions) throws(HarnessError) -> (FloorComparison, [RunRecord]) {
        let floor = RingFloor.scenario(backing: backing, messages: messages, capacity: capacity, batch: batch)
        var spsc = floor
        spsc.transport = SPSCTransport.name
        var floors: [RunRecord] = [], harnessed: [RunRecord] = []
        var once = options
        once.repetitions = 1
        for round in 0..<rounds {
            once.warmup = round == 0 ? options.warmup : 0
            floors.append(try RingFloor.run(floor, options: once))
            harnessed.append(try BenchmarkRunner.run(spsc, options: once))
        }
        let pairs = zip(floors, harnessed).map { f, s in
            let a = f.summary.messagesPerSecond.median, b = s.summary.messagesPerSecond.median
            return Round(floor: a, spsc: b, ratio: a > 0 ? b / a : 0)
        }
        return (FloorComparison(rounds: pairs), [RunRecord.merging(floors), RunRecord.merging(harnessed)])
    }
}

extension RunRecord {
    /// One record of the same scenario's repetitions from several records
    /// (throughput runs: no latency histograms to merge).
    static func merging(_ records: [RunRecord]) -> RunRecord {
        let reps = records.flatMap(\.repetitions)
        let integrity = records.reduce(IntegrityCounts()) { $0 + $1.integrity }
        let notes = Array(Set(records.flatMap { $0.notes ?? [] })).sorted()
        var merged = RunRecord(scenario: records[0].scenario, repetitions: reps, integrity: integrity,
                               summary: RunSummary(messagesPerSecond: Spread(reps.map(\.messagesPerSecond)),
                                                   bytesPerSecond: Spread(reps.map(\.bytesPerSecond)), latencyNs: nil),
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
