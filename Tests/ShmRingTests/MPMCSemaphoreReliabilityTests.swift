import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The semaphore queue against deaths, stops and signals (issue 7, items 3,
/// 4, 5, 6 and 12). Deaths happen in `MPMCDeathHelper`, a separate
/// executable: this process never forks.
final class MPMCSemaphoreReliabilityTests: XCTestCase {
    // MARK: Death inside the critical section (repair)

    func testProducerKilledAtEveryPointOfTheCriticalSectionIsRepaired() throws {
        for point in ["push.entered", "push.intent", "push.published", "push.cleared"] {
            let scratch = try ScratchDirectory()
            let q = try MPMCSemaphoreQueue.create(backing: .mmap, name: "dq", capacity: 8, messageSize: 8, options: scratch.options)
            for v in [100, 101] { XCTAssertTrue(try q.tryPush(UInt64(v))) }
            let helper = try DeathHelper.start(["push", scratch.path, "dq", "3"], dieAt: point)
            XCTAssertEqual(helper.waitForSignal(), SIGKILL, point)
            // A tail store that happened delivers the batch; one that did not drops it.
            let delivered = point == "push.published" || point == "push.cleared"
            XCTAssertEqual(try drain(q), [100, 101] + (delivered ? [1000, 1001, 1002] : []), point)
            XCTAssertEqual(q.repairCount, 1, point)
            try assertWholeCapacityWorks(q, point)
        }
    }

    func testConsumerKilledAtEveryPointOfTheCriticalSectionIsRepaired() throws {
        for point in ["pop.entered", "pop.intent", "pop.published", "pop.cleared"] {
            let scratch = try ScratchDirectory()
            let q = try MPMCSemaphoreQueue.create(backing: .mmap, name: "dq", capacity: 8, messageSize: 8, options: scratch.options)
            for v in 0..<5 { XCTAssertTrue(try q.tryPush(UInt64(v))) }
            let helper = try DeathHelper.start(["pop", scratch.path, "dq", "3"], dieAt: point)
            XCTAssertEqual(helper.waitForSignal(), SIGKILL, point)
            // A head store that happened took its three messages with the dead consumer.
            let taken = point == "pop.published" || point == "pop.cleared"
            XCTAssertEqual(try drain(q), taken ? [3, 4] : [0, 1, 2, 3, 4], point)
            XCTAssertEqual(q.repairCount, 1, point)
            try assertWholeCapacityWorks(q, point)
        }
    }

    func testIntentThatContradictsThePositionsIsCorruptRing() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCSemaphoreQueue.create(backing: .mmap, name: "dq", capacity: 8, messageSize: 8, options: scratch.options)
        let helper = try DeathHelper.start(["push", scratch.path, "dq", "2"], dieAt: "push.intent")
        XCTAssertEqual(helper.waitForSignal(), SIGKILL)
        // A peer moves the tail by an amount the dead holder's intent cannot explain.
        q.word(MPMCSemaphoreLayout.tailOffset).pointee = 1
        XCTAssertThrowsError(try q.tryPush(UInt64(1))) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.mutexSemaphore), 1, "mutex given back")
    }

    // MARK: A stopped holder (mutex timeout)

    func testTryFormsGiveUpOnAStoppedMutexHolder() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCSemaphoreQueue.create(backing: .mmap, name: "sq", capacity: 8, messageSize: 8, options: scratch.options)
        XCTAssertTrue(try q.tryPush(UInt64(100)))
        let helper = try DeathHelper.start(["push", scratch.path, "sq", "1"], dieAt: "stop@push.intent")
        defer { helper.kill() }
        XCTAssertTrue(helper.waitUntilStopped(), "the helper stops holding the mutex")
        let started = cshim_monotonic_ns()
        XCTAssertThrowsError(try q.tryPush(UInt64(1))) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try q.tryPop(as: UInt64.self)) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try q.pop(timeoutSeconds: 0.3) { _ in }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        // Bounded, not fast: 2 s each for the try forms, generous on a loaded machine.
        XCTAssertLessThan(Double(cshim_monotonic_ns() - started) / 1e9, 60)
        helper.kill()
        XCTAssertEqual(try drain(q), [100])
        XCTAssertEqual(q.repairCount, 1)
    }

    // MARK: Signals and timeouts

    func testTimedPopUnderPeriodicSignalsEndsAtItsDeadline() throws {
        let q = try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        var action = sigaction()
        var previous = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0 // no SA_RESTART: semtimedop returns EINTR
        sigemptyset(&action.sa_mask)
        XCTAssertEqual(sigaction(SIGUSR1, &action, &previous), 0)
        defer { _ = sigaction(SIGUSR1, &previous, nil) }
        let target = pthread_self()
        let done = Locked(false)
        let finished = DispatchSemaphore(value: 0)
        // A signal every 50 ms for at most 20 s: with a relative timeout
        // restarted on each EINTR, a 0.5 s pop would last the whole 20 s.
        Thread.detachNewThread {
            for _ in 0..<400 {
                if done.withLock({ $0 }) { break }
                pthread_kill(target, SIGUSR1)
                usleep(50_000)
            }
            finished.signal()
        }
        let started = cshim_monotonic_ns()
        XCTAssertThrowsError(try q.pop(timeoutSeconds: 0.5) { _ in }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
        }
        let elapsed = Double(cshim_monotonic_ns() - started) / 1e9
        done.withLock { $0 = true }
        finished.wait()
        XCTAssertLessThan(elapsed, 10, "the deadline is absolute")
    }

    func testNonFiniteAndHugeTimeouts() throws {
        try nonFiniteAndHugeTimeouts(MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 4, messageSize: 8))
        try nonFiniteAndHugeTimeouts(MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 4, messageSize: 8))
    }

    func nonFiniteAndHugeTimeouts<Q: MPMCQueue>(_ q: Q) throws {
        for bad: Double in [.nan, -1, -Double.infinity] {
            XCTAssertThrowsError(try q.pop(timeoutSeconds: bad) { _ in }) { error in
                guard case ShmError.invalidArgument = error else { return XCTFail("\(bad): \(error)") }
            }
        }
        // Infinity and huge values mean "no limit" and must not trap.
        for wait in [Double.infinity, 1e300, 1e19] {
            try q.push(bytes: UnsafeRawBufferPointer(start: nil, count: 0), timeoutSeconds: wait)
            var got = false
            try q.pop(timeoutSeconds: wait) { _ in got = true }
            XCTAssertTrue(got)
        }
    }

    // MARK: Batches take what is ready

    func testPopBatchTakesWhatIsReadyAtOnce() throws {
        let q = try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 64, messageSize: 8)
        for v in 0..<5 { XCTAssertTrue(try q.tryPush(UInt64(v))) }
        // The fast path asks the semop for the 5 the positions show, not for 32.
        XCTAssertEqual(try q.enterAtOnce(MPMCSemaphoreLayout.filledSlotsSemaphore, wanted: 32, exact: false,
                                         ready: q.ready(MPMCSemaphoreLayout.filledSlotsSemaphore)), 5)
        try q.readClaimed(5) { _, _ in }
        for v in 0..<5 { XCTAssertTrue(try q.tryPush(UInt64(v))) }
        var seen: [UInt64] = []
        let n = try q.popBatch(maxCount: 32, timeoutSeconds: 5) { _, slot in seen.append(slot.load(as: UInt64.self)) }
        XCTAssertEqual(n, 5)
        XCTAssertEqual(seen, [0, 1, 2, 3, 4])
    }

    // MARK: Threads through every path

    /// Two producer and two consumer threads on an 8-slot queue: pushes of 1
    /// to 7 (sleeping for room), pops of up to 5 (sleeping for messages).
    /// Every message arrives once, each producer's in order at each consumer.
    func testThreadsExchangeEveryMessageOnceInOrder() throws {
        let q = try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        let perProducer: UInt64 = 20_000
        let received = Locked<[[UInt64]]>([[], []])
        let total = Locked<UInt64>(0)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for producer in 0..<2 as Range<UInt64> {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var next: UInt64 = 0
                while next < perProducer {
                    let count = Int(min(1 + next % 7, perProducer - next))
                    let first = next
                    do {
                        try q.pushBatch(count: count, timeoutSeconds: 60) { i, slot in
                            slot.storeBytes(of: producer << 32 | (first + UInt64(i)), as: UInt64.self)
                        }
                    } catch { failures.withLock { $0.append("push: \(error)") }; return }
                    next += UInt64(count)
                }
            }
        }
        for consumer in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var mine: [UInt64] = []
                let deadline = cshim_monotonic_ns() + 120_000_000_000
                while total.withLock({ $0 }) < 2 * perProducer, cshim_monotonic_ns() < deadline {
                    do {
                        let n = try q.popBatch(maxCount: 5, timeoutSeconds: 0.2) { _, slot in mine.append(slot.load(as: UInt64.self)) }
                        total.withLock { $0 += UInt64(n) }
                    } catch ShmError.timedOut {
                        continue
                    } catch { failures.withLock { $0.append("pop: \(error)") }; break }
                }
                received.withLock { $0[consumer] = mine }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 180), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
        let all = received.withLock { $0 }
        for stream in all {
            for producer in 0..<2 as Range<UInt64> {
                let seq = stream.filter { $0 >> 32 == producer }.map { $0 & 0xFFFF_FFFF }
                XCTAssertEqual(seq, seq.sorted(), "each producer's messages in order at each consumer")
            }
        }
        let everything = (all[0] + all[1]).sorted()
        XCTAssertEqual(everything.count, Int(2 * perProducer))
        XCTAssertEqual(everything, (0..<2).flatMap { p in (0..<perProducer).map { UInt64(p) << 32 | $0 } })
        XCTAssertEqual(q.repairCount, 0)
    }

    // MARK: Short messages

    func testShortCopiedMessageLeavesNoStaleBytes() throws {
        for q in [try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 1, messageSize: 16) as any MPMCQueue,
                  try MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 1, messageSize: 16)] {
            let full = [UInt8](repeating: 0xFF, count: 16)
            try full.withUnsafeBytes { XCTAssertTrue(try q.tryPush(bytes: $0)) }
            var out = [UInt8](repeating: 0, count: 16)
            try out.withUnsafeMutableBytes { XCTAssertTrue(try q.tryPop(into: $0)) }
            try [UInt8]([1, 2, 3, 4]).withUnsafeBytes { XCTAssertTrue(try q.tryPush(bytes: $0)) }
            try out.withUnsafeMutableBytes { XCTAssertTrue(try q.tryPop(into: $0)) }
            XCTAssertEqual(out, [1, 2, 3, 4] + [UInt8](repeating: 0, count: 12), "\(type(of: q))")
        }
    }

    // MARK: The set outlives its creator while users remain

    func testLastUserNotTheCreatorRemovesTheSet() throws {
        for backing in [RegionBacking.mmap, .sysv] {
            let scratch = try ScratchDirectory()
            var creator: MPMCSemaphoreQueue? = try MPMCSemaphoreQueue.create(backing: backing, name: "lq", capacity: 4,
                                                                            messageSize: 8, options: scratch.options)
            var user: MPMCSemaphoreQueue? = try MPMCSemaphoreQueue.open(backing: backing, name: "lq", options: scratch.options)
            let id = creator!.semaphores.id
            XCTAssertEqual(try creator!.semaphores.value(MPMCSemaphoreLayout.usersSemaphore), 2)
            XCTAssertTrue(try creator!.tryPush(UInt64(7)))
            creator = nil // the creator finishes first: its name goes, the set stays
            XCTAssertTrue(IPCSnapshot.semaphoreIDs().contains(id), "\(backing): set kept for the remaining user")
            XCTAssertThrowsError(try MPMCSemaphoreQueue.open(backing: backing, name: "lq", options: scratch.options))
            XCTAssertEqual(try user!.tryPop(as: UInt64.self), 7)
            user = nil
            XCTAssertFalse(IPCSnapshot.semaphoreIDs().contains(id), "\(backing): the last user removed the set")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
        }
    }

    func testAKilledUserIsUncounted() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCSemaphoreQueue.create(backing: .mmap, name: "kq", capacity: 4, messageSize: 8, options: scratch.options)
        let helper = try DeathHelper.start(["push", scratch.path, "kq", "1"], dieAt: "push.entered")
        XCTAssertEqual(helper.waitForSignal(), SIGKILL)
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.usersSemaphore), 1, "SEM_UNDO uncounted the dead user")
    }

    // MARK: Helpers

    func drain(_ q: MPMCSemaphoreQueue) throws -> [UInt64] {
        var out: [UInt64] = []
        for _ in 0..<(q.capacity + 1) {
            guard let v = try q.tryPop(as: UInt64.self) else { break }
            out.append(v)
        }
        return out
    }

    /// Every slot can be filled and emptied again: no permit was lost or invented.
    func assertWholeCapacityWorks(_ q: MPMCSemaphoreQueue, _ label: String) throws {
        for v in 0..<q.capacity { XCTAssertTrue(try q.tryPush(UInt64(v)), "\(label): slot \(v)") }
        XCTAssertFalse(try q.tryPush(UInt64(99)), "\(label): full at capacity")
        XCTAssertEqual(try drain(q), (0..<UInt64(q.capacity)).map { $0 }, label)
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.freeSlotsSemaphore), q.capacity, label)
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.busySemaphore), 0, label)
    }
}

/// Runs `MPMCDeathHelper` (built next to the test bundle) with a death point armed.
struct DeathHelper {
    let process: Process

    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !dir.path.isEmpty, dir.path != "/" {
            let candidate = dir.appendingPathComponent("MPMCDeathHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/MPMCDeathHelper")
    }

    static func start(_ arguments: [String], dieAt point: String) throws -> DeathHelper {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["SHMRING_DEBUG_DIE_AT": point]) { $1 }
        try process.run()
        return DeathHelper(process: process)
    }

    /// Waits for the helper to end; the signal that ended it, or 0.
    func waitForSignal() -> Int32 {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? process.terminationStatus : 0
    }

    /// Polls /proc for state T (stopped), for up to 30 s.
    func waitUntilStopped() -> Bool {
        for _ in 0..<3000 {
            if let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"),
               stat[stat.index(close, offsetBy: 2)...].hasPrefix("T") { return true }
            usleep(10_000)
        }
        return false
    }

    func kill() {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
