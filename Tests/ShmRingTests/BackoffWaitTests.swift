import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// `WaitStrategy.backoff` (issue 19): the phases every waiter walks
/// (`WaitPhases`), the parking flags a backoff end raises for its waker, and
/// that each kind of waiter with it loses nothing and is woken from a park
/// by its peer (SPSC ring, record ring, broadcast ring, journal tailer).
/// Correctness only: how fast it wakes is measured in
/// results/vm-2026-12-06-wait/, not asserted.
final class BackoffWaitTests: XCTestCase {
    /// The phases one wait goes through until its first park (or `rounds`
    /// rounds), each with the monotonic time it was first seen, relative to
    /// the start of the wait.
    func phases(_ strategy: WaitStrategy, rounds: Int) throws -> [(phase: WaitPhases.Phase, atNs: UInt64)] {
        let start = cshim_monotonic_ns()
        var phases = WaitPhases(strategy)
        var seen: [(phase: WaitPhases.Phase, atNs: UInt64)] = [(phases.phase, 0)]
        var parked = false
        for _ in 0..<rounds where !parked {
            try phases.idle { () throws(ShmError) in parked = true }
            if phases.phase != seen.last?.phase { seen.append((phases.phase, cshim_monotonic_ns() &- start)) }
        }
        XCTAssertEqual(parked, seen.last?.phase == .park, "\(strategy): parks only in its park phase")
        return seen
    }

    func testEachStrategyWalksItsPhasesInOrder() throws {
        XCTAssertEqual(try phases(.spin, rounds: 100_000).map(\.phase), [.spin])
        XCTAssertEqual(try phases(.yield, rounds: 100_000).map(\.phase), [.spin, .yield])
        XCTAssertEqual(try phases(.park, rounds: 100_000).map(\.phase), [.spin, .park])
        // Backoff: in time, not rounds (a descheduled waiter may skip the
        // yield phase, so only the order and the lower bounds are certain).
        let backoff = try phases(.backoff, rounds: 100_000_000)
        XCTAssertEqual(backoff.first?.phase, .spin)
        XCTAssertEqual(backoff.last?.phase, .park, "a backoff wait ends up parking")
        if let yield = backoff.first(where: { $0.phase == .yield }) {
            XCTAssertGreaterThanOrEqual(yield.atNs, WaitStrategy.backoffSpinNanoseconds)
        }
        XCTAssertGreaterThanOrEqual(backoff.last?.atNs ?? 0, WaitStrategy.backoffSpinNanoseconds + WaitStrategy.backoffYieldNanoseconds)
    }

    /// The waker skips the parking protocol for a peer whose `parks` flag is
    /// down: a backoff end must raise it like a park end, for as long as it
    /// holds the end.
    func testBackoffEndsRaiseTheFlagsTheirWakersRead() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        func flag(_ offset: Int) -> UInt32 { cshim_load32_relaxed((ring.region.base + offset).assumingMemoryBound(to: UInt32.self)) }
        do {
            let producer = try ring.producer(wait: .backoff)
            let consumer = try ring.consumer(wait: .backoff)
            // 2 where the sleeper fences with a membarrier (`AsymmetricFence`), else 1.
            let announced = AsymmetricFence.sleeperParks
            XCTAssertEqual([flag(EndpointLayout.producerParksOffset), flag(EndpointLayout.consumerParksOffset)], [announced, announced])
            release(producer)
            release(consumer)
        }
        XCTAssertEqual([flag(EndpointLayout.producerParksOffset), flag(EndpointLayout.consumerParksOffset)], [0, 0])
        let spinning = try ring.consumer(wait: .spin)
        XCTAssertEqual(flag(EndpointLayout.consumerParksOffset), 0)
        release(spinning)

        let broadcast = try BroadcastRing.create(backing: .anon, name: nil, capacity: 4096, maximumRecordLength: 100)
        let parking = (broadcast.region.base + BroadcastLayout.parkingConsumersOffset).assumingMemoryBound(to: UInt32.self)
        do {
            let joined = try broadcast.consumer(from: .latest, wait: .backoff)
            let unit = AsymmetricFence.sleeperParks == AsymmetricFence.parksAfterMembarrier
                ? BroadcastLayout.parkingAfterMembarrierUnit : BroadcastLayout.parkingFencedUnit
            XCTAssertEqual(cshim_load32_relaxed(parking), unit, "a backoff consumer counts as a parking one")
            release(joined)
        }
        XCTAssertEqual(cshim_load32_relaxed(parking), 0)
    }

    /// Ends a handle's life here (its deinit releases the end), after the
    /// assertions that need it claimed.
    func release<Handle: ~Copyable>(_ handle: consuming Handle) {}

    static let messages: UInt64 = 1_000

    /// Sends `messages` with `send`, now and then a pause longer than the backoff
    /// window (2 ms), so the consumer goes through spin and yield to a park
    /// and must be woken; in between, back to back (the one-slot rings make
    /// the producer wait too).
    static func produce(_ send: (UInt64) throws(ShmError) -> Void) throws(ShmError) {
        for i in 0..<messages {
            try send(i)
            if i % 50 == 49 { usleep(2_000) }
        }
    }

    /// Runs `body` on a thread of its own; the box says how it ended.
    func onThread(_ body: @escaping @Sendable () throws(ShmError) -> Void) -> ResultBox<Void, ShmError> {
        let done = ResultBox<Void, ShmError>()
        Thread {
            do throws(ShmError) {
                try body()
                done.set(.success(()))
            } catch { done.set(.failure(error)) }
        }.start()
        return done
    }

    func assertFinished(_ done: ResultBox<Void, ShmError>, file: StaticString = #filePath, line: UInt = #line) {
        guard case .success? = done.wait(seconds: 20) else { return XCTFail("\(String(describing: done.value))", file: file, line: line) }
    }

    /// The counters of `role` in `region`'s counters block.
    func counters(_ region: SharedRegion, _ kind: StructureKind, _ role: String) throws -> EndpointCounterValues {
        let all = try RegionCounters.read(region, header: RegionHeader.validate(region, expecting: kind, timeoutSeconds: 0))
        return try XCTUnwrap(all.first { $0.role == role })
    }

    /// Every message arrived, the producer's thread finished, and the
    /// consumer, asleep in a backoff wait, was woken by the producer's futex
    /// wake (not only by its slice running out).
    func assertDelivered(_ received: UInt64, producer: ResultBox<Void, ShmError>, consumer region: SharedRegion, _ kind: StructureKind,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(received, Self.messages, file: file, line: line)
        assertFinished(producer, file: file, line: line)
        let consumer = try counters(region, kind, "consumer")
        XCTAssertGreaterThanOrEqual(consumer.parks, 1, "the consumer never parked", file: file, line: line)
        XCTAssertGreaterThanOrEqual(consumer.wakeupsReceived, 1, "no futex wake-up reached the consumer", file: file, line: line)
    }

    func testSPSCBackoffConsumerGetsEveryMessageAndWakesFromPark() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 1, messageSize: 8)
        let done = onThread { [ring] () throws(ShmError) in
            var producer = try ring.producer(wait: .backoff)
            try Self.produce { i throws(ShmError) in try producer.push(i, timeoutSeconds: 10) }
            producer.close()
        }
        var consumer = try ring.consumer(wait: .backoff)
        var values: [UInt64] = []
        while let value = try consumer.pop(as: UInt64.self, timeoutSeconds: 10) { values.append(value) }
        XCTAssertEqual(values, Array(0..<Self.messages), "in order, each once")
        try assertDelivered(UInt64(values.count), producer: done, consumer: ring.region, .spscRing)
    }

    func testRecordRingBackoffConsumerGetsEveryRecordAndWakesFromPark() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 256, maximumRecordLength: 100)
        let done = onThread { [ring] () throws(ShmError) in
            var producer = try ring.producer(wait: .backoff)
            try Self.produce { i throws(ShmError) in
                try producer.reserve(Int(i % 101), timeoutSeconds: 10) { BroadcastRingTests.fill($0, index: i) }
                producer.commit()
            }
            producer.close()
        }
        var consumer = try ring.consumer(wait: .backoff)
        var index: UInt64 = 0
        while try consumer.read(timeoutSeconds: 10, { record in
            XCTAssertEqual(record.count, Int(index % 101), "record \(index)")
            XCTAssertTrue(record.indices.allSatisfy { record[$0] == UInt8(truncatingIfNeeded: index &* 31 &+ UInt64($0)) }, "record \(index)")
        }) == .message {
            index += 1
        }
        try assertDelivered(index, producer: done, consumer: ring.region, .recordRing)
    }

    func testBroadcastBackoffConsumerGetsEveryRecord() throws {
        let ring = try BroadcastRing.create(backing: .anon, name: nil, capacity: 4096, maximumRecordLength: 100)
        let received = ResultBox<UInt64, ShmError>()
        let ready = DispatchSemaphore(value: 0)
        Thread { [ring] in
            do throws(ShmError) {
                var consumer = try ring.consumer(from: .latest, wait: .backoff)
                ready.signal()
                var index: UInt64 = 0
                while let delivery = try consumer.read(timeoutSeconds: 10, { BroadcastRingTests.check($0, index: index) }) {
                    guard case .record(true) = delivery else { return received.set(.failure(.invalidArgument("record \(index): \(delivery)"))) }
                    index += 1
                }
                received.set(.success(index))
            } catch { received.set(.failure(error)) }
        }.start()
        ready.wait()
        var producer = try ring.producer(wait: .backoff)
        try Self.produce { i throws(ShmError) in
            try producer.reserve(BroadcastRingTests.length(i), timeoutSeconds: 10) { BroadcastRingTests.fill($0, index: i) }
            producer.commit()
        }
        producer.close()
        guard case .success(let count)? = received.wait(seconds: 20) else { return XCTFail("consumer: \(String(describing: received.value))") }
        XCTAssertEqual(count, Self.messages)
    }

    func testJournalBackoffTailerFollowsTheLiveTail() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: Journal.ProducerOptions(
            segmentSize: JournalTests.segmentSize, durability: .processCrash, retention: .keepEverything))
        let seen = ResultBox<[UInt64], ShmError>()
        let ready = DispatchSemaphore(value: 0)
        Thread {
            do throws(ShmError) {
                var tailer = try Journal.tailer(directory: dir, from: .oldest, wait: .backoff)
                ready.signal()
                var sequences: [UInt64] = []
                while sequences.count < Int(Self.messages) {
                    guard case .record(let sequence) = try tailer.read(timeoutSeconds: 10, { record in
                        JournalTests.check(record) ? record.sequence : UInt64.max
                    }) else { break }
                    sequences.append(sequence)
                }
                seen.set(.success(sequences))
            } catch { seen.set(.failure(error)) }
        }.start()
        ready.wait()
        try Self.produce { _ throws(ShmError) in
            let sequence = producer.nextSequence
            try producer.reserve(JournalTests.length(sequence)) { JournalTests.fill(sequence, $0) }
            try producer.commit()
        }
        XCTAssertEqual(try seen.wait(seconds: 20)?.get(), Array(0..<Self.messages))
    }
}
