import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// `RecordRing.Consumer.tryPeekRecords`: many records per call, in order,
/// across the wrap, stopping where the body says, unreleased until
/// `release()`, and every hostile header a typed `corruptRing`.
final class RecordRingBatchTests: XCTestCase {
    typealias Seeded = RecordRingTests.SeededGenerator

    func testSeededSizesOverManyLapsArriveIntactAndInOrderInBatches() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 512, maximumRecordLength: 120)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        var sizes = Seeded(state: 7)
        var expected = Seeded(state: 7)
        var written: UInt64 = 0, read: UInt64 = 0
        for round in 0..<4_000 {
            for _ in 0..<(round % 7 + 1) {
                var probe = sizes
                let length = Int(probe.next() % 121)
                guard try producer.tryReserve(length, { RecordRingTests.fill($0, index: written) }) else { break }
                sizes = probe
                written += 1
            }
            producer.commit()
            // Stop after a varying number of records (the body's answer).
            let limit = round % 5 + 1
            var seen = 0
            let count = try consumer.tryPeekRecords { record in
                let length = Int(expected.next() % 121)
                XCTAssertTrue(RecordRingTests.check(record, index: read, length: length), "record \(read)")
                read += 1
                seen += 1
                return seen < limit
            }
            XCTAssertEqual(count, seen)
            XCTAssertLessThanOrEqual(count, limit)
            consumer.release()
        }
        XCTAssertGreaterThan(read, 3_000, "many laps of a 512-byte ring")
        // The rest, in one call.
        _ = try consumer.tryPeekRecords { record in
            let length = Int(expected.next() % 121)
            XCTAssertTrue(RecordRingTests.check(record, index: read, length: length), "record \(read)")
            read += 1
            return true
        }
        XCTAssertEqual(read, written)
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 0, "nothing published")
    }

    func testABatchCrossesThePaddingAndStaysUnreleasedUntilRelease() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        XCTAssertTrue(try producer.tryReserve(24) { RecordRingTests.fill($0, index: 1) }) // 32 bytes
        producer.commit()
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 1)
        consumer.release()
        XCTAssertTrue(try producer.tryReserve(8) { RecordRingTests.fill($0, index: 2) })  // 16 bytes, at 32
        XCTAssertTrue(try producer.tryReserve(16) { RecordRingTests.fill($0, index: 3) }) // 24: padding (16), then at 0
        producer.commit()
        var indices: [UInt64] = []
        let count = try consumer.tryPeekRecords { record in
            indices.append(record.count == 8 ? 2 : 3)
            XCTAssertTrue(RecordRingTests.check(record, index: indices.last!, length: record.count))
            return true
        }
        XCTAssertEqual(count, 2)
        XCTAssertEqual(indices, [2, 3])
        // Read, not released: the producer cannot reuse the space yet.
        XCTAssertFalse(try producer.tryReserve(48) { _ in })
        consumer.release()
        XCTAssertTrue(try producer.tryReserve(32) { _ in })
    }

    func testPaddingAloneIsHandedBackAtOnce() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        XCTAssertTrue(try producer.tryReserve(40) { _ in }) // 48 bytes: 16 left before the end
        producer.commit()
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 1)
        consumer.release()
        // Writes the padding, then finds no room for 56 (+8) and commits.
        XCTAssertFalse(try producer.tryReserve(56) { _ in })
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 0, "only padding")
        XCTAssertTrue(try producer.tryReserve(56) { _ in }, "the padding was handed back")
    }

    func testAThrowingBodyLeavesItsRecordUnread() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 32)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for i in 0..<3 { XCTAssertTrue(try producer.tryReserve(10) { RecordRingTests.fill($0, index: UInt64(i)) }) }
        producer.commit()
        var calls = 0
        XCTAssertThrowsError(try consumer.tryPeekRecords { _ throws(ShmError) in
            calls += 1
            if calls == 2 { throw .invalidArgument("body failed") }
            return true
        })
        var next: [Bool] = []
        XCTAssertEqual(try consumer.tryPeekRecords { next.append(RecordRingTests.check($0, index: UInt64(next.count + 1), length: 10)); return true }, 2)
        XCTAssertEqual(next, [true, true], "records 1 and 2 again, record 0 read")
    }

    func testHostileHeadersAndPositionsAreCorruptRing() throws {
        /// Two records of 16 bytes published (24 bytes each, at offsets 0 and
        /// 24); `damage` then changes the region. Returns how many records the
        /// body saw before the error.
        func expectCorrupt(_ what: String, _ damage: (UnsafeMutableRawPointer) -> Void,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Int {
            let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64)
            var producer = try ring.producer(wait: .spin)
            var consumer = try ring.consumer(wait: .spin)
            XCTAssertTrue(try producer.tryReserve(16) { _ in })
            XCTAssertTrue(try producer.tryReserve(16) { _ in })
            producer.commit()
            damage(ring.region.base)
            var seen = 0
            XCTAssertThrowsError(try consumer.tryPeekRecords { _ in seen += 1; return true }, what, file: file, line: line) { error in
                guard case .corruptRing? = error as? ShmError else { return XCTFail("\(what): \(error)", file: file, line: line) }
            }
            let flag = (ring.region.base + EndpointLayout.corruptionOffset).load(as: UInt64.self)
            XCTAssertEqual(flag, 1, "\(what): the peer is told", file: file, line: line)
            return seen
        }
        let data = RecordLayout.dataOffset
        let second = data + 24
        XCTAssertEqual(try expectCorrupt("longer than the largest") { $0.storeBytes(of: UInt32(65), toByteOffset: data, as: UInt32.self) }, 0)
        XCTAssertEqual(try expectCorrupt("length 2^32 - 1") { $0.storeBytes(of: UInt32.max, toByteOffset: data, as: UInt32.self) }, 0)
        XCTAssertEqual(try expectCorrupt("unknown type") { $0.storeBytes(of: UInt32(9), toByteOffset: data + 4, as: UInt32.self) }, 0)
        XCTAssertEqual(try expectCorrupt("padding mid-ring") { $0.storeBytes(of: UInt32(2), toByteOffset: data + 4, as: UInt32.self) }, 0)
        XCTAssertEqual(try expectCorrupt("padding at offset 0 covering the ring") {
            $0.storeBytes(of: UInt64(2) << 32 | UInt64(256 - 8), toByteOffset: data, as: UInt64.self)
        }, 0)
        // The second record's header is checked too: the first is delivered.
        XCTAssertEqual(try expectCorrupt("second beyond the published bytes") { $0.storeBytes(of: UInt32(17), toByteOffset: second, as: UInt32.self) }, 1)
        XCTAssertEqual(try expectCorrupt("second longer than the largest") { $0.storeBytes(of: UInt32(1 << 31), toByteOffset: second, as: UInt32.self) }, 1)
        XCTAssertEqual(try expectCorrupt("second with no type") { $0.storeBytes(of: UInt32(0), toByteOffset: second + 4, as: UInt32.self) }, 1)
        XCTAssertEqual(try expectCorrupt("producer position past one ring") {
            $0.storeBytes(of: UInt64(1 << 40), toByteOffset: EndpointLayout.producerPositionOffset, as: UInt64.self)
        }, 0)
        XCTAssertEqual(try expectCorrupt("producer position not 8-aligned") {
            $0.storeBytes(of: UInt64(13), toByteOffset: EndpointLayout.producerPositionOffset, as: UInt64.self)
        }, 0)
    }

    func testARecordPastTheRingsEndIsCorrupt() throws {
        // A header near the end claiming more than is left before the end
        // (while the published bytes, which wrap, would cover it).
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        XCTAssertTrue(try producer.tryReserve(24) { _ in }) // 32 bytes
        producer.commit()
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 1)
        consumer.release()
        XCTAssertTrue(try producer.tryReserve(8) { _ in })  // 16 at 32
        XCTAssertTrue(try producer.tryReserve(8) { _ in })  // 16 at 48
        XCTAssertTrue(try producer.tryReserve(8) { _ in })  // 16 at 0
        producer.commit()
        ring.region.base.storeBytes(of: UInt32(24), toByteOffset: RecordLayout.dataOffset + 48, as: UInt32.self) // 32 bytes from 48
        var seen = 0
        XCTAssertThrowsError(try consumer.tryPeekRecords { _ in seen += 1; return true }) { error in
            guard case .corruptRing? = error as? ShmError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(seen, 1)
    }

    // MARK: - Producer.writeRecords

    func testWriterRecordsArriveIntactAcrossManyLapsAndWaitForCommit() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 512, maximumRecordLength: 120)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        var sizes = Seeded(state: 11)
        var expected = Seeded(state: 11)
        var written: UInt64 = 0, read: UInt64 = 0
        var sawFull = false
        for round in 0..<3_000 {
            producer.writeRecords { writer in
                for _ in 0..<(round % 9 + 1) {
                    var probe = sizes
                    let length = Int(probe.next() % 121)
                    let room: UnsafeMutableRawPointer?
                    do { room = try writer.append(length) } catch { return XCTFail("\(error)") }
                    guard let payload = room else { sawFull = true; return }
                    RecordRingTests.fill(UnsafeMutableRawBufferPointer(start: payload, count: length), index: written)
                    sizes = probe
                    written += 1
                }
            }
            if round == 0 { XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 0, "invisible until commit") }
            producer.commit()
            _ = try consumer.tryPeekRecords { record in
                let length = Int(expected.next() % 121)
                XCTAssertTrue(RecordRingTests.check(record, index: read, length: length), "record \(read)")
                read += 1
                return read % 5 != 0
            }
            consumer.release()
        }
        XCTAssertTrue(sawFull, "the ring filled up at times")
        XCTAssertGreaterThan(read, 3_000)
    }

    func testWriterRefusesTooLongRecordsAndReturnsNilWhenFull() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        try producer.writeRecords { (writer) throws(ShmError) in
            XCTAssertThrowsError(try writer.append(57))
            XCTAssertThrowsError(try writer.append(-1))
            XCTAssertNotNil(try writer.append(40)) // 48 bytes
            XCTAssertNil(try writer.append(16), "16 bytes to the end: padding, then no room at 0")
        }
        producer.commit()
        XCTAssertEqual(try consumer.tryPeekRecords { $0.count == 40 }, 1)
    }

    func testWriterTreatsAnImpossibleConsumerPositionAsCorrupt() throws {
        for bad: UInt64 in [13, 1 << 40, 64] {
            let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 64, maximumRecordLength: 56)
            var producer = try ring.producer(wait: .spin)
            try producer.writeRecords { (writer) throws(ShmError) in XCTAssertNotNil(try writer.append(40)) }
            // Not committed: the consumer cannot be past 0.
            ring.region.base.storeBytes(of: bad, toByteOffset: EndpointLayout.readPositionOffset, as: UInt64.self)
            XCTAssertThrowsError(try producer.writeRecords { (writer) throws(ShmError) in _ = try writer.append(40) }, "read position \(bad)") { error in
                guard case .corruptRing? = error as? ShmError else { return XCTFail("\(error)") }
            }
        }
    }
}
