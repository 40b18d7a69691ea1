import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// Every counter of the counters block (`CountersLayout`, issue 18) after a
/// known workload, for each structure on main.
final class CountersTests: XCTestCase {
    func counters(_ region: SharedRegion) throws -> [EndpointCounterValues] {
        let kind = try XCTUnwrap(StructureKind(rawValue: region.base.load(fromByteOffset: RegionLayout.kindOffset, as: UInt32.self)))
        return try RegionCounters.read(region, header: RegionHeader.validate(region, expecting: kind, timeoutSeconds: 0))
    }

    func side(_ region: SharedRegion, _ role: String) throws -> EndpointCounterValues {
        try XCTUnwrap(counters(region).first { $0.role == role })
    }

    func testBlockIsTheRegionsLast128AlignedBytesForEveryKind() throws {
        for (kind, size) in [(StructureKind.spscRing, SPSCLayout.regionSize(capacity: 8, slotSize: 8)),
                             (.recordRing, RecordLayout.regionSize(capacity: 64)),
                             (.mpmcLockFreeQueue, MPMCLockFreeLayout.regionSize(capacity: 8, slotSize: 24)),
                             (.mpmcSemaphoreQueue, MPMCSemaphoreLayout.regionSize(capacity: 8, slotSize: 24))] {
            let size = try XCTUnwrap(size)
            let slots = CountersLayout.slots(for: kind)
            let block = CountersLayout.blockOffset(regionSize: size, slots: slots)
            XCTAssertEqual(block % 128, 0, "\(kind)")
            XCTAssertEqual(size - block, slots * 128, "\(kind)")
        }
        XCTAssertEqual(RegionLayout.layoutVersion, 4)
    }

    func testSPSCCountsRecordsPerSideAndClaims() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 16, messageSize: 8)
        let before = try counters(ring.region)
        XCTAssertEqual(before.map(\.role), ["producer", "consumer"])
        XCTAssertEqual(before.map(\.claims), [0, 0])
        XCTAssertNil(before[0].pid)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for i in 0..<3 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        XCTAssertEqual(try producer.tryPushBatch(maxCount: 4) { i, slot in slot.storeBytes(of: UInt64(3 + i), as: UInt64.self) }, 4)
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 0)
        XCTAssertEqual(try consumer.tryPopBatch(maxCount: 4) { _, _ in }, 4)
        let p = try side(ring.region, "producer"), c = try side(ring.region, "consumer")
        XCTAssertEqual(p.recordsPublished, 7)
        XCTAssertEqual(p.bytesPublished, 56, "fixed slots: records × slot size")
        XCTAssertEqual(p.recordsConsumed, 0)
        XCTAssertEqual(c.recordsConsumed, 5)
        XCTAssertEqual(c.bytesConsumed, 40)
        XCTAssertEqual(c.recordsPublished, 0)
        XCTAssertEqual([p.claims, c.claims], [1, 1])
        XCTAssertEqual([p.takeovers, c.takeovers], [0, 0])
        XCTAssertEqual([p.pid, c.pid], [getpid(), getpid()])
        XCTAssertEqual([p.fullWaits, p.emptyWaits, p.parks, p.wakeupsIssued, p.wakeupsReceived], [0, 0, 0, 0, 0])
        XCTAssertEqual([c.fullWaits, c.emptyWaits, c.parks, c.wakeupsIssued, c.wakeupsReceived], [0, 0, 0, 0, 0])
        XCTAssertGreaterThan(p.lastActivityNs, 0, "a claim is activity")
    }

    func testSPSCFullAndEmptyWaitsAndParksWithoutWakeups() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 2, messageSize: 8)
        var producer = try ring.producer(wait: .park)
        var consumer = try ring.consumer(wait: .park)
        XCTAssertThrowsError(try consumer.pop(as: UInt64.self, timeoutSeconds: 0.08))
        for i in 0..<2 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        XCTAssertThrowsError(try producer.push(UInt64(2), timeoutSeconds: 0.08))
        let p = try side(ring.region, "producer"), c = try side(ring.region, "consumer")
        XCTAssertEqual([p.fullWaits, p.emptyWaits], [1, 0])
        XCTAssertEqual([c.fullWaits, c.emptyWaits], [0, 1])
        XCTAssertGreaterThanOrEqual(p.parks, 1, "80 ms in slices of 20 ms")
        XCTAssertGreaterThanOrEqual(c.parks, 1)
        XCTAssertEqual([p.wakeupsReceived, c.wakeupsReceived, p.wakeupsIssued, c.wakeupsIssued], [0, 0, 0, 0],
                       "nobody woke anyone: every sleep timed out")
    }

    /// A consumer asleep in pop is woken by the producer's push: one wake-up
    /// issued by the producer, one received by the consumer.
    func testSPSCWakeupIssuedByProducerIsReceivedByParkedConsumer() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        var producer = try ring.producer(wait: .park)
        let got = ResultBox<UInt64?, ShmError>()
        let thread = Thread { [ring] in
            do throws(ShmError) {
                var consumer = try ring.consumer(wait: .park)
                got.set(.success(try consumer.pop(as: UInt64.self, timeoutSeconds: 20)))
            } catch { got.set(.failure(error)) }
        }
        thread.start()
        // Until the consumer sleeps on its futex word (its sleeping flag up).
        let sleeping = (ring.region.base + EndpointLayout.consumerSleepingOffset).assumingMemoryBound(to: UInt32.self)
        let deadline = Date().addingTimeInterval(10)
        while cshim_load32_relaxed(sleeping) == 0, Date() < deadline { usleep(1000) }
        usleep(5000)
        XCTAssertTrue(try producer.tryPush(UInt64(42)))
        guard case .success(42)? = got.wait(seconds: 20) else { return XCTFail("consumer: \(String(describing: got.value))") }
        let p = try side(ring.region, "producer"), c = try side(ring.region, "consumer")
        XCTAssertEqual(p.wakeupsIssued, 1)
        XCTAssertGreaterThanOrEqual(c.wakeupsReceived, 1)
        XCTAssertGreaterThanOrEqual(c.parks, c.wakeupsReceived)
        XCTAssertEqual(c.emptyWaits, 1)
        XCTAssertEqual(c.recordsConsumed, 1)
    }

    /// A producer that died is taken over: the side's counters are cumulative
    /// and count the takeover.
    func testTakeoverIsCountedAndCountersSurviveTheDeadHolder() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        let dead = UnsafeMutablePointer<SPSCRing.Producer>.allocate(capacity: 1)
        defer { dead.deallocate() }
        dead.initialize(to: try ring.producer())
        for i in 0..<3 { XCTAssertTrue(try dead.pointee.tryPush(UInt64(i))) }
        RingEndpointTests.crash(dead) { $0.endpoint.held }
        var heir = try ring.producer()
        XCTAssertTrue(try heir.tryPush(UInt64(3)))
        let p = try side(ring.region, "producer")
        XCTAssertEqual(p.claims, 2)
        XCTAssertEqual(p.takeovers, 1)
        XCTAssertEqual(p.recordsPublished, 4)
        // A clean release and claim is no takeover.
        _ = consume heir
        _ = try ring.producer()
        XCTAssertEqual(try side(ring.region, "producer").takeovers, 1)
        XCTAssertEqual(try side(ring.region, "producer").claims, 3)
        dead.deinitialize(count: 1)
    }

    /// The record ring counts per commit (producer) and per release
    /// (consumer), in records and payload bytes; unreleased reads do not count.
    func testRecordRingCountsRecordsAndPayloadBytesPerBatch() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 100)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for length in [3, 10] { XCTAssertTrue(try producer.tryReserve(length) { _ in }) }
        XCTAssertEqual(try side(ring.region, "producer").recordsPublished, 0, "nothing committed yet")
        producer.commit()
        XCTAssertTrue(try producer.tryReserve(100) { _ in })
        producer.commit()
        var p = try side(ring.region, "producer")
        XCTAssertEqual([p.recordsPublished, p.bytesPublished], [3, 113])
        XCTAssertNotNil(try consumer.tryPeek { $0.count })
        XCTAssertNotNil(try consumer.tryPeek { $0.count })
        consumer.release()
        XCTAssertNotNil(try consumer.tryPeek { $0.count })
        let c = try side(ring.region, "consumer")
        XCTAssertEqual([c.recordsConsumed, c.bytesConsumed], [2, 13], "the third is read, not released")
        consumer.release()
        XCTAssertEqual(try side(ring.region, "consumer").recordsConsumed, 3)
        // Wrap: a padding record is neither a record nor payload.
        for _ in 0..<2 { XCTAssertTrue(try producer.tryReserve(60) { _ in }) }
        producer.commit()
        p = try side(ring.region, "producer")
        XCTAssertEqual([p.recordsPublished, p.bytesPublished], [5, 233])
    }

    /// Records read many per call (`tryPeekRecords`, sub's path) count at
    /// `release()` like those of `tryPeek` (they once did not: `ringbench
    /// stat` showed a busy sub consuming nothing).
    func testRecordsReadManyPerCallCountAtRelease() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 100)
        var producer = try ring.producer(wait: .spin)
        var consumer = try ring.consumer(wait: .spin)
        for length in [3, 10, 0, 20] { XCTAssertTrue(try producer.tryReserve(length) { _ in }) }
        producer.commit()
        var seen = 0
        XCTAssertEqual(try consumer.tryPeekRecords { _ in seen += 1; return seen < 2 }, 2, "stops after the body says no")
        XCTAssertEqual(try side(ring.region, "consumer").recordsConsumed, 0, "read, not released")
        consumer.release()
        var c = try side(ring.region, "consumer")
        XCTAssertEqual([c.recordsConsumed, c.bytesConsumed], [2, 13])
        XCTAssertNotNil(try consumer.tryPeek { $0.count })
        XCTAssertEqual(try consumer.tryPeekRecords { _ in true }, 1)
        consumer.release()
        c = try side(ring.region, "consumer")
        XCTAssertEqual([c.recordsConsumed, c.bytesConsumed], [4, 33])
    }

    func queueWorkload<Q: MPMCQueue>(_ type: Q.Type) throws -> EndpointCounterValues {
        let queue = try Q.create(backing: .anon, name: nil, capacity: 8, messageSize: 24, options: RegionOptions())
        XCTAssertEqual(try counters(queue.region).map(\.claims), [1], "the creating value claims this process's slot")
        for _ in 0..<4 { XCTAssertTrue(try queue.tryPush(UInt64(7))) }
        XCTAssertEqual(try queue.tryPushBatch(maxCount: 4) { _, _ in }, 4)
        XCTAssertThrowsError(try queue.pushBatch(count: 1, timeoutSeconds: 0.05) { _, _ in }, "full")
        XCTAssertEqual(try queue.tryPopBatch(maxCount: 5) { _, _ in }, 5)
        XCTAssertEqual(try queue.tryPopBatch(maxCount: 8) { _, _ in }, 3)
        XCTAssertThrowsError(try queue.popBatch(maxCount: 1, timeoutSeconds: 0.05) { _, _ in }, "empty")
        let all = try counters(queue.region)
        XCTAssertEqual(all.count, 1, "one process, one slot")
        let mine = try XCTUnwrap(all.first)
        XCTAssertEqual(mine.role, "process")
        XCTAssertEqual(mine.pid, getpid())
        XCTAssertEqual([mine.recordsPublished, mine.recordsConsumed], [8, 8])
        XCTAssertEqual([mine.bytesPublished, mine.bytesConsumed], [192, 192])
        XCTAssertEqual([mine.fullWaits, mine.emptyWaits], [1, 1])
        XCTAssertEqual(mine.claims, 1)
        XCTAssertEqual(mine.takeovers, 0)
        XCTAssertEqual([mine.wakeupsIssued, mine.wakeupsReceived], [0, 0], "queues do not wake by futex")
        return mine
    }

    /// The exchange counts messages and bytes: the client its requests
    /// (published) and responses (consumed), the server the reverse, both
    /// through `tryServe` and through `tryReceive` + `respond` (a request
    /// shown twice counts once, when answered).
    func testExchangeCountsRequestsAndResponsesWithTheirBytes() throws {
        let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 200)
        var client = try exchange.client(wait: .spin)
        var server = try exchange.server(wait: .spin)
        let request = [UInt8](repeating: 1, count: 10)
        for answer in [3, 100] {
            try request.withUnsafeBytes { r in try client.send(length: r.count, timeoutSeconds: 1) { $0.copyMemory(from: r) } }
            XCTAssertTrue(try server.tryServe { _, _ in answer })
            XCTAssertTrue(try client.tryReceive { XCTAssertEqual($0.count, answer) })
        }
        try client.send(length: 64, timeoutSeconds: 1) { _ in }
        XCTAssertTrue(try server.tryReceive { _ in })
        XCTAssertTrue(try server.tryReceive { _ in }, "shown again until answered")
        try server.respond(length: 7) { _ in }
        XCTAssertTrue(try client.tryReceive { _ in })
        let c = try side(exchange.region, "client"), s = try side(exchange.region, "server")
        XCTAssertEqual([c.recordsPublished, c.bytesPublished, c.recordsConsumed, c.bytesConsumed], [3, 84, 3, 110])
        XCTAssertEqual([s.recordsPublished, s.bytesPublished, s.recordsConsumed, s.bytesConsumed], [3, 110, 3, 84])
        client.close()
    }

    func testLockFreeQueueCountsPerProcessSlot() throws {
        XCTAssertEqual(try queueWorkload(MPMCLockFreeQueue.self).parks, 0, "it spins and yields")
    }

    func testSemaphoreQueueCountsPerProcessSlotAndParks() throws {
        XCTAssertGreaterThanOrEqual(try queueWorkload(MPMCSemaphoreQueue.self).parks, 2, "each blocking wait slept on the semaphore")
    }

    /// A second queue value of the same region object counts into the same
    /// slot; another region object (a second open) holds a slot of its own.
    /// A slot is reused only when the kernel dropped its holder's witness
    /// lock: owner labels that name dead processes (what /proc would say of
    /// a live process in another PID namespace) change nothing.
    func testQueueSlotsAreHeldByTheWitnessNotJudgedByProcIdentity() throws {
        let scratch = try ScratchDirectory()
        let queue = try MPMCLockFreeQueue.create(backing: .mmap, name: "q", capacity: 8, messageSize: 8, options: scratch.options)
        let again = try MPMCLockFreeQueue.attach(queue.region, timeoutSeconds: 0)
        XCTAssertTrue(try again.tryPush(UInt64(1)))
        XCTAssertEqual(try counters(queue.region).map(\.recordsPublished), [1])
        XCTAssertEqual(try counters(queue.region).map(\.claims), [1])
        let block = queue.region.base + CountersLayout.blockOffset(regionSize: queue.region.size, slots: CountersLayout.queueSlots)
        func slotIndex(_ q: borrowing MPMCLockFreeQueue) -> Int {
            let own = q.region.base + CountersLayout.blockOffset(regionSize: q.region.size, slots: CountersLayout.queueSlots)
            return (q.counters.slot - own.assumingMemoryBound(to: UInt64.self)) * 8 / 128
        }
        // Every label now names a dead process.
        let dead = ProcessIdentity(pid: getpid(), startTime: UInt32(truncatingIfNeeded: ProcessIdentity.current()!.startTime &+ 1)).packed
        for i in 0..<CountersLayout.queueSlots { (block + i * 128).assumingMemoryBound(to: UInt64.self).pointee = dead }
        var second: MPMCLockFreeQueue? = try MPMCLockFreeQueue.open(backing: .mmap, name: "q", options: scratch.options)
        XCTAssertEqual(slotIndex(second!), 1, "slot 0 is held by the first region object, whatever its label says")
        XCTAssertEqual(slotIndex(queue), 0)
        second = nil
        // Its region is gone, so is its lock: the next open reuses slot 1.
        let third = try MPMCLockFreeQueue.open(backing: .mmap, name: "q", options: scratch.options)
        XCTAssertEqual(slotIndex(third), 1)
        XCTAssertEqual(try counters(queue.region).first { $0.slot == 1 }?.claims, 2)
        queue.removeName()
    }

    /// A broadcast ring of N consumer slots ends with 1 + N counter slots:
    /// the producer's (records and bytes published) and one per consumer
    /// slot, written only by that consumer (records and bytes it handed
    /// back, empty waits, parks, records lost to overruns).
    func testBroadcastCountsTheProducerAndEachConsumerSlot() throws {
        let size = try XCTUnwrap(BroadcastLayout.regionSize(capacity: 1024, consumers: 3))
        XCTAssertEqual(size - CountersLayout.blockOffset(regionSize: size, slots: CountersLayout.broadcastSlots(consumers: 3)), 4 * 128)
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 100, maximumConsumers: 3)
        var producer = try ring.producer(wait: .spin)
        var a = try ring.consumer(from: .oldest, wait: .spin)
        var b = try ring.consumer(from: .oldest, wait: .park)
        XCTAssertEqual(try counters(ring.region).map(\.role), ["producer", "consumer", "consumer"])
        for i in 0..<10 { XCTAssertTrue(try producer.tryReserve(i + 1) { _ in }) }
        producer.commit()
        for _ in 0..<10 { XCTAssertNotNil(try a.tryPeek { _ in () }) }
        a.release()
        for _ in 0..<4 { XCTAssertNotNil(try b.tryPeek { _ in () }) }
        b.release()
        // b has read 4 of 10: nothing to wait for after the other 6; then one park slice.
        for _ in 0..<6 { XCTAssertNotNil(try b.tryPeek { _ in () }) }
        XCTAssertThrowsError(try b.peek(timeoutSeconds: 0.05) { _ in () })
        b.release()
        let values = try counters(ring.region)
        let p = values[0], ca = values[1], cb = values[2]
        XCTAssertEqual(p.recordsPublished, 10)
        XCTAssertEqual(p.bytesPublished, 55)
        XCTAssertEqual(p.claims, 1)
        XCTAssertEqual([ca.slot, cb.slot], [a.slot + 1, b.slot + 1])
        XCTAssertEqual([ca.recordsConsumed, cb.recordsConsumed], [10, 10])
        XCTAssertEqual([ca.bytesConsumed, cb.bytesConsumed], [55, 55])
        XCTAssertEqual([ca.claims, cb.claims], [1, 1])
        XCTAssertEqual(ca.emptyWaits, 0)
        XCTAssertEqual(cb.emptyWaits, 1)
        XCTAssertGreaterThanOrEqual(cb.parks, 1)
        XCTAssertEqual(ca.recordsLost, 0)
        XCTAssertEqual(ProcessIdentity(packed: cb.ownerIdentity)?.pid, getpid())

        // Under overwrite a lapped consumer's losses land in its own slot.
        let lossy = try BroadcastRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 64, maximumConsumers: 2,
                                             policy: .overwrite)
        var writer = try lossy.producer(wait: .spin)
        var lapped = try lossy.consumer(from: .oldest, wait: .spin)
        for _ in 0..<100 { XCTAssertTrue(try writer.tryReserve(8) { _ in }) }
        writer.commit()
        var lost: UInt64 = 0, read: UInt64 = 0
        while let delivery = try lapped.tryPeek({ _ in () }) {
            if case .overrun(let n) = delivery { lost += n } else { read += 1 }
        }
        lapped.release()
        let slot = try counters(lossy.region)[1]
        XCTAssertGreaterThan(lost, 0)
        XCTAssertEqual(slot.recordsLost, lost)
        XCTAssertEqual(slot.recordsConsumed, read)
        XCTAssertEqual(lost + read, 100)
    }
}
