import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// In-process semantics of both MPMC queues (one process, no fork): every
/// test runs against `MPMCSemaphoreQueue` and `MPMCLockFreeQueue` alike.
final class MPMCQueueTests: XCTestCase {
    static let kinds: [any MPMCQueue.Type] = [MPMCSemaphoreQueue.self, MPMCLockFreeQueue.self]

    var ipcBefore = IPCSnapshot()
    override func setUp() { ipcBefore = IPCSnapshot.take() }
    override func tearDown() { XCTAssertEqual(ipcBefore.leftovers(), [], "IPC objects left behind") }

    func anon<Q: MPMCQueue>(_ type: Q.Type, capacity: Int, messageSize: Int = 8) throws -> Q {
        try Q.create(backing: .anon, name: nil, capacity: capacity, messageSize: messageSize, options: RegionOptions())
    }

    func testFullAndEmpty() throws {
        for kind in Self.kinds { try fullAndEmpty(kind) }
    }

    func fullAndEmpty<Q: MPMCQueue>(_ type: Q.Type) throws {
        let q = try anon(type, capacity: 4)
        defer { q.removeName() }
        XCTAssertNil(try q.tryPop(as: UInt64.self), "\(type): a new queue is empty")
        for v in 0..<4 as Range<UInt64> { XCTAssertTrue(try q.tryPush(v)) }
        XCTAssertFalse(try q.tryPush(UInt64(99)), "\(type): push into a full queue")
        for v in 0..<4 as Range<UInt64> { XCTAssertEqual(try q.tryPop(as: UInt64.self), v) }
        XCTAssertNil(try q.tryPop(as: UInt64.self))
    }

    func testWrapAroundKeepsOrder() throws {
        for kind in Self.kinds { try wrapAround(kind) }
    }

    func wrapAround<Q: MPMCQueue>(_ type: Q.Type) throws {
        let q = try anon(type, capacity: 8)
        defer { q.removeName() }
        var next: UInt64 = 0, expected: UInt64 = 0
        for round in 0..<500 {
            for _ in 0..<(round % 8 + 1) where try q.tryPush(next) { next += 1 }
            while let v = try q.tryPop(as: UInt64.self) {
                XCTAssertEqual(v, expected)
                expected += 1
            }
        }
        XCTAssertEqual(expected, next)
        XCTAssertGreaterThan(next, 8 * 100, "many laps")
    }

    func testBatches() throws {
        for kind in Self.kinds { try batches(kind) }
    }

    func batches<Q: MPMCQueue>(_ type: Q.Type) throws {
        let q = try anon(type, capacity: 16)
        defer { q.removeName() }
        // "Up to": a batch larger than the room fills the room.
        XCTAssertEqual(try q.tryPushBatch(maxCount: 10) { i, slot in slot.storeBytes(of: UInt64(i), as: UInt64.self) }, 10)
        XCTAssertEqual(try q.tryPushBatch(maxCount: 10) { i, slot in slot.storeBytes(of: UInt64(10 + i), as: UInt64.self) }, 6)
        XCTAssertEqual(try q.tryPushBatch(maxCount: 3) { _, _ in XCTFail("no room") }, 0)
        var seen: [UInt64] = []
        XCTAssertEqual(try q.tryPopBatch(maxCount: 5) { _, slot in seen.append(slot.load(as: UInt64.self)) }, 5)
        XCTAssertEqual(try q.popBatch(maxCount: 100, timeoutSeconds: 1) { _, slot in seen.append(slot.load(as: UInt64.self)) }, 11)
        XCTAssertEqual(seen, Array(0..<16))
        XCTAssertEqual(try q.tryPopBatch(maxCount: 4) { _, _ in XCTFail("empty") }, 0)
        // Blocking push of exactly count, then a blocking pop returns what is ready.
        try q.pushBatch(count: 16, timeoutSeconds: 1) { i, slot in slot.storeBytes(of: UInt64(100 + i), as: UInt64.self) }
        var sum: UInt64 = 0
        while let v = try q.tryPop(as: UInt64.self) { sum += v }
        XCTAssertEqual(sum, (100..<116).reduce(0, +))
    }

    func testCapacityOneAndTwo() throws {
        for kind in Self.kinds {
            for capacity in [1, 2] { try smallCapacity(kind, capacity) }
        }
    }

    func smallCapacity<Q: MPMCQueue>(_ type: Q.Type, _ capacity: Int) throws {
        let q = try anon(type, capacity: capacity)
        defer { q.removeName() }
        var next: UInt64 = 0, expected: UInt64 = 0
        for _ in 0..<200 {
            while try q.tryPush(next) { next += 1 }
            XCTAssertEqual(next - expected, UInt64(capacity), "\(type) capacity \(capacity) holds exactly \(capacity)")
            while let v = try q.tryPop(as: UInt64.self) {
                XCTAssertEqual(v, expected)
                expected += 1
            }
        }
        XCTAssertEqual(expected, UInt64(200 * capacity))
    }

    func testMessageSizes() throws {
        for kind in Self.kinds {
            for size in [8, 9, 63, 64, 65, 1000, 4096, 65536] { try messageSize(kind, size) }
        }
    }

    func messageSize<Q: MPMCQueue>(_ type: Q.Type, _ size: Int) throws {
        let q = try anon(type, capacity: 4, messageSize: size)
        defer { q.removeName() }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { out.deallocate() }
        for round in 0..<6 {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
            try bytes.withUnsafeBytes { XCTAssertTrue(try q.tryPush(bytes: $0)) }
            XCTAssertTrue(try q.tryPop(into: out))
            XCTAssertTrue(bytes.elementsEqual(out), "\(type) \(size) B round \(round)")
        }
        let tooBig = [UInt8](repeating: 1, count: size + 1)
        XCTAssertThrowsError(try tooBig.withUnsafeBytes { try q.tryPush(bytes: $0) })
    }

    func testBlockingWaitsTimeOut() throws {
        for kind in Self.kinds { try blockingTimeouts(kind) }
    }

    func blockingTimeouts<Q: MPMCQueue>(_ type: Q.Type) throws {
        let q = try anon(type, capacity: 2)
        defer { q.removeName() }
        XCTAssertThrowsError(try q.pop(timeoutSeconds: 0.05) { _ in }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(type): \(error)") }
        }
        try q.push(timeoutSeconds: 1) { $0.storeBytes(of: UInt64(1), as: UInt64.self) }
        try q.push(timeoutSeconds: 1) { $0.storeBytes(of: UInt64(2), as: UInt64.self) }
        XCTAssertThrowsError(try q.push(timeoutSeconds: 0.05) { _ in }) { error in
            guard case ShmError.timedOut = error else { return XCTFail("\(type): \(error)") }
        }
        var got: [UInt64] = []
        try q.pop(timeoutSeconds: 1) { got.append($0.load(as: UInt64.self)) }
        try q.pop(timeoutSeconds: 1) { got.append($0.load(as: UInt64.self)) }
        XCTAssertEqual(got, [1, 2])
    }

    func testOpenByNameValidatesHeader() throws {
        for backing in [RegionBacking.sysv, .mmap] {
            try openByName(MPMCSemaphoreQueue.self, backing)
            try openByName(MPMCLockFreeQueue.self, backing)
        }
    }

    func openByName<Q: MPMCQueue>(_ type: Q.Type, _ backing: RegionBacking) throws {
        let scratch = try ScratchDirectory()
        let created = try Q.create(backing: backing, name: "q", capacity: 8, messageSize: 24, options: scratch.options)
        defer { created.removeName() }
        let opened = try Q.open(backing: backing, name: "q", options: scratch.options)
        XCTAssertEqual(opened.capacity, 8)
        XCTAssertEqual(opened.messageSize, 24)
        XCTAssertTrue(try created.tryPush(UInt64(42)))
        XCTAssertEqual(try opened.tryPop(as: UInt64.self), 42)
        XCTAssertThrowsError(try Q.create(backing: backing, name: "q", capacity: 8, messageSize: 24, options: scratch.options),
                             "the name is taken")
        XCTAssertThrowsError(try Q.open(backing: backing, name: "absent", options: scratch.options)) { error in
            XCTAssertEqual(error as? ShmError, .noSuchRegion(name: "absent"))
        }
        // Another structure under the name: rejected by kind.
        let ring = try SPSCRing.create(backing: backing, name: "ring", capacity: 8, messageSize: 24, options: scratch.options)
        defer { ring.region.removeName() }
        XCTAssertThrowsError(try Q.open(backing: backing, name: "ring", options: scratch.options)) { error in
            guard case ShmError.wrongStructure = error else { return XCTFail("\(type) \(backing): \(error)") }
        }
    }

    func testInvalidArguments() throws {
        XCTAssertThrowsError(try anon(MPMCSemaphoreQueue.self, capacity: 1 << 15), "beyond SEMVMX")
        XCTAssertThrowsError(try anon(MPMCLockFreeQueue.self, capacity: 3), "not a power of two")
        XCTAssertThrowsError(try anon(MPMCLockFreeQueue.self, capacity: 4, messageSize: 4), "below 8 bytes")
        let q = try anon(MPMCSemaphoreQueue.self, capacity: 4)
        defer { q.removeName() }
        XCTAssertThrowsError(try q.pushBatch(count: 5, timeoutSeconds: 0.1) { _, _ in }, "more than capacity at once")
    }

    // MARK: Untrusted peer

    func testImpossibleSequenceWordIsCorruptRing() throws {
        let q = try anon(MPMCLockFreeQueue.self, capacity: 8)
        defer { q.removeName() }
        // Slot 0 may only ever hold 2p or 2p + 1 with p ≡ 0 (mod 8); 2·3 is p = 3.
        q.sequenceWord(0).pointee = 6
        XCTAssertThrowsError(try q.tryPush(UInt64(1))) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try q.tryPop(as: UInt64.self)) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
    }

    func testImpossiblePositionsAreCorruptRingAndReleaseTheMutex() throws {
        let q = try anon(MPMCSemaphoreQueue.self, capacity: 8)
        defer { q.removeName() }
        XCTAssertTrue(try q.tryPush(UInt64(1)))
        // A peer claims the tail is far beyond the head.
        q.word(MPMCSemaphoreLayout.tailOffset).pointee = 1000
        XCTAssertThrowsError(try q.tryPop(as: UInt64.self)) { error in
            guard case ShmError.corruptRing = error else { return XCTFail("\(error)") }
        }
        // The mutex and the permit were given back: the next call does not hang.
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.mutexSemaphore), 1)
        XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.filledSlotsSemaphore), 1)
        q.word(MPMCSemaphoreLayout.tailOffset).pointee = 1
        XCTAssertEqual(try q.tryPop(as: UInt64.self), 1)
    }

    // MARK: Semaphore set

    func testSemaphoreSetRemovedWithTheQueue() throws {
        for backing in [RegionBacking.sysv, .mmap, .anon] {
            let scratch = try ScratchDirectory()
            let q = try MPMCSemaphoreQueue.create(backing: backing, name: backing == .anon ? nil : "q", capacity: 4,
                                                  messageSize: 8, options: scratch.options)
            let id = q.semaphores.id
            XCTAssertTrue(IPCSnapshot.semaphoreIDs().contains(id))
            XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.freeSlotsSemaphore), 4)
            XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.filledSlotsSemaphore), 0)
            XCTAssertEqual(try q.semaphores.value(MPMCSemaphoreLayout.mutexSemaphore), 1)
            q.removeName()
            XCTAssertFalse(IPCSnapshot.semaphoreIDs().contains(id), "\(backing): removeName by the only user removes the set")
        }
    }

    func testOpeningAnUninitialisedSetTimesOutWithAClearError() throws {
        let scratch = try ScratchDirectory()
        let keyFile = scratch.path + "/key"
        XCTAssertTrue(FileManager.default.createFile(atPath: keyFile, contents: nil))
        let key = try SemaphoreSet.key(forFile: keyFile)
        // A creator that died between semget and its first semop: sem_otime stays 0.
        let id = cshim_semget(key, 3, cshim_IPC_CREAT | cshim_IPC_EXCL | 0o600)
        XCTAssertGreaterThanOrEqual(id, 0)
        defer { _ = cshim_semctl_rmid(id) }
        XCTAssertThrowsError(try SemaphoreSet.open(key: key, count: 3, name: "stale", timeoutSeconds: 0.1)) { error in
            XCTAssertEqual(error as? ShmError, .semaphoresNotReady(name: "stale", key: key, waitedSeconds: 0.1))
            XCTAssertTrue("\(error)".contains("sem_otime"))
        }
        // Creating over it fails too, naming the key.
        XCTAssertThrowsError(try SemaphoreSet.create(key: key, initialValues: [1], name: "again")) { error in
            guard case ShmError.alreadyExists = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
        }
        // Once initialised by a semop, it opens.
        XCTAssertEqual(cshim_semop1(id, 0, 1, 0, 0), 0)
        let opened = try SemaphoreSet.open(key: key, count: 3, name: "now ready", timeoutSeconds: 0.1)
        XCTAssertEqual(opened.id, id)
        XCTAssertThrowsError(try SemaphoreSet.open(key: key, count: 2, name: "wrong count", timeoutSeconds: 0.1))
    }

    func testCreatedSetIsStampedAndSemaphoreKeyDiffersFromTheSegment() throws {
        let scratch = try ScratchDirectory()
        let q = try MPMCSemaphoreQueue.create(backing: .sysv, name: "q", capacity: 4, messageSize: 8, options: scratch.options)
        defer { q.removeName() }
        var otime: Int64 = 0, nsems: UInt64 = 0
        XCTAssertEqual(cshim_semctl_stat(q.semaphores.id, &otime, &nsems), 0)
        XCTAssertNotEqual(otime, 0, "the creator's semop stamped sem_otime")
        XCTAssertEqual(nsems, UInt64(MPMCSemaphoreLayout.semaphoreCount))
        let keyFile = scratch.path + "/q" + RegionLocation.sysvKeySuffix
        XCTAssertNotEqual(q.semaphores.key, cshim_ftok(keyFile, SharedRegion.projectID))
    }
}
