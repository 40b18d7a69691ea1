import Foundation
import TestSupport
import XCTest

/// The "bad inputs" figure of docs/reliability.md: a table of malformed
/// invocations, each of which must exit non-zero within a few seconds with
/// exactly one line on stderr (no usage dump, no backtrace), print nothing
/// on stdout, and leave no IPC object behind.
final class BadInputTests: XCTestCase {
    /// Bad values for the numeric options of `command`, each tried alone.
    static func numbers(_ command: [String], _ table: [(flag: String, values: [String])]) -> [[String]] {
        table.flatMap { flag, values in values.map { command + [flag, $0] } }
    }

    static func cases(fixtures: Fixtures) -> [[String]] {
        let seconds = ["inf", "-inf", "nan", "1e30", "1e15", "-1", "0", "abc", ""]
        var cases: [[String]] = []
        cases += numbers(["run"], [
            ("--timeout", seconds + ["86401"]),
            ("--duration", seconds + ["100000"]),
            ("--warmup", ["9223372036854775807", "-1", "1001", "x", "1.5"]),
            ("--repeat", ["0", "-1", "1e3", "1001"]),
            ("--message-size", ["9223372036854775807", "0", "3", "7", "100G", "17M", "-8", "8Ki", "", "1e3"]),
            ("--messages", ["-5", "0", "1e3", "3000000G", "281474976710656", "99999999999999999999"]),
            ("--capacity", ["-5", "0", "100", "2147483648", "4096.0"]),
            ("--batch", ["0", "-1", "2000000"]),
            ("--producers", ["0", "-1", "1024"]),
            ("--consumers", ["0", "5000"]),
            ("--settle", ["-1", "nan", "inf", "86401", "abc"]),
            ("--settle-budget", ["-1", "nan", "abc"]),
        ])
        cases += [
            ["run", "--capacity=-5"],
            ["run", "--timeout=-1"],
            ["run", "--pin", "0,99"],
            ["run", "--pin", "x"],
            ["run", "--pin", "-1"],
            ["run", "--backing", "tape"],
            ["run", "--transport", "carrier-pigeon"],
            ["run", "--mode", "sideways"],
            ["run", "--settle", "5", "--no-probes"],
            ["suite", "--settle", "5", "--pin", "0"],
            ["run", "--settle-budget", "5"],
            ["run", "--mode", "roundtrip", "--batch", "4"],
            ["run", "--format", "xml"],
            ["run", "--output", fixtures.directory],
            ["run", "--output", "/nonexistent-ringbench-dir/out.json"],
            ["run", "--messages", "10", "--duration", "1"],
            ["run", "--batch", "8", "--capacity", "4"],
            ["run", "--transport", "spsc", "--producers", "2"],
            ["run", "--transport", "sysv-msgq", "--message-size", "16M"],
            ["run", "--transport", "mpmc-sem", "--mode", "roundtrip", "--producers", "2"],
            ["run", "--no-such-flag"],
            ["run", "extra-argument"],
            ["run", "--timeout"],
        ]
        cases += numbers(["suite"], [
            ("--sizes", ["100G", "0", "", ",", "-8", "8,abc", "8,17M"]),
            ("--timeout", ["inf", "1e30"]),
            ("--repeat", ["0"]),
            ("--warmup", ["-1", "9223372036854775807"]),
        ])
        cases += [["suite", "--transports", "nope"], ["suite", "--transports", ","], ["suite", "--output", fixtures.directory]]
        cases += numbers(["locks", "--lock", "futex"], [
            ("--processes", ["0", "-1", "513"]),
            ("--critical-ns", ["-1", "1e10", "2000000000"]),
            ("--duration", ["inf", "0", "1e30"]),
            ("--latency-sample", ["0", "-3"]),
            ("--kill-holder-after", ["inf", "-1", "2"]),
            ("--timeout", ["inf"]),
        ])
        cases += [
            ["locks"],
            ["locks", "--lock", "bogus"],
            ["locks", "--lock", "all", "--kill-holder-after", "0.5"],
            ["locks", "--lock", "none", "--kill-holder-after", "0.5", "--processes", "2"],
            ["locks", "--lock", "futex", "--processes", "1", "--kill-holder-after", "0.5"],
        ]
        cases += numbers(["inspect", "no-such-ring"], [("--wait", ["inf", "-1", "nan", "1e30"])])
        cases += [
            ["inspect", "no-such-ring", "--wait", "0"],
            ["inspect", "no-such-ring", "--backing", "anon"],
            ["inspect", "no-such-ring", "--backing", "tape"],
            ["inspect", "../escape", "--wait", "0"],
            ["inspect"],
            ["report", fixtures.directory],
            ["report", "/dev/null"],
            ["report", "/nonexistent-ringbench-results.json"],
            ["report", fixtures.empty],
            ["report", fixtures.notJSON],
            ["report", fixtures.otherSchema],
            ["report"],
            ["probe", "--pin", "x"],
            ["probe", "--pin", "0,99"],
            ["probe", "--pin", "-1"],
            ["probe", "--format", "yaml"],
            ["no-such-command"],
            ["--no-such-flag"],
        ]
        return cases
    }

    /// Files `report` must refuse, in a scratch directory.
    struct Fixtures {
        let directory: String
        var empty: String { directory + "/empty.json" }
        var notJSON: String { directory + "/not.json" }
        var otherSchema: String { directory + "/other.json" }

        init(directory: String) throws {
            self.directory = directory
            try Data().write(to: URL(fileURLWithPath: empty))
            try Data("hello\n".utf8).write(to: URL(fileURLWithPath: notJSON))
            try Data(#"{"schema": "something-else/v9"}"#.utf8).write(to: URL(fileURLWithPath: otherSchema))
        }
    }

    func testMalformedInvocationsFailWithOneLine() throws {
        let scratch = try ScratchDirectory()
        let fixtures = try Fixtures(directory: scratch.path)
        let cases = Self.cases(fixtures: fixtures)
        XCTAssertGreaterThanOrEqual(cases.count, 100, "docs/reliability.md promises at least 100 bad inputs")
        var failures = 0
        // Eight at a time: each is mostly a process start and a parse.
        for first in stride(from: 0, to: cases.count, by: 8) {
            let chunk = cases[first..<min(first + 8, cases.count)]
            let started = Date()
            let runs = try chunk.map { try Ringbench.start($0) }
            for (arguments, running) in zip(chunk, runs) where !Self.failsCleanly(running, since: started) {
                failures += 1
                XCTFail("\(arguments) did not fail cleanly (see above)")
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(cases.count) bad inputs misbehaved")
    }

    /// Non-zero exit within 20 s, one "ringbench: " line on stderr, no
    /// backtrace, nothing on stdout, nothing left behind.
    static func failsCleanly(_ running: Ringbench.Running, since started: Date) -> Bool {
        // An input that is wrongly accepted would start a real run: stop it.
        while running.process.isRunning, Date().timeIntervalSince(started) < 20 { usleep(5_000) }
        if running.process.isRunning { kill(running.pid, SIGTERM) }
        let r = running.wait()
        let seconds = Date().timeIntervalSince(started)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let ok = r.status != 0 && lines.count == 1 && lines.first?.hasPrefix("ringbench: ") == true
            && r.stdout.isEmpty && seconds < 20 && !r.stderr.contains("Backtrac") && !r.stderr.contains("Fatal error")
            && namedObjects(of: running.pid).isEmpty
        if !ok { print("status \(r.status), \(Int(seconds)) s, stdout \(r.stdout.count) bytes, stderr: \(r.stderr)") }
        return ok
    }

    /// What process `pid` left: paths it names after itself (region files,
    /// key files, ledgers, private directories) and SysV segments it created.
    /// (Other tests run meanwhile, so a global before/after comparison would
    /// count their objects; `make test` makes that one at the end.)
    static func namedObjects(of pid: Int32) -> [String] {
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let paths = ["/dev/shm", tmp].flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("ringbench-\(pid)-") }
        }
        // /proc/sysvipc/shm: key shmid perms size cpid ...
        let shm = (try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)) ?? ""
        let segments = shm.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && Int32(fields[4]) == pid
        }
        return paths + segments.map { "shm \($0)" }
    }
}
