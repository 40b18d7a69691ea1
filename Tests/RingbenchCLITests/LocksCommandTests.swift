import Foundation
import TestSupport
import XCTest

/// `ringbench locks` end to end: every test launches the built executable
/// (the test process never forks) and checks its exit status, its one-line
/// error or its JSON. Timing is never asserted.
final class LocksCommandTests: XCTestCase {
    static let recoverable = ["sysv-sem", "pthread-mutex", "fcntl", "flock"]
    static let unrecoverable = ["futex", "tas", "ttas", "ticket", "posix-sem"]
    static let allKinds = recoverable + unrecoverable

    func testEveryLockKeepsMutualExclusionWithTwoToFourProcesses() throws {
        for (i, kind) in Self.allKinds.enumerated() {
            let processes = 2 + i % 3
            let result = try runLocks(["--lock", kind, "--processes", "\(processes)", "--critical-ns", i % 2 == 0 ? "0" : "200"])
            XCTAssertEqual(result.status, 0, "\(kind): \(result.stderr)")
            let run = try lockRun(result.stdout)
            let exclusion = try XCTUnwrap(run["mutualExclusion"] as? [String: Any])
            XCTAssertEqual(exclusion["verified"] as? Bool, true, kind)
            let acquisitions = try XCTUnwrap(exclusion["acquisitions"] as? Int)
            XCTAssertGreaterThan(acquisitions, 0, kind)
            XCTAssertEqual(exclusion["protectedCounter"] as? Int, acquisitions, kind)
            let repetition = try XCTUnwrap((run["repetitions"] as? [[String: Any]])?.first)
            let perProcess = try XCTUnwrap(repetition["perProcessAcquisitions"] as? [Int])
            XCTAssertEqual(perProcess.count, processes, kind)
            XCTAssertEqual(perProcess.reduce(0, +), acquisitions, kind)
            let fairness = try XCTUnwrap(repetition["fairness"] as? Double)
            XCTAssertTrue(fairness > 0 && fairness <= 1.0000001, "\(kind): fairness \(fairness)")
            let latency = try XCTUnwrap((run["summary"] as? [String: Any])?["acquireLatencyNs"] as? [String: Any])
            XCTAssertEqual(latency["kind"] as? String, "acquire", kind)
            if processes > ProcessInfo.processInfo.activeProcessorCount {
                let notes = (run["notes"] as? [String]) ?? []
                XCTAssertTrue(notes.contains { $0.hasPrefix("oversubscribed") }, "\(kind): \(notes)")
            }
        }
    }

    func testNoLockFailsTheExclusionCheck() throws {
        // The unprotected control: two processes on two CPUs lose increments.
        let result = try runLocks(["--lock", "none", "--processes", "2", "--duration", "0.5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("mutual exclusion violated by lock 'none'"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stdout.isEmpty, "a violation is a failure, not a number")
    }

    func testRecoverableLocksSurviveAKilledHolder() throws {
        for kind in Self.recoverable {
            let result = try runLocks(["--lock", kind, "--processes", "3", "--duration", "0.6", "--kill-holder-after", "0.2"])
            XCTAssertEqual(result.status, 0, "\(kind): \(result.stderr)")
            let run = try lockRun(result.stdout)
            let repetition = try XCTUnwrap((run["repetitions"] as? [[String: Any]])?.first)
            let killed = try XCTUnwrap(repetition["killedHolder"] as? [String: Any], kind)
            XCTAssertEqual(killed["worker"] as? Int, 0, kind)
            XCTAssertGreaterThan(killed["acquisitions"] as? Int ?? 0, 0, kind)
            if kind == "pthread-mutex" { XCTAssertEqual(killed["ownerDeathsRecovered"] as? Int, 1) }
            let notes = (run["notes"] as? [String]) ?? []
            XCTAssertTrue(notes.contains { $0.contains("holder was killed") && $0.contains("recovered") }, "\(kind): \(notes)")
            // Survivors kept acquiring after the death.
            let perProcess = try XCTUnwrap(repetition["perProcessAcquisitions"] as? [Int])
            XCTAssertGreaterThan(perProcess[1] + perProcess[2], 0, kind)
            let exclusion = try XCTUnwrap(run["mutualExclusion"] as? [String: Any])
            XCTAssertEqual(exclusion["protectedCounter"] as? Int, exclusion["acquisitions"] as? Int, kind)
        }
    }

    func testUnrecoverableLocksReportTheDeadOwner() throws {
        for kind in Self.unrecoverable {
            let result = try runLocks(["--lock", kind, "--processes", "2", "--duration", "5", "--kill-holder-after", "0.2"])
            XCTAssertEqual(result.status, 1, "\(kind): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(kind): \(result.stderr)")
            XCTAssertNotNil(lines.first?.range(of: #"lock owner PID [0-9]+ died while holding the lock"#, options: .regularExpression),
                            "\(kind): \(result.stderr)")
        }
    }

    func testBadInputExitsNonZeroWithOneLine() throws {
        let cases: [([String], String)] = [
            (["--lock", "bogus"], "unknown lock 'bogus'"),
            (["--lock", "futex", "--processes", "0"], "--processes"),
            (["--lock", "futex", "--critical-ns", "-5"], "--critical-ns"),
            (["--lock", "futex", "--critical-ns=-1"], "--critical-ns"),
            (["--lock", "futex", "--kill-holder-after", "0.5", "--duration", "0.2"], "--kill-holder-after"),
            (["--lock", "futex", "--processes", "1", "--kill-holder-after", "0.1"], "at least 2 processes"),
            (["--lock", "futex", "--latency-sample", "0"], "--latency-sample"),
        ]
        for (arguments, expected) in cases {
            let result = try Ringbench.run(["locks"] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }

    func testTableAndCSVShowLockRuns() throws {
        let table = try runLocks(["--lock", "ticket", "--processes", "2", "--format", "table"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("ticket"), table.stdout)
        XCTAssertTrue(table.stdout.contains("fairness"), table.stdout)
        let csv = try runLocks(["--lock", "flock", "--processes", "2", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let lines = csv.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, csv.stdout)
        XCTAssertTrue(lines[0].hasPrefix("lock,processes,critical_ns"), csv.stdout)
        XCTAssertTrue(lines[1].hasPrefix("flock,2,0,"), csv.stdout)
    }

    func testNothingIsLeftBehind() throws {
        // A private TMPDIR: the lock files' directories must be gone from it.
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-locks-test-\(getpid())")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: temp) }
        let environment = ["TMPDIR": temp.path]
        let before = IPCSnapshot.take()
        for kind in ["sysv-sem", "fcntl", "flock", "posix-sem", "pthread-mutex"] {
            XCTAssertEqual(try runLocks(["--lock", kind, "--processes", "2"], environment: environment).status, 0, kind)
        }
        for kind in ["futex", "fcntl", "sysv-sem"] {
            _ = try runLocks(["--lock", kind, "--processes", "2", "--duration", "0.5", "--kill-holder-after", "0.1"],
                             environment: environment)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path), [])
        XCTAssertEqual(before.leftovers(), [], "IPC objects left behind")
    }

    // MARK: Helpers

    /// A short lock run with JSON output unless the arguments say otherwise.
    func runLocks(_ arguments: [String], environment: [String: String] = [:]) throws -> Ringbench.Result {
        var full = ["locks", "--repeat", "1", "--warmup", "0"]
        if !arguments.contains("--duration") { full += ["--duration", "0.2"] }
        if !arguments.contains("--format") { full += ["--format", "json"] }
        return try Ringbench.run(full + arguments, environment: environment)
    }

    func lockRun(_ json: String) throws -> [String: Any] {
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(document["schema"] as? String, "ringbench/result-v1")
        XCTAssertEqual((document["runs"] as? [Any])?.count, 0)
        return try XCTUnwrap((document["lockRuns"] as? [[String: Any]])?.first)
    }
}
