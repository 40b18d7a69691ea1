/// A transport that moves nothing, so that a run of it measures the harness
/// alone: the per-message cost of the loop, the message fill and checksum,
/// the integrity tracker and (in roundtrip mode) the two clock reads and the
/// histogram record. Subtract it mentally from every other transport's
/// per-message time; it is not transport cost.
///
/// - `send` runs the producer's fill as usual, into a scratch buffer, and
///   discards the message.
/// - The consumer's `receive` fabricates the next valid message of the
///   stream (sequence 0, 1, ... then end of stream after `--messages`), so
///   the consumer's checks run and pass for real. Fabricating costs one fill
///   per message that a real transport's copy-out replaces.
/// - The pinger's `receive` returns the message it just sent (a loopback), so
///   a round trip is the pinger's own overhead; the echoer consumes the
///   fabricated stream in parallel and its echoes are discarded.
///
/// The two children never communicate, so a run's time is the slower side's.
/// `--duration` is refused: the consumer could not learn when the producer
/// stopped without a channel, and a channel would no longer be empty.
public struct EmptyTransport: Transport {
    public static let name = "empty"
    public static let capabilities = TransportCapabilities(needsMessageCount: true)

    let scenario: Scenario
    let total: UInt64

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        guard let messages = scenario.messages else {
            throw .invalidScenario("empty needs --messages: its consumer fabricates exactly that many messages and cannot learn when a --duration run stopped")
        }
        guard scenario.rate == nil else {
            throw .invalidScenario("empty cannot be paced (--rate): its consumer fabricates messages and never sees a send time")
        }
        self.scenario = scenario
        total = UInt64(messages)
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        var port = Port(codec: MessageCodec(messageSize: scenario.messageSize), fabricates: !role.isProducer, total: total)
        return try visitor.visit(&port)
    }

    struct Port: MessagePort, ~Copyable {
        let codec: MessageCodec
        /// The message is its stamp alone (read once, as the loops do).
        let stampOnly: Bool
        let scratch: UnsafeMutableRawBufferPointer
        let fabricates: Bool
        let total: UInt64
        var next: UInt64 = 0

        init(codec: MessageCodec, fabricates: Bool, total: UInt64) {
            self.codec = codec
            stampOnly = !codec.checksContent
            self.fabricates = fabricates
            self.total = total
            scratch = .allocate(byteCount: codec.messageSize, alignment: 64)
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
        }

        deinit { scratch.deallocate() }

        mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            for i in 0..<count { fill(i, scratch) }
        }

        mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            guard fabricates else {
                body(0, UnsafeRawBufferPointer(scratch))
                return 1
            }
            var delivered = 0
            while delivered < maxCount {
                let ended = next >= total
                MessageCodec.fill(codec, scratch, stamp: ended ? MessageCodec.endOfStream : next, stampOnly: stampOnly)
                body(delivered, UnsafeRawBufferPointer(scratch))
                delivered += 1
                if ended { break }
                next &+= 1
            }
            return delivered
        }
    }
}
