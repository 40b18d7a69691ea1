import ShmRing

/// The variable-length record ring (`ShmRing.RecordRing`) as a transport:
/// one byte ring from producer to consumer, one back for echoes.
///
/// Each message is one record, written in place (`tryReserve`) and read in
/// place (`tryPeek { }`/`release`); a batch of `--batch` records is published
/// with one `commit`. Record lengths come from `--record-sizes` (at most
/// `--message-size`, drawn per sequence number from `--seed`, see
/// `MessageLengths`), and the consumer's check covers each record's length
/// as well as its sequence number, checksum and every payload byte.
///
/// `--capacity` counts records of the largest size: the byte ring holds at
/// least `capacity` of them (rounded up to a power of two bytes).
public struct RecordsTransport: Transport {
    public static let name = "records"
    public static let capabilities = TransportCapabilities(
        maximumMessageSize: RegionLayout.maximumSlotSize, limitReason: "the harness's largest record",
        usesBacking: true, usesCapacity: true, variableLengths: true, waitStrategies: true)

    let backing: RegionBacking
    let forward: RecordRing
    let backward: RecordRing
    let lengths: MessageLengths
    let wait: (strategy: WaitStrategy, blocking: Bool)

    /// Bytes of a ring holding `records` records of `messageSize` bytes.
    static func byteCapacity(records: Int, messageSize: Int) throws(HarnessError) -> Int {
        let (bytes, overflow) = RecordLayout.footprint(length: messageSize).multipliedReportingOverflow(by: records)
        guard !overflow, bytes <= RecordLayout.maximumCapacity else {
            throw .invalidScenario("records: \(records) records of \(messageSize) bytes make too large a ring")
        }
        var capacity = RecordLayout.minimumCapacity
        while capacity < bytes { capacity <<= 1 }
        return capacity
    }

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        lengths = try MessageLengths(scenario)
        wait = try RingWait.claimStrategy(scenario)
        let size = scenario.messageSize
        let forwardBytes = try Self.byteCapacity(records: scenario.capacity, messageSize: size)
        // The way back carries echoes; a throughput run never uses it.
        let backwardBytes = scenario.mode == .roundtrip ? forwardBytes : try Self.byteCapacity(records: 1, messageSize: size)
        do {
            forward = try RecordRing.create(backing: backing, name: RegionNames.make(backing, "fwd", cleanup),
                                            capacity: forwardBytes, maximumRecordLength: size)
            cleanup.register("records forward ring \(forward.region.name)") { [forward] in forward.region.removeName() }
            RegionNames.releaseAfterAttach(forward.region, cleanup)
            backward = try RecordRing.create(backing: backing, name: RegionNames.make(backing, "back", cleanup),
                                             capacity: backwardBytes, maximumRecordLength: size)
            cleanup.register("records backward ring \(backward.region.name)") { [backward] in backward.region.removeName() }
            RegionNames.releaseAfterAttach(backward.region, cleanup)
        } catch { throw .shm(error) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fwd: RecordRing, back: RecordRing
        do { fwd = try reopen(forward); back = try reopen(backward) } catch { throw .shm(error) }
        var port: Port
        let strategy = wait.strategy
        do {
            if case .producer = role {
                port = Port(outbound: try fwd.producer(wait: strategy), inbound: try back.consumer(wait: strategy),
                            lengths: lengths, blocking: wait.blocking)
            } else {
                port = Port(outbound: try back.producer(wait: strategy), inbound: try fwd.consumer(wait: strategy),
                            lengths: lengths, blocking: wait.blocking)
            }
        } catch { throw .shm(error) }
        return try visitor.visit(&port)
    }

    private func reopen(_ ring: RecordRing) throws(ShmError) -> RecordRing {
        backing == .anon ? ring : try RecordRing.open(backing: backing, name: ring.region.name)
    }

    public struct Port: MessagePort, ~Copyable {
        @usableFromInline var outbound: RecordSender<RecordRing.Producer>
        @usableFromInline var inbound: RecordReceiver

        init(outbound: consuming RecordRing.Producer, inbound: consuming RecordRing.Consumer,
             lengths: MessageLengths, blocking: Bool) {
            self.outbound = RecordSender(outbound, lengths: lengths, blocking: blocking)
            self.inbound = RecordReceiver(inbound, blocking: blocking)
        }

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            try outbound.send(count: count, fill)
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            try inbound.receive(maxCount: maxCount, body)
        }
    }
}
