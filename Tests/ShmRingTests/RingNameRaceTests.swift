import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// Issue 15, items 3 and 4: a name is removed only through the object that
/// was judged (its file's device and inode, its segment id, the key file its
/// segment records), and create / reclaim / remove of one name are serialised
/// by the name's lock file (`NameLock`).
final class RingNameRaceTests: XCTestCase {
    override func tearDown() { RingLifecycle.afterJudgingStale = nil }

    /// A ring whose creator "died" (its creator lock dropped) and
    /// whose ends nobody holds: stale.
    func makeStale(_ backing: RegionBacking, _ name: String, _ scratch: ScratchDirectory) throws -> SPSCRing {
        let old = try SPSCRing.create(backing: backing, name: name, capacity: 4, messageSize: 8, options: scratch.options)
        // What the creator's death leaves: its creator lock dropped, its word still set.
        old.region.witness.dropCreatorHold()
        XCTAssertTrue(try RingNames.isStale(backing: backing, name: name, options: scratch.options))
        return old
    }

    /// Two `create(..., reclaimStale: true)` of one stale name at once: the
    /// issue reproduced both succeeding (with `strace --inject=unlink:
    /// delay_enter=2s`), the second removing the first's new ring by path.
    /// The hook holds each reclaimer between its judgement and its removal
    /// for 300 ms, so without the lock both judge the old ring stale.
    func testConcurrentStaleReclaimsDoNotBothSucceed() throws {
        for backing in [RegionBacking.mmap, .sysv] {
            let scratch = try ScratchDirectory()
            let old = try makeStale(backing, "left", scratch)
            RingLifecycle.afterJudgingStale = { usleep(300_000) }
            let options = scratch.options
            let outcomes = Locked<[Int: Result<SPSCRing, ShmError>]>([:])
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                // Capacities 8 and 16 tell the two new rings apart.
                let capacity = 8 << i
                let result = Result { () throws(ShmError) in
                    try SPSCRing.create(backing: backing, name: "left", capacity: capacity, messageSize: 8,
                                        options: options, reclaimStale: true)
                }
                outcomes.withLock { $0[capacity] = result }
            }
            RingLifecycle.afterJudgingStale = nil
            let results = outcomes.withLock { $0 }
            let winners = results.compactMap { try? $0.value.get() }
            XCTAssertEqual(winners.count, 1, "\(backing): exactly one reclaim wins: \(results.mapValues { r in r.map(\.capacity) })")
            for case let .failure(error) in results.values {
                XCTAssertEqual(error, .alreadyExists(name: "left"), "\(backing)")
            }
            // The name opens the winner's ring, not a ring nobody can reach.
            let opened = try SPSCRing.open(backing: backing, name: "left", options: scratch.options)
            XCTAssertEqual(opened.capacity, winners.first?.capacity, "\(backing)")
            _ = old
        }
    }

    /// End of stream removes the consumer's own ring's name, never a newer
    /// ring that took the name after the old one's was removed.
    func testEndOfStreamDoesNotRemoveANewerRingsName() throws {
        for backing in [RegionBacking.mmap, .sysv] {
            let scratch = try ScratchDirectory()
            let first = try SPSCRing.create(backing: backing, name: "stream", capacity: 4, messageSize: 8, options: scratch.options)
            var producer = try first.producer()
            XCTAssertTrue(try producer.tryPush(UInt64(7)))
            producer.close()
            var consumer = try first.consumer()
            XCTAssertTrue(try RingNames.remove(backing: backing, name: "stream", options: scratch.options))
            let second = try SPSCRing.create(backing: backing, name: "stream", capacity: 16, messageSize: 8, options: scratch.options)
            var buffer = [UInt8](repeating: 0, count: 8)
            XCTAssertEqual(try buffer.withUnsafeMutableBytes { try consumer.pop(into: $0, timeoutSeconds: 1) }, .message)
            XCTAssertEqual(try buffer.withUnsafeMutableBytes { try consumer.pop(into: $0, timeoutSeconds: 1) }, .endOfStream)
            XCTAssertEqual(try SPSCRing.open(backing: backing, name: "stream", options: scratch.options).capacity, 16,
                           "\(backing): the newer ring keeps its name")
            _ = consume consumer
            _ = second
        }
    }

    /// Item 4: a segment reached through a key file that is not the one its
    /// header records (an ftok collision, simulated by rewriting the header's
    /// key file identity) is neither opened nor removed under that name; the
    /// key file itself goes.
    func testASegmentOfAnotherKeyFileIsNeitherOpenedNorRemoved() throws {
        let scratch = try ScratchDirectory()
        let ring = try SPSCRing.create(backing: .sysv, name: "victim", capacity: 4, messageSize: 8, options: scratch.options)
        let keyFile = scratch.file("victim" + RegionLocation.sysvKeySuffix)
        let key = cshim_ftok(keyFile, SharedRegion.projectID)
        let shmid = cshim_shmget(key, 0, 0)
        XCTAssertGreaterThanOrEqual(shmid, 0)
        defer { _ = cshim_shm_rmid(shmid) }
        /// IPC_RMID of a segment still attached (this test maps it) keeps
        /// it until the last detach but drops its key (it reads 0 then).
        func stillKeyed() -> Bool {
            var k: Int32 = 0, cuid: UInt32 = 0, cpid: Int32 = 0, ctime: Int64 = 0
            return cshim_shm_identity(shmid, &k, &cuid, &cpid, &ctime) == 0 && k == key
        }
        // The segment now says it belongs to another key file (the checksum
        // is kept valid: this is a collision, not corruption).
        let base = ring.region.base
        let inode = base.load(fromByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self)
        XCTAssertNotEqual(inode, 0, "the creator recorded its key file")
        base.storeBytes(of: inode &+ 0x10000, toByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self)
        base.storeBytes(of: RegionHeader.checksum(base), toByteOffset: RegionLayout.checksumOffset, as: UInt64.self)
        ring.region.witness.dropCreatorHold() // the creator "died"

        XCTAssertThrowsError(try SPSCRing.open(backing: .sysv, name: "victim", options: scratch.options)) { error in
            guard case .corruptedHeader(_, let reason)? = error as? ShmError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("another key file"), reason)
        }
        XCTAssertThrowsError(try RingNames.removeStale(backing: .sysv, name: "victim", options: scratch.options))
        XCTAssertTrue(stillKeyed())
        XCTAssertTrue(try RingNames.remove(backing: .sysv, name: "victim", options: scratch.options), "the key file goes")
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile))
        XCTAssertTrue(stillKeyed(), "the other key file's segment stays")
        // Its creator (this process, by IPC_EXCL) may remove it.
        ring.region.removeName()
        XCTAssertFalse(stillKeyed(), "removed by its creator")
    }

    /// A segment whose published header is garbage (not another key file's
    /// ring) can still be removed by name, e.g. by `ringbench rm --force`.
    func testAGarbageSegmentCanBeRemovedByName() throws {
        let scratch = try ScratchDirectory()
        let key: Int32
        do {
            let region = try SharedRegion.create(backing: .sysv, name: "junk", size: 4096, options: scratch.options)
            region.removesNameOnDeinit = false // a creator that died
            for i in stride(from: 0, to: 4096, by: 8) { region.base.storeBytes(of: UInt64(0x5a5a_5a5a) &* UInt64(i + 1), toByteOffset: i, as: UInt64.self) }
            key = cshim_ftok(scratch.file("junk" + RegionLocation.sysvKeySuffix), SharedRegion.projectID)
        }
        XCTAssertGreaterThanOrEqual(cshim_shmget(key, 0, 0), 0)
        XCTAssertTrue(try RingNames.remove(backing: .sysv, name: "junk", options: scratch.options))
        XCTAssertEqual(cshim_shmget(key, 0, 0), -1, "the segment went too")
    }

    /// The lock file goes with the name: create and remove leave nothing.
    func testLockFilesLeaveWithTheirNames() throws {
        let scratch = try ScratchDirectory()
        for backing in [RegionBacking.mmap, .sysv] {
            do {
                let ring = try SPSCRing.create(backing: backing, name: "tidy", capacity: 4, messageSize: 8, options: scratch.options)
                let listing = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
                XCTAssertTrue(listing.contains { $0.hasSuffix(".lock") }, "\(backing): the lock file lives with the name: \(listing)")
                _ = ring
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "\(backing)")
            XCTAssertThrowsError(try SPSCRing.create(backing: backing, name: "x/y", capacity: 4, messageSize: 8, options: scratch.options))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "\(backing)")
        }
    }

    /// Holders of one name's lock never overlap, although every release
    /// unlinks the lock file (the name does not exist) while others wait on
    /// it: a waiter that gets a lock on an unlinked file starts over.
    func testNameLockExcludesAcrossLockFileRemoval() throws {
        let scratch = try ScratchDirectory()
        let file = scratch.file("absent")
        let inside = Locked(0), most = Locked(0), failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<150 {
                do {
                    let lock = try NameLock(guarding: file, name: "absent")
                    let now = inside.withLock { $0 += 1; return $0 }
                    most.withLock { $0 = max($0, now) }
                    usleep(50)
                    inside.withLock { $0 -= 1 }
                    _ = consume lock
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(most.withLock { $0 }, 1, "two holders at once")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    /// Names are file names in the chosen directory: no '/', no hidden
    /// names (lock files, ledgers), no key-file suffix.
    func testNamesThatWouldEscapeOrImpersonateAreRefused() {
        for name in ["a/b", "/dev/shm/x", ".hidden", "x.sysv-key", ".x.lock"] {
            for backing in [RegionBacking.mmap, .sysv] {
                XCTAssertThrowsError(try RegionLocation(name: name, backing: backing, options: RegionOptions()), name) { error in
                    guard case .invalidArgument? = error as? ShmError else { return XCTFail("\(name): \(error)") }
                }
            }
        }
    }
}
