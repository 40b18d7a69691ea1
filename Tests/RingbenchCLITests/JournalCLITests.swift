import Foundation
import ShmRing
import TestSupport
import XCTest

/// The journal across processes: kill -9 of a producer at seeded random
/// points with a tailer following throughout, disk full, the CLI.
final class JournalCLITests: XCTestCase {
    /// SplitMix64: a seeded campaign is repeatable.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// `trials` writers killed with SIGKILL at random moments (seeded); a
    /// `journal verify --follow --pattern` tailer reads throughout. After each
    /// kill the journal must recover with no torn record and every reported
    /// commit kept; at the end the tailer must have read every record exactly
    /// once, in order, each with its pattern. `make fault-campaign` runs 200.
    func testKilledProducersLoseNothingCommittedAndTheTailerResumesExactly() throws {
        let trials = Int(ProcessInfo.processInfo.environment["JOURNAL_TRIALS"] ?? "") ?? 12
        let seed = UInt64(ProcessInfo.processInfo.environment["JOURNAL_SEED"] ?? "") ?? 16
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var generator = SeededGenerator(state: seed)
        // The first writer creates the journal, so the tailer has one to open.
        XCTAssertEqual(try Ringbench.run(["journal", "append", dir, "--count", "1", "--segment-size", "65536"]).status, 0)
        let tailer = try Ringbench.start(["journal", "verify", dir, "--follow", "--pattern"])
        var committed: UInt64 = 1
        for trial in 0..<trials {
            let batch = Int.random(in: 1...16, using: &generator)
            let writer = try Ringbench.start(["journal", "append", dir, "--count", "100000000", "--batch", "\(batch)", "--report",
                                              "--segment-size", "65536"])
            usleep(UInt32.random(in: 20_000...250_000, using: &generator))
            kill(writer.pid, SIGKILL)
            let result = writer.wait()
            let reported = result.stdout.split(separator: "\n").last.flatMap { UInt64($0) } ?? 0
            let recovered = try Journal.producer(directory: dir, options: .init(segmentSize: 65536))
            XCTAssertEqual(recovered.recovery.tornRecords, 0, "trial \(trial): torn records after a process crash")
            XCTAssertGreaterThanOrEqual(recovered.nextSequence, max(reported, committed), "trial \(trial): committed records lost")
            committed = recovered.nextSequence
        }
        XCTAssertEqual(try Ringbench.run(["journal", "append", dir, "--count", "5", "--close", "--segment-size", "65536"]).status, 0)
        let outcome = tailer.wait()
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.hasPrefix("ok: \(committed + 5) records (sequences 0...\(committed + 4))"), outcome.stdout)
    }

    /// ENOSPC on a new segment (a 3 MiB tmpfs in a private mount namespace)
    /// is a typed one-line error, and every reported commit survives.
    func testDiskFullIsATypedErrorAndLosesNothingCommitted() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
              (try? Ringbench.run([], executable: URL(fileURLWithPath: "/usr/bin/unshare"))) != nil else { throw XCTSkip("no unshare") }
        let scratch = try ScratchDirectory()
        let bin = Ringbench.executable.path
        let script = """
            mount -t tmpfs -o size=3m none \(scratch.path) || exit 77
            \(bin) journal append \(scratch.path)/j --count 100000 --report --segment-size 1048576 > \(scratch.path)/out
            echo "status $?"
            tail -n 1 \(scratch.path)/out
            \(bin) journal verify \(scratch.path)/j --pattern
            """
        let result = try Ringbench.run(["--mount", "--map-root-user", "sh", "-c", script], executable: URL(fileURLWithPath: "/usr/bin/unshare"))
        if result.stdout.isEmpty, result.status == 77 || result.stderr.contains("mount") { throw XCTSkip("cannot mount a tmpfs here: \(result.stderr)") }
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "status 1", result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("no space for ring"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
        let reported = UInt64(lines.count > 1 ? lines[1] : "") ?? 0
        XCTAssertGreaterThan(reported, 0)
        XCTAssertTrue(lines.last?.hasPrefix("ok: \(reported) records") == true, result.stdout)
    }

    func testJournalToolsListDumpTrimAndRejectBadInput() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        XCTAssertEqual(try Ringbench.run(["journal", "append", dir, "--count", "3000", "--batch", "10", "--segment-size", "65536"]).status, 0)
        let listing = try Ringbench.run(["journal", "ls", dir])
        XCTAssertEqual(listing.status, 0)
        XCTAssertGreaterThan(listing.stdout.split(separator: "\n").count, 5)
        let dump = try Ringbench.run(["journal", "dump", dir, "--from", "2998"])
        XCTAssertEqual(dump.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] }, ["2998", "2999"])
        let trim = try Ringbench.run(["journal", "trim", dir, "--max-bytes", "\(4 * 65536)"])
        XCTAssertEqual(trim.status, 0, trim.stderr)
        let verify = try Ringbench.run(["journal", "verify", dir, "--pattern"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("...2999)"), verify.stdout)
        let bad = try Ringbench.run(["journal", "dump", dir, "--from", "yesterday"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1)
        let missing = try Ringbench.run(["journal", "verify", scratch.file("none")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)
    }

    /// Followers (`journal verify --follow`, `sub --journal`) end with one
    /// line when their journal is removed while they wait, and end on
    /// SIGTERM, instead of waiting for a producer forever.
    func testFollowersEndWhenTheJournalIsRemovedOrOnSIGTERM() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        XCTAssertEqual(try Ringbench.run(["journal", "append", dir, "--count", "3"]).status, 0)
        let followers = [try Ringbench.start(["journal", "verify", dir, "--follow"]),
                         try Ringbench.start(["sub", "j", "--journal", scratch.path, "--from", "oldest"])]
        usleep(500_000)
        try FileManager.default.removeItem(atPath: dir)
        for follower in followers {
            let watchdog = DispatchWorkItem { kill(follower.pid, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + 10, execute: watchdog)
            let result = follower.wait()
            watchdog.cancel()
            XCTAssertEqual(result.status, 1, "\(follower.process.arguments ?? []): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("no such ring '\(dir)'"), result.stderr)
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
        }
        XCTAssertEqual(try Ringbench.run(["journal", "append", dir, "--count", "3"]).status, 0)
        let follower = try Ringbench.start(["journal", "verify", dir, "--follow"])
        usleep(500_000)
        kill(follower.pid, SIGTERM)
        let watchdog = DispatchWorkItem { kill(follower.pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 10, execute: watchdog)
        let result = follower.wait()
        watchdog.cancel()
        XCTAssertEqual(result.status, 128 + SIGTERM, result.stderr)
        XCTAssertEqual(result.stderr, "ringbench: interrupted by SIGTERM\n")
    }

    func testPubAndSubThroughAJournalReplayAndSeek() throws {
        let scratch = try ScratchDirectory()
        let input = scratch.file("in")
        let text = (1...20000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: input, atomically: false, encoding: .utf8)
        let pub = try Ringbench.run(["pub", "q", "--journal", scratch.path], input: URL(fileURLWithPath: input))
        XCTAssertEqual(pub.status, 0, pub.stderr)
        // Two independent readers, from the oldest and from a sequence.
        let all = try Ringbench.run(["sub", "q", "--journal", scratch.path, "--from", "oldest"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(all.stdout, text)
        let tail = try Ringbench.run(["sub", "q", "--journal", scratch.path, "--from", "19998"])
        XCTAssertEqual(tail.stdout, "line 19999\nline 20000\n")
        let bad = try Ringbench.run(["sub", "q", "--journal", scratch.path, "--from", "soon"])
        XCTAssertEqual(bad.status, 2)
    }
}
