import Foundation
import TestSupport
import XCTest

/// `ringbench pub` and `ringbench sub` as two unrelated processes on a named
/// record ring: the copy is identical whichever starts first, a killed
/// producer makes sub fail with one line, and no name is left behind.
final class PubSubTests: XCTestCase {
    var ring: String { "ringbench-test-pubsub-\(getpid())" }

    /// Lines of assorted lengths (empty ones too), about 2 MB: more than the
    /// 256 KiB ring holds, so both sides wait for each other.
    func makeInput() throws -> URL {
        var text = ""
        for i in 0..<40_000 { text += String(repeating: "x", count: (i * 7919) % 97) + " line \(i)\n" }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pubsub-\(getpid()).txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testCopyIsIdenticalWhicheverStartsFirst() throws {
        let input = try makeInput()
        defer { try? FileManager.default.removeItem(at: input) }
        let expected = try Data(contentsOf: input)
        for pubFirst in [true, false] {
            let before = IPCSnapshot.take()
            // Park (the default) one way round, backoff the other.
            let wait = pubFirst ? [] : ["--wait", "backoff"]
            let pubArguments = ["pub", ring, "--capacity", "256K", "--max-record", "1K"] + wait
            let subArguments = ["sub", ring, "--wait-for-creation", "60"] + wait
            let first = try Ringbench.start(pubFirst ? pubArguments : subArguments, input: pubFirst ? input : nil)
            usleep(300_000)
            let second = try Ringbench.start(pubFirst ? subArguments : pubArguments, input: pubFirst ? nil : input)
            // Read sub's output first: pub cannot finish while sub is stuck on a full pipe.
            let sub = (pubFirst ? second : first).wait()
            let pub = (pubFirst ? first : second).wait()
            XCTAssertEqual(pub.status, 0, pub.stderr)
            XCTAssertEqual(sub.status, 0, sub.stderr)
            XCTAssertTrue(Data(sub.stdout.utf8) == expected, "pub first: \(pubFirst): \(sub.stdout.utf8.count) of \(expected.count) bytes")
            XCTAssertEqual(IPCSnapshot.take(), before, "pub first: \(pubFirst): the name was left behind")
        }
    }

    /// Lines from empty to 9 KB (long ones go from the ring to writev in
    /// place, short ones through sub's stage), lengths around multiples of
    /// 8 and 64, no newline at the end: the copy is byte-identical.
    func testMixedLineLengthsAreCopiedExactly() throws {
        var text = ""
        for i in 0..<6_000 {
            let length = i % 50 == 0 ? 4_000 + (i * 37) % 5_000 : [0, 1, 7, 8, 9, 63, 64, 65, 200][i % 9]
            text += String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: length) + "\n"
        }
        text += "last line without newline"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pubsub-mixed-\(getpid()).txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let before = IPCSnapshot.take()
        let pub = try Ringbench.start(["pub", ring, "--capacity", "64K", "--max-record", "16K"], input: url)
        let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "60"]).wait()
        XCTAssertEqual(pub.wait().status, 0)
        XCTAssertEqual(sub.status, 0, sub.stderr)
        XCTAssertTrue(sub.stdout == text, "\(sub.stdout.utf8.count) of \(text.utf8.count) bytes")
        XCTAssertEqual(IPCSnapshot.take(), before)
    }

    func testProducerMayExitBeforeTheConsumerStarts() throws {
        let before = IPCSnapshot.take()
        let pub = try Ringbench.run(["pub", ring, "--count", "1000", "--size", "50", "--backing", "sysv"])
        XCTAssertEqual(pub.status, 0, pub.stderr)
        let sub = try Ringbench.run(["sub", ring, "--backing", "sysv", "--wait", "spin"])
        XCTAssertEqual(sub.status, 0, sub.stderr)
        let lines = sub.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 1001)
        XCTAssertTrue(lines.dropLast().allSatisfy { $0.utf8.count == 50 })
        XCTAssertTrue(lines[999].hasPrefix("record 999 "))
        XCTAssertEqual(IPCSnapshot.take(), before)
    }

    func testLengthFramingIsBinarySafe() throws {
        var bytes = Data()
        for i in 0..<3000 {
            let record = Data((0..<(i % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            withUnsafeBytes(of: UInt32(record.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(record)
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pubsub-bin-\(getpid())")
        try bytes.write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let sub = try Ringbench.start(["sub", ring, "--framing", "length"])
        let pub = try Ringbench.start(["pub", ring, "--framing", "length", "--capacity", "64K"], input: input)
        let out = sub.waitForData()
        XCTAssertEqual(pub.wait().status, 0)
        XCTAssertEqual(out.status, 0)
        XCTAssertTrue(out.data == bytes, "\(out.data.count) of \(bytes.count) bytes")
    }

    /// Records of 16 KiB and more are read straight into the ring (one readv
    /// each, with the next header); mixed with small ones, empty ones, and
    /// ones that arrive whole in the first buffered read, byte for byte.
    func testLargeLengthFramedRecordsReadStraightIntoTheRingArriveIntact() throws {
        var bytes = Data()
        let lengths = [0, 5, 16 << 10, (16 << 10) - 1, 20_000, 65_536, 100_000, 1, 70_000, 0, 16 << 10]
        for i in 0..<240 {
            let length = lengths[i % lengths.count]
            withUnsafeBytes(of: UInt32(length).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }))
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pubsub-large-\(getpid())")
        try bytes.write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let sub = try Ringbench.start(["sub", ring, "--framing", "length"])
        let pub = try Ringbench.start(["pub", ring, "--framing", "length", "--max-record", "128K", "--capacity", "1M"], input: input)
        let out = sub.waitForData()
        XCTAssertEqual(pub.wait().status, 0)
        XCTAssertEqual(out.status, 0)
        XCTAssertTrue(out.data == bytes, "\(out.data.count) of \(bytes.count) bytes")
    }

    func testSubFailsWithOneLineWhenTheProducerIsKilled() throws {
        let before = IPCSnapshot.take()
        let pub = try Ringbench.start(["pub", ring, "--count", "1M", "--rate", "2000"])
        let sub = try Ringbench.start(["sub", ring])
        usleep(700_000)
        kill(pub.pid, SIGKILL)
        _ = pub.wait()
        let result = sub.wait()
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("died"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("record 0 "))
        XCTAssertEqual(IPCSnapshot.take(), before, "sub removes the dead producer's ring")
    }

    func testOverlongLineIsAClearErrorAndLeavesNothing() throws {
        let before = IPCSnapshot.take()
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pubsub-long-\(getpid())")
        try ("short\n" + String(repeating: "y", count: 5000) + "\n").write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let pub = try Ringbench.run(["pub", ring, "--max-record", "4K"], input: input)
        XCTAssertEqual(pub.status, 1)
        XCTAssertTrue(pub.stderr.contains("line 2") && pub.stderr.contains("--max-record"), pub.stderr)
        let sub = try Ringbench.run(["sub", ring, "--wait-for-creation", "0.2"])
        XCTAssertNotEqual(sub.status, 0)
        XCTAssertTrue(sub.stderr.contains("--wait-for-creation"), sub.stderr)
        XCTAssertEqual(IPCSnapshot.take(), before)
    }
}

extension Ringbench.Running {
    /// `wait()` for binary output.
    func waitForData() -> (status: Int32, data: Data) {
        let data = out.fileHandleForReading.readDataToEndOfFile()
        _ = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }
}
