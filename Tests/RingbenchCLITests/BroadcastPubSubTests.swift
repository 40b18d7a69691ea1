import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench pub NAME --broadcast` with several `ringbench sub NAME` at
/// once (issue 16): under `.block` each sub's copy is byte-identical to the
/// input; under `.overwrite` a sub stopped (SIGSTOP) while the producer
/// laps it reports each gap with its exact count on stderr and exits 3.
///
/// Children write to files, not pipes: a parent draining one child's pipe
/// while another's fills would stall that sub, and under `.block` the
/// producer with it (the earlier draft hung so). Every wait is bounded and
/// kills every child on failure.
final class BroadcastPubSubTests: XCTestCase {
    static let deadlineSeconds = 60.0

    /// A ringbench child whose stdout and stderr go to files in `scratch`.
    final class Child {
        let process = Process()
        let out: String
        let err: String

        init(_ arguments: [String], scratch: ScratchDirectory, tag: String, stdin: Any? = nil) throws {
            out = scratch.file("\(tag).out")
            err = scratch.file("\(tag).err")
            for path in [out, err] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            process.executableURL = Ringbench.executable
            process.arguments = arguments
            if let stdin { process.standardInput = stdin }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var stdout: Data { FileManager.default.contents(atPath: out) ?? Data() }
        var stderr: String { String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self) }
        func kill() { if process.isRunning { Glibc.kill(pid, SIGCONT); Glibc.kill(pid, SIGKILL) } }
    }

    struct TimedOut: Error, CustomStringConvertible { let description: String }

    var children: [Child] = []

    override func tearDown() {
        for child in children { child.kill(); child.process.waitUntilExit() }
        children = []
    }

    func start(_ arguments: [String], _ scratch: ScratchDirectory, _ tag: String, stdin: Any? = nil) throws -> Child {
        let child = try Child(arguments, scratch: scratch, tag: tag, stdin: stdin)
        children.append(child)
        return child
    }

    /// Polls `condition` until it holds or the deadline passes; on timeout
    /// kills every child and fails (so the test ends, never hangs).
    func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(Self.deadlineSeconds)
        while !condition() {
            if Date() > end {
                let report = children.map { "pid \($0.pid) running \($0.process.isRunning): \($0.stderr)" }.joined(separator: "; ")
                for child in children { child.kill() }
                throw TimedOut(description: "timed out after \(Self.deadlineSeconds) s waiting for \(what): \(report)")
            }
            usleep(10_000)
        }
    }

    func exited(_ child: Child) throws -> Int32 {
        try waitUntil("pid \(child.pid) to exit") { !child.process.isRunning }
        child.process.waitUntilExit()
        return child.process.terminationStatus
    }

    func testThreeSubsEachGetAByteIdenticalCopyUnderBlock() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        var text = ""
        // Lengths 6...110 bytes, 40 000 lines: about 2 MB through a 64 KiB ring.
        for i in 0..<40_000 { text += String(repeating: "y", count: (i * 7919) % 97) + " line \(i)\n" }
        let input = scratch.file("input.txt")
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        let ring = "bcast-block"
        let place = ["--directory", scratch.path]
        let subs = try (0..<3).map { try start(["sub", ring, "--from", "oldest", "--wait-for-creation", "60"] + place, scratch, "sub\($0)") }
        let pub = try start(["pub", ring, "--broadcast", "--consumers", "3", "--capacity", "64K", "--max-record", "1K"] + place,
                            scratch, "pub", stdin: try FileHandle(forReadingFrom: URL(fileURLWithPath: input)))
        XCTAssertEqual(try exited(pub), 0, pub.stderr)
        let expected = Data(text.utf8)
        for (i, sub) in subs.enumerated() {
            XCTAssertEqual(try exited(sub), 0, sub.stderr)
            XCTAssertTrue(sub.stdout == expected, "sub \(i): \(sub.stdout.count) of \(expected.count) bytes, not identical")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { !$0.contains(".") }, [],
                       "the ring's name was left behind")
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }

    func testSubFailsWhenPubFailsWithoutEndingTheStream() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        // The third line is longer than --max-record: pub fails after two.
        let input = scratch.file("input.txt")
        try ("one\ntwo\n" + String(repeating: "z", count: 5000) + "\nfour\n").write(toFile: input, atomically: true, encoding: .utf8)
        let ring = "bcast-fail"
        let place = ["--directory", scratch.path]
        let sub = try start(["sub", ring, "--wait-for-creation", "60", "--producer-grace", "0.3"] + place, scratch, "sub")
        let pub = try start(["pub", ring, "--broadcast", "--consumers", "1", "--max-record", "1K"] + place,
                            scratch, "pub", stdin: try FileHandle(forReadingFrom: URL(fileURLWithPath: input)))
        XCTAssertEqual(try exited(pub), 1, pub.stderr)
        let started = Date()
        XCTAssertEqual(try exited(sub), 1, sub.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "sub gave up within its grace, not never")
        XCTAssertTrue(sub.stderr.contains("released the ring without ending the stream"), sub.stderr)
        XCTAssertEqual(String(decoding: sub.stdout, as: UTF8.self), "one\ntwo\n")
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }

    func testStoppedSubUnderOverwriteReportsExactGapsAndExitsThree() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        let ring = "bcast-overwrite"
        let place = ["--directory", scratch.path]
        let feed = Pipe()
        let sub = try start(["sub", ring, "--from", "oldest", "--wait-for-creation", "60"] + place, scratch, "sub")
        let pub = try start(["pub", ring, "--broadcast", "--policy", "overwrite", "--consumers", "1", "--capacity", "4K"] + place,
                            scratch, "pub", stdin: feed)
        func lines(_ range: Range<Int>) -> Data { Data(range.map { "record \($0) of the overwrite test\n" }.joined().utf8) }
        // Phase 1: 40 records (about 2 KiB: they fit the ring) the sub reads while running.
        let first = 40
        feed.fileHandleForWriting.write(lines(0..<first))
        try waitUntil("the sub to print the first \(first) records") { sub.stdout.split(separator: UInt8(ascii: "\n")).count >= first }
        // Phase 2: stopped, the sub is lapped many times (4 KiB hold ~85 of these).
        XCTAssertEqual(kill(sub.pid, SIGSTOP), 0)
        let total = 20_000
        feed.fileHandleForWriting.write(lines(first..<total))
        try feed.fileHandleForWriting.close()
        XCTAssertEqual(try exited(pub), 0, pub.stderr)
        XCTAssertEqual(kill(sub.pid, SIGCONT), 0)
        let status = try exited(sub)

        let delivered = sub.stdout.split(separator: UInt8(ascii: "\n")).map { line -> Int in
            Int(String(decoding: line, as: UTF8.self).split(separator: " ")[1]) ?? -1
        }
        var reported = 0
        for line in sub.stderr.split(separator: "\n") where line.contains("overrun: ") {
            reported += Int(line.components(separatedBy: "overrun: ")[1].split(separator: " ")[0]) ?? -1_000_000
        }
        // Records come in order, none twice; what is missing is exactly what was reported lost.
        XCTAssertEqual(delivered, delivered.sorted(), "records out of order")
        XCTAssertEqual(Set(delivered).count, delivered.count, "a record delivered twice")
        XCTAssertEqual(Array(delivered.prefix(first)), Array(0..<first))
        XCTAssertEqual(delivered.last, total - 1, "the newest record was not delivered")
        XCTAssertGreaterThan(reported, 0, sub.stderr)
        XCTAssertEqual(delivered.count + reported, total, sub.stderr)
        XCTAssertEqual(status, 3, sub.stderr)
        XCTAssertTrue(sub.stderr.contains("record(s) lost to overruns"), sub.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { !$0.contains(".") }, [],
                       "the ring's name was left behind")
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }

    /// `--policy evict`: a sub stopped with SIGSTOP keeps pub waiting for
    /// `--evict-after` seconds, then is dropped and pub finishes; resumed,
    /// the sub exits 4 with one line "evicted ...", after writing only
    /// records it read intact, in order.
    func testStoppedSubIsEvictedAndThePublisherFinishes() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        let ring = "bcast-evict"
        let place = ["--directory", scratch.path]
        let sub = try start(["sub", ring, "--from", "oldest", "--wait-for-creation", "60"] + place, scratch, "sub")
        let total = 20_000
        let pub = try start(["pub", ring, "--broadcast", "--policy", "evict", "--evict-after", "0.5", "--consumers", "1",
                             "--capacity", "4K", "--count", "\(total)", "--size", "64"] + place, scratch, "pub")
        try waitUntil("the sub to print some records") { !sub.stdout.isEmpty }
        XCTAssertEqual(kill(sub.pid, SIGSTOP), 0)
        let stopped = Date()
        XCTAssertEqual(try exited(pub), 0, pub.stderr)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(stopped), 0.4, "pub did not wait for the stopped sub")
        XCTAssertEqual(kill(sub.pid, SIGCONT), 0)
        XCTAssertEqual(try exited(sub), 4, sub.stderr)
        let lines = sub.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, sub.stderr)
        XCTAssertTrue(lines.first?.hasPrefix("ringbench: evicted from broadcast ring '\(ring)'") == true, sub.stderr)
        let delivered = sub.stdout.split(separator: UInt8(ascii: "\n")).map { line -> Int in
            Int(String(decoding: line, as: UTF8.self).split(separator: " ")[1]) ?? -1
        }
        XCTAssertEqual(delivered, Array(0..<delivered.count), "records lost, reordered or corrupt before the eviction")
        XCTAssertLessThan(delivered.count, total)
        _ = try Ringbench.run(["rm", ring, "--force"] + place)
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }

    /// `pub --broadcast --count N --rate R` paces the generated records as
    /// for a record ring: 50 records at 100/s take at least 0.49 s (pub
    /// alone, the sub already waiting for the ring), and the sub gets all.
    func testRateIsHonouredOnABroadcastRing() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        let ring = "bcast-rate"
        let place = ["--directory", scratch.path]
        let sub = try start(["sub", ring, "--from", "oldest", "--wait-for-creation", "60"] + place, scratch, "sub")
        let started = Date()
        let pub = try start(["pub", ring, "--broadcast", "--consumers", "1", "--count", "50", "--size", "32", "--rate", "100"] + place,
                            scratch, "pub")
        XCTAssertEqual(try exited(pub), 0, pub.stderr)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.45, "50 records at 100/s went out too fast")
        XCTAssertEqual(try exited(sub), 0, sub.stderr)
        XCTAssertEqual(sub.stdout.split(separator: UInt8(ascii: "\n")).count, 50)
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }

    /// `ringbench stat` shows the producer's counters slot and each
    /// consumer slot's own (records consumed, lost), from the region.
    func testStatShowsEveryConsumerSlotsCounters() throws {
        let before = IPCSnapshot.take()
        let scratch = try ScratchDirectory()
        let ring = "bcast-stat"
        let place = ["--directory", scratch.path]
        let feed = Pipe()
        let subs = try (0..<2).map { try start(["sub", ring, "--from", "oldest", "--wait-for-creation", "60"] + place, scratch, "sub\($0)") }
        let pub = try start(["pub", ring, "--broadcast", "--consumers", "2"] + place, scratch, "pub", stdin: feed)
        feed.fileHandleForWriting.write(Data((0..<100).map { "line \($0)\n" }.joined().utf8))
        for sub in subs { try waitUntil("100 lines") { sub.stdout.split(separator: UInt8(ascii: "\n")).count == 100 } }
        var endpoints: [[String: Any]] = []
        try waitUntil("both consumers' counts") {
            let r = try? Ringbench.run(["stat", ring, "--format", "json"] + place)
            let rings = (try? JSONSerialization.jsonObject(with: Data((r?.stdout ?? "").utf8))) as? [[String: Any]]
            endpoints = rings?.first?["endpoints"] as? [[String: Any]] ?? []
            return endpoints.filter { ($0["recordsConsumed"] as? Int) == 100 }.count == 2
        }
        XCTAssertEqual(endpoints.map { $0["endpoint"] as? String }, ["producer", "consumer[0]", "consumer[1]"])
        XCTAssertEqual(endpoints[0]["recordsPublished"] as? Int, 100)
        for consumer in endpoints.dropFirst() {
            XCTAssertEqual(consumer["recordsLost"] as? Int, 0)
            XCTAssertEqual(consumer["alive"] as? Bool, true)
            XCTAssertEqual(consumer["pendingBytes"] as? Int, 0)
        }
        // The same counts for a scraper: the lost counter per consumer slot only.
        let metrics = try Ringbench.run(["stat", ring, "--format", "openmetrics"] + place).stdout
        XCTAssertTrue(metrics.contains("# TYPE shmring_records_lost_total counter\n"), metrics)
        XCTAssertTrue(metrics.contains("shmring_records_lost_total{ring=\"\(ring)\",endpoint=\"consumer[0]\"} 0\n"), metrics)
        XCTAssertTrue(metrics.contains("shmring_records_lost_total{ring=\"\(ring)\",endpoint=\"consumer[1]\"} 0\n"), metrics)
        XCTAssertFalse(metrics.contains("shmring_records_lost_total{ring=\"\(ring)\",endpoint=\"producer\"}"), metrics)
        try feed.fileHandleForWriting.close()
        XCTAssertEqual(try exited(pub), 0, pub.stderr)
        for sub in subs { XCTAssertEqual(try exited(sub), 0, sub.stderr) }
        try FileManager.default.removeItem(atPath: scratch.path)
        XCTAssertEqual(before.leftovers(), [])
    }
}
