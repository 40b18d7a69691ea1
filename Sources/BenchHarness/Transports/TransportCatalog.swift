import ShmRing

/// Every transport `ringbench run` knows, by name. Adding a transport means
/// writing its type and adding one line to `all`: the loop, the process
/// runner, the cleanup and the output are shared.
public enum TransportCatalog {
    /// A type-erased entry: `run` opens the generic path for the concrete type.
    public struct Entry: Sendable {
        public let name: String
        public let capabilities: TransportCapabilities
        let runRepetition: @Sendable (Scenario, RepetitionContext) throws(HarnessError) -> RepetitionResult
    }

    static func entry<T: Transport>(_ type: T.Type) -> Entry {
        Entry(name: T.name, capabilities: T.capabilities) { scenario, context throws(HarnessError) in
            try RepetitionRunner.run(T.self, scenario: scenario, context: context)
        }
    }

    public static let all: [Entry] = [
        entry(SPSCTransport.self),
        entry(RecordsTransport.self),
        entry(BroadcastTransport.self),
        entry(RecordsFanoutTransport.self),
        entry(MPMCTransport<MPMCSemaphoreQueue>.self),
        entry(MPMCTransport<MPMCLockFreeQueue>.self),
        entry(ExchangeTransport<ExchangeArrangements.Separate>.self),
        entry(ExchangeTransport<ExchangeArrangements.Shared>.self),
        entry(EmptyTransport.self),
        entry(PipeTransport.self),
        entry(FIFOTransport.self),
        entry(SocketPairStreamTransport.self),
        entry(SocketPairDatagramTransport.self),
        entry(UnixStreamTransport.self),
        entry(UnixDatagramTransport.self),
        entry(SysVMessageQueueTransport.self),
        entry(POSIXMessageQueueTransport.self),
        entry(SignalTransport.self),
        entry(EventFDTransport.self),
        // The ring's rivals, in the same loop (Transports/Rivals).
        entry(BoostSPSCTransport.self),
        entry(CKRingTransport<CKSPSC>.self),
        entry(CKRingTransport<CKMPMC>.self),
        entry(CachedRingTransport.self),
        entry(BoostMessageQueueTransport.self),
    ]

    public static var names: [String] { all.map(\.name) }

    /// What `ringbench suite` runs by default.
    public static var suite: [Entry] { all.filter(\.capabilities.inSuite) }

    public static func named(_ name: String) throws(HarnessError) -> Entry {
        guard let entry = all.first(where: { $0.name == name }) else {
            throw .invalidScenario("unknown transport '\(name)'; choose one of: \(names.joined(separator: ", "))")
        }
        return entry
    }
}
