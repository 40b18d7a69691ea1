import XCTest
@testable import BenchHarness

final class IntegrityTests: XCTestCase {
    func stamp(_ s: UInt64, producer: Int = 0) -> UInt64 { MessageCodec.stamp(producer: producer, sequence: s) }

    func testInOrderStreamIsClean() {
        var t = IntegrityTracker(producers: 1)
        for s in 0..<200_000 as Range<UInt64> { t.record(stamp: stamp(s), intact: true) }
        t.finish(sentPerProducer: [200_000])
        XCTAssertEqual(t.counts.received, 200_000)
        XCTAssertTrue(t.counts.clean, "\(t.counts)")
    }

    func testGapsDuplicatesAndReordering() {
        var t = IntegrityTracker(producers: 1)
        for s: UInt64 in [0, 1, 3, 2, 2, 5] { t.record(stamp: stamp(s), intact: true) }
        t.finish(sentPerProducer: [7])
        XCTAssertEqual(t.counts.received, 5)
        XCTAssertEqual(t.counts.duplicated, 1)
        XCTAssertEqual(t.counts.reordered, 1)
        XCTAssertEqual(t.counts.lost, 2) // 4 and 6
    }

    func testLossesBeyondTheWindowAreCounted() {
        var t = IntegrityTracker(producers: 1)
        t.record(stamp: stamp(0), intact: true)
        t.record(stamp: stamp(IntegrityTracker.windowBits * 3), intact: true)
        t.finish(sentPerProducer: [IntegrityTracker.windowBits * 3 + 1])
        XCTAssertEqual(t.counts.lost, IntegrityTracker.windowBits * 3 - 1)
        XCTAssertEqual(t.counts.received, 2)
    }

    func testTailLossIsCounted() {
        var t = IntegrityTracker(producers: 2)
        for s in 0..<10 as Range<UInt64> { t.record(stamp: stamp(s, producer: 1), intact: true) }
        t.finish(sentPerProducer: [5, 10 + IntegrityTracker.windowBits * 2])
        XCTAssertEqual(t.counts.lost, 5 + IntegrityTracker.windowBits * 2)
    }

    func testCorruptAndUnknownProducer() {
        var t = IntegrityTracker(producers: 1)
        t.record(stamp: stamp(0), intact: false)
        t.record(stamp: stamp(0, producer: 3), intact: true)
        XCTAssertEqual(t.counts.corrupt, 2)
        XCTAssertEqual(t.counts.received, 0)
    }

    func testCodecRoundTripsAndDetectsDamage() {
        for size in [8, 16, 17, 24, 63, 64, 1000, 65536] {
            let codec = MessageCodec(messageSize: size)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
            defer { buffer.deallocate() }
            codec.fill(buffer, stamp: 12345)
            XCTAssertEqual(MessageCodec.stamp(of: UnsafeRawBufferPointer(buffer)), 12345)
            XCTAssertTrue(codec.verify(UnsafeRawBufferPointer(buffer)), "size \(size)")
            guard size >= 17 else { continue }
            buffer[size - 1] ^= 0x10
            XCTAssertFalse(codec.verify(UnsafeRawBufferPointer(buffer)), "size \(size): damage in the last byte")
            buffer[size - 1] ^= 0x10
            // A stale message (another stamp) in the payload is detected too.
            let other = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
            defer { other.deallocate() }
            codec.fill(other, stamp: 12346)
            other.storeBytes(of: UInt64(12345), as: UInt64.self)
            other.storeBytes(of: buffer.load(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
            XCTAssertFalse(codec.verify(UnsafeRawBufferPointer(other)), "size \(size): stale payload")
        }
    }

    func testSpreadStatistics() {
        let s = Spread([3, 1, 2, 10])
        XCTAssertEqual(s.median, 2.5)
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 10)
        XCTAssertGreaterThan(s.cv, 0)
        XCTAssertEqual(Spread([5]).cv, 0)
        XCTAssertEqual(Spread([]).median, 0)
    }
}

final class IntegrityTrackerEdgeTests: XCTestCase {
    func stamp(_ s: UInt64, producer: Int = 0) -> UInt64 { MessageCodec.stamp(producer: producer, sequence: s) }

    func testLateArrivalWithinTheWindowIsReorderedNotLost() {
        var t = IntegrityTracker(producers: 1)
        let w = IntegrityTracker.windowBits
        for s: UInt64 in [0, 5] { t.record(stamp: stamp(s), intact: true) }
        for s in 6..<(w / 2) { t.record(stamp: stamp(s), intact: true) }
        for s: UInt64 in [1, 2, 3, 4] { t.record(stamp: stamp(s), intact: true) }
        t.finish(sentPerProducer: [w / 2])
        XCTAssertEqual(t.counts.received, w / 2)
        XCTAssertEqual(t.counts.reordered, 4)
        XCTAssertEqual(t.counts.lost, 0)
        XCTAssertEqual(t.counts.duplicated, 0)
    }

    func testGapsSlideOutOfTheWindowAsLostAndBitsAreReused() {
        var t = IntegrityTracker(producers: 1)
        let w = IntegrityTracker.windowBits
        // Skip 1, then run far beyond the window, then skip again at an aliasing position.
        t.record(stamp: stamp(0), intact: true)
        for s in 2..<(w + 10) { t.record(stamp: stamp(s), intact: true) }
        t.record(stamp: stamp(w + 11), intact: true)   // w + 10 missing, aliases with 10
        t.record(stamp: stamp(w + 10), intact: true)   // arrives late: reordered
        t.record(stamp: stamp(1), intact: true)        // far too late: reordered (already lost)
        t.record(stamp: stamp(w + 11), intact: true)   // duplicate
        t.finish(sentPerProducer: [w + 12])
        XCTAssertEqual(t.counts.lost, 1)
        XCTAssertEqual(t.counts.reordered, 2)
        XCTAssertEqual(t.counts.duplicated, 1)
        XCTAssertEqual(t.counts.received, w + 11)
    }

    func testSharedConsumersCheckOrderOnly() {
        var t = IntegrityTracker(producers: 1, seesEveryMessage: false)
        for s: UInt64 in [0, 2, 4, 3, 9] { t.record(stamp: stamp(s), intact: true) }
        XCTAssertEqual(t.counts.received, 5)
        XCTAssertEqual(t.counts.reordered, 1)
        XCTAssertEqual(t.counts.lost, 0)
    }

    // MARK: Variable-length records

    func testVariableLengthsStayInRangeAndRepeatFromTheSeed() throws {
        for distribution in MessageLengths.Distribution.allCases {
            let lengths = MessageLengths(distribution: distribution, maximum: 65536, seed: 42)
            let drawn = (0..<5000).map { lengths.length(sequence: UInt64($0)) }
            XCTAssertTrue(drawn.allSatisfy { (8...65536).contains($0) }, "\(distribution)")
            XCTAssertEqual(drawn, (0..<5000).map { MessageLengths(distribution: distribution, maximum: 65536, seed: 42).length(sequence: UInt64($0)) })
            if distribution != .fixed { XCTAssertGreaterThan(Set(drawn).count, 100, "\(distribution) varies") }
        }
        XCTAssertNotEqual((0..<100).map { MessageLengths(distribution: .uniform, maximum: 4096, seed: 1).length(sequence: UInt64($0)) },
                          (0..<100).map { MessageLengths(distribution: .uniform, maximum: 4096, seed: 2).length(sequence: UInt64($0)) })
    }

    func testCodecChecksEveryRecordsLengthAndBytes() {
        let lengths = MessageLengths(distribution: .uniform, maximum: 300, seed: 7)
        let codec = MessageCodec(messageSize: 300, lengths: lengths)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 400, alignment: 8)
        defer { buffer.deallocate() }
        for sequence in UInt64(0)..<200 {
            let length = lengths.length(sequence: sequence)
            let record = UnsafeMutableRawBufferPointer(rebasing: buffer[..<length])
            codec.fill(record, stamp: sequence)
            XCTAssertTrue(codec.verify(UnsafeRawBufferPointer(record)), "record \(sequence) of \(length) bytes")
            // One byte short or long: the stamp says otherwise.
            XCTAssertFalse(codec.verify(UnsafeRawBufferPointer(rebasing: buffer[..<(length - 1)])))
            XCTAssertFalse(codec.verify(UnsafeRawBufferPointer(rebasing: buffer[..<(length + 1)])))
            if length > 16 {
                record[length - 1] ^= 1
                XCTAssertFalse(codec.verify(UnsafeRawBufferPointer(record)), "last byte damaged")
            }
        }
    }
}
