import ShmRing

/// What a broadcast ring replaces: `--consumers K` record rings, one per
/// consumer, fed by one producer that writes each message once and copies
/// it into every ring (issue 16's comparison for 1 -> N). Each consumer
/// reads its own ring and checks every record (sequence, length, checksum,
/// payload) of the whole stream, as a broadcast consumer does, so the two
/// transports' figures mean the same: `messagesPerSecond` counts deliveries
/// to all consumers, `producerMessagesPerSecond` the producer's own rate.
///
/// Nothing is lost: each ring blocks the producer while it is full (the
/// broadcast ring's `.block`). `--capacity` counts records of the largest
/// size per ring, as for `records`; `--wait` applies to every ring's ends.
public struct RecordsFanoutTransport: Transport {
    public static let name = "records-fanout"
    public static let capabilities = TransportCapabilities(
        modes: [.throughput], maximumMessageSize: RegionLayout.maximumSlotSize, limitReason: "the harness's largest record",
        multiProcess: true, usesBacking: true, usesCapacity: true, variableLengths: true, waitStrategies: true, broadcast: true,
        // At 1 -> 1, the suite's shape, it is the records ring plus a copy.
        inSuite: false)

    let backing: RegionBacking
    /// One ring per consumer: consumer i reads `rings[i]`.
    let rings: [RecordRing]
    let lengths: MessageLengths
    let wait: (strategy: WaitStrategy, blocking: Bool)
    let messageSize: Int
    let batch: Int

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        lengths = try MessageLengths(scenario)
        wait = try RingWait.claimStrategy(scenario)
        messageSize = scenario.messageSize
        batch = max(scenario.batch, 1)
        let bytes = try RecordsTransport.byteCapacity(records: scenario.capacity, messageSize: scenario.messageSize)
        var rings: [RecordRing] = []
        do {
            for i in 0..<scenario.consumers {
                let ring = try RecordRing.create(backing: backing, name: RegionNames.make(backing, "fan\(i)", cleanup),
                                                 capacity: bytes, maximumRecordLength: scenario.messageSize)
                cleanup.register("records-fanout ring \(ring.region.name)") { [ring] in ring.region.removeName() }
                RegionNames.releaseAfterAttach(ring.region, cleanup)
                rings.append(ring)
            }
        } catch { throw .shm(error) }
        self.rings = rings
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let strategy = wait.strategy
        switch role {
        case .producer:
            var port: ProducerPort
            do {
                var opened: [RecordRing] = []
                for ring in rings { opened.append(try reopen(ring)) }
                port = try ProducerPort(rings: opened, strategy: strategy, lengths: lengths, blocking: wait.blocking,
                                        messageSize: messageSize, batch: batch)
            } catch { throw .shm(error) }
            return try visitor.visit(&port)
        case .consumer(let index) where rings.indices.contains(index):
            var port: ConsumerPort
            do { port = ConsumerPort(receiver: RecordReceiver(try reopen(rings[index]).consumer(wait: strategy), blocking: wait.blocking)) } catch {
                throw .shm(error)
            }
            return try visitor.visit(&port)
        default:
            throw .protocolViolation("records-fanout has no end for \(role)")
        }
    }

    private func reopen(_ ring: RecordRing) throws(ShmError) -> RecordRing {
        backing == .anon ? ring : try RecordRing.open(backing: backing, name: ring.region.name)
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { rings.map(\.region.bytes) }

    /// The producer's end: every message written once into `scratch`, then
    /// copied into each ring in turn (a batch at a time, one commit per ring).
    public struct ProducerPort: MessagePort, ~Copyable {
        /// One sender per ring; `count` of them, initialised, owned here.
        @usableFromInline let senders: UnsafeMutablePointer<RecordSender<RecordRing.Producer>>
        @usableFromInline let count: Int
        @usableFromInline let lengths: MessageLengths
        /// `batch` messages of up to `stride` bytes each: allocated once, so
        /// sending allocates nothing.
        @usableFromInline let scratch: UnsafeMutableRawBufferPointer
        @usableFromInline let stride: Int
        @usableFromInline let batch: Int
        /// Messages sent: the next one's sequence number fixes its length,
        /// as each ring's `RecordSender` counts the same way.
        @usableFromInline var sent: UInt64 = 0

        init(rings: [RecordRing], strategy: WaitStrategy, lengths: MessageLengths, blocking: Bool,
             messageSize: Int, batch: Int) throws(ShmError) {
            let senders = UnsafeMutablePointer<RecordSender<RecordRing.Producer>>.allocate(capacity: rings.count)
            var made = 0
            do throws(ShmError) {
                for ring in rings {
                    (senders + made).initialize(to: RecordSender(try ring.producer(wait: strategy), lengths: lengths, blocking: blocking))
                    made += 1
                }
            } catch {
                senders.deinitialize(count: made)
                senders.deallocate()
                throw error
            }
            self.senders = senders
            count = rings.count
            self.lengths = lengths
            stride = (max(messageSize, 8) + 15) & ~15
            self.batch = batch
            scratch = .allocate(byteCount: stride * batch, alignment: 16)
        }

        deinit {
            senders.deinitialize(count: count)
            senders.deallocate()
            scratch.deallocate()
        }

        @inlinable
        public mutating func send(count messages: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            // The loop sends at most a batch at a time (the end-of-stream
            // marker alone); more would not fit the scratch space.
            guard messages <= batch else { throw .protocolViolation("records-fanout: \(messages) messages in one send, batch \(batch)") }
            let scratch = scratch, stride = stride
            for i in 0..<messages {
                let length = lengths.length(sequence: sent &+ UInt64(i))
                fill(i, UnsafeMutableRawBufferPointer(rebasing: scratch[i &* stride ..< i &* stride &+ length]))
            }
            for ring in 0..<count {
                try senders[ring].send(count: messages) { i, payload in
                    // The same length: every sender is at the same sequence number.
                    payload.copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch[i &* stride ..< i &* stride &+ payload.count]))
                }
            }
            sent &+= UInt64(messages)
        }

        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            throw .protocolViolation("a records-fanout producer receives nothing")
        }
    }

    /// One consumer's end: its own ring, receive only.
    public struct ConsumerPort: MessagePort, ~Copyable {
        @usableFromInline var receiver: RecordReceiver

        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            throw .protocolViolation("a records-fanout consumer sends nothing")
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            try receiver.receive(maxCount: maxCount, body)
        }
    }
}
