import Foundation
import ShmRing
import TestSupport
import XCTest

/// Issue 15, item 12, from the CLI: a record ring named like a ledger and
/// holding "sem ID" lines must not make `ringbench reclaim` remove that
/// semaphore set; ledger names cannot be chosen with `pub`.
final class LedgerTrustTests: XCTestCase {
    func testARingNamedLikeALedgerIsNotTrusted() throws {
        let victim = try SemaphoreSet.create(key: SemaphoreSet.privateKey, initialValues: [1], name: "victim")
        let id = victim.id
        // What the attacker wrote: "sem ID" lines, newline-framed
        // inside length-framed records so the file holds them verbatim.
        var input = Data()
        for payload in ["\nsem \(id)\n", "\nmsg \(id)\n"] {
            var length = UInt32(payload.utf8.count).littleEndian
            input.append(Data(bytes: &length, count: 4))
            input.append(Data(payload.utf8))
        }
        let scratch = try ScratchDirectory()
        let inputFile = URL(fileURLWithPath: scratch.file("input"))
        try input.write(to: inputFile)
        let name = "ringbench-1-1-1.ledger"
        let pub = try Ringbench.run(["pub", name, "--framing", "length", "--capacity", "4K"], input: inputFile)
        defer { _ = try? Ringbench.run(["rm", name, "--force"]) }
        XCTAssertEqual(pub.status, 0, pub.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/dev/shm/" + name))

        let reclaim = try Ringbench.run(["reclaim"])
        XCTAssertEqual(reclaim.status, 0, reclaim.stderr)
        XCTAssertTrue(IPCSnapshot.semaphoreIDs().contains(id), "reclaim removed an unrelated set: \(reclaim.stdout)")
        XCTAssertFalse(reclaim.stdout.contains(name), reclaim.stdout)

        // Ledger names are hidden, and no ring name may be.
        let hidden = try Ringbench.run(["pub", ".ringbench-1-1-1.ledger", "--count", "1"])
        XCTAssertNotEqual(hidden.status, 0)
        XCTAssertTrue(hidden.stderr.contains("must not start with '.'"), hidden.stderr)
        _ = victim
    }
}
