import Foundation
import TestSupport
import XCTest

/// `ringbench compare`, `baseline` and the report exports, on hand-written
/// result files (nothing is measured, nothing forks).
final class CompareCommandTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch = nil }

    static func document(rates: [Double], cpus: Int = 2, cacheLineNs: Double = 70, transport: String = "spsc") -> [String: Any] {
        let median = rates.sorted()[rates.count / 2]
        let spread: [String: Any] = ["median": median, "min": rates.min()!, "max": rates.max()!, "cv": 0.01]
        return [
            "schema": "ringbench/result-v1",
            "tool": ["version": "0.1.0", "commit": "abc123"],
            "machine": ["cpuModel": "Test CPU", "cpus": cpus, "numaNodes": 1, "kernel": "6.1.0", "hostname": "t"],
            "probes": [
                "cacheLine": ["cpus": [0, 1], "statistic": "min", "samples": 1, "roundTripsPerSample": 1,
                              "roundTripNs": [[NSNull(), cacheLineNs], [cacheLineNs, NSNull()]],
                              "medianRoundTripNs": [[NSNull(), cacheLineNs], [cacheLineNs, NSNull()]],
                              "oneWayNs": [[NSNull(), cacheLineNs / 2], [cacheLineNs / 2, NSNull()]]],
                "memcpy": [["bytes": 4096, "bytesPerSecond": 1e10, "cpu": 0]],
                "wakeup": ["statistic": "median"], "clockReadNs": 20, "seconds": 0.5,
            ],
            "runs": [[
                "scenario": ["transport": transport, "backing": "sysv", "producers": 1, "consumers": 1, "messageSize": 64,
                             "duration": 0.1, "capacity": 4096, "batch": 1, "mode": "throughput",
                             "placement": [["role": "producer", "cpu": 0, "node": 0], ["role": "consumer", "cpu": 1, "node": 0]]],
                "repetitions": rates.map { ["seconds": 0.1, "messagesPerSecond": $0, "bytesPerSecond": $0 * 64] },
                "integrity": ["sent": 1, "received": 1, "lost": 0, "duplicated": 0, "reordered": 0, "corrupt": 0],
                "summary": ["messagesPerSecond": spread, "bytesPerSecond": spread],
            ]],
        ]
    }

    func write(_ name: String, _ object: Any) throws -> String {
        let path = scratch.file(name)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    func write(_ name: String, text: String) throws -> String {
        let path = scratch.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let base = [1.00e6, 1.01e6, 0.99e6, 1.02e6, 0.98e6, 1.005e6]
    static func scaled(_ f: Double) -> [Double] { base.map { $0 * f } }

    func testExitCodesNothingRegressedRegressionNotComparable() throws {
        let base = try write("base.json", Self.document(rates: Self.base))
        let same = try write("same.json", Self.document(rates: Self.scaled(1.01)))
        let slower = try write("slower.json", Self.document(rates: Self.scaled(0.8)))
        let otherMachine = try write("other.json", Self.document(rates: Self.base, cpus: 8))
        let otherState = try write("state.json", Self.document(rates: Self.scaled(0.4), cacheLineNs: 300))

        let ok = try Ringbench.run(["compare", base, same])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("no regression"), ok.stdout)

        let regressed = try Ringbench.run(["compare", base, slower, "--format", "json"])
        XCTAssertEqual(regressed.status, 2, regressed.stderr)
        XCTAssertEqual(regressed.json?["status"] as? String, "regressed")
        XCTAssertTrue(regressed.stderr.isEmpty, regressed.stderr)
        // A 20 % threshold lets the same 20 % drop pass.
        XCTAssertEqual(try Ringbench.run(["compare", base, slower, "--threshold", "25"]).status, 0)

        let machines = try Ringbench.run(["compare", base, otherMachine])
        XCTAssertEqual(machines.status, 3)
        XCTAssertTrue(machines.stdout.contains("different machines"), machines.stdout)
        XCTAssertEqual(try Ringbench.run(["compare", base, otherMachine, "--allow-different-machines"]).status, 0)

        let state = try Ringbench.run(["compare", base, otherState, "--format", "markdown"])
        XCTAssertEqual(state.status, 3, state.stdout)
        XCTAssertTrue(state.stdout.contains("cacheLineRoundTripNs"), state.stdout)
    }

    func testBadInputIsOneLineAndExitsOne() throws {
        let base = try write("base.json", Self.document(rates: Self.base))
        let cases: [([String], String)] = [
            (["compare", base, scratch.file("missing.json")], "missing.json: no such file or directory"),
            (["compare", base, try write("garbage.json", text: "{not json")], "is not a ringbench results file (not JSON"),
            (["compare", base, try write("probes.json", ["schema": "ringbench/probes-v1"])], "has schema 'ringbench/probes-v1'"),
            (["compare", base, try write("truncated.json", ["schema": "ringbench/result-v1", "tool": ["version": "1", "commit": "x"]])],
             "missing field machine"),
            (["compare", base], "Missing expected argument"),
            (["compare", base, base, "--threshold=-1"], "--threshold must be"),
            (["compare", base, base, "--state-tolerance", "0"], "--state-tolerance must be"),
            (["compare", base, base, "--format", "yaml"], "yaml"),
        ]
        for (arguments, expected) in cases {
            let r = try Ringbench.run(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
    }

    func testDirectoriesArePooled() throws {
        let a = scratch.file("a"), b = scratch.file("b")
        try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: b, withIntermediateDirectories: false)
        for i in 0..<3 {
            _ = try write("a/round-\(i).json", Self.document(rates: Array(Self.base[(2 * i)..<(2 * i + 2)])))
            _ = try write("b/round-\(i).json", Self.document(rates: Array(Self.scaled(0.7)[(2 * i)..<(2 * i + 2)])))
        }
        let r = try Ringbench.run(["compare", a, b, "--format", "json"])
        XCTAssertEqual(r.status, 2, r.stderr)
        let result = try XCTUnwrap((r.json?["results"] as? [[String: Any]])?.first)
        XCTAssertEqual((result["base"] as? [String: Any])?["n"] as? Int, 6)
        XCTAssertEqual(result["method"] as? String, "mann-whitney-exact")
    }

    func testBaselineSaveListCompareDelete() throws {
        let dir = scratch.file("baselines")
        let base = try write("base.json", Self.document(rates: Self.base))
        let slower = try write("slower.json", Self.document(rates: Self.scaled(0.8)))
        let save = try Ringbench.run(["baseline", "save", "main", base, "--baselines-dir", dir])
        XCTAssertEqual(save.status, 0, save.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/test-cpu-2cpu-1node-6.1/main.json"))
        let list = try Ringbench.run(["baseline", "list"], environment: ["RINGBENCH_BASELINES": dir])
        XCTAssertEqual(list.status, 0)
        XCTAssertTrue(list.stdout.contains("test-cpu-2cpu-1node-6.1") && list.stdout.contains("main"), list.stdout)
        XCTAssertEqual(try Ringbench.run(["baseline", "compare", "main", base, "--baselines-dir", dir]).status, 0)
        XCTAssertEqual(try Ringbench.run(["baseline", "compare", "main", slower, "--baselines-dir", dir]).status, 2)
        // No baseline for this machine: not comparable (3), as documented, not an error.
        let missing = try Ringbench.run(["baseline", "compare", "nope", base, "--baselines-dir", dir])
        XCTAssertEqual(missing.status, 3)
        XCTAssertTrue(missing.stderr.contains("no baseline 'nope'"), missing.stderr)
        let badName = try Ringbench.run(["baseline", "save", "../x", base, "--baselines-dir", dir])
        XCTAssertEqual(badName.status, 1)
        let delete = try Ringbench.run(["baseline", "delete", "main", "--machine", "test-cpu-2cpu-1node-6.1", "--baselines-dir", dir])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/test-cpu-2cpu-1node-6.1"))
    }

    func testReportExports() throws {
        let file = try write("r.json", Self.document(rates: Self.base))
        let gab = try Ringbench.run(["report", file, "--format", "github-action-benchmark"])
        XCTAssertEqual(gab.status, 0, gab.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(gab.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(entries.first?["unit"] as? String, "msgs/s")
        let bmf = try Ringbench.run(["report", file, "--format", "bmf"])
        let measures = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bmf.stdout.utf8)) as? [String: [String: [String: Double]]])
        XCTAssertEqual(measures.values.first?["throughput"]?["value"], 1.005e6, "the summary median")
        let html = try Ringbench.run(["report", file, file, "--format", "html"])
        XCTAssertEqual(html.status, 0, html.stderr)
        XCTAssertTrue(html.stdout.contains("<svg class=\"chart trend\""))
        let many = try Ringbench.run(["report", file, file, "--format", "bmf"])
        XCTAssertEqual(many.status, 2)
        XCTAssertEqual(many.stderr.split(separator: "\n").count, 1, many.stderr)
    }

    /// `document` with one run per cache-line pair (before, after), each a
    /// scenario of its own (message sizes 64, 128, ...), with its own hostState.
    static func document(rates: [Double], hostLines: [(Double, Double)], cacheLineNs: Double = 70) -> [String: Any] {
        var d = document(rates: rates, cacheLineNs: cacheLineNs)
        let template = (d["runs"] as! [[String: Any]])[0]
        d["runs"] = hostLines.enumerated().map { i, line in
            var run = template
            var scenario = run["scenario"] as! [String: Any]
            scenario["messageSize"] = 64 << i
            run["scenario"] = scenario
            run["hostState"] = ["cpus": [0, 1], "cacheLineBeforeNs": line.0, "cacheLineAfterNs": line.1,
                                "steady": max(line.0, line.1) <= 1.5 * min(line.0, line.1)]
            return run
        }
        return d
    }

    // Issue 20, defect 7: a latency export of a throughput-only file fails with a message.
    func testLatencyExportOfAThroughputOnlyFileFails() throws {
        let file = try write("r.json", Self.document(rates: Self.base))
        let latency = try Ringbench.run(["report", file, "--format", "github-action-benchmark-latency"])
        XCTAssertEqual(latency.status, 1, latency.stdout)
        XCTAssertEqual(latency.stderr.split(separator: "\n").count, 1, latency.stderr)
        XCTAssertTrue(latency.stderr.contains("no round-trip latency"), latency.stderr)
        XCTAssertFalse(latency.stdout.contains("[]"))
    }

    // Issue 20, defect 4: a baseline measured mostly in the slow host state is refused.
    func testBaselineSaveRefusesASlowStateBaselineAndListsUsableRuns() throws {
        let dir = scratch.file("baselines")
        let slow = try write("slow.json", Self.document(rates: Self.base, hostLines: [(300, 305), (302, 300), (299, 301), (51, 52)],
                                                        cacheLineNs: 51))
        let refused = try Ringbench.run(["baseline", "save", "main", slow, "--baselines-dir", dir])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("only 1 of 4"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/test-cpu-2cpu-1node-6.1/main.json"))
        let forced = try Ringbench.run(["baseline", "save", "main", slow, "--baselines-dir", dir, "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("warning"), forced.stderr)
        let runs = try String(contentsOfFile: dir + "/test-cpu-2cpu-1node-6.1/main.runs.txt", encoding: .utf8)
        XCTAssertEqual(runs.components(separatedBy: "slow-state").count - 1, 3, runs)
        XCTAssertEqual(runs.components(separatedBy: "usable\t").count - 1, 1, runs)
        let fast = try write("fast.json", Self.document(rates: Self.base, hostLines: [(51, 52), (52, 51), (300, 51)], cacheLineNs: 51))
        let saved = try Ringbench.run(["baseline", "save", "fast", fast, "--baselines-dir", dir])
        XCTAssertEqual(saved.status, 0, saved.stderr)
        XCTAssertTrue(saved.stdout.contains("2 usable"), saved.stdout)
    }

    // Issue 20, defect 5: one-repetition files cannot fail, and compare says so with its own exit status.
    func testOneRepetitionFilesAreNotEnoughEvidence() throws {
        let base = try write("base.json", Self.document(rates: [1e6]))
        let slower = try write("slower.json", Self.document(rates: [0.6e6]))
        let result = try Ringbench.run(["compare", base, slower])
        XCTAssertEqual(result.status, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("NOT ENOUGH EVIDENCE"), result.stdout)
        XCTAssertTrue(result.stdout.contains("cannot fail"), result.stdout)
        XCTAssertTrue(result.stdout.contains("-40.0% (inconclusive)"), result.stdout)
        XCTAssertEqual(try Ringbench.run(["compare", base, slower, "--min-judged", "0"]).status, 0)
    }
}
