import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// Regions against hostile files, full file systems and careless lifetimes
/// (issue 7, items 6 to 11, and the create/open conveniences ring-lifecycle
/// builds on).
final class RegionReliabilityTests: XCTestCase {
    // MARK: Names

    func testCreatingATakenNameIsAlreadyExists() throws {
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            let q = try MPMCLockFreeQueue.create(backing: backing, name: "taken-\(backing)", capacity: 4, messageSize: 8,
                                                 options: scratch.options)
            XCTAssertThrowsError(try MPMCLockFreeQueue.create(backing: backing, name: "taken-\(backing)", capacity: 4,
                                                              messageSize: 8, options: scratch.options)) { error in
                guard case ShmError.alreadyExists = error else { return XCTFail("\(backing): \(error)") }
            }
            XCTAssertTrue(q.region.isOwner)
        }
    }

    func testOpenerStartedBeforeTheCreatorWaitsForCreation() throws {
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: backing, name: "late", options: scratch.options)) { error in
                XCTAssertEqual(error as? ShmError, .noSuchRegion(name: "late"), "default: no waiting")
            }
            let created = DispatchSemaphore(value: 0)
            let holder = Locked<MPMCLockFreeQueue?>(nil)
            let creatorOptions = scratch.options
            Thread.detachNewThread {
                usleep(300_000)
                let q = try? MPMCLockFreeQueue.create(backing: backing, name: "late", capacity: 4, messageSize: 8,
                                                      options: creatorOptions)
                holder.withLock { $0 = q }
                created.signal()
            }
            var options = scratch.options
            options.waitForCreationSeconds = 30
            options.openTimeoutSeconds = 30
            let opened = try MPMCLockFreeQueue.open(backing: backing, name: "late", options: options)
            created.wait()
            XCTAssertEqual(opened.capacity, 4)
            XCTAssertTrue(try holder.withLock { try $0!.tryPush(UInt64(5)) })
            XCTAssertEqual(try opened.tryPop(as: UInt64.self), 5)
            holder.withLock { $0 = nil } // the creator goes: its name with it
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: backing, name: "late", options: scratch.options))
        }
    }

    func testRemoveNameKeepsEveryMappingValidAndIsIdempotent() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCLockFreeQueue.create(backing: .mmap, name: "rn", capacity: 4, messageSize: 8, options: scratch.options)
        let other = try MPMCLockFreeQueue.open(backing: .mmap, name: "rn", options: scratch.options)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in other.removeName() }
        q.removeName()
        XCTAssertTrue(q.region.nameRemoved)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("rn")))
        XCTAssertTrue(try q.tryPush(UInt64(9)))
        XCTAssertEqual(try other.tryPop(as: UInt64.self), 9)
        // A newer object under the same path is not removed by the old handle.
        let newer = try MPMCLockFreeQueue.create(backing: .mmap, name: "rn", capacity: 4, messageSize: 8, options: scratch.options)
        q.removeName()
        other.region.removeName()
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("rn")))
        newer.removeName()
    }

    func testCreatorCanLeaveTheNameBehind() throws {
        let scratch = try ScratchDirectory()
        do {
            let q = try MPMCLockFreeQueue.create(backing: .mmap, name: "kept", capacity: 4, messageSize: 8, options: scratch.options)
            XCTAssertTrue(try q.tryPush(UInt64(3)))
            q.region.removesNameOnDeinit = false
        }
        let reopened = try MPMCLockFreeQueue.open(backing: .mmap, name: "kept", options: scratch.options)
        XCTAssertEqual(try reopened.tryPop(as: UInt64.self), 3)
        reopened.removeName()
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file("kept")))
    }

    func testAStaleNameCanBeRemovedWithoutMappingIt() throws {
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            var key: Int32 = -1
            do {
                // A creator that "died": it leaves its name behind.
                let q = try MPMCLockFreeQueue.create(backing: backing, name: "stale", capacity: 4, messageSize: 8,
                                                     options: scratch.options)
                q.region.removesNameOnDeinit = false
                if backing == .sysv { key = cshim_ftok(scratch.file("stale" + RegionLocation.sysvKeySuffix), SharedRegion.projectID) }
            }
            XCTAssertThrowsError(try MPMCLockFreeQueue.create(backing: backing, name: "stale", capacity: 4, messageSize: 8,
                                                              options: scratch.options)) { error in
                XCTAssertEqual(error as? ShmError, .alreadyExists(name: "stale"), "\(backing)")
            }
            XCTAssertTrue(try SharedRegion.removeName(backing: backing, name: "stale", options: scratch.options))
            XCTAssertFalse(try SharedRegion.removeName(backing: backing, name: "stale", options: scratch.options))
            if backing == .sysv { XCTAssertEqual(cshim_shmget(key, 0, 0), -1, "the segment went too") }
            let fresh = try MPMCLockFreeQueue.create(backing: backing, name: "stale", capacity: 4, messageSize: 8,
                                                     options: scratch.options)
            XCTAssertTrue(fresh.region.isOwner)
        }
    }

    // MARK: Timeouts

    func testRegionTimeoutsRejectNaNAndNegativeAndAcceptInfinity() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCLockFreeQueue.create(backing: .mmap, name: "t", capacity: 4, messageSize: 8, options: scratch.options)
        for bad: Double in [.nan, -1] {
            var options = scratch.options
            options.openTimeoutSeconds = bad
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: .mmap, name: "t", options: options)) { error in
                guard case ShmError.invalidArgument = error else { return XCTFail("\(bad): \(error)") }
            }
            options = scratch.options
            options.waitForCreationSeconds = bad
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: .mmap, name: "t", options: options))
        }
        for huge: Double in [.infinity, 1e300] {
            var options = scratch.options
            options.openTimeoutSeconds = huge
            XCTAssertEqual(try MPMCLockFreeQueue.open(backing: .mmap, name: "t", options: options).capacity, 4)
        }
        XCTAssertTrue(q.region.isOwner)
    }

    // MARK: Hostile files

    func testHugeSparseFileIsRejectedWithoutWalkingIt() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("sparse")
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, 1 << 40), 0) // 1 TiB of holes: walking it would take minutes
        close(fd)
        let started = cshim_monotonic_ns()
        XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: .mmap, name: "sparse", options: scratch.options)) { error in
            guard case ShmError.notARing = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Double(cshim_monotonic_ns() - started) / 1e9, 30)
    }

    func testGroupWritableOrForeignObjectsAreRefused() throws {
        try XCTSkipUnless(geteuid() == 0, "changing a file's owner needs root")
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            let q = try MPMCLockFreeQueue.create(backing: backing, name: "own", capacity: 4, messageSize: 8, options: scratch.options)
            let file = scratch.file(backing == .sysv ? "own" + RegionLocation.sysvKeySuffix : "own")
            XCTAssertEqual(chmod(file, 0o666), 0)
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: backing, name: "own", options: scratch.options)) { error in
                guard case ShmError.unsafePermissions(_, 0o666) = error else { return XCTFail("\(backing): \(error)") }
            }
            var shared = scratch.options
            shared.allowSharedWrite = true
            XCTAssertEqual(try MPMCLockFreeQueue.open(backing: backing, name: "own", options: shared).capacity, 4)
            XCTAssertEqual(chmod(file, 0o600), 0)
            XCTAssertEqual(chown(file, 4242, 4242), 0)
            XCTAssertThrowsError(try MPMCLockFreeQueue.open(backing: backing, name: "own", options: scratch.options)) { error in
                XCTAssertEqual(error as? ShmError, .untrustedOwner(name: "own", uid: 4242), "\(backing)")
            }
            var trusting = scratch.options
            trusting.allowedOwners = [4242]
            XCTAssertEqual(try MPMCLockFreeQueue.open(backing: backing, name: "own", options: trusting).capacity, 4)
            q.removeName()
        }
    }

    func testGroupWritableSemaphoreSetIsRefused() throws {
        let scratch = try ScratchDirectory()
        let keyFile = scratch.file("semkey")
        XCTAssertTrue(FileManager.default.createFile(atPath: keyFile, contents: nil))
        let key = try SemaphoreSet.key(forFile: keyFile)
        let id = cshim_semget(key, 1, cshim_IPC_CREAT | cshim_IPC_EXCL | 0o666)
        XCTAssertGreaterThanOrEqual(id, 0)
        defer { _ = cshim_semctl_rmid(id) }
        XCTAssertEqual(cshim_semop1(id, 0, 1, 0, 0), 0)
        XCTAssertThrowsError(try SemaphoreSet.open(key: key, count: 1, name: "shared", timeoutSeconds: 1)) { error in
            guard case ShmError.unsafePermissions = error else { return XCTFail("\(error)") }
        }
        var options = RegionOptions()
        options.allowSharedWrite = true
        XCTAssertEqual(try SemaphoreSet.open(key: key, count: 1, name: "shared", timeoutSeconds: 1, options: options).id, id)
    }

    // MARK: Full file system

    func testSmallTmpfsFailsAtCreateWithOutOfSpaceAndLeavesNothing() throws {
        try XCTSkipUnless(geteuid() == 0, "mounting a small tmpfs needs root")
        let scratch = try ScratchDirectory()
        let mountPoint = scratch.file("small")
        XCTAssertEqual(mkdir(mountPoint, 0o700), 0)
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m,mode=0700") == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (errno \(errno))")
        }
        defer { _ = umount2(mountPoint, 0) }
        var options = scratch.options
        options.directory = mountPoint
        // 4 MiB of slots in a 1 MiB file system.
        XCTAssertThrowsError(try MPMCLockFreeQueue.create(backing: .mmap, name: "big", capacity: 4096, messageSize: 1016,
                                                          options: options)) { error in
            guard case ShmError.outOfSpace(name: "big", _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint), [])
        // A ring that fits is fine.
        let small = try MPMCLockFreeQueue.create(backing: .mmap, name: "small", capacity: 16, messageSize: 8, options: options)
        XCTAssertTrue(try small.tryPush(UInt64(1)))
    }

    // MARK: Lock-free claim bound

    func testPinnedPositionWithCraftedSequenceIsCorruptRingNotAHang() throws {
        let q = try MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        // Slot 0 says "free for position 4" and "holds" nothing claimable while
        // both positions stay pinned at 0: every claim sees "taken, look again".
        q.sequenceWord(0).pointee = 2 * 4
        XCTAssertThrowsError(try q.tryPushBatch(maxCount: 4) { _, _ in }) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
        q.sequenceWord(0).pointee = 2 * 4 + 1
        XCTAssertThrowsError(try q.tryPopBatch(maxCount: 4) { _, _ in }) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
    }
}
