import Histogram
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// What one repetition needs besides the scenario.
public struct RepetitionContext: Sendable {
    public var cpus: [Int?]
    public var timeoutSeconds: Double
    /// Calibrated once per run, before any fork.
    public var clock: CycleClock
    /// Applied while the transport creates its shared memory (`--memory-node`).
    public var memory: MemoryPolicy? = nil
}

/// The measured outcome of one repetition.
public struct RepetitionResult: Sendable {
    public var seconds: Double
    /// Messages delivered (round trips completed, in roundtrip mode).
    public var messages: UInt64
    public var integrity: IntegrityCounts
    /// Round-trip latency buckets (value, count pairs), roundtrip mode only.
    public var latencyBuckets: [UInt64]?
    /// Where the processes ran and the pages were.
    public var placement: PlacementObservation? = nil
    /// Broadcast throughput: messages the producer sent over its own time
    /// (its first send to its last), beside the consumers' delivered rate:
    /// what a slow or stalled consumer costs the producer.
    public var producerMessagesPerSecond: Double? = nil
}

/// Runs one repetition of a message scenario: create the transport, fork the
/// children, wait, read their reports, remove everything.
public enum RepetitionRunner {
    public static func run<T: Transport>(_ type: T.Type, scenario: Scenario,
                                                     context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let transport = try MemoryBinding.whileCreating(context.memory) { () throws(HarnessError) in
            try T(scenario: scenario, cleanup: cleanup)
        }
        let roles = (0..<scenario.producers).map(Role.producer) + (0..<scenario.consumers).map(Role.consumer)
        let control = try ControlBlock(children: roles.count)
        let specs = roles.enumerated().map { ChildSpec(role: $1, cpu: context.cpus[$0]) }
        // A broadcast's consumers each see every message: nothing to share out.
        let broadcast = T.capabilities.broadcast
        let ledger = broadcast ? nil : try DeliveryLedger.make(for: scenario)
        let loopContext = MessageLoops.Context(scenario: scenario, control: control, clock: context.clock, ledger: ledger,
                                               broadcast: broadcast)

        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = try transport.withPort(role: spec.role, MessageLoops.Visitor(role: spec.role, cpu: spec.cpu, context: loopContext))
            report.ranOn = ProcessLocation.current()
            return report
        }.reports
        var result = summarise(scenario: scenario, reports: reports, ledger: ledger, broadcast: broadcast)
        // After the run, before cleanup: the pages are where they ended up.
        result.placement = PlacementObservation(
            processes: specs.map { spec in
                // A report names its role and index: "producer" and 0 for producer 0.
                let report = reports.first { "\($0.role) \($0.index)" == spec.role.description }
                return ObservedProcess(role: spec.role.description, plannedCPU: spec.cpu, ran: report?.ranOn)
            },
            pages: transport.sharedMemory.isEmpty ? nil : PageCensus.of(transport.sharedMemory))
        return result
    }

    static func summarise(scenario: Scenario, reports: [ChildReport], ledger: DeliveryLedger? = nil,
                          broadcast: Bool = false) -> RepetitionResult {
        let producers = reports.filter { $0.role == "producer" }
        let consumers = reports.filter { $0.role == "consumer" }
        switch scenario.mode {
        case .throughput:
            var integrity = consumers.reduce(IntegrityCounts()) { $0 + $1.integrity }
            integrity.sent = producers.reduce(0) { $0 + $1.integrity.sent }
            if broadcast {
                // Every consumer is owed every message, and settled its own
                // losses (it saw the whole stream): `sent` counts deliveries owed.
                integrity.sent &*= UInt64(scenario.consumers)
            } else if scenario.consumers > 1, let ledger {
                // Exact: per-sequence bitmaps of every consumer (DeliveryLedger).
                var sent = [UInt64](repeating: 0, count: scenario.producers)
                for p in producers where p.index < sent.count { sent[p.index] = p.integrity.sent }
                let settled = ledger.settle(sentPerProducer: sent)
                integrity.lost += settled.lost
                integrity.duplicated += settled.duplicated
            } else if scenario.consumers > 1 {
                // --duration runs (no bitmap size known up front) or bitmaps
                // too large: consumers cannot see each other's share, so settle
                // from totals. A loss and a duplicate then cancel out.
                if integrity.received < integrity.sent { integrity.lost += integrity.sent - integrity.received }
                if integrity.received > integrity.sent { integrity.duplicated += integrity.received - integrity.sent }
            }
            let start = producers.map(\.startNs).min() ?? 0
            let end = consumers.map(\.endNs).max() ?? start
            // Paced runs: every consumer's one-way latencies, merged later.
            let latencies = scenario.rate == nil ? nil : consumers.flatMap { $0.latencyBuckets ?? [] }
            var result = RepetitionResult(seconds: Double(end &- start) / 1e9, messages: integrity.received,
                                          integrity: integrity, latencyBuckets: latencies)
            if broadcast {
                let sent = producers.reduce(0) { $0 + $1.integrity.sent }
                let producerEnd = producers.map(\.endNs).max() ?? start
                let seconds = Double(producerEnd &- start) / 1e9
                result.producerMessagesPerSecond = seconds > 0 ? Double(sent) / seconds : 0
            }
            return result
        case .roundtrip:
            let pinger = producers.first
            var integrity = (pinger?.integrity ?? IntegrityCounts()) + IntegrityCounts()
            for echoer in consumers {
                integrity.duplicated += echoer.integrity.duplicated
                integrity.reordered += echoer.integrity.reordered
                integrity.corrupt += echoer.integrity.corrupt
            }
            let seconds = Double((pinger?.endNs ?? 0) &- (pinger?.startNs ?? 0)) / 1e9
            return RepetitionResult(seconds: seconds, messages: integrity.received,
                                    integrity: integrity, latencyBuckets: pinger?.latencyBuckets)
        }
    }
}
