import CShim
import Foundation
import ShmRing
import XCTest
@testable import BenchHarness

/// Issue 15, item 12: a ledger is recognisable as one (hidden name, magic
/// line, per-line checksum, O_EXCL), and an entry is removed only if the
/// object behind its id is still the one recorded.
final class StaleLedgerTests: XCTestCase {
    func makeSet() throws -> Int32 {
        let id = cshim_semget(cshim_IPC_PRIVATE, 2, cshim_IPC_CREAT | cshim_IPC_EXCL | 0o600)
        XCTAssertGreaterThanOrEqual(id, 0)
        return id
    }

    func setExists(_ id: Int32) -> Bool {
        var key: Int32 = 0, cuid: UInt32 = 0, count: UInt64 = 0, ctime: Int64 = 0
        return cshim_sem_identity(id, &key, &cuid, &count, &ctime) == 0
    }

    func testOnlyTextWithTheMagicLineIsALedger() throws {
        XCTAssertNil(StaleLedger.parse("sem 42\n"), "no magic line: not a ledger")
        XCTAssertNil(StaleLedger.parse("SHMRING1\u{0}\u{0}\nsem 42\n"))
        let good = StaleLedger.Line(entry: .semaphoreSet(42), identity: .init(key: 0, count: 2, ctime: 100))
        let text = StaleLedger.magicLine + "\n" + good.text + "\nsem 43 #0\n" + good.text.replacingOccurrences(of: "42", with: "44") + "\n"
        XCTAssertEqual(StaleLedger.parse(text), [good], "lines failing their checksum are ignored")
    }

    func testWrittenLedgerIsHiddenExclusiveAndChecksummed() throws {
        let id = try makeSet()
        defer { _ = cshim_semctl_rmid(id) }
        let ledger = StaleLedger()
        ledger.record(.semaphoreSet(id))
        let mine = try FileManager.default.contentsOfDirectory(atPath: StaleLedger.directory)
            .filter { $0.hasPrefix(".ringbench-\(getpid())-") && $0.hasSuffix(".ledger") }
        XCTAssertEqual(mine.count, 1, "\(mine)")
        let path = StaleLedger.directory + "/" + (mine.first ?? "?")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = try XCTUnwrap(StaleLedger.parse(text))
        XCTAssertEqual(lines.map(\.entry), [.semaphoreSet(id)])
        XCTAssertEqual(lines.first?.identity?.count, 2)
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        ledger.discard()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// An id whose object is not the recorded one (another key, count or
    /// creation time) is left alone; the recorded one goes.
    func testOnlyTheRecordedObjectIsRemoved() throws {
        let id = try makeSet()
        defer { _ = cshim_semctl_rmid(id) }
        let now = try XCTUnwrap(StaleLedger.SysVIdentity.current(of: .semaphoreSet(id)))
        XCTAssertFalse(StaleLedger.remove(.init(entry: .semaphoreSet(id), identity: nil)), "no identity: never")
        var later = now
        later.ctime += 3600
        XCTAssertFalse(StaleLedger.remove(.init(entry: .semaphoreSet(id), identity: later)), "created after the record: another set")
        var other = now
        other.count = 5
        XCTAssertFalse(StaleLedger.remove(.init(entry: .semaphoreSet(id), identity: other)))
        XCTAssertFalse(StaleLedger.remove(.init(entry: .messageQueue(id), identity: now)), "not a queue")
        XCTAssertTrue(setExists(id))
        XCTAssertTrue(StaleLedger.remove(.init(entry: .semaphoreSet(id), identity: now)))
        XCTAssertFalse(setExists(id))
    }
}
