import Foundation
import TestSupport
import XCTest

/// The SPSC ring between two forked, pinned processes, through the real binary.
final class SPSCAcrossProcessesTests: XCTestCase {
    func testTenMillionMessagesArriveIntactOnEachNamedBacking() throws {
        for backing in ["sysv", "mmap"] {
            let running = try Ringbench.start(["run", "--transport", "spsc", "--backing", backing, "--messages", "10M",
                                               "--repeat", "1", "--warmup", "0", "--capacity", "1024", "--batch", "4",
                                               "--format", "json"])
            let r = running.wait()
            XCTAssertEqual(r.status, 0, r.stderr)
            let counts = integrity(of: r.json)
            XCTAssertEqual(counts.count, 1)
            XCTAssertEqual(counts.first?["sent"], 10_000_000)
            XCTAssertEqual(counts.first?["received"], 10_000_000)
            for field in ["lost", "duplicated", "reordered", "corrupt"] {
                XCTAssertEqual(counts.first?[field], 0, "\(backing): \(field)")
            }
            // What this run named after its pid or created (other tests run meanwhile).
            XCTAssertEqual(BadInputTests.namedObjects(of: running.pid), [], "\(backing) left IPC objects behind")
        }
    }

    func testPayloadsAreCheckedAtEverySize() throws {
        for (size, backing) in [("16", "anon"), ("1000", "mmap"), ("64K", "sysv")] {
            let r = try Ringbench.run(["run", "--backing", backing, "--message-size", size, "--messages", "3000",
                                       "--capacity", "8", "--repeat", "1", "--warmup", "0", "--format", "json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(integrity(of: r.json).first?["received"], 3000)
            XCTAssertEqual(integrity(of: r.json).first?["corrupt"], 0)
        }
    }

    func testRoundtripRecordsLatencies() throws {
        let r = try Ringbench.run(["run", "--mode", "roundtrip", "--messages", "20k", "--repeat", "2", "--warmup", "1",
                                   "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let run = (r.json?["runs"] as? [[String: Any]])?.first
        let latency = (run?["summary"] as? [String: Any])?["latencyNs"] as? [String: Any]
        XCTAssertEqual(latency?["kind"] as? String, "roundtrip")
        XCTAssertEqual((latency?["samples"] as? NSNumber)?.intValue, 40_000)
        XCTAssertGreaterThan((latency?["p50"] as? NSNumber)?.intValue ?? 0, 0)
        XCTAssertEqual(integrity(of: r.json).first?["received"], 40_000)
        XCTAssertEqual((run?["repetitions"] as? [Any])?.count, 2)
    }

    func testDurationBoundedRunsAndCSV() throws {
        let r = try Ringbench.run(["run", "--duration", "0.2", "--repeat", "1", "--warmup", "0", "--format", "csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("transport,backing,mode"))
        XCTAssertTrue(lines[1].hasPrefix("spsc,sysv,throughput"))
    }

    func testJSONDocumentShape() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-test-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try Ringbench.run(["run", "--messages", "100k", "--repeat", "1", "--warmup", "0", "--pin", "0,1",
                                   "--format", "json", "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        XCTAssertEqual(json?["schema"] as? String, "ringbench/result-v1")
        XCTAssertNotNil((json?["tool"] as? [String: Any])?["commit"])
        XCTAssertNotNil((json?["machine"] as? [String: Any])?["cpuModel"])
        let scenario = ((json?["runs"] as? [[String: Any]])?.first)?["scenario"] as? [String: Any]
        XCTAssertEqual(scenario?["transport"] as? String, "spsc")
        XCTAssertEqual(scenario?["messages"] as? Int, 100_000)
        let placement = scenario?["placement"] as? [[String: Any]]
        XCTAssertEqual(placement?.map { $0["role"] as? String }, ["producer", "consumer"])
        XCTAssertEqual(placement?.map { $0["cpu"] as? Int }, [0, 1])
    }
}
