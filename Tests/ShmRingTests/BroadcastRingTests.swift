import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The broadcast ring in one process (issue 16): every consumer receives
/// every record; join and leave; `.block` gates on the slowest consumer;
/// `.overwrite` reports exact losses, including a reader lapped during its
/// read; hostile values in the region are typed errors. Cross-process death
/// is in RingLifecycleTests (ring-peer forks, XCTest never does).
final class BroadcastRingTests: XCTestCase {
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, index: UInt64) {
        for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: index &* 31 &+ UInt64(i)) }
    }

    static func length(_ index: UInt64) -> Int { Int((index &* 7919) % 90) }

    static func check(_ record: UnsafeRawBufferPointer, index: UInt64) -> Bool {
        record.count == length(index) && record.indices.allSatisfy { record[$0] == UInt8(truncatingIfNeeded: index &* 31 &+ UInt64($0)) }
    }

    func write(_ producer: inout BroadcastRing.Producer, _ index: UInt64) throws {
        XCTAssertTrue(try producer.tryReserve(Self.length(index)) { Self.fill($0, index: index) })
        producer.commit()
    }

    /// Reads what is there; returns the record indices (decoded from length
    /// and bytes) and the overruns in order.
    func drain(_ consumer: inout BroadcastRing.Consumer, expecting first: UInt64) throws -> (records: [UInt64], lost: [UInt64]) {
        var records: [UInt64] = [], lost: [UInt64] = []
        var next = first
        while let delivery = try consumer.tryPeek({ Self.check($0, index: next) }) {
            switch delivery {
            case .record(let intact):
                XCTAssertTrue(intact, "record \(next) corrupt")
                records.append(next)
                next += 1
            case .overrun(let count):
                lost.append(count)
                next += count
            }
            consumer.release()
        }
        return (records, lost)
    }

    func testEveryConsumerReceivesEveryRecordOverManyLaps() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, maximumConsumers: 64)
        var producer = try ring.producer(wait: .spin)
        var a = try ring.consumer(from: .oldest, wait: .spin)
        var b = try ring.consumer(from: .oldest, wait: .spin)
        var c = try ring.consumer(from: .latest, wait: .spin)
        var next: UInt64 = 0
        var seen: [UInt64] = [0, 0, 0]
        for _ in 0..<2_000 {
            // Under .block the producer stops at the slowest consumer.
            while try producer.tryReserve(Self.length(next), { Self.fill($0, index: next) }) { next += 1; if next % 5 == 0 { break } }
            producer.commit()
            for (i, got) in [try drain(&a, expecting: seen[0]), try drain(&b, expecting: seen[1]), try drain(&c, expecting: seen[2])].enumerated() {
                XCTAssertEqual(got.lost, [])
                seen[i] += UInt64(got.records.count)
            }
        }
        XCTAssertGreaterThan(next, 5_000)
        XCTAssertEqual(seen, [next, next, next])
    }

    /// `writeRecords` (many records a call, on the writer's locals) over
    /// many laps: every record reaches both consumers intact and in order
    /// under `.block`, `append` says nil exactly when the slowest consumer
    /// holds the room (never reusing what it still reads, also with the
    /// producer's reuse ahead), and under `.overwrite` every record is
    /// delivered or counted lost once.
    func testBatchWriterDeliversEveryRecordAcrossLapsAndStopsAtTheSlowest() throws {
        for policy in [BroadcastPolicy.block, .overwrite] {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100,
                                                maximumConsumers: 4, policy: policy)
            var producer = try ring.producer(wait: .spin)
            var fast = try ring.consumer(from: .oldest, wait: .spin)
            var slow = try ring.consumer(from: .oldest, wait: .spin)
            var next: UInt64 = 0
            var seen: (fast: UInt64, slow: UInt64) = (0, 0)
            var fullStops = 0
            for round in 0..<600 {
                try producer.writeRecords { (writer: inout BroadcastRing.RecordWriter) throws(ShmError) in
                    for _ in 0..<(round % 23) {
                        let length = Self.length(next)
                        guard let payload = try writer.append(length) else { fullStops += 1; return }
                        Self.fill(UnsafeMutableRawBufferPointer(start: payload, count: length), index: next)
                        next += 1
                    }
                }
                producer.commit()
                XCTAssertEqual(producer.sequence, next)
                let got = try drain(&fast, expecting: seen.fast)
                XCTAssertEqual(got.records.count + Int(got.lost.reduce(0, +)), Int(next - seen.fast))
                seen.fast = next
                if round % 3 == 0 {
                    let got = try drain(&slow, expecting: seen.slow)
                    if policy == .block { XCTAssertEqual(got.lost, [], "nothing lost under .block") }
                    XCTAssertEqual(UInt64(got.records.count) + got.lost.reduce(0, +), next - seen.slow)
                    seen.slow = next
                }
            }
            XCTAssertGreaterThan(next, 2_000, "many laps of a 1 KiB ring")
            if policy == .block {
                XCTAssertGreaterThan(fullStops, 0, "the slow consumer held the producer")
            }
            XCTAssertThrowsError(try producer.writeRecords { (writer: inout BroadcastRing.RecordWriter) throws(ShmError) in _ = try writer.append(101) }) { error in
                guard case ShmError.invalidArgument = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testManyRecordsPerReadAcrossLapsStopAndRelease() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100,
                                            maximumConsumers: 2, policy: .block)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(from: .oldest, wait: .spin)
        var next: UInt64 = 0, read: UInt64 = 0
        for round in 0..<400 {
            // Whatever fits (the consumer gates the producer), then read it
            // in batches that stop early every third round.
            while try producer.tryReserve(Self.length(next), { Self.fill($0, index: next) }) { next += 1 }
            producer.commit()
            let limit = round % 3 == 0 ? 3 : Int.max
            var shown = 0, intact = true
            let count = try consumer.tryPeekRecords { record in
                intact = intact && Self.check(record, index: read + UInt64(shown))
                shown += 1
                return shown < limit
            }
            XCTAssertTrue(intact, "round \(round)")
            XCTAssertEqual(count, shown)
            read += UInt64(count)
            if limit == 3, next - read > 0 { XCTAssertEqual(count, 3, "stops when the body says so") }
            XCTAssertEqual(consumer.sequence, read)
            // Unreleased, the records still gate the producer; released, they do not.
            consumer.release()
        }
        XCTAssertGreaterThan(next, 2_000, "many laps (and paddings) of a 1 KiB ring")
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true } + Int(read), Int(next))
        // A throwing body: the record it was given is not read.
        try write(&producer, next)
        XCTAssertThrowsError(try consumer.tryPeekRecords { _ throws(ShmError) in throw .invalidArgument("stop") })
        XCTAssertEqual(try drain(&consumer, expecting: next).records, [next])
        // Under .overwrite every record needs its own validation: refused.
        let lossy = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100,
                                             maximumConsumers: 1, policy: .overwrite)
        var lossyConsumer = try lossy.consumer(from: .oldest, wait: .spin)
        XCTAssertThrowsError(try lossyConsumer.tryPeekRecords { _ in true }) { error in
            guard case ShmError.invalidArgument = error else { return XCTFail("\(error)") }
        }
    }

    func testJoinAndLeaveAtAnyTimeAndSlotsAreReused() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, maximumConsumers: 2)
        var producer = try ring.producer(wait: .spin)
        for i: UInt64 in 0..<3 { try write(&producer, i) }
        do {
            var early = try ring.consumer(from: .oldest, wait: .spin)
            var late = try ring.consumer(from: .latest, wait: .spin)
            XCTAssertEqual(early.sequence, 0)
            XCTAssertEqual(late.sequence, 3)
            XCTAssertThrowsError(try { _ = try ring.consumer() }()) { error in
                guard case ShmError.endpointTaken = error else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(try ring.consumers().map(\.slot), [0, 1])
            try write(&producer, 3)
            XCTAssertEqual(try drain(&early, expecting: 0).records, [0, 1, 2, 3])
            XCTAssertEqual(try drain(&late, expecting: 3).records, [3])
        }
        // Both left: their slots are free, they no longer gate the producer.
        XCTAssertEqual(try ring.consumers(), [])
        for i: UInt64 in 4..<200 { try write(&producer, i) }
        var rejoined = try ring.consumer(from: .latest, wait: .spin)
        XCTAssertEqual(rejoined.sequence, 200)
        try write(&producer, 200)
        XCTAssertEqual(try drain(&rejoined, expecting: 200).records, [200])
    }

    func testBlockWaitsForTheSlowestConsumerAndEndsTheStream() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64)
        var producer = try ring.producer(wait: .spin)
        var fast = try ring.consumer(from: .oldest, wait: .spin)
        var slow = try ring.consumer(from: .oldest, wait: .spin)
        var written: UInt64 = 0
        while try producer.tryReserve(40, { Self.fill($0, index: written) }) { written += 1 }
        XCTAssertEqual(written, 4) // 256 / 64: the ring is full for the slow consumer
        while try fast.tryPeek({ _ in }) != nil { fast.release() }
        XCTAssertFalse(try producer.tryReserve(40) { _ in })
        XCTAssertThrowsError(try producer.reserve(40, timeoutSeconds: 0.05) { _ in }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        XCTAssertNotNil(try slow.tryPeek { _ in })
        slow.release()
        XCTAssertTrue(try producer.tryReserve(40) { _ in })
        producer.close()
        var count = 0
        while let delivery = try slow.peek(timeoutSeconds: 1, { _ in }) {
            if case .overrun = delivery { XCTFail("overrun under .block") }
            slow.release()
            count += 1
        }
        XCTAssertEqual(count, 4)
    }

    func testOverwriteReportsTheExactNumberLostAndContinuesAtTheOldest() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, policy: .overwrite)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(from: .latest, wait: .spin)
        for i: UInt64 in 0..<1_000 { try write(&producer, i) } // never waits
        let oldest = ring.oldestPosition
        let got = try drain(&consumer, expecting: 0)
        XCTAssertEqual(got.lost.count, 1)
        let lost = got.lost[0]
        XCTAssertEqual(got.records.first, lost)
        XCTAssertEqual(got.records.last, 999)
        XCTAssertEqual(lost + UInt64(got.records.count), 1_000, "every record delivered or counted lost, once")
        XCTAssertEqual(consumer.lost, lost)
        XCTAssertEqual(try ring.consumers().first?.lost, lost)
        XCTAssertGreaterThanOrEqual(oldest, 1)
    }

    func testAReaderLappedDuringItsReadNeverGetsThatRecord() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, policy: .overwrite)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(from: .latest, wait: .spin)
        try write(&producer, 0)
        var next: UInt64 = 1
        // While the closure reads record 0, the producer laps the ring.
        let delivery = try consumer.tryPeek { bytes -> Bool in
            for _ in 0..<40 {
                try? self.write(&producer, next)
                next += 1
            }
            return Self.check(bytes, index: 0)
        }
        guard case .overrun(let lost)? = delivery else { return XCTFail("got \(String(describing: delivery))") }
        let rest = try drain(&consumer, expecting: lost)
        XCTAssertEqual(rest.lost, [])
        XCTAssertEqual(lost + UInt64(rest.records.count), next, "record 0 and the overwritten ones counted lost exactly")
        XCTAssertEqual(rest.records.last, next - 1)
    }

    /// A record lent by `tryPeekHeld` and overwritten before `releaseHeld`
    /// is reported there, as the closure read's check reports it: the lent
    /// record and the others overwritten are counted lost exactly once, and
    /// reading continues at the oldest intact record. An intact one is
    /// `.record`; one lent at a time.
    func testLentRecordOverwrittenBeforeItsReleaseIsReportedThere() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, policy: .overwrite)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(from: .latest, wait: .spin)
        try write(&producer, 0)
        guard case .record(let intact)? = try consumer.tryPeekHeld() else { return XCTFail("no record 0") }
        XCTAssertTrue(Self.check(intact, index: 0))
        XCTAssertTrue(consumer.holdsRecord)
        do throws(ShmError) {
            _ = try consumer.tryPeekHeld()
            XCTFail("a second lend was accepted")
        } catch .invalidArgument {} catch { XCTFail("\(error)") }
        guard case .record = try consumer.releaseHeld() else { return XCTFail("an intact record was not intact") }
        XCTAssertFalse(consumer.holdsRecord)
        try write(&producer, 1)
        guard case .record? = try consumer.tryPeekHeld() else { return XCTFail("no record 1") }
        var next: UInt64 = 2
        for _ in 0..<40 { try write(&producer, next); next += 1 }
        guard case .overrun(let lost) = try consumer.releaseHeld() else { return XCTFail("the overwrite went unseen") }
        let rest = try drain(&consumer, expecting: 1 + lost)
        XCTAssertEqual(rest.lost, [])
        XCTAssertEqual(1 + lost + UInt64(rest.records.count), next, "record 1 and the overwritten ones counted lost exactly")
        XCTAssertEqual(consumer.lost, lost)
    }

    func testOneConsumerStalledDoesNotHoldBackAnotherUnderOverwrite() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 512, maximumRecordLength: 100, policy: .overwrite)
        var producer = try ring.producer(wait: .spin)
        var live = try ring.consumer(from: .latest, wait: .spin)
        var stalled = try ring.consumer(from: .latest, wait: .spin)
        for i: UInt64 in 0..<500 {
            try write(&producer, i)
            let got = try drain(&live, expecting: i)
            XCTAssertEqual(got.records, [i])
        }
        let late = try drain(&stalled, expecting: 0)
        XCTAssertEqual(late.lost.reduce(0, +) + UInt64(late.records.count), 500)
    }

    func testParkedConsumersAreAllWokenByOnePublication() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 4096, maximumRecordLength: 100)
        let results = Locked<[Int]>([])
        let ready = DispatchSemaphore(value: 0)
        var threads: [Thread] = []
        for _ in 0..<3 {
            let thread = Thread {
                do {
                    var consumer = try ring.consumer(from: .latest, wait: .park)
                    ready.signal()
                    var count = 0
                    while let _ = try consumer.read(timeoutSeconds: 10, { _ in }) { count += 1 }
                    results.withLock { $0.append(count) }
                } catch { XCTFail("\(error)") }
            }
            threads.append(thread)
            thread.start()
        }
        for _ in 0..<3 { ready.wait() }
        var producer = try ring.producer(wait: .park)
        for i: UInt64 in 0..<100 {
            try producer.reserve(Self.length(i), timeoutSeconds: 10) { Self.fill($0, index: i) }
            producer.commit()
            if i % 10 == 0 { usleep(2_000) } // let them park
        }
        producer.close()
        let deadline = Date().addingTimeInterval(10)
        while results.withLock({ $0.count }) < 3, Date() < deadline { usleep(1_000) }
        XCTAssertEqual(results.withLock { $0 }, [100, 100, 100])
    }

    /// `parkingConsumers` counts fencing consumers in its low half and
    /// membarrier ones in its high half (`AsymmetricFence`); each leave
    /// takes back exactly what its join added, and a slot word a peer
    /// scribbled counts as the fenced unit (never an underflow into the
    /// "no fence needed" state).
    func testParkingConsumersAreCountedByHowTheyFence() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 4096, maximumRecordLength: 100)
        let parking = (ring.region.base + BroadcastLayout.parkingConsumersOffset).assumingMemoryBound(to: UInt32.self)
        let unit = AsymmetricFence.sleeperParks == AsymmetricFence.parksAfterMembarrier
            ? BroadcastLayout.parkingAfterMembarrierUnit : BroadcastLayout.parkingFencedUnit
        do {
            let a = try ring.consumer(from: .latest, wait: .park)
            let b = try ring.consumer(from: .latest, wait: .backoff)
            let c = try ring.consumer(from: .latest, wait: .spin)
            XCTAssertEqual(cshim_load32_relaxed(parking), 2 &* unit)
            _ = a; _ = b; _ = c
        }
        XCTAssertEqual(cshim_load32_relaxed(parking), 0)
        XCTAssertEqual(BroadcastLayout.parkingUnit(slotWord: 0x1_0000), BroadcastLayout.parkingAfterMembarrierUnit)
        XCTAssertEqual(BroadcastLayout.parkingUnit(slotWord: 1), BroadcastLayout.parkingFencedUnit)
        XCTAssertEqual(BroadcastLayout.parkingUnit(slotWord: 0xDEAD_BEEF), BroadcastLayout.parkingFencedUnit)
    }

    // MARK: Hostile region

    func testCorruptCursorLengthAndPositionsAreTypedErrors() throws {
        // A consumer cursor past the published end stops a blocked producer.
        do {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 96)
            var producer = try ring.producer(wait: .spin)
            let consumer = try ring.consumer(from: .oldest, wait: .spin)
            while try producer.tryReserve(40, { _ in }) {}
            ring.region.base.storeBytes(of: 1 << 50, toByteOffset: BroadcastLayout.slotsOffset + BroadcastLayout.slotCursor, as: UInt64.self)
            assertCorrupt(try producer.tryReserve(40) { _ in })
            _ = consumer
        }
        // An impossible record length.
        do {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 96)
            var producer = try ring.producer(wait: .spin)
            var consumer = try ring.consumer(from: .oldest, wait: .spin)
            try write(&producer, 1)
            let data = BroadcastLayout.dataOffset(consumers: ring.maximumConsumers)
            ring.region.base.storeBytes(of: UInt32.max, toByteOffset: data, as: UInt32.self)
            assertCorrupt(try consumer.tryPeek { _ in })
        }
        // A wrong sequence number under .block.
        do {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 96)
            var producer = try ring.producer(wait: .spin)
            var consumer = try ring.consumer(from: .oldest, wait: .spin)
            try write(&producer, 1)
            let data = BroadcastLayout.dataOffset(consumers: ring.maximumConsumers)
            ring.region.base.storeBytes(of: UInt64(77), toByteOffset: data + BroadcastLayout.sequenceOffsetInHeader, as: UInt64.self)
            assertCorrupt(try consumer.tryPeek { _ in })
        }
        // Published end far ahead of a .block consumer, and oldest past published at join.
        do {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 96)
            var consumer = try ring.consumer(from: .oldest, wait: .spin)
            ring.region.base.storeBytes(of: UInt64(1 << 20), toByteOffset: BroadcastLayout.publishedPositionOffset, as: UInt64.self)
            assertCorrupt(try consumer.tryPeek { _ in })
            ring.region.base.storeBytes(of: UInt64(1 << 21), toByteOffset: BroadcastLayout.oldestPositionOffset, as: UInt64.self)
            assertCorrupt(try { _ = try ring.consumer(from: .oldest) }())
        }
        // A header that lies about the slot count or policy.
        do {
            let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 96)
            ring.region.base.storeBytes(of: UInt64(9), toByteOffset: RegionLayout.parametersOffset + 8, as: UInt64.self)
            XCTAssertThrowsError(try BroadcastRing.attach(ring.region, timeoutSeconds: 0))
        }
    }

    func assertCorrupt<T>(_ body: @autoclosure () throws -> T, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)", line: line) }
        }
    }

    func testCreationRejectsBadShapes() {
        XCTAssertThrowsError(try BroadcastRing.create(backing: .anon, name: nil, capacity: 1000, maximumRecordLength: 10))
        XCTAssertThrowsError(try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 200))
        XCTAssertThrowsError(try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 10, maximumConsumers: 0))
    }

    /// `.evict(after:)`: a consumer that stalls (never reads) holds the
    /// producer for about the timeout, then is dropped; the producer goes on,
    /// a consumer that keeps reading is not dropped, and the stalled one gets
    /// `evicted` from its next read and can join again.
    func testStalledConsumerIsEvictedAfterTheTimeoutAndMayRejoin() throws {
        let timeout = 0.2
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100,
                                            maximumConsumers: 4, policy: .evict(after: timeout))
        XCTAssertEqual(try BroadcastRing.attach(ring.region).policy, .evict(after: timeout))
        var producer = try ring.producer(wait: .park)
        var stalled = try ring.consumer(from: .oldest, wait: .spin)
        var reader = try ring.consumer(from: .oldest, wait: .spin)
        var next: UInt64 = 0
        var read: UInt64 = 0
        // Fill the ring: the stalled consumer gates the producer.
        while try producer.tryReserve(Self.length(next), { Self.fill($0, index: next) }) { next += 1 }
        producer.commit()
        let got = try drain(&reader, expecting: read)
        read += UInt64(got.records.count)
        XCTAssertFalse(try producer.tryReserve(Self.length(next)) { Self.fill($0, index: next) }, "the stalled consumer should gate")
        let start = Date()
        try producer.reserve(Self.length(next), timeoutSeconds: 10) { Self.fill($0, index: next) }
        producer.commit()
        next += 1
        let waited = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(waited, timeout * 0.9)
        XCTAssertLessThan(waited, 5)
        // The reader was never evicted: it reads on (the producer laps the
        // stalled one freely now, but waits for the reader).
        for _ in 0..<50 {
            while try producer.tryReserve(Self.length(next), { Self.fill($0, index: next) }) { next += 1 }
            producer.commit()
            let more = try drain(&reader, expecting: read)
            XCTAssertEqual(more.lost, [])
            read += UInt64(more.records.count)
        }
        XCTAssertEqual(read, next)
        XCTAssertThrowsError(try stalled.tryPeek { _ in () }) { error in
            guard case ShmError.evicted(_, _, let seconds) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, timeout, accuracy: 1e-6)
        }
        XCTAssertThrowsError(try stalled.peek(timeoutSeconds: 0.01) { _ in () })
        _ = consume stalled
        // Rejoined: it receives what comes next.
        var again = try ring.consumer(from: .latest, wait: .spin)
        try write(&producer, next)
        let fresh = try drain(&again, expecting: next)
        XCTAssertEqual(fresh.records, [next])
    }

    func testEvictionTimeoutIsBoundedAtCreationAndInTheHeader() throws {
        for seconds in [0, -1, .infinity, .nan, 86_401] as [Double] {
            XCTAssertThrowsError(try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100,
                                                          policy: .evict(after: seconds)), "\(seconds)")
        }
        XCTAssertThrowsError(try BroadcastPolicy.parse(name: "evict", evictAfter: nil))
        XCTAssertThrowsError(try BroadcastPolicy.parse(name: "block", evictAfter: 1))
        XCTAssertEqual(try BroadcastPolicy.parse(name: nil, evictAfter: nil), .block)
        // A hostile header: policy evict with a timeout of 0 or past a day.
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, policy: .evict(after: 1))
        for hostile: UInt64 in [0, 86_401_000_000_000, .max] {
            var header = try RegionHeader.validate(ring.region, expecting: .broadcastRing, timeoutSeconds: 1)
            header.parameters[BroadcastLayout.evictAfterParameter] = hostile
            header.write(to: ring.region)
            RegionHeader.publishReady(ring.region)
            XCTAssertThrowsError(try BroadcastRing.attach(ring.region)) { error in
                guard case ShmError.corruptedHeader = error else { return XCTFail("\(error)") }
            }
        }
    }
}
