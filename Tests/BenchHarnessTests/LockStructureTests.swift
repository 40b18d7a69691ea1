@testable import BenchHarness
import ShmRing
import XCTest

/// In-process checks of the lock engine's pure parts and of each lock's
/// single-process behaviour (no fork here: multi-process runs are tested
/// through the executable in RingbenchCLITests).
final class LockStructureTests: XCTestCase {
    func testJainFairnessIndex() {
        XCTAssertEqual(JainFairness.index([5, 5, 5, 5]), 1, accuracy: 1e-12)
        XCTAssertEqual(JainFairness.index([10, 0, 0, 0]), 0.25, accuracy: 1e-12)
        XCTAssertEqual(JainFairness.index([3, 1]), 16.0 / 20.0, accuracy: 1e-12)
        XCTAssertEqual(JainFairness.index([7]), 1, accuracy: 1e-12)
        XCTAssertEqual(JainFairness.index([0, 0]), 0)
        XCTAssertEqual(JainFairness.index([]), 0)
    }

    func testMutualExclusionCheck() throws {
        XCTAssertNoThrow(try MutualExclusion.verify(lock: .futex, protectedCounter: 10, acquisitions: 10))
        XCTAssertThrowsError(try MutualExclusion.verify(lock: .none, protectedCounter: 7, acquisitions: 10)) { error in
            XCTAssertTrue("\(error)".contains("3 increments lost"), "\(error)")
        }
        XCTAssertThrowsError(try MutualExclusion.verify(lock: .tas, protectedCounter: 11, acquisitions: 10))
    }

    func testLockNamesRoundTrip() throws {
        for kind in LockKind.allCases { XCTAssertEqual(try LockKind.named(kind.rawValue), kind) }
        XCTAssertThrowsError(try LockKind.named("spin"))
        XCTAssertFalse(LockKind.measured.contains(.none))
        // Exactly the locks that cannot be freed by the kernel track an owner.
        for kind in LockKind.measured { XCTAssertNotEqual(kind.recovery == nil, !kind.tracksOwner, kind.rawValue) }
    }

    func testCalibratedWorkScalesWithTarget() {
        let none = CriticalSectionWork.calibrated(targetNs: 0)
        XCTAssertEqual(none.iterations, 0)
        XCTAssertGreaterThan(none.nsPerIteration, 0)
        let some = CriticalSectionWork.calibrated(targetNs: 1000)
        XCTAssertGreaterThanOrEqual(some.iterations, 1)
        var words = [UInt64](repeating: 0, count: 8)
        words.withUnsafeMutableBufferPointer { some.run(on: $0.baseAddress!) }
        XCTAssertEqual(words.reduce(0, +), UInt64(some.iterations))
    }

    /// Every lock in a fresh arena, in this one process: acquire and release
    /// repeatedly, and a held lock is not taken twice by the same loop.
    func testEveryLockAcquiresAndReleasesInOneProcess() throws {
        for kind in LockKind.allCases {
            let cleanup = CleanupRegistry()
            let arena = try LockArena(kind: kind, cleanup: cleanup)
            let count = try arena.withLock(CycleVisitor(cycles: 1000))
            XCTAssertEqual(count, 1000, kind.rawValue)
            cleanup.runAll()
        }
    }

    /// A lock whose recorded holder does not exist is reported, not waited on forever.
    func testDeadOwnerIsDetected() throws {
        for kind in LockKind.allCases where kind.tracksOwner {
            let cleanup = CleanupRegistry()
            let arena = try LockArena(kind: kind, cleanup: cleanup)
            XCTAssertThrowsError(try arena.withLock(HeldByDeadProcess(arena: arena))) { error in
                XCTAssertEqual("\(error)", "lock owner PID \(HeldByDeadProcess.deadPid) died while holding the lock", kind.rawValue)
            }
            cleanup.runAll()
        }
    }
}

struct CycleVisitor: LockVisitor {
    let cycles: Int
    func visit<Lock: ProcessLock>(_ lock: inout Lock) throws(HarnessError) -> Int {
        var done = 0
        for _ in 0..<cycles {
            try lock.acquire()
            done += 1
            lock.release()
        }
        return done
    }
}

/// Takes the lock, then makes it look held by a pid no process has (beyond
/// pid_max), as if its holder had died, and tries to take it again.
struct HeldByDeadProcess: LockVisitor {
    static let deadPid: Int32 = 0x3FFF_FFF0
    let arena: LockArena
    func visit<Lock: ProcessLock>(_ lock: inout Lock) throws(HarnessError) -> Int {
        try lock.acquire()
        arena.word64(LockArenaLayout.ownerPidOffset).pointee = UInt64(Self.deadPid)
        try lock.acquire()
        return 1
    }
}
