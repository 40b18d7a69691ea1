import XCTest
@testable import ShmRing

/// Issue 15, items 6 and 7: the park re-check's flag, the typed push's
/// padding, and records read in place but not yet released.
final class EndpointHazardTests: XCTestCase {
    /// A re-check that throws must not leave the sleeping flag raised (a
    /// peer would then issue a futex wake for every message, forever).
    func testParkLowersTheSleepingFlagWhenTheRecheckThrows() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        let consumer = try ring.consumer(wait: .park)
        let deadline = try WaitDeadline(timeoutSeconds: 1)
        XCTAssertThrowsError(try consumer.endpoint.park(until: deadline) { () throws(ShmError) -> Bool in
            throw .corruptRing(reason: "a re-check that fails")
        })
        let sleeping = ring.region.base.load(fromByteOffset: EndpointLayout.consumerSleepingOffset, as: UInt32.self)
        XCTAssertEqual(sleeping, 0, "the consumer's sleeping flag is down after a throwing re-check")
    }

    /// `tryPush<T>` pads the slot with zeros as `tryPush(bytes:)` does: the
    /// consumer never reads the rest of an earlier lap's message.
    func testTypedPushZeroesTheRestOfTheSlot() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 1, messageSize: 16)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        var buffer = [UInt8](repeating: 0, count: 16)
        let full = [UInt8](repeating: 0xFF, count: 16)
        XCTAssertTrue(try full.withUnsafeBytes { try producer.tryPush(bytes: $0) })
        XCTAssertTrue(try buffer.withUnsafeMutableBytes { try consumer.tryPop(into: $0) })
        XCTAssertTrue(try producer.tryPush(UInt32(7)))
        XCTAssertTrue(try buffer.withUnsafeMutableBytes { try consumer.tryPop(into: $0) })
        XCTAssertEqual(buffer, [7, 0, 0, 0] + [UInt8](repeating: 0, count: 12), "no byte of the previous lap")
    }

    /// Records read with `tryPeek` stay unreleased (the producer cannot
    /// reuse their space) until `release()`, which hands back all of them.
    func testRecordsReadStayUnreleasedUntilRelease() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for i in 0..<3 { XCTAssertTrue(try producer.tryReserve(24) { $0.storeBytes(of: UInt64(i), as: UInt64.self) }) }
        producer.commit()
        func released() -> UInt64 { ring.region.base.load(fromByteOffset: EndpointLayout.readPositionOffset, as: UInt64.self) }
        for i in 0..<3 { XCTAssertEqual(try consumer.tryPeek { $0.load(as: UInt64.self) }, UInt64(i)) }
        XCTAssertNil(try consumer.tryPeek { _ in })
        XCTAssertEqual(released(), 0, "nothing handed back before release()")
        consumer.release()
        XCTAssertEqual(released(), 96, "three 32-byte records handed back at once")
        // A throwing body leaves the record to be read again.
        XCTAssertTrue(try producer.tryReserve(8) { $0.storeBytes(of: UInt64(9), as: UInt64.self) })
        producer.commit()
        XCTAssertThrowsError(try consumer.tryPeek { _ throws(ShmError) in throw .invalidArgument("not now") })
        XCTAssertEqual(try consumer.tryPeek { $0.load(as: UInt64.self) }, 9)
    }

    /// A producer whose claim races a `close()` (the stream ends after its
    /// first check, before its claim) refuses, and leaves the end unclaimed,
    /// instead of publishing into a closed ring. Both rings.
    func testProducerClaimRacingACloseRefuses() throws {
        let spsc = try SPSCRing.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        let records = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64)
        for (region, claim) in [(spsc.region, { () throws(ShmError) in _ = try spsc.producer() }),
                                (records.region, { () throws(ShmError) in _ = try records.producer() })] {
            let endOfStream = (region.base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self)
            // What the previous producer's close() stores, just then.
            Endpoint.claimHookForTesting = { endOfStream.pointee = 1 }
            defer { Endpoint.claimHookForTesting = nil }
            XCTAssertThrowsError(try claim()) { error in
                guard case .invalidArgument(let text)? = error as? ShmError, text.contains("closed") else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(region.base.load(fromByteOffset: EndpointLayout.producerOwnerOffset, as: UInt64.self), 0, "claim undone")
        }
    }

    /// Two handles of one end in one process: the second is refused by the
    /// witness lock (each handle has its own open file description).
    func testSecondHandleOfAnEndInOneProcessIsRefused() throws {
        for backing in [RegionBacking.anon, .sysv] {
            let ring = try SPSCRing.create(backing: backing, name: nil, capacity: 4, messageSize: 8)
            let first = try ring.producer()
            XCTAssertThrowsError(try { _ = try ring.producer() }()) { error in
                guard case .endpointTaken(_, .producer, getpid())? = error as? ShmError else { return XCTFail("\(error)") }
            }
            _ = consume first
            _ = try ring.producer() // released: claimable again
        }
    }
}
