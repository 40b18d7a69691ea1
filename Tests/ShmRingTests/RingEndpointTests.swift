import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// Endpoint ownership, end of stream, peer death, wait strategies and the
/// consistency checks of a waiting side, in one process (threads where two
/// sides must run at once; cross-process cases are in RingLifecycleTests).
final class RingEndpointTests: XCTestCase {
    func makeRing(capacity: Int = 8) throws -> SPSCRing {
        try SPSCRing.create(backing: .anon, name: nil, capacity: capacity, messageSize: 8)
    }

    /// What a crash leaves of a handle: its witness lock dropped (as the
    /// kernel drops a dead process's locks), its owner word still set, and
    /// its deinit never run (the handle is leaked in `slot`).
    static func crash<Handle: ~Copyable>(_ slot: UnsafeMutablePointer<Handle>, _ held: (borrowing Handle) -> HeldWitness) {
        held(slot.pointee).release()
    }

    func ownerWord(_ ring: SPSCRing, _ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (ring.region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    func assertError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void,
                     matches: (ShmError) -> Bool) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let shm = error as? ShmError, matches(shm) else { return XCTFail("unexpected \(error)", file: file, line: line) }
        }
    }

    // MARK: Ownership (7.2)

    func testSecondClaimantIsRefusedUntilTheFirstReleases() throws {
        let ring = try makeRing()
        let me = getpid()
        do {
            var first = try ring.producer()
            XCTAssertTrue(try first.tryPush(UInt64(1)))
            assertError({ _ = try ring.producer() }, matches: { $0 == .endpointTaken(name: ring.region.name, side: .producer, pid: me) })
            let consumer = try ring.consumer()
            assertError({ _ = try ring.consumer() }, matches: { $0 == .endpointTaken(name: ring.region.name, side: .consumer, pid: me) })
            _ = consumer
        }
        // Both released: a new producer resumes after the unread message.
        var again = try ring.producer()
        XCTAssertTrue(try again.tryPush(UInt64(2)))
        var consumer = try ring.consumer()
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 1)
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 2)
    }

    /// A producer that died mid-stream (its owner word names a process that
    /// no longer exists: here our pid with another start time, as after pid
    /// reuse) is taken over; the new one continues after the last published
    /// message, overwriting nothing unread.
    func testProducerTakesOverFromADeadOwnerAfterItsLastMessage() throws {
        let ring = try makeRing(capacity: 8)
        var consumer = try ring.consumer()
        // A handle whose deinit never runs, as in a crashed process.
        let dead = UnsafeMutablePointer<SPSCRing.Producer>.allocate(capacity: 1)
        defer { dead.deallocate() }
        dead.initialize(to: try ring.producer())
        for i in 0..<5 { XCTAssertTrue(try dead.pointee.tryPush(UInt64(i))) }
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 0)
        Self.crash(dead) { $0.endpoint.held }
        var heir = try ring.producer()
        for i in 5..<9 { XCTAssertTrue(try heir.tryPush(UInt64(i))) }
        XCTAssertFalse(try heir.tryPush(UInt64(99)), "8 unread messages fill the ring")
        for i in 1..<9 { XCTAssertEqual(try consumer.tryPop(as: UInt64.self), UInt64(i)) }
        XCTAssertEqual(ring.snapshot().producerPid, getpid())
        // The "crashed" handle's references go now (its claim is long gone),
        // so that LeakSanitizer sees no ring leaked by the test itself.
        _ = consume heir
        dead.deinitialize(count: 1)
    }

    func testConsumerTakesOverFromADeadOwnerAtItsPosition() throws {
        let ring = try makeRing()
        var producer = try ring.producer()
        for i in 0..<4 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        let dead = UnsafeMutablePointer<SPSCRing.Consumer>.allocate(capacity: 1)
        defer { dead.deallocate() }
        dead.initialize(to: try ring.consumer())
        XCTAssertEqual(try dead.pointee.tryPop(as: UInt64.self), 0)
        Self.crash(dead) { $0.endpoint.held }
        var heir = try ring.consumer()
        XCTAssertEqual(try heir.tryPop(as: UInt64.self), 1)
    }

    // MARK: End of stream (8.2)

    func testConsumerDrainsThenSeesEndOfStream() throws {
        let ring = try makeRing()
        var producer = try ring.producer()
        for i in 0..<3 { try producer.push(UInt64(i), timeoutSeconds: 1) }
        producer.close()
        var consumer = try ring.consumer()
        for i in 0..<3 { XCTAssertEqual(try consumer.pop(as: UInt64.self, timeoutSeconds: 1), UInt64(i)) }
        XCTAssertNil(try consumer.pop(as: UInt64.self, timeoutSeconds: 1))
        XCTAssertEqual(try consumer.pop(timeoutSeconds: 0) { _ in XCTFail("no message") }, .endOfStream)
        assertError({ _ = try ring.producer() }, matches: { if case .invalidArgument = $0 { true } else { false } })
    }

    /// The client code the issue asks for, with a copy-out pop through
    /// `withUnsafeMutableBytes`, compiles and runs.
    func testClientCodeShapesCompile() throws {
        let ring = try makeRing()
        var p = try ring.producer(wait: .park)
        var c = try ring.consumer(wait: .park)
        try p.push(UInt64(7), timeoutSeconds: 1)
        var buf = [UInt8](repeating: 0, count: 8)
        let got = try buf.withUnsafeMutableBytes { try c.pop(into: $0, timeoutSeconds: 1) }
        XCTAssertEqual(got, .message)
        XCTAssertEqual(buf[0], 7)
        p.close()
        let end = try buf.withUnsafeMutableBytes { b throws(ShmError) in try c.pop(into: b, timeoutSeconds: 1) }
        XCTAssertEqual(end, .endOfStream)
    }

    // MARK: Peer death (8.2)

    func testConsumerWaitingReportsADeadProducerAfterDraining() throws {
        for strategy in WaitStrategy.allCases {
            let ring = try makeRing()
            let producer = UnsafeMutablePointer<SPSCRing.Producer>.allocate(capacity: 1)
            defer { producer.deallocate() }
            producer.initialize(to: try ring.producer())
            XCTAssertTrue(try producer.pointee.tryPush(UInt64(1)))
            Self.crash(producer) { $0.endpoint.held }
            var consumer = try ring.consumer(wait: strategy)
            XCTAssertEqual(try consumer.pop(as: UInt64.self, timeoutSeconds: 5), 1, "published before death: delivered")
            let start = cshim_monotonic_ns()
            assertError({ _ = try consumer.pop(as: UInt64.self, timeoutSeconds: 10) }, matches: { $0 == .peerDied(pid: getpid()) })
            let waited = Double(cshim_monotonic_ns() - start) / 1e9
            XCTAssertLessThan(waited, 5, "\(strategy): found long before the timeout")
        }
    }

    func testProducerWaitingReportsADeadConsumer() throws {
        let ring = try makeRing(capacity: 1)
        var producer = try ring.producer(wait: .park)
        let consumer = UnsafeMutablePointer<SPSCRing.Consumer>.allocate(capacity: 1)
        defer { consumer.deallocate() }
        consumer.initialize(to: try ring.consumer())
        try producer.push(UInt64(1), timeoutSeconds: 1)
        Self.crash(consumer) { $0.endpoint.held }
        assertError({ _ = try producer.push(UInt64(2), timeoutSeconds: 10) }, matches: { $0 == .peerDied(pid: getpid()) })
    }

    func testNoPeerYetIsATimeoutNotADeath() throws {
        let ring = try makeRing()
        var consumer = try ring.consumer(wait: .park)
        assertError({ _ = try consumer.pop(as: UInt64.self, timeoutSeconds: 0.05) }, matches: { if case .timedOut = $0 { true } else { false } })
    }

    // MARK: Nonsense from a live peer (7.20)

    /// Someone zeroes the sequence word of an unread slot while the producer
    /// waits on the full ring: both sides end in corruptRing, neither spins on.
    func testZeroedSequenceWordEndsBothWaitsInCorruptRing() throws {
        let ring = try makeRing(capacity: 4)
        var consumer = try ring.consumer(wait: .park)
        let producerResult = ResultBox<Void, ShmError>()
        let producerThread = Thread { [ring] in
            do throws(ShmError) {
                var producer = try ring.producer(wait: .park)
                for i in 0..<5 { try producer.push(UInt64(i), timeoutSeconds: 20) } // the fifth waits
                producerResult.set(.success(()))
            } catch { producerResult.set(.failure(error)) }
        }
        producerThread.start()
        while ring.snapshot().pending < 4 { usleep(1000) }
        usleep(50_000) // the producer is waiting for space now
        (ring.region.base + SPSCLayout.slotsOffset).storeBytes(of: UInt64(0), as: UInt64.self)
        assertError({ _ = try consumer.pop(as: UInt64.self, timeoutSeconds: 20) }, matches: { if case .corruptRing = $0 { true } else { false } })
        guard case .failure(.corruptRing)? = producerResult.wait(seconds: 20) else {
            return XCTFail("producer: \(String(describing: producerResult.value))")
        }
    }

    /// A sequence word written far ahead: the consumer finds it, and the
    /// producer waiting on the full ring ends in corruptRing too.
    func testSequenceWordFarAheadEndsTheWaitingProducerToo() throws {
        let ring = try makeRing(capacity: 2)
        var consumer = try ring.consumer(wait: .yield)
        let producerResult = ResultBox<Void, ShmError>()
        Thread { [ring] in
            do throws(ShmError) {
                var producer = try ring.producer(wait: .park)
                for i in 0..<3 { try producer.push(UInt64(i), timeoutSeconds: 20) } // the third waits
                producerResult.set(.success(()))
            } catch { producerResult.set(.failure(error)) }
        }.start()
        while ring.snapshot().pending < 2 { usleep(1000) }
        (ring.region.base + SPSCLayout.slotsOffset).storeBytes(of: UInt64(1 << 40), as: UInt64.self)
        assertError({ _ = try consumer.pop(as: UInt64.self, timeoutSeconds: 20) }, matches: { if case .corruptRing = $0 { true } else { false } })
        guard case .failure(.corruptRing)? = producerResult.wait(seconds: 20) else {
            return XCTFail("producer: \(String(describing: producerResult.value))")
        }
    }

    func testOverwrittenConsumerPositionIsCorruptRing() throws {
        let ring = try makeRing(capacity: 4)
        var consumer = try ring.consumer(wait: .spin)
        (ring.region.base + SPSCLayout.readPositionOffset).storeBytes(of: UInt64(3), as: UInt64.self)
        assertError({ _ = try consumer.pop(as: UInt64.self, timeoutSeconds: 5) }, matches: { if case .corruptRing = $0 { true } else { false } })
    }

    // MARK: Parking (8.1)

    /// Pushes 0..<count from a parking producer thread, then closes; pops
    /// them on this thread with a parking consumer (claimed first, so the
    /// caller may touch its words) and checks the order. Returns the seconds
    /// the pops took.
    @discardableResult
    func pingThroughOneSlot(count: UInt64, beforeStart: (SPSCRing) -> Void = { _ in }) throws -> Double {
        let ring = try makeRing(capacity: 1)
        var consumer = try ring.consumer(wait: .park)
        beforeStart(ring)
        let done = ResultBox<Void, ShmError>()
        let producerThread = Thread { [ring] in
            do throws(ShmError) {
                var producer = try ring.producer(wait: .park)
                for i in 0..<count { try producer.push(i, timeoutSeconds: 10) }
                producer.close()
                done.set(.success(()))
            } catch { done.set(.failure(error)) }
        }
        let start = Date()
        producerThread.start()
        var expected: UInt64 = 0
        while let value = try consumer.pop(as: UInt64.self, timeoutSeconds: 10) {
            XCTAssertEqual(value, expected)
            expected += 1
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(expected, count)
        if case .success? = done.wait(seconds: 10) {} else { XCTFail("producer: \(String(describing: done.value))") }
        return seconds
    }

    /// A ring of one slot between two parking threads: every message is a
    /// park/wake cycle on at least one side. No wake-up may be lost (a lost
    /// one would surface as a 20 ms slice, and a stall as a timeout).
    func testParkWakeCyclesBetweenThreadsLoseNothing() throws {
        try pingThroughOneSlot(count: 20_000)
    }

    /// A sleeper that announced the fenced protocol (1: a peer that cannot
    /// use membarrier, or built before it) is still woken by a waker that
    /// could skip its fence: the waker fences for anything but 2. The
    /// consumer's word is forced to 1 after its claim, as such a peer
    /// writes it; every pop must still arrive (a lost wake-up would stall
    /// a pop for a 20 ms slice, 200 of them fail the time bound).
    func testAWakerFencesForASleeperThatOnlyFences() throws {
        let seconds = try pingThroughOneSlot(count: 2_000) { ring in
            cshim_store32_relaxed((ring.region.base + EndpointLayout.consumerParksOffset).assumingMemoryBound(to: UInt32.self), 1)
        }
        XCTAssertLessThan(seconds, 4, "wake-ups were lost (each costs a 20 ms slice)")
    }
}

/// Names in one process: openOrCreate, shape checks, explicit and stale removal.
final class RingNameTests: XCTestCase {
    func testOpenOrCreateCreatesOnceThenOpensAndChecksTheShape() throws {
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            let first = try SPSCRing.openOrCreate(backing: backing, name: "shared", capacity: 8, messageSize: 16, options: scratch.options)
            let second = try SPSCRing.openOrCreate(backing: backing, name: "shared", capacity: 8, messageSize: 16, options: scratch.options)
            XCTAssertTrue(first.region.isOwner)
            XCTAssertFalse(second.region.isOwner)
            XCTAssertThrowsError(try SPSCRing.openOrCreate(backing: backing, name: "shared", capacity: 16, messageSize: 16,
                                                           options: scratch.options))
            XCTAssertThrowsError(try RecordRing.open(backing: backing, name: "shared", options: scratch.options)) { error in
                guard case .wrongStructure? = error as? ShmError else { return XCTFail("\(error)") }
            }
            let records = try RecordRing.openOrCreate(backing: backing, name: "records", capacity: 256, maximumRecordLength: 64,
                                                      options: scratch.options)
            XCTAssertEqual(try RecordRing.openOrCreate(backing: backing, name: "records", capacity: 256, maximumRecordLength: 64,
                                                       options: scratch.options).maximumRecordLength, 64)
            // This process created both and lives: neither is stale.
            XCTAssertFalse(try RingNames.removeStale(backing: backing, name: "shared", options: scratch.options))
            XCTAssertTrue(try RingNames.remove(backing: backing, name: "shared", options: scratch.options))
            XCTAssertFalse(try RingNames.remove(backing: backing, name: "shared", options: scratch.options))
            XCTAssertTrue(try RingNames.remove(backing: backing, name: "records", options: scratch.options))
            XCTAssertThrowsError(try SPSCRing.open(backing: backing, name: "shared", options: scratch.options))
            _ = records
        }
    }

    /// A stale name: a creator whose witness lock is gone (as at its death),
    /// no endpoints. `reclaimStale` replaces it; without, "exists".
    func testStaleNameIsReclaimedOnlyWhenAsked() throws {
        let scratch = try ScratchDirectory()
        let old = try SPSCRing.create(backing: .mmap, name: "left", capacity: 4, messageSize: 8, options: scratch.options)
        old.region.witness.dropCreatorHold() // as the creator's death does
        XCTAssertThrowsError(try SPSCRing.create(backing: .mmap, name: "left", capacity: 4, messageSize: 8, options: scratch.options))
        XCTAssertTrue(try RingNames.isStale(backing: .mmap, name: "left", options: scratch.options))
        let fresh = try SPSCRing.create(backing: .mmap, name: "left", capacity: 8, messageSize: 8, options: scratch.options,
                                        reclaimStale: true)
        XCTAssertEqual(try SPSCRing.open(backing: .mmap, name: "left", options: scratch.options).capacity, 8)
        _ = fresh
    }
}

extension RingNameTests {
    /// A closed stream with undelivered messages is not stale, even with its
    /// creator and producer gone: it waits for its consumer.
    func testClosedUndrainedStreamIsNotStale() throws {
        let scratch = try ScratchDirectory()
        let ring = try SPSCRing.create(backing: .mmap, name: "waiting", capacity: 4, messageSize: 8, options: scratch.options)
        var producer = try ring.producer()
        XCTAssertTrue(try producer.tryPush(UInt64(1)))
        producer.close()
        ring.region.witness.dropCreatorHold() // as the creator's death does
        XCTAssertFalse(try RingNames.isStale(backing: .mmap, name: "waiting", options: scratch.options))
        var consumer = try ring.consumer()
        XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 1)
        _ = consume consumer
        XCTAssertTrue(try RingNames.isStale(backing: .mmap, name: "waiting", options: scratch.options), "drained: stale")
    }
}
