import Foundation
import XCTest
@testable import ShmRing

/// The SPSC ring and both MPMC queues driven by real threads of one process:
/// what the thread sanitizer can see (it cannot follow a fork), and what the
/// address sanitizer checks under real interleavings. Assertions are about
/// data only (every message once, in order per producer), never about speed;
/// every wait is bounded so a bug shows as a failure, not a hang. The
/// regions are anonymous (the semaphore queue's set IPC_PRIVATE): no name
/// can be left behind.
final class ThreadedStructureTests: XCTestCase {
    /// Generous: the machine may be loaded and a sanitizer slows code 2-20x.
    static let waitSeconds = 60.0

    func testSPSCRingAcrossTwoThreadsKeepsEveryMessageInOrder() throws {
        let count: UInt64 = 10_000
        for capacity in [1, 8, 256] {
            let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: capacity, messageSize: 16)
            // No close(): the last reference unmaps and removes (anonymous here).
            let failures = FailureLog()
            runConcurrently([
                {
                    do {
                        var producer = try ring.producer()
                        var next: UInt64 = 0
                        while next < count {
                            // Alternate single and batch pushes: both paths run under the sanitizer.
                            if next % 3 == 0 {
                                let first = next
                                let n = try producer.tryPushBatch(maxCount: 5) { i, slot in
                                    slot.storeBytes(of: first + UInt64(i), as: UInt64.self)
                                    slot.storeBytes(of: ~(first + UInt64(i)), toByteOffset: 8, as: UInt64.self)
                                }
                                next += UInt64(n)
                                if n == 0 { sched_yield() }
                            } else {
                                let value = next
                                try producer.push(timeoutSeconds: Self.waitSeconds) { slot in
                                    slot.storeBytes(of: value, as: UInt64.self)
                                    slot.storeBytes(of: ~value, toByteOffset: 8, as: UInt64.self)
                                }
                                next += 1
                            }
                        }
                    } catch { failures.add("producer: \(error)") }
                },
                {
                    do {
                        var consumer = try ring.consumer()
                        var expected: UInt64 = 0
                        while expected < count {
                            var bad: String?
                            let check = { (slot: UnsafeRawBufferPointer) in
                                let value = slot.load(as: UInt64.self), check = slot.load(fromByteOffset: 8, as: UInt64.self)
                                if value != expected || check != ~value { bad = "got \(value)/\(check), expected \(expected)" }
                                expected += 1
                            }
                            if expected % 2 == 0 {
                                if try consumer.tryPopBatch(maxCount: 7, { _, slot in check(slot) }) == 0 { sched_yield() }
                            } else {
                                _ = try consumer.pop(timeoutSeconds: Self.waitSeconds) { slot in check(slot) }
                            }
                            if let bad { throw ShmError.corruptRing(reason: bad) }
                        }
                    } catch { failures.add("consumer: \(error)") }
                },
            ])
            XCTAssertEqual(failures.entries, [], "capacity \(capacity)")
        }
    }

    func testSemaphoreQueueWithTwoProducersAndTwoConsumers() throws {
        try manyProducersAndConsumers(MPMCSemaphoreQueue.self)
    }

    func testLockFreeQueueWithTwoProducersAndTwoConsumers() throws {
        try manyProducersAndConsumers(MPMCLockFreeQueue.self)
    }

    /// Each message is (producer << 32 | sequence). Every consumer must see
    /// each producer's sequences rising (FIFO per producer), and together the
    /// consumers must see every message exactly once.
    func manyProducersAndConsumers<Q: MPMCQueue>(_ type: Q.Type) throws {
        let producers = 2, consumers = 2, perProducer = 10_000
        for capacity in [1, 16] {
            let queue = try Q.create(backing: .anon, name: nil, capacity: capacity, messageSize: 8, options: RegionOptions())
            let failures = FailureLog()
            let received = ReceivedLog(producers: producers, perProducer: perProducer)
            var bodies: [@Sendable () -> Void] = []
            for p in 0..<producers {
                bodies.append {
                    do {
                        var sequence = 0
                        while sequence < perProducer {
                            let batch = min(1 + sequence % 4, perProducer - sequence, capacity)
                            let first = sequence
                            try queue.pushBatch(count: batch, timeoutSeconds: Self.waitSeconds) { i, slot in
                                slot.storeBytes(of: UInt64(p) << 32 | UInt64(first + i), as: UInt64.self)
                            }
                            sequence += batch
                        }
                    } catch { failures.add("\(type) producer \(p): \(error)") }
                }
            }
            for c in 0..<consumers {
                bodies.append {
                    var last = [Int](repeating: -1, count: producers)
                    var mine: [UInt64] = []
                    do {
                        while !received.isComplete(adding: 0) {
                            var got: [UInt64] = []
                            let n = try queue.tryPopBatch(maxCount: 1 + c * 3) { _, slot in got.append(slot.load(as: UInt64.self)) }
                            if n == 0 { sched_yield(); continue }
                            for message in got {
                                let p = Int(message >> 32), s = Int(message & 0xFFFF_FFFF)
                                guard p < producers, s < perProducer, s > last[p] else {
                                    throw ShmError.corruptRing(reason: "message \(p):\(s) after \(p):\(p < producers ? last[p] : -1)")
                                }
                                last[p] = s
                            }
                            mine.append(contentsOf: got)
                            _ = received.isComplete(adding: got.count)
                        }
                    } catch { failures.add("\(type) consumer \(c): \(error)") }
                    received.record(mine)
                }
            }
            let finished = runConcurrently(bodies, deadlineSeconds: Self.waitSeconds * 2, onTimeout: { received.abandon() })
            XCTAssertTrue(finished, "\(type) capacity \(capacity): threads did not finish")
            XCTAssertEqual(failures.entries, [], "\(type) capacity \(capacity)")
            XCTAssertEqual(received.duplicatesAndMissing(), [], "\(type) capacity \(capacity)")
        }
    }

    // MARK: - Threads

    /// Runs each body on its own thread (not a pool: a pool of two workers
    /// could serialise a producer that waits for its consumer) and joins them.
    /// Returns false if they did not all finish by the deadline.
    @discardableResult
    func runConcurrently(_ bodies: [@Sendable () -> Void], deadlineSeconds: Double = waitSeconds * 2,
                         onTimeout: () -> Void = {}) -> Bool {
        let done = DispatchGroup()
        for body in bodies {
            done.enter()
            let thread = Thread {
                body()
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        if done.wait(timeout: .now() + deadlineSeconds) == .success { return true }
        onTimeout()
        _ = done.wait(timeout: .now() + 10)
        return false
    }
}

/// Failures reported from worker threads.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ text: String) { lock.withLock { list.append(text) } }
    var entries: [String] { lock.withLock { list } }
}

/// What the consumers received, checked for exactly-once delivery at the end.
private final class ReceivedLog: @unchecked Sendable {
    private let lock = NSLock()
    private let producers: Int, perProducer: Int
    private var total = 0
    private var abandoned = false
    private var all: [UInt64] = []

    init(producers: Int, perProducer: Int) {
        self.producers = producers
        self.perProducer = perProducer
    }

    /// Counts `n` more received messages; true once every message arrived
    /// (or the test gave up waiting).
    func isComplete(adding n: Int) -> Bool {
        lock.withLock {
            total += n
            return abandoned || total >= producers * perProducer
        }
    }

    func abandon() { lock.withLock { abandoned = true } }
    func record(_ messages: [UInt64]) { lock.withLock { all.append(contentsOf: messages) } }

    /// A description of every message received twice or never.
    func duplicatesAndMissing() -> [String] {
        lock.withLock {
            var seen = [Int](repeating: 0, count: producers * perProducer)
            for message in all {
                let p = Int(message >> 32), s = Int(message & 0xFFFF_FFFF)
                guard p < producers, s < perProducer else { return ["impossible message \(message)"] }
                seen[p * perProducer + s] += 1
            }
            var problems: [String] = []
            for (i, times) in seen.enumerated() where times != 1 {
                problems.append("message \(i / perProducer):\(i % perProducer) received \(times) times")
                if problems.count == 10 { break }
            }
            return problems
        }
    }
}
