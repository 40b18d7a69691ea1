import Foundation
import TestSupport
import XCTest

/// `ringbench stat`, `top` and `doctor` as a user runs them (issue 18):
/// counters after a known workload, the OpenMetrics text checked by
/// promtool, top's plain-line output with its marks, doctor's exit codes.
final class OperateCommandTests: XCTestCase {
    func statJSON(_ directory: String, _ names: [String] = []) throws -> [[String: Any]] {
        let r = try Ringbench.run(["stat"] + names + ["--directory", directory, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [[String: Any]] ?? []
    }

    func endpoint(_ ring: [String: Any]?, _ name: String) -> [String: Any]? {
        (ring?["endpoints"] as? [[String: Any]])?.first { $0["endpoint"] as? String == name }
    }

    /// 500 records of 100 bytes fit a 64 KiB ring: pub writes them all and
    /// exits, the closed ring waits for its consumer with the counts.
    func testStatCountsAKnownWorkloadInEveryFormat() throws {
        let scratch = try ScratchDirectory()
        let pub = try Ringbench.run(["pub", "q", "--directory", scratch.path, "--count", "500", "--size", "100", "--capacity", "64K"])
        XCTAssertEqual(pub.status, 0, pub.stderr)
        let ring = try statJSON(scratch.path, ["q"]).first
        XCTAssertEqual(ring?["kind"] as? String, "record ring")
        let producer = endpoint(ring, "producer"), consumer = endpoint(ring, "consumer")
        XCTAssertEqual(producer?["recordsPublished"] as? Int, 500)
        XCTAssertEqual(producer?["bytesPublished"] as? Int, 50_000)
        XCTAssertEqual(producer?["claims"] as? Int, 1)
        XCTAssertNil(producer?["alive"], "released at close")
        XCTAssertEqual(consumer?["claims"] as? Int, 0)
        XCTAssertEqual(consumer?["recordsConsumed"] as? Int, 0)

        let table = try Ringbench.run(["stat", "q", "--directory", scratch.path])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("records out"), table.stdout)
        XCTAssertTrue(table.stdout.split(separator: "\n").contains { $0.hasPrefix("q ") && $0.contains("producer") && $0.contains("500") })

        let metrics = try Ringbench.run(["stat", "--directory", scratch.path, "--format", "openmetrics"])
        XCTAssertEqual(metrics.status, 0, metrics.stderr)
        XCTAssertTrue(metrics.stdout.contains("shmring_records_published_total{ring=\"q\",endpoint=\"producer\"} 500\n"), metrics.stdout)
        XCTAssertTrue(metrics.stdout.contains("# TYPE shmring_records_published_total counter\n"))
        XCTAssertTrue(metrics.stdout.contains("# UNIT shmring_published_bytes_total bytes\n"))
        XCTAssertTrue(metrics.stdout.hasSuffix("# EOF\n"))
        try Self.promtoolCheck(metrics.stdout)

        // The consumer drains it: its counters, then the name goes.
        let sub = try Ringbench.run(["sub", "q", "--directory", scratch.path])
        XCTAssertEqual(sub.status, 0, sub.stderr)
        XCTAssertEqual(sub.stdout.utf8.count, 500 * 101, "each record and its newline")
        let gone = try Ringbench.run(["stat", "q", "--directory", scratch.path])
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.stderr.contains("no ring or queue 'q'"), gone.stderr)
    }

    func testStatRejectsAnUnknownFormat() throws {
        let r = try Ringbench.run(["stat", "--format", "xml"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--format must be table, json or openmetrics"), r.stderr)
    }

    /// `promtool check metrics` (Debian's prometheus package) on `text`;
    /// skipped, saying why, where promtool is not installed.
    static func promtoolCheck(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("promtool is not installed (apt-get install -y prometheus): the OpenMetrics text was not validated")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("shmring-metrics-\(getpid()).prom")
        try text.write(to: input, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        process.standardInput = try FileHandle(forReadingFrom: input)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "promtool: \(said)", file: file, line: line)
        XCTAssertEqual(said, "", "promtool found problems", file: file, line: line)
    }

    /// top without a terminal prints plain lines: a stopped consumer behind
    /// a full ring is STALLED and the SLOWEST, a SIGKILLed producer DEAD.
    func testTopPrintsPlainLinesWithSlowestDeadAndStalledMarks() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.path
        let pub = try Ringbench.start(["pub", "slow", "--directory", dir, "--count", "1M", "--size", "100", "--capacity", "64K",
                                       "--consumer-grace", "30"])
        // sub's output goes to /dev/null (exec keeps the pid), not to a pipe
        // nobody reads until the end: there its first write would block
        // before it released (counted) anything, and the wait below would
        // run out its 200 rounds (~36 s) before going on.
        let sub = try Ringbench.start(["-c", "exec \"$0\" sub slow --directory \"$1\" --wait park > /dev/null", Ringbench.executable.path, dir],
                                      executable: URL(fileURLWithPath: "/bin/sh"))
        let doomed = try Ringbench.start(["pub", "doomed", "--directory", dir, "--count", "1M", "--capacity", "64K"])
        defer {
            for running in [sub, pub, doomed] where running.process.isRunning {
                kill(running.pid, SIGCONT)
                kill(running.pid, SIGKILL)
            }
            for running in [sub, pub, doomed] { _ = running.wait() }
        }
        // Until both consumers' rings show up, then stop the consumer and kill one producer.
        var seen: [[String: Any]] = []
        for _ in 0..<200 {
            seen = try statJSON(dir)
            if seen.count == 2, let c = endpoint(seen.first { $0["name"] as? String == "slow" }, "consumer"),
               (c["recordsConsumed"] as? Int ?? 0) > 0 { break }
            usleep(50_000)
        }
        kill(sub.pid, SIGSTOP)
        kill(doomed.pid, SIGKILL)
        for _ in 0..<200 {
            let slow = try statJSON(dir, ["slow"]).first
            if (slow?["fillPercent"] as? Double ?? 0) > 90 { break }
            usleep(50_000)
        }
        let top = try Ringbench.run(["top", "--directory", dir, "--interval", "0.3", "--stall", "0.2", "--count", "2"])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertFalse(top.stdout.contains("\u{1B}["), "no terminal control off a TTY")
        let lines = top.stdout.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix("# top ") }.count, 2, top.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("ring ") }.count, 2, "a header per refresh")
        let last = lines.suffix(from: lines.lastIndex { $0.hasPrefix("# top ") }!)
        let consumer = last.first { $0.hasPrefix("slow ") && $0.contains(" consumer ") }
        XCTAssertTrue(consumer?.contains("STALLED") == true, top.stdout)
        XCTAssertTrue(consumer?.contains("SLOWEST") == true, top.stdout)
        XCTAssertTrue(consumer?.contains(" \(sub.pid) ") == true, top.stdout)
        let dead = last.first { $0.hasPrefix("doomed ") && $0.contains(" producer ") }
        XCTAssertTrue(dead?.contains("DEAD") == true, top.stdout)
        let producer = last.first { $0.hasPrefix("slow ") && $0.contains(" producer ") }
        XCTAssertTrue(producer?.contains(" alive ") == true, top.stdout)
        XCTAssertFalse(producer?.contains("STALLED") == true, "a producer waiting on a full ring is not stalled")
    }

    /// A run's results carry the doctor's findings next to the probes.
    func testRunRecordsDoctorFindings() throws {
        let r = try Ringbench.run(["run", "--transport", "spsc", "--messages", "10k", "--repeat", "1", "--warmup", "0",
                                   "--no-probes", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let findings = r.json?["doctor"] as? [[String: Any]] ?? []
        XCTAssertTrue(findings.contains { $0["check"] as? String == "dev-shm" }, r.stdout)
        XCTAssertTrue(findings.allSatisfy { ["ok", "info", "warn", "fail"].contains($0["level"] as? String ?? "") })
    }

    func testTopRejectsABadInterval() throws {
        let r = try Ringbench.run(["top", "--interval", "0"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--interval"), r.stderr)
    }

    /// Exit 2 for a machine without /dev/shm, 0 for one with nothing to
    /// say but facts; the root from the option or the environment.
    func testDoctorExitCodesAndJSONFromAFakedRoot() throws {
        let scratch = try ScratchDirectory()
        let broken = try Ringbench.run(["doctor", "--root", scratch.path])
        XCTAssertEqual(broken.status, 2, broken.stdout + broken.stderr)
        XCTAssertTrue(broken.stdout.split(separator: "\n").contains { $0.hasPrefix("fail  dev-shm:") && $0.contains("-- fix: ") }, broken.stdout)

        try FileManager.default.createDirectory(atPath: scratch.file(".statvfs/dev"), withIntermediateDirectories: true)
        try "\(1 << 30) \(1 << 30)".write(toFile: scratch.file(".statvfs/dev/shm"), atomically: false, encoding: .utf8)
        let fine = try Ringbench.run(["doctor", "--format", "json"], environment: ["SHMRING_DOCTOR_ROOT": scratch.path])
        XCTAssertEqual(fine.status, 0, fine.stdout + fine.stderr)
        let findings = (try JSONSerialization.jsonObject(with: Data(fine.stdout.utf8))) as? [[String: Any]] ?? []
        XCTAssertEqual(findings.first { $0["check"] as? String == "dev-shm" }?["level"] as? String, "ok")

        try "\(64 << 20) \(60 << 20)".write(toFile: scratch.file(".statvfs/dev/shm"), atomically: false, encoding: .utf8)
        XCTAssertEqual(try Ringbench.run(["doctor", "--root", scratch.path]).status, 1, "Docker's 64 MiB is a warning")
    }
}
