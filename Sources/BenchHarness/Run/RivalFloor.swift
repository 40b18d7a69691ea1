import CShim
import Rivals

/// A lock-free rival in its own tight loop (issue 19, "rivals at their own
/// best"): the producer and consumer loops are C or C++ in `Rivals/`
/// (`rival_*_floor_produce` / `_consume`), written the way each library's
/// own examples use it (retry at once, 8-byte records carrying the sequence
/// number, one compare to check each), over the same shared mapping the
/// harness's transport builds. Forked, pinned, started and timed like
/// `RingFloor`, so `ringbench floor --transport <rival>` sets the rival's
/// native figure beside the same rival through the harness's port.
enum RivalFloor {
    /// The rivals with a native loop, by transport name.
    static let rivals = [BoostSPSCTransport.name, CKRingTransport<CKSPSC>.name, CachedRingTransport.name]

    /// The name in results of `rival`'s native loop.
    static func name(_ rival: String) -> String { rival + "-native" }

    static let capabilities = TransportCapabilities(modes: [.throughput], maximumMessageSize: 8,
                                                    limitReason: "the native loop carries one UInt64",
                                                    usesCapacity: true, needsMessageCount: true)

    /// The two loops of one rival over its transport's queue (the harness's
    /// forward direction), and the transport value that owns the mapping.
    struct Loops {
        let owner: Any
        let produce: (UInt64) -> Void
        let consume: (UInt64) -> UInt64
    }

    static func loops(_ scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) -> Loops {
        var rivalScenario = scenario
        rivalScenario.transport = String(scenario.transport.dropLast("-native".count))
        switch rivalScenario.transport {
        case BoostSPSCTransport.name:
            let t = try BoostSPSCTransport(scenario: rivalScenario, cleanup: cleanup)
            let q = t.forward.queue
            return Loops(owner: t, produce: { rival_boost_spsc_floor_produce(q, $0) }, consume: { rival_boost_spsc_floor_consume(q, $0) })
        case CKRingTransport<CKSPSC>.name:
            let t = try CKRingTransport<CKSPSC>(scenario: rivalScenario, cleanup: cleanup)
            let (ring, buffer) = (t.forward.ring, t.forward.buffer)
            return Loops(owner: t, produce: { rival_ck_spsc_floor_produce(ring, buffer, $0) },
                         consume: { rival_ck_spsc_floor_consume(ring, buffer, $0) })
        case CachedRingTransport.name:
            let t = try CachedRingTransport(scenario: rivalScenario, cleanup: cleanup)
            let r = t.forward.ring
            return Loops(owner: t, produce: { rival_cached_floor_produce(r, $0) }, consume: { rival_cached_floor_consume(r, $0) })
        default:
            throw .invalidScenario("no native loop for '\(scenario.transport)'; rivals with one: \(rivals.joined(separator: ", "))")
        }
    }

    static func repetition(_ scenario: Scenario, _ context: RepetitionContext) throws(HarnessError) -> RepetitionResult {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let loops = try loops(scenario, cleanup: cleanup)
        let control = try ControlBlock(children: 2)
        let specs = [ChildSpec(role: .producer(0), cpu: context.cpus[0]), ChildSpec(role: .consumer(0), cpu: context.cpus[1])]
        let total = UInt64(scenario.messages ?? 0)
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: context.timeoutSeconds,
                                                afterAttach: { cleanup.releaseNames() }) { _, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            control.arriveAndWait()
            report.startNs = cshim_monotonic_ns()
            if case .producer = spec.role {
                loops.produce(total)
                report.endNs = cshim_monotonic_ns()
                report.integrity.sent = total
            } else {
                let wrong = loops.consume(total)
                report.endNs = cshim_monotonic_ns()
                report.integrity.received = total &- wrong
                report.integrity.reordered = wrong
            }
            return report
        }.reports
        withExtendedLifetime(loops.owner) {}
        return RepetitionRunner.summarise(scenario: scenario, reports: reports)
    }
}
