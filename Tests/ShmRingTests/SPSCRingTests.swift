import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// Ring semantics in one process: the producer and consumer ends are used
/// alternately, which exercises every state without timing.
final class SPSCRingTests: XCTestCase {
    func makeRing(capacity: Int, messageSize: Int = 8) throws -> SPSCRing {
        try SPSCRing.create(backing: .anon, name: nil, capacity: capacity, messageSize: messageSize)
    }

    func testEmptyRingPopsNothing() throws {
        let ring = try makeRing(capacity: 4)
        var consumer = try ring.consumer()
        XCTAssertNil(try consumer.tryPop(as: UInt64.self))
        XCTAssertEqual(try consumer.tryPopBatch(maxCount: 8) { _, _ in XCTFail("no message expected") }, 0)
    }

    func testFullRingRefusesAndRecovers() throws {
        let ring = try makeRing(capacity: 4)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        for i in 0..<4 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        XCTAssertFalse(try producer.tryPush(UInt64(99)), "a full ring must refuse")
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 0)
        XCTAssertTrue(try producer.tryPush(UInt64(4)))
        for i in 1...4 { XCTAssertEqual(try consumer.tryPop(as: UInt64.self), UInt64(i)) }
        XCTAssertNil(try consumer.tryPop(as: UInt64.self))
    }

    func testWrapAroundKeepsOrderOverManyLaps() throws {
        let ring = try makeRing(capacity: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        var next: UInt64 = 0, expected: UInt64 = 0
        for step in 0..<10_000 {
            let pushes = step % 5 + 1
            for _ in 0..<pushes where try producer.tryPush(next) { next += 1 }
            let pops = (step * 7) % 6 + 1
            for _ in 0..<pops {
                guard let value = try consumer.tryPop(as: UInt64.self) else { break }
                XCTAssertEqual(value, expected)
                expected += 1
            }
        }
        while let value = try consumer.tryPop(as: UInt64.self) {
            XCTAssertEqual(value, expected)
            expected += 1
        }
        XCTAssertEqual(expected, next)
        XCTAssertGreaterThan(next, 8 * 100, "the test must wrap many times")
    }

    func testBatchesArePartialWhenSpaceIsShort() throws {
        let ring = try makeRing(capacity: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        XCTAssertEqual(try producer.tryPushBatch(maxCount: 5) { i, slot in slot.storeBytes(of: UInt64(i), as: UInt64.self) }, 5)
        XCTAssertEqual(try producer.tryPushBatch(maxCount: 5) { i, slot in slot.storeBytes(of: UInt64(5 + i), as: UInt64.self) }, 3)
        XCTAssertEqual(try producer.tryPushBatch(maxCount: 5) { _, _ in XCTFail("ring is full") }, 0)
        var seen: [UInt64] = []
        XCTAssertEqual(try consumer.tryPopBatch(maxCount: 3) { _, bytes in seen.append(bytes.load(as: UInt64.self)) }, 3)
        XCTAssertEqual(try consumer.tryPopBatch(maxCount: 100) { _, bytes in seen.append(bytes.load(as: UInt64.self)) }, 5)
        XCTAssertEqual(seen, Array(0..<8))
    }

    func testCapacityOneAndTwo() throws {
        for capacity in [1, 2] {
            let ring = try makeRing(capacity: capacity)
            var producer = try ring.producer()
            var consumer = try ring.consumer()
            for round in 0..<100 {
                for i in 0..<capacity { XCTAssertTrue(try producer.tryPush(UInt64(round * 10 + i))) }
                XCTAssertFalse(try producer.tryPush(UInt64(0)))
                for i in 0..<capacity { XCTAssertEqual(try consumer.tryPop(as: UInt64.self), UInt64(round * 10 + i)) }
                XCTAssertNil(try consumer.tryPop(as: UInt64.self))
            }
        }
    }

    func testMessageSizesFrom8BytesTo64KiB() throws {
        for size in [8, 9, 15, 16, 56, 57, 64, 100, 1024, 4096, 65536] {
            let ring = try makeRing(capacity: 4, messageSize: size)
            var producer = try ring.producer()
            var consumer = try ring.consumer()
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
            defer { out.deallocate() }
            for lap in 0..<6 {
                let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ lap &+ size) }
                XCTAssertTrue(try message.withUnsafeBytes { try producer.tryPush(bytes: $0) })
                XCTAssertTrue(try consumer.tryPop(into: out))
                XCTAssertEqual(Array(out), message, "size \(size) lap \(lap)")
            }
        }
    }

    func testOversizedInputsAreRejected() throws {
        let ring = try makeRing(capacity: 2, messageSize: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        let big = [UInt8](repeating: 1, count: 9)
        XCTAssertThrowsError(try big.withUnsafeBytes { try producer.tryPush(bytes: $0) })
        XCTAssertThrowsError(try producer.tryPush((UInt64(1), UInt64(2))))
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 8)
        defer { small.deallocate() }
        XCTAssertThrowsError(try consumer.tryPop(into: small))
    }

    func testInvalidParametersAreRejected() {
        XCTAssertThrowsError(try makeRing(capacity: 0))
        XCTAssertThrowsError(try makeRing(capacity: 3))
        XCTAssertThrowsError(try makeRing(capacity: 4, messageSize: 7))
        XCTAssertThrowsError(try makeRing(capacity: 4, messageSize: 0))
        XCTAssertThrowsError(try makeRing(capacity: 1 << 31))
    }

    func testBlockingVariantsTimeOut() throws {
        let ring = try makeRing(capacity: 1)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try producer.push(timeoutSeconds: 0.1) { $0.storeBytes(of: UInt64(5), as: UInt64.self) }
        XCTAssertThrowsError(try producer.push(timeoutSeconds: 0.05) { _ in }) { error in
            guard case .timedOut? = error as? ShmError else { return XCTFail("\(error)") }
        }
        var got: UInt64 = 0
        try consumer.pop(timeoutSeconds: 0.1) { got = $0.load(as: UInt64.self) }
        XCTAssertEqual(got, 5)
        XCTAssertThrowsError(try consumer.pop(timeoutSeconds: 0.05) { _ in })
    }

    // MARK: A hostile or crashed peer

    func testConsumerPositionAheadOfProducerIsCorruption() throws {
        let ring = try makeRing(capacity: 4)
        var producer = try ring.producer()
        for i in 0..<4 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        // The consumer claims to have read 1000 messages.
        (ring.region.base + SPSCLayout.readPositionOffset).storeBytes(of: UInt64(1000), as: UInt64.self)
        XCTAssertThrowsError(try producer.tryPush(UInt64(5))) { error in
            guard case .corruptRing? = error as? ShmError else { return XCTFail("\(error)") }
        }
    }

    func testSequenceWordFromTheFutureIsCorruption() throws {
        let ring = try makeRing(capacity: 4)
        var consumer = try ring.consumer()
        (ring.region.base + SPSCLayout.slotsOffset).storeBytes(of: UInt64(77), as: UInt64.self)
        XCTAssertThrowsError(try consumer.tryPop(as: UInt64.self)) { error in
            guard case .corruptRing? = error as? ShmError else { return XCTFail("\(error)") }
        }
    }

    func testStaleSequenceWordsFromEarlierLapsAreNotMessages() throws {
        let ring = try makeRing(capacity: 2)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        for i in 0..<2 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        for _ in 0..<2 { XCTAssertNotNil(try consumer.tryPop(as: UInt64.self)) }
        // Slots still hold sequence words 1 and 2 from lap 0; lap 1 must see them as empty.
        XCTAssertNil(try consumer.tryPop(as: UInt64.self))
    }

    func testLayoutKeepsHotWordsApart() {
        XCTAssertGreaterThanOrEqual(SPSCLayout.readPositionOffset - SPSCLayout.producerLineOffset, 64)
        XCTAssertEqual(SPSCLayout.slotsOffset % 64, 0)
        XCTAssertEqual(SPSCLayout.stride(slotSize: 8), 16)
        XCTAssertEqual(SPSCLayout.stride(slotSize: 56), 64)
        XCTAssertEqual(SPSCLayout.stride(slotSize: 64), 128)
        XCTAssertEqual(SPSCLayout.stride(slotSize: 65536) % 64, 0)
    }
}

/// The embedding examples as written in docs/embedding.md and the README (in
/// a scratch directory instead of /dev/shm), both processes' code in one.
final class ReadmeExampleTests: XCTestCase {
    func testFrontDoorExampleRuns() throws {
        let scratch = try ScratchDirectory()
        let options = scratch.options
        var printed: [String] = []
        func print(_ line: String) { printed.append(line) }

        let ring = try RecordRing.create(backing: .mmap, name: "quotes", capacity: 1 << 20,
                                         maximumRecordLength: 4096, options: options, reclaimStale: true)
        var producer = try ring.producer(wait: .park)
        try producer.reserve(11, timeoutSeconds: 5) { _ = $0.copyBytes(from: "AAPL 189.20".utf8) }
        producer.commit()
        producer.close()

        let same = try RecordRing.open(backing: .mmap, name: "quotes", options: options, waitForCreationSeconds: 30)
        var consumer = try same.consumer(wait: .park)
        while let text = try consumer.peek(timeoutSeconds: 60, { String(decoding: $0, as: UTF8.self) }) {
            print(text)
            consumer.release()
        }
        XCTAssertEqual(printed, ["AAPL 189.20"])
    }

    func testEmbeddingExampleRuns() throws {
        let scratch = try ScratchDirectory()
        let options = scratch.options
        var printed: [String] = []
        func print(_ line: String) { printed.append(line) }

        // Producer process: create (or reclaim a name a crashed pipeline left), claim
        // the producing end, write records in place, close at the end.
        let ring = try RecordRing.create(backing: .mmap, name: "quotes", capacity: 1 << 20,
                                         maximumRecordLength: 4096, options: options, reclaimStale: true)
        var producer = try ring.producer(wait: .park)
        for line in ["AAPL 189.20", "MSFT 411.07"] {
            try producer.reserve(line.utf8.count, timeoutSeconds: 5) { bytes in
                _ = bytes.copyBytes(from: line.utf8)                  // written in place
            }
            producer.commit()                                         // publish (several reserves, one commit = a batch)
        }
        producer.close()                                              // end of stream; the process may exit now

        // Consumer process (started before or after the producer): wait for the
        // ring, drain it, stop at the end of the stream.
        let same = try RecordRing.open(backing: .mmap, name: "quotes", options: options, waitForCreationSeconds: 30)
        var consumer = try same.consumer(wait: .park)
        // The record is seen in place, inside the closure; nil: end of stream.
        while let text = try consumer.peek(timeoutSeconds: 60, { String(decoding: $0, as: UTF8.self) }) {
            print(text)
            consumer.release()                                        // hand the space back
        }
        XCTAssertEqual(printed, ["AAPL 189.20", "MSFT 411.07"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("quotes")), "removed at the end of the stream")

        // The fixed-slot ring works the same way:
        let slots = try SPSCRing.create(backing: .mmap, name: "ticks", capacity: 4096, messageSize: 64, options: options)
        var tick = try slots.producer(wait: .spin)
        try tick.push(UInt64(42), timeoutSeconds: 1)
        tick.close()
        var reader = try slots.consumer(wait: .yield)
        var buffer = [UInt8](repeating: 0, count: 64)
        let got = try buffer.withUnsafeMutableBytes { try reader.pop(into: $0, timeoutSeconds: 1) }   // .message
        let end = try reader.pop(as: UInt64.self, timeoutSeconds: 1)                                   // nil: end of stream
        XCTAssertEqual(got, .message)
        XCTAssertEqual(buffer[0], 42)
        XCTAssertNil(end)
    }
}
