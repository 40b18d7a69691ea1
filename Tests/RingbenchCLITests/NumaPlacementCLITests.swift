import Foundation
import XCTest

/// The placement flags through the executable, on whatever machine runs the
/// tests: node 0 always exists and works; a node beyond the last is refused
/// in one line before anything runs. (Every node combination is checked on
/// an emulated two-node machine by `make numa-check`.)
final class NumaPlacementCLITests: XCTestCase {
    /// Online nodes of this machine, from sysfs (node 0 only without it).
    var nodeCount: Int {
        let online = (try? String(contentsOfFile: "/sys/devices/system/node/online", encoding: .utf8)) ?? "0"
        let last = online.split(whereSeparator: { $0 == "," || $0 == "-" }).compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.max() ?? 0
        return last + 1
    }

    func testNodeZeroWorksAndTheResultRecordsPlacement() throws {
        let result = try Ringbench.run(["run", "--transport", "spsc", "--messages", "20k", "--repeat", "1", "--warmup", "0", "--no-probes",
                                        "--producer-node", "0", "--consumer-node", "0", "--memory-node", "0", "--strict-placement",
                                        "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let runs = try XCTUnwrap(result.json?["runs"] as? [[String: Any]])
        let placement = try XCTUnwrap(runs.first?["placement"] as? [String: Any])
        XCTAssertEqual(placement["matches"] as? Bool, true)
        let requested = try XCTUnwrap(placement["requested"] as? [String: Any])
        XCTAssertEqual(requested["producerNode"] as? Int, 0)
        XCTAssertEqual(requested["memoryNode"] as? String, "0")
        XCTAssertEqual((placement["memoryPolicy"] as? [String: Any])?["nodes"] as? [Int], [0])
        let pages = try XCTUnwrap(placement["pages"] as? [String: Any])
        let total = try XCTUnwrap(pages["pages"] as? Int)
        XCTAssertGreaterThan(total, 0)
        XCTAssertEqual((pages["byNode"] as? [String: Int])?["0"], total)
        let processes = try XCTUnwrap(placement["processes"] as? [[String: Any]])
        XCTAssertEqual(processes.count, 2)
        for process in processes {
            let ran = try XCTUnwrap(process["ran"] as? [String: Any])
            XCTAssertEqual(ran["node"] as? Int, 0)
            XCTAssertEqual(ran["cpu"] as? Int, process["plannedCPU"] as? Int)
        }
        let machine = try XCTUnwrap(result.json?["machine"] as? [String: Any])
        let nodes = try XCTUnwrap(machine["nodes"] as? [[String: Any]])
        XCTAssertEqual(nodes.first?["id"] as? Int, 0)
        XCTAssertEqual((nodes.first?["distances"] as? [Int])?.first, 10)
    }

    func testOtherMemoryModesOnOneNode() throws {
        for mode in ["local-producer", "local-consumer", "interleave"] {
            let result = try Ringbench.run(["run", "--transport", "spsc", "--backing", "mmap", "--messages", "10k", "--repeat", "1",
                                            "--warmup", "0", "--no-probes", "--memory-node", mode, "--strict-placement", "--format", "json"])
            XCTAssertEqual(result.status, 0, "\(mode): \(result.stderr)")
        }
    }

    func testANodeBeyondTheLastIsRefusedInOneLine() throws {
        let missing = nodeCount
        for flag in ["--producer-node", "--consumer-node", "--memory-node"] {
            let result = try Ringbench.run(["run", "--messages", "1k", "--no-probes", flag, "\(missing)"])
            XCTAssertEqual(result.status, 2, flag)
            XCTAssertEqual(result.stdout, "", flag)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("\(flag) \(missing): no such NUMA node"), result.stderr)
        }
    }

    func testMemoryNodeNeedsSharedMemoryAndAValidValue() throws {
        let pipe = try Ringbench.run(["run", "--transport", "pipe", "--messages", "1k", "--no-probes", "--memory-node", "0"])
        XCTAssertEqual(pipe.status, 2)
        XCTAssertTrue(pipe.stderr.contains("pipe has none"), pipe.stderr)
        let bad = try Ringbench.run(["run", "--messages", "1k", "--no-probes", "--memory-node", "near"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--memory-node takes a node number"), bad.stderr)
    }

    func testTheStudyRunsTheLocalPlacementAndPrintsNoFiguresWithPlacementOnly() throws {
        let result = try Ringbench.run(["numa", "--duration", "0.02", "--repeat", "1", "--warmup", "0", "--no-probes",
                                        "--placement-only", "--strict-placement"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("spsc throughput 64 KiB"), result.stdout)
        XCTAssertFalse(result.stdout.contains("msgs/s"), "placement-only prints no figures")
        XCTAssertFalse(result.stdout.contains("MISMATCH"), result.stdout)
    }
}
