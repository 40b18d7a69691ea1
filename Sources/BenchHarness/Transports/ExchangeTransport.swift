import ShmRing

/// The request/response exchange (`ShmRing.Exchange`) as a transport, for
/// roundtrip runs only: the pinger is the client, the echoer the server.
/// `exchange` gives each direction its own cache line, `exchange-shared` has
/// both take turns in one line (`Exchange.Lines`). Messages of at most 56
/// bytes travel in the signal's line; longer ones through the slots.
///
/// As `SPSCTransport`, the parent creates the exchange and the children of
/// sysv and mmap runs open it by name; without `--wait` a port retries the
/// non-blocking call with the harness's `SpinWait`, with `--wait` it makes
/// the library's blocking call.
public struct ExchangeTransport<Arrangement: ExchangeArrangement>: Transport {
    public static var name: String { Arrangement.transportName }
    public static var capabilities: TransportCapabilities {
        TransportCapabilities(modes: [.roundtrip], maximumMessageSize: RegionLayout.maximumSlotSize,
                              limitReason: "the exchange's maximum message size", usesBacking: true, waitStrategies: true)
    }

    let backing: RegionBacking
    let exchange: Exchange
    let wait: (strategy: WaitStrategy, blocking: Bool)

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        wait = try RingWait.claimStrategy(scenario)
        do {
            exchange = try Exchange.create(backing: backing, name: RegionNames.make(backing, "exchange", cleanup),
                                           maximumMessageSize: scenario.messageSize, lines: Arrangement.lines)
        } catch { throw .shm(error) }
        cleanup.register("exchange \(exchange.region.name)") { [exchange] in exchange.region.removeName() }
        RegionNames.releaseAfterAttach(exchange.region, cleanup)
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let mine: Exchange
        do { mine = backing == .anon ? exchange : try Exchange.open(backing: backing, name: exchange.region.name) } catch { throw .shm(error) }
        if case .producer = role {
            var port: ClientPort
            do { port = ClientPort(client: try mine.client(wait: wait.strategy), blocking: wait.blocking) } catch { throw .shm(error) }
            return try visitor.visit(&port)
        }
        var port: ServerPort
        do { port = ServerPort(server: try mine.server(wait: wait.strategy), blocking: wait.blocking) } catch { throw .shm(error) }
        return try visitor.visit(&port)
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { [exchange.region.bytes] }

    /// The pinger's end: `send` writes the request in place, `receive` takes the response.
    public struct ClientPort: MessagePort, ~Copyable {
        @usableFromInline var client: Exchange.Client
        @usableFromInline let blocking: Bool

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            guard count == 1 else { throw ExchangeArrangements.batchRefused }
            let size = client.exchange.maximumMessageSize
            do { try client.send(length: size, timeoutSeconds: nil) { bytes in fill(0, bytes) } } catch { throw .shm(error) }
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            do {
                if blocking {
                    try client.receive(timeoutSeconds: nil) { bytes in body(0, bytes) }
                } else {
                    var spin = SpinWait()
                    while try !client.tryReceive({ bytes in body(0, bytes) }) { spin.wait() }
                }
            } catch { throw .shm(error) }
            return 1
        }
    }

    /// The echoer's end: `receive` reads the request in place, `send` answers it in place.
    public struct ServerPort: MessagePort, ~Copyable {
        @usableFromInline var server: Exchange.Server
        @usableFromInline let blocking: Bool

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            guard count == 1 else { throw ExchangeArrangements.batchRefused }
            let size = server.exchange.maximumMessageSize
            do { try server.respond(length: size) { bytes in fill(0, bytes) } } catch { throw .shm(error) }
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            if blocking {
                let got: Received
                do { got = try server.receive(timeoutSeconds: nil) { bytes in body(0, bytes) } } catch { throw .shm(error) }
                guard got == .message else { throw RingWait.unexpectedEnd }
                return 1
            }
            var spin = SpinWait()
            do { while try !server.tryReceive({ bytes in body(0, bytes) }) { spin.wait() } } catch { throw .shm(error) }
            return 1
        }
    }
}

/// Which line arrangement an exchange transport uses (a type, so that each
/// transport's loop is specialised).
public protocol ExchangeArrangement {
    static var transportName: String { get }
    static var lines: Exchange.Lines { get }
}

public enum ExchangeArrangements {
    /// One line per direction (`exchange`).
    public enum Separate: ExchangeArrangement {
        public static let transportName = "exchange"
        public static let lines = Exchange.Lines.separate
    }

    /// One line both directions take in turn (`exchange-shared`).
    public enum Shared: ExchangeArrangement {
        public static let transportName = "exchange-shared"
        public static let lines = Exchange.Lines.shared
    }

    /// Roundtrip runs send one message at a time; nothing else reaches a port.
    @usableFromInline static let batchRefused = HarnessError.protocolViolation("the exchange carries one message at a time")
}
