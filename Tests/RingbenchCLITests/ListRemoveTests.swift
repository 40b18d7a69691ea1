import Foundation
import TestSupport
import XCTest

/// `ringbench ls` and `ringbench rm` on a scratch directory: live, stale
/// (a SIGKILLed producer) and corrupt regions, symbolic links and foreign
/// files.
final class ListRemoveTests: XCTestCase {
    func entries(_ directory: String) throws -> [[String: Any]] {
        let r = try Ringbench.run(["ls", "--directory", directory, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [[String: Any]] ?? []
    }

    func testListsRemovesStaleAndRefusesLive() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        let dir = scratch.path
        // A live producer (waiting on a full ring), a killed one on sysv.
        let live = try Ringbench.start(["pub", "live", "--directory", dir, "--count", "1M", "--capacity", "64K"])
        let killed = try Ringbench.start(["pub", "killed", "--directory", dir, "--backing", "sysv", "--count", "1M", "--capacity", "64K"])
        try "SHMRING1 but nothing else".write(toFile: scratch.file("broken"), atomically: false, encoding: .utf8)
        try "not ours".write(toFile: scratch.file("foreign"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: "/etc/passwd")
        // Both producers have filled their rings once ls shows them full.
        var listed: [[String: Any]] = []
        for _ in 0..<200 {
            listed = try entries(dir)
            if listed.filter({ ($0["fillPercent"] as? Double ?? 0) > 90 }).count == 2 { break }
            usleep(50_000)
        }
        kill(killed.pid, SIGKILL)
        _ = killed.wait()
        listed = try entries(dir)
        let byName = Dictionary(uniqueKeysWithValues: listed.map { ($0["name"] as? String ?? "?", $0) })
        XCTAssertEqual(Set(byName.keys), ["live", "killed", "broken"], "\(listed)")
        XCTAssertEqual(byName["live"]?["state"] as? String, "live")
        XCTAssertEqual(byName["live"]?["kind"] as? String, "record ring")
        XCTAssertEqual(byName["killed"]?["state"] as? String, "stale")
        XCTAssertEqual(byName["killed"]?["backing"] as? String, "sysv")
        XCTAssertEqual(byName["broken"]?["state"] as? String, "corrupt")
        let owners = byName["live"]?["owners"] as? [[String: Any]] ?? []
        XCTAssertTrue(owners.contains { $0["role"] as? String == "producer" && $0["alive"] as? Bool == true }, "\(owners)")

        let table = try Ringbench.run(["ls", "--directory", dir])
        XCTAssertEqual(table.status, 0)
        XCTAssertTrue(table.stdout.contains("corrupt"), table.stdout)

        let refused = try Ringbench.run(["rm", "live", "--directory", dir])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        let stale = try Ringbench.run(["rm", "--stale", "--directory", dir])
        XCTAssertEqual(stale.status, 0, stale.stderr)
        XCTAssertEqual(Set(try entries(dir).map { $0["name"] as? String ?? "?" }), ["live", "broken"])
        XCTAssertEqual(try Ringbench.run(["rm", "broken", "--directory", dir]).status, 1)
        XCTAssertEqual(try Ringbench.run(["rm", "broken", "--force", "--directory", dir]).status, 0)
        let forced = try Ringbench.run(["rm", "live", "--force", "--directory", dir])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        kill(live.pid, SIGKILL)
        _ = live.wait()
        XCTAssertEqual(try entries(dir).count, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("foreign")))
        XCTAssertEqual(try Ringbench.run(["rm", "nothing", "--directory", dir]).status, 1)
        XCTAssertEqual(IPCSnapshot.take().entries.filter { $0.hasPrefix("shm") || $0.hasPrefix("sem") },
                       before.entries.filter { $0.hasPrefix("shm") || $0.hasPrefix("sem") })
    }

    /// Our own ring made world-writable (chmod 666) is listed as "unsafe"
    /// with its kind and the reason endpoints refuse it, not as corrupt;
    /// `rm` removes it like any other.
    func testAWorldWritableRingIsListedAsUnsafeNotCorrupt() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.path
        XCTAssertEqual(try Ringbench.run(["pub", "open", "--directory", dir, "--count", "3"]).status, 0)
        XCTAssertEqual(chmod(scratch.file("open"), 0o666), 0)
        let listed = try entries(dir)
        XCTAssertEqual(listed.count, 1, "\(listed)")
        XCTAssertEqual(listed.first?["kind"] as? String, "record ring")
        XCTAssertEqual(listed.first?["state"] as? String, "waiting for consumer")
        XCTAssertTrue((listed.first?["problem"] as? String ?? "").hasPrefix("mode 666 lets group or others write it"), "\(listed)")
        let sub = try Ringbench.run(["sub", "open", "--directory", dir])
        XCTAssertEqual(sub.status, 1)
        XCTAssertTrue(sub.stderr.contains("mode 0666"), sub.stderr)
        let removed = try Ringbench.run(["rm", "open", "--directory", dir])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertEqual(try entries(dir).count, 0)
    }
}
