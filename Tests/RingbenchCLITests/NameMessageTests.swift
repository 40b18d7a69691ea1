import Foundation
import ShmRing
import TestSupport
import XCTest

/// Issue 15, item 13 (the parts about names and listings) and `inspect` on
/// every kind `ls` lists, from the CLI.
final class NameMessageTests: XCTestCase {
    func entries(_ directory: String) throws -> [[String: Any]] {
        let r = try Ringbench.run(["ls", "--directory", directory, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [[String: Any]] ?? []
    }

    /// A zero-filled region not yet published is "creating", not "corrupt",
    /// and `rm` wants --force for it.
    func testARingBeingCreatedIsListedAsCreating() throws {
        let scratch = try ScratchDirectory()
        FileManager.default.createFile(atPath: scratch.file("fresh"), contents: Data(count: 4096),
                                       attributes: [.posixPermissions: 0o600])
        let listed = try entries(scratch.path)
        XCTAssertEqual(listed.count, 1, "\(listed)")
        XCTAssertEqual(listed.first?["state"] as? String, "creating", "\(listed)")
        let rm = try Ringbench.run(["rm", "fresh", "--directory", scratch.path])
        XCTAssertEqual(rm.status, 1)
        XCTAssertTrue(rm.stderr.contains("being created"), rm.stderr)
        XCTAssertEqual(try Ringbench.run(["rm", "fresh", "--force", "--directory", scratch.path]).status, 0)
    }

    /// "already exists" on an mmap ring says nothing of SysV keys or ftok.
    func testAlreadyExistsForAnMmapRingDoesNotMentionSysV() throws {
        let scratch = try ScratchDirectory()
        let ring = try RecordRing.create(backing: .mmap, name: "taken", capacity: 4096, maximumRecordLength: 64,
                                         options: RegionOptions(directory: scratch.path))
        let r = try Ringbench.run(["pub", "taken", "--directory", scratch.path, "--count", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already exists"), r.stderr)
        XCTAssertFalse(r.stderr.contains("ftok") || r.stderr.contains("SysV") || r.stderr.contains("ipcs"), r.stderr)
        ring.region.removeName()
    }

    /// A record ring needs at least 64 bytes: --capacity 16 is bad input
    /// (exit 2, one line), and the help says so.
    func testRecordRingCapacityBelowTheMinimumIsRefused() throws {
        let scratch = try ScratchDirectory()
        let r = try Ringbench.run(["pub", "small", "--directory", scratch.path, "--capacity", "16", "--count", "1"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("64"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        let help = try Ringbench.run(["pub", "--help"])
        XCTAssertFalse(help.stdout.contains("16..."), help.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    /// Names are file names in --directory: '/' is refused instead of
    /// silently escaping it; a name ending in .sysv-key (which `ls` would
    /// take for a SysV ring's key file) is refused too.
    func testNamesWithASlashOrTheKeySuffixAreRefused() throws {
        let scratch = try ScratchDirectory()
        let outside = try ScratchDirectory()
        for name in [outside.path + "/escaped", "sub/ring", "x.sysv-key"] {
            for backing in ["mmap", "sysv"] {
                let r = try Ringbench.run(["pub", name, "--backing", backing, "--directory", scratch.path, "--count", "1"])
                XCTAssertNotEqual(r.status, 0, "\(name) \(backing)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                XCTAssertTrue(r.stderr.contains(name.contains("/") ? "must not contain '/'" : "must not end in '.sysv-key'"), r.stderr)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [])
    }

    /// ls on a file says why in one line, not "(NSCocoaErrorDomain error 256.)".
    func testListingAFileSaysWhy() throws {
        let scratch = try ScratchDirectory()
        FileManager.default.createFile(atPath: scratch.file("plain"), contents: Data("x".utf8))
        let r = try Ringbench.run(["ls", "--directory", scratch.file("plain")])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "ringbench: cannot list \(scratch.file("plain")): Not a directory\n")
    }

    /// An orphaned SysV key file (its creator died before making the
    /// segment) is "no such ring" at once with --wait-for-creation 0, not
    /// after the 5 s open timeout.
    func testOrphanKeyFileFailsAtOnce() throws {
        let scratch = try ScratchDirectory()
        FileManager.default.createFile(atPath: scratch.file("lost.sysv-key"), contents: nil,
                                       attributes: [.posixPermissions: 0o600])
        let start = Date()
        let r = try Ringbench.run(["sub", "lost", "--backing", "sysv", "--directory", scratch.path, "--wait-for-creation", "0"])
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("no ring 'lost'"), r.stderr)
        XCTAssertLessThan(elapsed, 3, "waited for a segment nobody is creating")
    }

    /// `inspect` describes every kind `ls` lists.
    func testInspectDescribesEveryKind() throws {
        let scratch = try ScratchDirectory()
        let options = RegionOptions(directory: scratch.path)
        let records = try RecordRing.create(backing: .mmap, name: "records", capacity: 4096, maximumRecordLength: 100, options: options)
        let lockFree = try MPMCLockFreeQueue.create(backing: .mmap, name: "lockfree", capacity: 8, messageSize: 16, options: options)
        let semaphore = try MPMCSemaphoreQueue.create(backing: .sysv, name: "semq", capacity: 8, messageSize: 16, options: options)
        defer { semaphore.removeName() }
        do {
            var producer = try records.producer()
            try producer.reserve(10, timeoutSeconds: 1) { $0.initializeMemory(as: UInt8.self, repeating: 1) }
            producer.commit()
        }
        XCTAssertTrue(try lockFree.tryPush(UInt64(1)))
        let expected: [(name: String, backing: String, lines: [String])] = [
            ("records", "mmap", ["record ring", "capacity 4096 bytes, records up to 100 bytes", "24 byte(s) pending", "creator \(getpid())"]),
            ("lockfree", "mmap", ["lock-free MPMC queue", "capacity 8 slots of 16 bytes", "1 message(s) pending"]),
            ("semq", "sysv", ["semaphore-guarded MPMC queue", "capacity 8 slots of 16 bytes", "semaphore set key 0x"]),
        ]
        for (name, backing, lines) in expected {
            let r = try Ringbench.run(["inspect", name, "--backing", backing, "--directory", scratch.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            for line in lines { XCTAssertTrue(r.stdout.contains(line), "\(name): \(line) in \(r.stdout)") }
            XCTAssertFalse(r.stdout.contains("not a"), r.stdout)
        }
        records.region.removeName()
        lockFree.removeName()
    }
}
