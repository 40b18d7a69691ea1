import Foundation
import TestSupport
import XCTest

/// The record ring between two forked processes, through the real binary:
/// every record's length, sequence number, checksum and bytes are checked,
/// and nothing is left in ipcs or /dev/shm.
final class RecordsTransportTests: XCTestCase {
    func testVariableLengthRecordsArriveIntactAndNothingIsLeft() throws {
        let cases: [(backing: String, sizes: String, maximum: String, mode: String, wait: String?)] = [
            ("sysv", "uniform", "4K", "throughput", nil),
            ("mmap", "log-uniform", "64K", "throughput", "park"),
            ("anon", "fixed", "64", "throughput", "yield"),
            ("mmap", "uniform", "1K", "roundtrip", "park"),
            ("anon", "uniform", "256", "roundtrip", "backoff"),
        ]
        for c in cases {
            let before = IPCSnapshot.take()
            var arguments = ["run", "--transport", "records", "--backing", c.backing, "--record-sizes", c.sizes,
                             "--seed", "99", "--message-size", c.maximum, "--mode", c.mode, "--messages", "20k",
                             "--capacity", "16", "--batch", c.mode == "roundtrip" ? "1" : "4",
                             "--repeat", "1", "--warmup", "0", "--no-probes", "--format", "json"]
            if let wait = c.wait { arguments += ["--wait", wait] }
            let r = try Ringbench.run(arguments)
            XCTAssertEqual(r.status, 0, "\(c): \(r.stderr)")
            let counts = r.integrity
            XCTAssertEqual(counts?["received"], 20_000, "\(c)")
            for field in ["lost", "duplicated", "reordered", "corrupt"] {
                XCTAssertEqual(counts?[field], 0, "\(c): \(field)")
            }
            let scenario = ((r.json?["runs"] as? [[String: Any]])?.first?["scenario"]) as? [String: Any]
            XCTAssertEqual(scenario?["recordSizes"] as? String, c.sizes)
            XCTAssertEqual((scenario?["seed"] as? NSNumber)?.intValue, 99)
            XCTAssertEqual(scenario?["wait"] as? String, c.wait)
            XCTAssertEqual(IPCSnapshot.take(), before, "\(c) left IPC objects behind")
        }
    }

    func testRecordOptionsAreCheckedBeforeRunning() throws {
        for (arguments, expected) in [
            (["--transport", "pipe", "--record-sizes", "uniform", "--message-size", "64"], "records"),
            (["--transport", "records", "--record-sizes", "zipf"], "zipf"),
            (["--transport", "pipe", "--wait", "park"], "--wait"),
            (["--transport", "spsc", "--wait", "snooze"], "snooze"),
        ] {
            let r = try Ringbench.run(["run"] + arguments + ["--messages", "1k", "--no-probes"])
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }
}
