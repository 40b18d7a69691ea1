import CShim
import ShmRing
import XCTest

final class LockArenaLayoutTests: XCTestCase {
    /// Each group of the arena starts a block of its own, after the header,
    /// and the native lock slot holds the C library's objects.
    func testGroupsAreSeparatedAndFit() {
        let groups = [LockArenaLayout.lockWordOffset, LockArenaLayout.nowServingOffset,
                      LockArenaLayout.protectedCounterOffset, LockArenaLayout.sharedDataOffset,
                      LockArenaLayout.victimHoldingOffset, LockArenaLayout.nativeLockOffset]
        XCTAssertEqual(groups.first, RegionLayout.headerSize)
        for (a, b) in zip(groups, groups.dropFirst()) { XCTAssertEqual(b - a, RegionLayout.hotLineSeparation) }
        for offset in groups { XCTAssertEqual(offset % RegionLayout.hotLineSeparation, 0) }
        XCTAssertEqual(LockArenaLayout.ownerPidOffset / 64, LockArenaLayout.lockWordOffset / 64, "owner pid shares the lock's line")
        XCTAssertLessThanOrEqual(LockArenaLayout.sharedDataWords * 8, RegionLayout.hotLineSeparation)
        XCTAssertGreaterThanOrEqual(LockArenaLayout.nativeLockSize, Int(cshim_sizeof_pthread_mutex))
        XCTAssertGreaterThanOrEqual(LockArenaLayout.nativeLockSize, Int(cshim_sizeof_sem))
        XCTAssertEqual(LockArenaLayout.regionSize, LockArenaLayout.nativeLockOffset + LockArenaLayout.nativeLockSize)
    }
}
