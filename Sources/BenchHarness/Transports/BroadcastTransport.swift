import ShmRing

/// The broadcast ring (`ShmRing.BroadcastRing`) as a transport: one
/// producer, `--consumers K` consumers, each receiving every message.
///
/// The producer writes each message as one record in place, with the record
/// ring's sending code (`RecordSender`); lengths follow `--record-sizes`.
/// Every consumer joins before the start barrier (so each is owed the whole
/// stream) and checks every record (sequence, length, checksum, payload)
/// with its own `IntegrityTracker`, which sees the whole stream.
///
/// `--policy block` (default): the producer waits for the slowest consumer;
/// nothing may be lost. `--policy overwrite`: the producer never waits; a
/// consumer that is lapped gets `.overrun(lost:)`, which the port adds up
/// (`reportedLost`) and the loop checks against the gap the sequence numbers
/// show: lost is counted exactly, twice. Under overwrite a record is copied
/// out and handed to the check only once the ring validated it (a record
/// overwritten during the copy is never delivered); under block it is
/// checked in place.
///
/// `--capacity` counts records of the largest size, as for `records`.
public struct BroadcastTransport: Transport {
    public static let name = "broadcast"
    public static let capabilities = TransportCapabilities(
        modes: [.throughput], maximumMessageSize: RegionLayout.maximumSlotSize, limitReason: "the harness's largest record",
        multiProcess: true, usesBacking: true, usesCapacity: true, variableLengths: true, waitStrategies: true, broadcast: true,
        policies: true)

    let backing: RegionBacking
    let ring: BroadcastRing
    let lengths: MessageLengths
    let wait: (strategy: WaitStrategy, blocking: Bool)

    /// The policy `--policy` (and `--evict-after`) name; block without one.
    public static func policy(_ scenario: Scenario) throws(HarnessError) -> BroadcastPolicy {
        do { return try BroadcastPolicy.parse(name: scenario.policy, evictAfter: scenario.evictAfter) } catch {
            throw .invalidScenario(error.description)
        }
    }

    /// Bytes of a ring holding `records` records of `messageSize` bytes
    /// (and at least twice the largest, as the ring requires).
    static func byteCapacity(records: Int, messageSize: Int) throws(HarnessError) -> Int {
        let header = BroadcastLayout.recordHeaderSize
        let footprint = header + (messageSize + header - 1) & ~(header - 1)
        let (bytes, overflow) = footprint.multipliedReportingOverflow(by: records)
        guard !overflow, bytes <= RecordLayout.maximumCapacity / 2 else {
            throw .invalidScenario("broadcast: \(records) records of \(messageSize) bytes make too large a ring")
        }
        var capacity = BroadcastLayout.minimumCapacity
        while capacity < bytes || BroadcastLayout.largestRecord(capacity: capacity) < messageSize { capacity <<= 1 }
        return capacity
    }

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        lengths = try MessageLengths(scenario)
        wait = try RingWait.claimStrategy(scenario)
        let bytes = try Self.byteCapacity(records: scenario.capacity, messageSize: scenario.messageSize)
        let policy = try Self.policy(scenario)
        do {
            ring = try BroadcastRing.create(backing: backing, name: RegionNames.make(backing, "bcast", cleanup), capacity: bytes,
                                            maximumRecordLength: scenario.messageSize, maximumConsumers: scenario.consumers,
                                            policy: policy)
            cleanup.register("broadcast ring \(ring.region.name)") { [ring] in ring.region.removeName() }
            RegionNames.releaseAfterAttach(ring.region, cleanup)
        } catch { throw .shm(error) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let strategy = wait.strategy
        let ring: BroadcastRing
        do { ring = backing == .anon ? self.ring : try BroadcastRing.open(backing: backing, name: self.ring.region.name) } catch { throw .shm(error) }
        if case .producer = role {
            let producer: BroadcastRing.Producer
            do { producer = try ring.producer(wait: strategy) } catch { throw .shm(error) }
            var port = ProducerPort(sender: RecordSender(producer, lengths: lengths, blocking: wait.blocking))
            return try visitor.visit(&port)
        }
        // Joined before the start barrier: nothing is published yet.
        let consumer: BroadcastRing.Consumer
        do { consumer = try ring.consumer(from: .oldest, wait: strategy) } catch { throw .shm(error) }
        var port = ConsumerPort(consumer: consumer, blocking: wait.blocking)
        return try visitor.visit(&port)
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { [ring.region.bytes] }

    /// The producer's end: sends only.
    public struct ProducerPort: MessagePort, ~Copyable {
        @usableFromInline var sender: RecordSender<BroadcastRing.Producer>

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            try sender.send(count: count, fill)
        }

        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            throw .protocolViolation("a broadcast producer receives nothing")
        }
    }

    /// One consumer's end: receives only.
    public struct ConsumerPort: MessagePort, ~Copyable {
        @usableFromInline var consumer: BroadcastRing.Consumer
        @usableFromInline let blocking: Bool
        /// `.overwrite`: records are copied here and checked once validated.
        @usableFromInline let scratch: UnsafeMutableRawBufferPointer?
        /// `.block`: records are read in batches (`tryPeekRecords`, which
        /// needs no validation after each read and reads the published end
        /// once a batch), as the record ring's `sub` does.
        @usableFromInline let batches: Bool
        /// The overruns' counts, summed.
        @usableFromInline var lost: UInt64 = 0

        init(consumer: consuming BroadcastRing.Consumer, blocking: Bool) {
            let ring = consumer.ring
            self.consumer = consumer
            self.blocking = blocking
            scratch = ring.policy == .overwrite ? .allocate(byteCount: max(ring.maximumRecordLength, 8), alignment: 16) : nil
            batches = ring.policy == .block
        }

        deinit { scratch?.deallocate() }

        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            throw .protocolViolation("a broadcast consumer sends nothing")
        }

        public var reportedLost: UInt64? { lost }

        /// What a read does with the record in the ring: checks it in place,
        /// or copies it out (`.overwrite`, checked after validation).
        @inlinable @inline(__always)
        static func look(_ record: UnsafeRawBufferPointer, _ n: Int, scratch: UnsafeMutableRawBufferPointer?,
                         _ body: (Int, UnsafeRawBufferPointer) -> Void) -> Int {
            if let scratch {
                // In bounds: the ring never shows more than its largest record.
                if let source = record.baseAddress { scratch.baseAddress!.copyMemory(from: source, byteCount: record.count) }
            } else {
                body(n, record)
            }
            return record.count
        }

        /// Counts a delivery: 1 for a record (a validated copy is checked
        /// now), 0 for an overrun (its losses added up).
        @inlinable @inline(__always)
        mutating func count(_ delivery: BroadcastDelivery<Int>, _ n: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) -> Int {
            switch delivery {
            case .record(let length):
                if let scratch { body(n, UnsafeRawBufferPointer(start: scratch.baseAddress, count: length)) }
                return 1
            case .overrun(let missed):
                lost &+= missed
                return 0
            }
        }

        @inlinable @inline(__always)
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            var spin = SpinWait()
            let scratch = scratch
            do throws(ShmError) {
                while true {
                    var n = 0
                    if batches {
                        // 0 when nothing is published, or when the next
                        // header is not the next record: `tryPeek` below
                        // then says which.
                        var shown = 0
                        n = try consumer.tryPeekRecords { record in
                            body(shown, record)
                            shown &+= 1
                            return shown < maxCount
                        }
                    }
                    while n < maxCount, !batches || n == 0 {
                        let at = n
                        guard let delivery = try consumer.tryPeek({ record in Self.look(record, at, scratch: scratch, body) }) else { break }
                        n &+= count(delivery, at, body)
                    }
                    if n > 0 {
                        consumer.release()
                        return n
                    }
                    if blocking {
                        guard let delivery = try consumer.peek(timeoutSeconds: nil, { record in Self.look(record, 0, scratch: scratch, body) }) else {
                            break
                        }
                        consumer.release()
                        if count(delivery, 0, body) == 1 { return 1 }
                        continue
                    }
                    spin.wait()
                }
            } catch { throw .shm(error) }
            throw RingWait.unexpectedEnd
        }
    }
}
