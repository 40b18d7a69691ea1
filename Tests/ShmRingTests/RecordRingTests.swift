import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The record ring in one process: sizes from a seeded distribution over
/// many laps, padding at the wrap, batches, the largest record, end of
/// stream between parking threads, and hostile values in the region.
final class RecordRingTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so failures replay.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Record `index` is `length` bytes derived from its index.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, index: UInt64) {
        for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: index &* 31 &+ UInt64(i)) }
    }

    static func check(_ record: UnsafeRawBufferPointer, index: UInt64, length: Int) -> Bool {
        record.count == length && record.indices.allSatisfy { record[$0] == UInt8(truncatingIfNeeded: index &* 31 &+ UInt64($0)) }
    }

    func testSeededSizesOverManyLapsArriveIntactAndInOrder() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 120)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        var sizes = SeededGenerator(state: 42)
        var expected = SeededGenerator(state: 42)
        var written: UInt64 = 0, read: UInt64 = 0
        for round in 0..<5_000 {
            for _ in 0..<(round % 4 + 1) {
                var probe = sizes
                let length = Int(probe.next() % 121)
                guard try producer.tryReserve(length, { Self.fill($0, index: written) }) else { break }
                sizes = probe
                written += 1
            }
            producer.commit()
            for _ in 0..<(round % 3 + 1) {
                var probe = expected
                let length = Int(probe.next() % 121)
                guard let intact = try consumer.tryPeek({ Self.check($0, index: read, length: length) }) else { break }
                expected = probe
                XCTAssertTrue(intact, "record \(read)")
                consumer.release()
                read += 1
            }
        }
        XCTAssertGreaterThan(read, 2_000, "many laps of a 256-byte ring")
    }

    func testRecordThatDoesNotFitBeforeTheEndIsPaddedToTheStart() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        XCTAssertTrue(try producer.tryReserve(40) { Self.fill($0, index: 1) }) // 48 bytes: 16 left before the end
        producer.commit()
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 1, length: 40) }, true)
        consumer.release()
        XCTAssertTrue(try producer.tryReserve(16) { Self.fill($0, index: 2) }) // 24 bytes: padding, then at 0
        producer.commit()
        let (intact, start) = try XCTUnwrap(consumer.tryPeek { (Self.check($0, index: 2, length: 16), $0.baseAddress) })
        XCTAssertTrue(intact)
        XCTAssertEqual(start, UnsafeRawPointer(ring.region.base + RecordLayout.dataOffset + 8), "starts at offset 0")
        consumer.release()
        // The largest record fits an empty ring whatever the offset, once the
        // consumer has passed the padding (published by the failed reserve).
        XCTAssertFalse(try producer.tryReserve(56) { Self.fill($0, index: 3) })
        XCTAssertNil(try consumer.tryPeek { _ in }, "only padding")
        XCTAssertTrue(try producer.tryReserve(56) { Self.fill($0, index: 3) })
        producer.commit()
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 3, length: 56) }, true)
    }

    /// `tryReserve(upTo:atLeast:)`: the body gets all the contiguous free
    /// room (capped by the request and the largest record) and says how much
    /// it used; no room for the least is nil (the body is not called); the
    /// end is padded when it cannot hold the least; 0 used writes nothing;
    /// a body claiming more than it got, a throwing body, bad bounds write
    /// nothing; the blocking form waits (and times out) like `reserve`.
    func testReserveUpToUsesTheContiguousRoomAndCommitsWhatWasUsed() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        var offered: [Int] = []
        // Empty ring: the largest record (56), not the 100 asked.
        XCTAssertEqual(try producer.tryReserve(upTo: 100) { room in offered.append(room.count); Self.fill(room, index: 1); return 20 }, 20)
        // 32 bytes left before the end: 24 of payload.
        XCTAssertEqual(try producer.tryReserve(upTo: 100) { room in offered.append(room.count); Self.fill(room, index: 2); return room.count }, 24)
        XCTAssertEqual(offered, [56, 24])
        XCTAssertNil(try producer.tryReserve(upTo: 8) { _ in XCTFail("no room: the body runs not"); return 0 }, "full")
        // The failed reserve committed both records.
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 1, length: 20) }, true)
        consumer.release()
        XCTAssertEqual(try producer.tryReserve(upTo: 100) { _ in 0 }, 0, "0 used: no record")
        XCTAssertThrowsError(try producer.tryReserve(upTo: 100) { room in room.count + 1 }) { error in
            guard case ShmError.invalidArgument = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try producer.tryReserve(upTo: 100) { _ throws(ShmError) -> Int in throw .invalidArgument("fill failed") })
        for (most, least) in [(10, 0), (8, 9), (100, 57)] {
            XCTAssertThrowsError(try producer.tryReserve(upTo: most, atLeast: least) { _ in 1 }, "\(most) \(least)")
        }
        producer.commit()
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 2, length: 24) }, true)
        XCTAssertNil(try consumer.tryPeek { _ in }, "nothing else was written")
        consumer.release()
        // At offset 0 again: 36 bytes (48 with the header) leave 16 before the end.
        XCTAssertEqual(try producer.tryReserve(upTo: 36) { room in Self.fill(room, index: 3); return room.count }, 36)
        // At least 9 (a 24-byte footprint) does not fit the 16: padding; then the
        // room at the start is still held by the consumer: nil (padding committed).
        XCTAssertNil(try producer.tryReserve(upTo: 50, atLeast: 9) { _ in XCTFail("no room at the start"); return 0 })
        XCTAssertThrowsError(try producer.reserve(upTo: 50, atLeast: 9, timeoutSeconds: 0.05) { _ in 0 }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 3, length: 36) }, true)
        consumer.release()
        XCTAssertNil(try consumer.tryPeek { _ in }, "only the padding, handed back")
        let start = UnsafeMutableRawPointer(ring.region.base + RecordLayout.dataOffset + 8)
        XCTAssertEqual(try producer.reserve(upTo: 50, atLeast: 9, timeoutSeconds: 1) { room in
            XCTAssertEqual(room.baseAddress, start, "after the padding, at offset 0")
            Self.fill(room, index: 4)
            return room.count
        }, 50)
        producer.commit()
        XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: 4, length: 50) }, true, "the padding skipped")
    }

    func testBatchIsInvisibleUntilCommitted() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 64)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for i in 0..<3 { XCTAssertTrue(try producer.tryReserve(10) { Self.fill($0, index: UInt64(i)) }) }
        XCTAssertNil(try consumer.tryPeek { _ in })
        producer.commit()
        for i in 0..<3 {
            XCTAssertEqual(try consumer.tryPeek { Self.check($0, index: UInt64(i), length: 10) }, true)
            consumer.release()
        }
        XCTAssertNil(try consumer.tryPeek { _ in })
    }

    func testLargestRecordIsEnforcedAndAThrowingFillWritesNothing() throws {
        XCTAssertThrowsError(try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 57))
        XCTAssertThrowsError(try RecordRing.create(backing: .anon, name: nil, capacity: 48, maximumRecordLength: 8))
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 128, maximumRecordLength: 32)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        XCTAssertThrowsError(try producer.tryReserve(33) { _ in })
        XCTAssertThrowsError(try producer.tryReserve(8) { _ throws(ShmError) in throw .invalidArgument("fill failed") })
        XCTAssertTrue(try producer.tryReserve(0) { _ in })
        producer.commit()
        XCTAssertEqual(try consumer.tryPeek { $0.count }, 0, "the empty record, not the failed one")
    }

    func testEndOfStreamBetweenParkingThreads() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 4096, maximumRecordLength: 1000)
        let count: UInt64 = 5_000
        let done = ResultBox<Void, ShmError>()
        Thread { [ring] in
            do throws(ShmError) {
                var producer = try ring.producer(wait: .park)
                var sizes = SeededGenerator(state: 7)
                for i in 0..<count {
                    try producer.reserve(Int(sizes.next() % 1001), timeoutSeconds: 10) { Self.fill($0, index: i) }
                    if i % 5 == 0 { producer.commit() }
                }
                producer.close()
                done.set(.success(()))
            } catch { done.set(.failure(error)) }
        }.start()
        var consumer = try ring.consumer(wait: .park)
        var sizes = SeededGenerator(state: 7)
        var index: UInt64 = 0
        while try consumer.read(timeoutSeconds: 10, { record in
            XCTAssertTrue(Self.check(record, index: index, length: Int(sizes.next() % 1001)), "record \(index)")
        }) == .message {
            index += 1
        }
        XCTAssertEqual(index, count)
        guard case .success? = done.wait(seconds: 10) else { return XCTFail("producer: \(String(describing: done.value))") }
    }

    func testHostileHeadersAndPositionsAreCorruptRing() throws {
        func expectCorrupt(_ damage: (UnsafeMutableRawPointer) -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
            let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64)
            var producer = try ring.producer(wait: .spin)
            var consumer = try ring.consumer(wait: .spin)
            XCTAssertTrue(try producer.tryReserve(16) { _ in })
            producer.commit()
            damage(ring.region.base)
            XCTAssertThrowsError(try consumer.peek(timeoutSeconds: 1) { _ in }, file: file, line: line) { error in
                guard case .corruptRing? = error as? ShmError else { return XCTFail("\(error)", file: file, line: line) }
            }
        }
        let data = RecordLayout.dataOffset
        try expectCorrupt { $0.storeBytes(of: UInt32(65), toByteOffset: data, as: UInt32.self) }        // longer than the largest
        try expectCorrupt { $0.storeBytes(of: UInt32(9), toByteOffset: data + 4, as: UInt32.self) }     // unknown type
        try expectCorrupt { $0.storeBytes(of: UInt32(2), toByteOffset: data + 4, as: UInt32.self) }     // padding mid-ring
        try expectCorrupt { $0.storeBytes(of: UInt32(60), toByteOffset: data, as: UInt32.self) }        // beyond the published bytes
        try expectCorrupt { $0.storeBytes(of: UInt64(1 << 40), toByteOffset: EndpointLayout.producerPositionOffset, as: UInt64.self) }
        try expectCorrupt { $0.storeBytes(of: UInt64(13), toByteOffset: EndpointLayout.producerPositionOffset, as: UInt64.self) }
    }
}
