import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The ring's rivals (boost-spsc, ck-spsc, ck-mpmc, boost-mq) through the
/// built `ringbench`: every message intact in both modes, several producers
/// and consumers where the rival allows them, refusals in one line before
/// any fork, and nothing left in ipcs or /dev/shm. Correctness only.
final class RivalTransportTests: XCTestCase {
    static let rivals = ["boost-spsc", "ck-spsc", "ck-mpmc", "boost-mq"]

    func testEveryRivalDeliversEveryMessageIntactInBothModes() throws {
        let before = IPCSnapshot.take()
        for transport in Self.rivals {
            for size in ["8", "64", "1024"] {
                try assertCleanRivalRun(transport, ["--mode", "throughput", "--message-size", size, "--batch", "3"])
                try assertCleanRivalRun(transport, ["--mode", "roundtrip", "--message-size", size], messages: 3_000)
            }
        }
        XCTAssertEqual(before.leftovers(), [], "the rivals left IPC objects or /dev/shm entries behind")
    }

    func testMultiProcessRivalsAccountForEveryMessage() throws {
        for transport in ["ck-mpmc", "boost-mq"] {
            try assertCleanRivalRun(transport, ["--producers", "2", "--consumers", "2", "--batch", "8", "--message-size", "64"])
        }
    }

    func testBoostMessageQueueCarriesLargeMessagesAndRemovesItsNames() throws {
        try assertCleanRivalRun("boost-mq", ["--message-size", "64K", "--capacity", "64"], messages: 500)
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [])
            .filter { $0.contains("ringbench-") && $0.contains("bmq") }
        XCTAssertEqual(leftovers, [], "boost-mq names must be removed")
    }

    func testBoostMessageQueueNamesGoOnSIGTERM() throws {
        let before = IPCSnapshot.take()
        let running = try Ringbench.start(["run", "--transport", "boost-mq", "--duration", "60", "--repeat", "1",
                                           "--warmup", "0", "--no-probes"])
        let deadline = Date().addingTimeInterval(20)
        while !Self.hasQueueNames(), Date() < deadline { usleep(20_000) }
        XCTAssertTrue(Self.hasQueueNames(), "the run never created its queues")
        usleep(200_000)
        kill(running.pid, SIGTERM)
        let result = running.wait()
        XCTAssertEqual(result.status, 143, result.stderr)
        XCTAssertEqual(before.leftovers(), [], "boost-mq left names after SIGTERM")
    }

    func testUnsupportedScenariosAreRefusedInOneLine() throws {
        let cases: [[String]] = [
            ["run", "--transport", "boost-spsc", "--message-size", "16"],
            ["run", "--transport", "ck-spsc", "--message-size", "64K"],
            ["run", "--transport", "boost-spsc", "--producers", "2"],
            ["run", "--transport", "ck-spsc", "--consumers", "2"],
        ]
        for args in cases {
            let result = try Ringbench.run(args + ["--messages", "10", "--no-probes"])
            XCTAssertEqual(result.status, 2, "\(args): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(args): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
    }

    static func hasQueueNames() -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []).contains { $0.contains("bmq") }
    }

    func assertCleanRivalRun(_ transport: String, _ extra: [String], messages: Int = 20_000,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-rival-\(getpid())-\(transport).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let args = ["run", "--transport", transport, "--messages", "\(messages)", "--repeat", "1", "--warmup", "0",
                    "--no-probes", "--format", "json", "--output", output.path] + extra
        let result = try Ringbench.run(args)
        let what = "\(transport) \(extra.joined(separator: " "))"
        XCTAssertEqual(result.status, 0, "\(what): \(result.stderr)", file: file, line: line)
        guard result.status == 0 else { return }
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any]
        let run = (document?["runs"] as? [[String: Any]])?.first
        let integrity = run?["integrity"] as? [String: Any]
        let producers = Int(extra.firstIndex(of: "--producers").map { extra[$0 + 1] } ?? "1") ?? 1
        XCTAssertEqual(integrity?["sent"] as? Int, messages * producers, what, file: file, line: line)
        XCTAssertEqual(integrity?["received"] as? Int, messages * producers, what, file: file, line: line)
        for key in ["lost", "duplicated", "reordered", "corrupt"] {
            XCTAssertEqual(integrity?[key] as? Int, 0, "\(what): \(key)", file: file, line: line)
        }
    }
}
