import Histogram

/// How to run a scenario: repetitions, warm-up, pinning, limits.
public struct RunOptions: Sendable {
    public var repetitions: Int
    public var warmup: Int
    public var pin: PinPolicy
    /// Per repetition; nil derives one from the scenario.
    public var timeoutSeconds: Double?
    public var topology: any Topology
    /// `--producer-node`, `--consumer-node`, `--memory-node`.
    public var placement = PlacementRequest()
    /// Probe the cache line between the run's CPUs before and after each
    /// run (`HostState`); commands turn it off with `--no-probes`.
    public var probesHostState = false
    /// `--settle`: wait for the reference host state before each run (needs
    /// `probesHostState`).
    public var settle: HostSettle?

    public init(repetitions: Int = 5, warmup: Int = 1, pin: PinPolicy = .auto,
                timeoutSeconds: Double? = nil, topology: any Topology = SystemTopology()) {
        self.repetitions = repetitions
        self.warmup = warmup
        self.pin = pin
        self.timeoutSeconds = timeoutSeconds
        self.topology = topology
    }
}

/// Runs a message scenario: checks it, places its processes, runs warm-up
/// and measured repetitions, and summarises them.
public enum BenchmarkRunner {
    public static func run(_ scenario: Scenario, options: RunOptions) throws(HarnessError) -> RunRecord {
        let entry = try TransportCatalog.named(scenario.transport)
        return try run(scenario, options: options, capabilities: entry.capabilities, repetition: entry.runRepetition)
    }

    /// Runs `repetition` as the scenario's transport: the catalog's entries
    /// and loops outside the catalog (the ring floor) share placement,
    /// warm-up and summary.
    static func run(_ scenario: Scenario, options: RunOptions, capabilities: TransportCapabilities,
                    repetition: (Scenario, RepetitionContext) throws(HarnessError) -> RepetitionResult) throws(HarnessError) -> RunRecord {
        try validate(scenario, capabilities: capabilities, options: options)
        var placed = scenario
        let placement = try Placement.resolve(options.pin, producers: scenario.producers, consumers: scenario.consumers,
                                              request: options.placement, topology: options.topology)
        let roles = (0..<scenario.producers).map(Role.producer) + (0..<scenario.consumers).map(Role.consumer)
        placed.placement = zip(roles, placement.cpus).map { role, cpu in
            PlacementEntry(role: role.name, cpu: cpu, node: cpu.map { options.topology.node(ofCPU: $0) })
        }
        if !capabilities.usesBacking { placed.backing = nil }
        let context = RepetitionContext(cpus: placement.cpus,
                                        timeoutSeconds: options.timeoutSeconds ?? defaultTimeout(scenario),
                                        clock: scenario.mode == .roundtrip || scenario.rate != nil ? CycleClock.calibrate() : .monotonic,
                                        memory: placement.memory)
        let probed = options.probesHostState ? HostState.probedCPUs(placement.cpus, producers: scenario.producers) : nil
        var lineBefore = try probed.map(HostState.probe)
        var settleNote: String?, settleWait = 0.0
        if let probed, let first = lineBefore, let settle = options.settle {
            (lineBefore, settleNote, settleWait) = try HostState.settle(probed, from: first, settle)
        }
        var measured: [RepetitionResult] = []
        for index in 0..<(options.warmup + options.repetitions) {
            let result = try repetition(placed, context)
            if index >= options.warmup { measured.append(result) }
        }
        var hostState: HostState?
        if let probed, let lineBefore {
            hostState = HostState(cpus: probed, cacheLineBeforeNs: lineBefore, cacheLineAfterNs: try HostState.probe(probed))
            if settleWait > 0 { hostState?.settleWaitSeconds = settleWait }
        }
        var notes: [String] = []
        if scenario.mode == .throughput, scenario.consumers > 1, !capabilities.broadcast, !DeliveryLedger.isExact(for: scenario) {
            notes.append("lost/duplicated across consumers settled from totals (exact per-message accounting needs --messages)")
        }
        if placement.oversubscribed {
            notes.append("oversubscribed: \(scenario.processCount) processes share \(Set(placement.cpus.compactMap { $0 }).count) CPUs")
        }
        let placementReport = PlacementReport.check(request: options.placement, memory: placement.memory, producers: scenario.producers,
                                                    observations: measured.compactMap(\.placement))
        if !placementReport.matches {
            notes.append("PLACEMENT MISMATCH: " + (placementReport.mismatches ?? []).joined(separator: "; "))
        }
        if let settleNote { notes.append(settleNote) }
        if let hostState, !hostState.steady {
            notes.append(String(format: "host state changed during the run: cache-line round trip %.0f ns before, %.0f ns after",
                                hostState.cacheLineBeforeNs, hostState.cacheLineAfterNs))
        }
        var result = record(placed, measured, notes: notes, clock: context.clock)
        result.placement = placementReport
        result.hostState = hostState
        return result
    }

    static func defaultTimeout(_ scenario: Scenario) -> Double {
        if let seconds = scenario.durationSeconds { return seconds * 3 + 30 }
        // Generous: 1 µs per message (10x the slowest kernel transport here) plus set-up.
        return 60 + Double(scenario.messages ?? 0) * 1e-6 * 10
    }

    static func record(_ scenario: Scenario, _ results: [RepetitionResult], notes: [String], clock: CycleClock) -> RunRecord {
        // Variable-length records move their mean length, not the maximum.
        let meanSize = (try? MessageLengths(scenario))?.meanLength() ?? Double(scenario.messageSize)
        let reps = results.map { r in
            let rate = r.seconds > 0 ? Double(r.messages) / r.seconds : 0
            return RepetitionRecord(seconds: r.seconds, messagesPerSecond: rate,
                                    bytesPerSecond: rate * meanSize,
                                    latencyNs: r.latencyBuckets.flatMap(RepetitionLatency.init(buckets:)),
                                    producerMessagesPerSecond: r.producerMessagesPerSecond)
        }
        let integrity = results.reduce(IntegrityCounts()) { $0 + $1.integrity }
        var latency: LatencySummary?
        if scenario.mode == .roundtrip || scenario.rate != nil {
            var histogram = LatencyHistogram.make()
            for r in results { LatencyHistogram.add(r.latencyBuckets ?? [], to: &histogram) }
            latency = LatencyHistogram.summary(histogram, kind: scenario.rate == nil ? "roundtrip" : "oneway-from-intended",
                                               clock: clock.source)
        }
        let summary = RunSummary(messagesPerSecond: Spread(reps.map(\.messagesPerSecond)),
                                 bytesPerSecond: Spread(reps.map(\.bytesPerSecond)),
                                 latencyNs: latency,
                                 producerMessagesPerSecond: reps.allSatisfy { $0.producerMessagesPerSecond != nil }
                                     ? Spread(reps.compactMap(\.producerMessagesPerSecond)) : nil)
        return RunRecord(scenario: scenario, repetitions: reps, integrity: integrity, summary: summary,
                         notes: notes.isEmpty ? nil : notes)
    }

    /// Rejects what cannot run, with one line, before anything is created.
    public static func validate(_ s: Scenario, capabilities c: TransportCapabilities,
                                options: RunOptions) throws(HarnessError) {
        guard s.messageSize >= 8 else {
            throw .invalidScenario("--message-size must be at least 8 bytes (it carries a sequence number), got \(s.messageSize)")
        }
        if let limit = c.maximumMessageSize, s.messageSize > limit {
            throw .invalidScenario("\(s.transport) carries at most \(limit) bytes per message (\(c.limitReason)); --message-size \(s.messageSize) is too large")
        }
        guard c.modes.contains(s.mode) else {
            throw .invalidScenario("\(s.transport) supports only \(c.modes.map(\.rawValue).sorted().joined(separator: " and ")) mode")
        }
        guard s.producers >= 1, s.consumers >= 1 else { throw .invalidScenario("--producers and --consumers must be at least 1") }
        guard s.producers < ControlBlock.maxProducers, s.consumers < ControlBlock.maxProducers else {
            throw .invalidScenario("at most \(ControlBlock.maxProducers - 1) producers and consumers")
        }
        if !c.multiProcess, s.producers != 1 || s.consumers != 1 {
            throw .invalidScenario("\(s.transport) connects exactly one producer and one consumer; use an mpmc transport for more")
        }
        if s.mode == .roundtrip, s.producers != 1 || s.consumers != 1 {
            throw .invalidScenario("roundtrip mode runs one pinger and one echoer: use --producers 1 --consumers 1")
        }
        if s.mode == .roundtrip, s.batch != 1 {
            throw .invalidScenario("a round trip carries one message: --batch applies to throughput mode")
        }
        guard s.capacity >= 1, s.capacity & (s.capacity - 1) == 0, s.capacity <= 1 << 30 else {
            throw .invalidScenario("--capacity must be a power of two between 1 and 2^30, got \(s.capacity)")
        }
        guard s.batch >= 1 else { throw .invalidScenario("--batch must be at least 1, got \(s.batch)") }
        if c.usesCapacity, s.batch > s.capacity {
            throw .invalidScenario("--batch \(s.batch) exceeds --capacity \(s.capacity)")
        }
        switch (s.messages, s.durationSeconds) {
        case let (count?, nil):
            guard count >= 1 else { throw .invalidScenario("--messages must be at least 1, got \(count)") }
            guard UInt64(count) <= MessageCodec.sequenceMask else { throw .invalidScenario("--messages must be below 2^48") }
        case let (nil, seconds?):
            guard seconds > 0, seconds.isFinite else { throw .invalidScenario("--duration must be a positive number of seconds") }
        default:
            throw .invalidScenario("give exactly one of --messages and --duration")
        }
        if let rate = s.rate {
            guard rate > 0, rate.isFinite else { throw .invalidScenario("--rate must be a positive number of messages per second") }
            guard s.mode == .throughput else { throw .invalidScenario("--rate paces throughput mode; roundtrip mode is paced by its echoes") }
            guard s.messageSize >= 16 else {
                throw .invalidScenario("--rate needs --message-size of at least 16 bytes: each message carries its intended send time in bytes 8..<16")
            }
        }
        guard options.repetitions >= 1 else { throw .invalidScenario("--repeat must be at least 1") }
        guard options.warmup >= 0 else { throw .invalidScenario("--warmup must not be negative") }
        if c.usesBacking { _ = try RegionNames.backing(s) }
        if options.placement.memory != nil, !c.usesBacking {
            throw .invalidScenario("--memory-node places a shared-memory ring; \(s.transport) has none (use spsc, mpmc-sem or mpmc-lockfree)")
        }
        if !options.placement.isEmpty {
            // Nodes that do not exist or have no CPUs or memory fail here, before anything runs.
            _ = try Placement.resolve(options.pin, producers: s.producers, consumers: s.consumers,
                                      request: options.placement, topology: options.topology)
        }
        if s.rate != nil, !(try MessageLengths(s)).isFixed {
            throw .invalidScenario("--rate needs fixed-size messages (each carries its intended send time); drop --record-sizes")
        }
        if !(try MessageLengths(s)).isFixed, !c.variableLengths {
            throw .invalidScenario("\(s.transport) carries fixed-size messages; --record-sizes applies to the records transport")
        }
        if c.broadcast, s.producers != 1 {
            throw .invalidScenario("\(s.transport) has exactly one producer; use --producers 1")
        }
        if s.policy != nil || s.evictAfter != nil {
            guard c.policies else { throw .invalidScenario("--policy and --evict-after apply to the broadcast transport, not \(s.transport)") }
            _ = try BroadcastTransport.policy(s)
        }
        if let stalled = s.stalledConsumers {
            // Under block (or evict) a stalled reader stops the producer (or
            // is dropped): only overwrite has a producer rate to compare.
            guard c.policies, s.policy == "overwrite" else {
                throw .invalidScenario("--stalled-consumers applies to the broadcast transport with --policy overwrite")
            }
            guard stalled >= 1, stalled < s.consumers else {
                throw .invalidScenario("--stalled-consumers must be at least 1 and leave one consumer reading (fewer than --consumers \(s.consumers))")
            }
        }
        if let trips = s.tripsPerSample {
            guard s.mode == .roundtrip else {
                throw .invalidScenario("--trips-per-sample applies to --mode roundtrip (it times round trips K at a time)")
            }
            guard (1...Scenario.maximumTripsPerSample).contains(trips) else {
                throw .invalidScenario("--trips-per-sample must be between 1 and \(Scenario.maximumTripsPerSample), not \(trips)")
            }
        }
        if let wait = s.wait {
            guard c.waitStrategies else { throw .invalidScenario("--wait applies to the spsc, records, records-fanout and broadcast transports, not \(s.transport)") }
            _ = try RingWait.strategy(wait)
        }
    }
}

extension LatencyHistogram {
    public static func summary(_ h: Histogram<UInt64>, kind: String, clock: String? = nil) -> LatencySummary {
        LatencySummary(kind: kind, p50: h.valueAtPercentile(50), p90: h.valueAtPercentile(90),
                       p99: h.valueAtPercentile(99), p999: h.valueAtPercentile(99.9), max: h.max,
                       mean: h.mean, samples: h.totalCount, clock: clock,
                       distribution: PercentilePoint.distribution(of: h))
    }
}

extension RunOptions {
    /// These options for one transport of a suite: `--memory-node` applies to
    /// the shared-memory transports only, the node flags to every transport.
    public func applicable(to capabilities: TransportCapabilities) -> RunOptions {
        var options = self
        if !capabilities.usesBacking { options.placement.memory = nil }
        return options
    }
}
