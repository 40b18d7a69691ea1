import Foundation
import XCTest

/// Launches the built `ringbench` (never forks in the test process) and checks
/// what `probe` and the suite write. Timing is never asserted: only shape,
/// presence and sign.
final class ProbeCommandTests: XCTestCase {
    /// Checks the probes object: an NxN matrix over `cpus`, nil diagonal,
    /// positive symmetric cells, four memcpy sizes, wake-up figures.
    func checkProbes(_ probes: [String: Any]?, file: StaticString = #filePath, line: UInt = #line) throws {
        let probes = try XCTUnwrap(probes, file: file, line: line)
        let cacheLine = try XCTUnwrap(probes["cacheLine"] as? [String: Any], file: file, line: line)
        let cpus = try XCTUnwrap(cacheLine["cpus"] as? [Int], file: file, line: line)
        XCTAssertFalse(cpus.isEmpty, file: file, line: line)
        XCTAssertEqual(cacheLine["statistic"] as? String, "min", file: file, line: line)
        for key in ["roundTripNs", "medianRoundTripNs", "oneWayNs", "twoLineRoundTripNs"] {
            let matrix = try XCTUnwrap(cacheLine[key] as? [[Any]], key, file: file, line: line)
            XCTAssertEqual(matrix.count, cpus.count, key, file: file, line: line)
            for (i, row) in matrix.enumerated() {
                XCTAssertEqual(row.count, cpus.count, key, file: file, line: line)
                for (j, cell) in row.enumerated() {
                    if i == j {
                        XCTAssertTrue(cell is NSNull, "\(key)[\(i)][\(j)] should be null", file: file, line: line)
                    } else {
                        let value = try XCTUnwrap(cell as? Double, "\(key)[\(i)][\(j)]", file: file, line: line)
                        XCTAssertGreaterThan(value, 0, file: file, line: line)
                        XCTAssertEqual(value, matrix[j][i] as? Double, "symmetric", file: file, line: line)
                    }
                }
            }
        }
        let memcpy = try XCTUnwrap(probes["memcpy"] as? [[String: Any]], file: file, line: line)
        XCTAssertEqual(memcpy.compactMap { $0["bytes"] as? Int }, [4096, 65536, 1 << 20, 64 << 20], file: file, line: line)
        XCTAssertTrue(memcpy.allSatisfy { ($0["bytesPerSecond"] as? Double ?? 0) > 0 }, file: file, line: line)
        let wakeup = try XCTUnwrap(probes["wakeup"] as? [String: Any], file: file, line: line)
        let same = try XCTUnwrap(wakeup["sameCPU"] as? [String: Any], file: file, line: line)
        XCTAssertGreaterThan(same["wakeupNs"] as? Double ?? 0, 0, file: file, line: line)
        XCTAssertEqual(same["cpus"] as? [Int], [cpus[0], cpus[0]], file: file, line: line)
        if cpus.count > 1 {
            let cross = try XCTUnwrap(wakeup["crossCPU"] as? [String: Any], file: file, line: line)
            XCTAssertGreaterThan(cross["wakeupNs"] as? Double ?? 0, 0, file: file, line: line)
            XCTAssertEqual(cross["cpus"] as? [Int], [cpus[0], cpus[1]], file: file, line: line)
        } else {
            XCTAssertNil(wakeup["crossCPU"], file: file, line: line)
        }
        XCTAssertGreaterThan(probes["clockReadNs"] as? Double ?? 0, 0, file: file, line: line)
    }

    func testProbeJSONHasAMatrixOverEveryAvailableCPU() throws {
        let result = try Ringbench.run(["probe", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(result.json, result.stdout)
        XCTAssertEqual(json["schema"] as? String, "ringbench/probes-v1")
        try checkProbes(json["probes"] as? [String: Any])
        let cpus = ((json["probes"] as? [String: Any])?["cacheLine"] as? [String: Any])?["cpus"] as? [Int] ?? []
        XCTAssertEqual(cpus.count, ProcessInfo.processInfo.activeProcessorCount)
    }

    func testProbeOnOneCPUIsAWellFormedOneByOneMatrix() throws {
        let result = try Ringbench.run(["probe", "--pin", "0", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let probes = result.json?["probes"] as? [String: Any]
        try checkProbes(probes)
        XCTAssertEqual((probes?["cacheLine"] as? [String: Any])?["cpus"] as? [Int], [0])
    }

    func testProbeCSVAndTable() throws {
        let csv = try Ringbench.run(["probe", "--pin", "0", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertTrue(csv.stdout.hasPrefix("probe,cpu_a,cpu_b,bytes,statistic,value,unit\n"), csv.stdout)
        XCTAssertTrue(csv.stdout.contains("memcpy,0,,67108864,max,"), csv.stdout)
        let table = try Ringbench.run(["probe", "--pin", "0"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("cache-line round trip"), table.stdout)
        XCTAssertTrue(table.stdout.contains("futex wake-up"), table.stdout)
        // Both probes on two CPUs, the two-line one included.
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        let pair = try Ringbench.run(["probe", "--pin", "0,1", "--format", "csv"])
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertTrue(pair.stdout.contains("two_line_round_trip,0,1,,min,"), pair.stdout)
        let pairTable = try Ringbench.run(["probe", "--pin", "0,1"])
        XCTAssertTrue(pairTable.stdout.contains("round trip over two lines"), pairTable.stdout)
    }

    /// `--settle` runs: the run carries its own probes (and a `settle:` note
    /// only if the host was in a slower state than the first probe's).
    func testSettleRunsWithTheRunsOwnProbes() throws {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        let result = try Ringbench.run(["run", "--transport", "spsc", "--messages", "10k", "--repeat", "1", "--warmup", "0",
                                        "--settle", "2", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let run = (result.json?["runs"] as? [[String: Any]])?.first
        XCTAssertNotNil(run?["hostState"] as? [String: Any])
        for note in run?["notes"] as? [String] ?? [] where note.hasPrefix("settle:") {
            XCTAssertTrue(note.contains("fastest host state seen"), note)
        }
    }

    func testProbeRejectsAnUnavailableCPU() throws {
        let result = try Ringbench.run(["probe", "--pin", "4095"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testQuickSuiteJSONCarriesProbesAndEfficiency() throws {
        let result = try Ringbench.run(["suite", "--quick", "--transports", "spsc", "--sizes", "8", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        // Progress goes to a terminal only; here stderr is a pipe.
        XCTAssertEqual(result.stderr, "")
        let json = try XCTUnwrap(result.json, result.stdout)
        try checkProbes(json["probes"] as? [String: Any])
        let runs = try XCTUnwrap(json["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 6) // sysv, mmap and sysv with --wait park; throughput and roundtrip
        for run in runs {
            let scenario = run["scenario"] as? [String: Any]
            XCTAssertEqual(scenario?["transport"] as? String, "spsc")
            XCTAssertEqual(scenario?["messageSize"] as? Int, 8)
            XCTAssertNotNil(scenario?["duration"] as? Double)
            let efficiency = try XCTUnwrap(run["efficiency"] as? [String: Any], "\(run)")
            XCTAssertGreaterThan(efficiency["fraction"] as? Double ?? 0, 0)
            XCTAssertGreaterThan(efficiency["limitValue"] as? Double ?? 0, 0)
            let expected = scenario?["mode"] as? String == "roundtrip" ? "cacheLineRoundTrip" : "memcpy"
            XCTAssertEqual(efficiency["limit"] as? String, expected)
            XCTAssertNil(run["versusPipe"], "no pipe run in this document")
        }
    }

    func testSuiteTableHasRatioAndEfficiencyColumns() throws {
        let result = try Ringbench.run(["suite", "--quick", "--transports", "spsc", "--sizes", "8"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for text in ["vs pipe", "efficiency", "limits: cache-line round trip", "throughput (fastest first)",
                     "roundtrip (lowest p50 first)"] {
            XCTAssertTrue(result.stdout.contains(text), "missing '\(text)' in\n\(result.stdout)")
        }
    }

    func testNoProbesLeavesProbesOut() throws {
        let result = try Ringbench.run(["run", "--messages", "1000", "--repeat", "1", "--warmup", "0", "--no-probes", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(result.json, result.stdout)
        XCTAssertNil(json["probes"])
        XCTAssertNil((json["runs"] as? [[String: Any]])?.first?["efficiency"])
    }

    func testSuiteRejectsUnknownTransportsAndBadSizesInOneLine() throws {
        for arguments in [["suite", "--quick", "--transports", "spsc,nope"], ["suite", "--quick", "--sizes", "4"],
                          ["suite", "--quick", "--sizes", "8,lots"]] {
            let result = try Ringbench.run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
        XCTAssertTrue(try Ringbench.run(["suite", "--transports", "nope"]).stderr.contains("unknown transport 'nope'"))
    }
}
