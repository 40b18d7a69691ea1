import Foundation
import ShmRing
import XCTest

/// What a shell pipeline meets (issue 15, items 8-11 and 13): a producer
/// that fails or is interrupted, a producer that releases its end, lines that
/// must show up at once, a consumer that dies or cannot write, late
/// consumers, and copies that must be byte-identical.
final class PipelineFailureTests: XCTestCase {
    var ring: String { "ringbench-test-pipefail-\(getpid())" }

    /// No file of this test's ring is left in /dev/shm.
    func assertNameGone(_ name: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let path = "/dev/shm/\(name ?? ring)"
        var waited = 0
        while FileManager.default.fileExists(atPath: path), waited < 20 { usleep(50_000); waited += 1 }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was left behind", file: file, line: line)
    }

    override func tearDown() {
        _ = try? RingNames.remove(backing: .mmap, name: ring)
    }

    /// A process started with a pipe the test writes to as its stdin.
    struct Fed {
        let running: Ringbench.Running
        let input: Pipe
        func write(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }
        func closeInput() { try? input.fileHandleForWriting.close() }
    }

    func startFed(_ arguments: [String]) throws -> Fed {
        let process = Process()
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.executableURL = Ringbench.executable
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Fed(running: Ringbench.Running(process: process, out: out, err: err), input: input)
    }

    /// Reads `handle` until `text` appeared (or `seconds` passed); returns what was read.
    func read(_ handle: FileHandle, until text: String, seconds: Double) -> String {
        var seen = Data()
        let end = Date().addingTimeInterval(seconds)
        let fd = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < end, !String(decoding: seen, as: UTF8.self).contains(text) {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            seen.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: seen, as: UTF8.self)
    }

    func temporaryFile(_ contents: Data, _ suffix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-pipefail-\(getpid())-\(suffix)")
        try contents.write(to: url)
        return url
    }

    // MARK: Item 13: byte-identical copies

    func testLastLineWithoutNewlineStaysWithoutOne() throws {
        for text in ["a\nbb\n\nlast", "only", "\n", "x\n", "two\nlines"] {
            let input = try temporaryFile(Data(text.utf8), "tail")
            defer { try? FileManager.default.removeItem(at: input) }
            let pub = try Ringbench.run(["pub", ring], input: input)
            XCTAssertEqual(pub.status, 0, pub.stderr)
            let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "5"]).waitForData()
            XCTAssertEqual(sub.status, 0)
            XCTAssertEqual(String(decoding: sub.data, as: UTF8.self), text)
        }
        assertNameGone()
    }

    // MARK: Item 9: a record goes out as soon as it is read

    /// Lines, and `--framing bytes` (a read is one record, committed at
    /// once: a partial line goes out too).
    func testLineIsVisibleWhilePubsInputStaysOpen() throws {
        for framing in [[], ["--framing", "bytes"]] {
            let pub = try startFed(["pub", ring] + framing)
            let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"] + framing)
            usleep(300_000)
            let written = Date()
            pub.write("hello\n")
            let seen = read(sub.out.fileHandleForReading, until: "hello\n", seconds: 5)
            let delay = Date().timeIntervalSince(written)
            XCTAssertEqual(seen, "hello\n", "\(framing)")
            XCTAssertLessThan(delay, 0.5, "\(framing): the line waited for more input")
            if !framing.isEmpty {
                pub.write("par")
                XCTAssertEqual(read(sub.out.fileHandleForReading, until: "par", seconds: 5), "par", "a partial line goes out too")
            }
            pub.write("world")
            pub.closeInput()
            XCTAssertEqual(pub.running.wait().status, 0)
            let rest = sub.wait()
            XCTAssertEqual(rest.status, 0, rest.stderr)
            XCTAssertEqual(rest.stdout, "world", "\(framing)")
            assertNameGone()
        }
    }

    func testKilledPubDeliversTheLinesItRead() throws {
        let pub = try startFed(["pub", ring])
        pub.write((1...1000).map { "\($0)\n" }.joined())
        usleep(500_000)
        kill(pub.running.pid, SIGKILL)
        _ = pub.running.wait()
        let sub = try Ringbench.run(["sub", ring, "--wait-for-creation", "5"])
        XCTAssertEqual(sub.status, 1, sub.stderr)
        XCTAssertTrue(sub.stderr.contains("died"), sub.stderr)
        XCTAssertEqual(sub.stdout, (1...1000).map { "\($0)\n" }.joined())
        assertNameGone()
    }

    // MARK: Item 8: a failing producer fails its consumer

    /// Lines, and `--framing bytes` (interrupted inside a read that runs
    /// with ring space reserved).
    func testInterruptedPubFailsItsSub() throws {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            for framing in [[], ["--framing", "bytes"]] {
                let pub = try startFed(["pub", ring] + framing)
                let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"] + framing)
                pub.write("one\ntwo\n")
                XCTAssertEqual(read(sub.out.fileHandleForReading, until: "two\n", seconds: 5), "one\ntwo\n")
                kill(pub.running.pid, signal)
                let pubResult = pub.running.wait()
                let pubExited = Date()
                let result = sub.wait()
                let delay = Date().timeIntervalSince(pubExited)
                XCTAssertEqual(pubResult.status, 128 + signal, pubResult.stderr)
                XCTAssertFalse(pubResult.stderr.contains("children"), pubResult.stderr)
                XCTAssertEqual(result.status, 1, result.stderr)
                XCTAssertTrue(result.stderr.contains("producer failed: interrupted by signal \(signal)"), result.stderr)
                XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
                XCTAssertLessThan(delay, 1.0, "sub noticed the failed producer late")
                assertNameGone()
            }
        }
    }

    func testBadInputFailsTheRunningSub() throws {
        var badLength = Data("ok".utf8)
        badLength.insert(contentsOf: withUnsafeBytes(of: UInt32(2).littleEndian) { Data($0) }, at: 0)
        badLength.append(contentsOf: withUnsafeBytes(of: UInt32(1 << 20).littleEndian) { Data($0) })
        let cases: [(arguments: [String], input: Data, delivered: String)] = [
            (["--max-record", "4K"], Data(("short\n" + String(repeating: "y", count: 5000) + "\n").utf8), "short\n"),
            (["--framing", "length"], badLength, "ok"),
            (["--framing", "length"], Data([9, 0, 0, 0, 1, 2]), ""),
            // A large record (read straight into the ring) cut short: nothing of it is delivered.
            (["--framing", "length"], badLength.prefix(6) + withUnsafeBytes(of: UInt32(40_000).littleEndian) { Data($0) }
                + Data(repeating: 7, count: 30_000), "ok"),
        ]
        for (arguments, data, delivered) in cases {
            let input = try temporaryFile(data, "bad")
            defer { try? FileManager.default.removeItem(at: input) }
            let framing = arguments.contains("length") ? ["--framing", "length"] : []
            let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"] + framing)
            usleep(200_000)
            let pub = try Ringbench.run(["pub", ring] + arguments, input: input)
            XCTAssertEqual(pub.status, 1, pub.stderr)
            XCTAssertTrue(pub.stderr.contains("ring '\(ring)'"), pub.stderr)
            let result = sub.waitForData()
            XCTAssertEqual(result.status, 1)
            let expected = framing.isEmpty ? Data(delivered.utf8)
                : (delivered.isEmpty ? Data() : withUnsafeBytes(of: UInt32(2).littleEndian) { Data($0) } + Data(delivered.utf8))
            XCTAssertEqual(result.data, expected, "\(arguments)")
            assertNameGone()
        }
    }

    func testProducerThatReleasesWithoutClosingFailsSubAfterTheGrace() throws {
        let ring = try RecordRing.create(backing: .mmap, name: self.ring, capacity: 64 << 10, maximumRecordLength: 1024)
        do {
            var producer = try ring.producer()
            try Self.write("first", into: &producer)
        } // released, not closed
        let started = Date()
        let sub = try Ringbench.run(["sub", self.ring, "--producer-grace", "0.3"])
        let took = Date().timeIntervalSince(started)
        XCTAssertEqual(sub.status, 1, sub.stderr)
        XCTAssertEqual(sub.stdout, "first\n")
        XCTAssertTrue(sub.stderr.contains("released the ring without ending the stream"), sub.stderr)
        XCTAssertGreaterThanOrEqual(took, 0.3)
        XCTAssertLessThan(took, 5)
    }

    func testProducerMayTakeOverWithinTheGrace() throws {
        let ring = try RecordRing.create(backing: .mmap, name: self.ring, capacity: 64 << 10, maximumRecordLength: 1024)
        do {
            var producer = try ring.producer()
            try Self.write("first", into: &producer)
        }
        let sub = try Ringbench.start(["sub", self.ring, "--producer-grace", "3"])
        usleep(500_000)
        var successor = try ring.producer()
        try Self.write("second", into: &successor)
        successor.close()
        let result = sub.wait()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "first\nsecond\n")
    }

    static func write(_ text: String, into producer: inout RecordRing.Producer) throws {
        try Array(text.utf8).withUnsafeBytes { bytes in try producer.write(bytes, timeoutSeconds: 1) }
    }

    // MARK: Item 10: release after write

    func testKilledSubIsSucceededWithoutAGap() throws {
        let total = 300_000
        let input = try temporaryFile(Data((1...total).map { "\($0)\n" }.joined().utf8), "seq")
        defer { try? FileManager.default.removeItem(at: input) }
        let pub = try Ringbench.start(["pub", ring, "--capacity", "256K", "--consumer-grace", "20"], input: input)
        let first = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"])
        // Read a little, then stop reading: the first sub blocks in write().
        let seen = read(first.out.fileHandleForReading, until: "20000\n", seconds: 10)
        usleep(500_000)
        kill(first.pid, SIGKILL)
        let firstOutput = seen + first.wait().stdout
        let second = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"])
        let secondResult = second.wait()
        XCTAssertEqual(secondResult.status, 0, secondResult.stderr)
        XCTAssertEqual(pub.wait().status, 0)
        // A sub killed inside write() may leave a partial last line; that
        // record is not released, so the successor writes it whole.
        let complete = firstOutput.lastIndex(of: "\n").map { firstOutput[...$0] } ?? ""
        let firstNumbers = complete.split(separator: "\n").compactMap { Int($0) }
        let secondNumbers = secondResult.stdout.split(separator: "\n").compactMap { Int($0) }
        XCTAssertTrue(firstNumbers == Array(1...max(1, firstNumbers.count)), "the first sub's output is not a prefix")
        guard let resume = secondNumbers.first else { return XCTFail("the second sub wrote nothing") }
        XCTAssertLessThanOrEqual(resume, firstNumbers.count + 1, "a gap: lines \(firstNumbers.count + 1)..<\(resume) were lost")
        XCTAssertTrue(secondNumbers == Array(resume...total), "the second sub's output is not \(resume)...\(total)")
        assertNameGone()
    }

    func testSubThatCannotWriteFailsAndSoDoesPub() throws {
        let input = try temporaryFile(Data((1...300_000).map { "\($0)\n" }.joined().utf8), "full")
        defer { try? FileManager.default.removeItem(at: input) }
        let pub = try Ringbench.start(["pub", ring, "--capacity", "64K", "--consumer-grace", "0.5"], input: input)
        let sub = Process()
        sub.executableURL = Ringbench.executable
        sub.arguments = ["sub", ring, "--wait-for-creation", "10"]
        sub.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        let subErr = Pipe()
        sub.standardError = subErr
        try sub.run()
        let subMessage = String(decoding: subErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sub.waitUntilExit()
        XCTAssertEqual(sub.terminationStatus, 1, subMessage)
        XCTAssertTrue(subMessage.contains("write(standard output) failed"), subMessage)
        let started = Date()
        let result = pub.wait()
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("ring '\(ring)'") && result.stderr.contains("consumer failed"), result.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        assertNameGone()
    }

    func testPubNamesTheRingWhenItsConsumerDies() throws {
        let input = try temporaryFile(Data((1...300_000).map { "\($0)\n" }.joined().utf8), "died")
        defer { try? FileManager.default.removeItem(at: input) }
        let pub = try Ringbench.start(["pub", ring, "--capacity", "64K", "--consumer-grace", "0.3"], input: input)
        let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"])
        _ = read(sub.out.fileHandleForReading, until: "1000\n", seconds: 10)
        kill(sub.pid, SIGKILL)
        _ = sub.wait()
        let result = pub.wait()
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("ring '\(ring)'") && result.stderr.contains("died"), result.stderr)
        assertNameGone()
    }

    func testInterruptedSubSaysWhatItDid() throws {
        let pub = try startFed(["pub", ring])
        let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"])
        pub.write("one\n")
        _ = read(sub.out.fileHandleForReading, until: "one\n", seconds: 5)
        kill(sub.pid, SIGTERM)
        let result = sub.wait()
        XCTAssertEqual(result.status, 128 + SIGTERM)
        XCTAssertTrue(result.stderr.contains("interrupted by SIGTERM"), result.stderr)
        XCTAssertFalse(result.stderr.contains("children") || result.stderr.contains("IPC objects removed"), result.stderr)
        // A successor takes over and the stream ends normally.
        let successor = try Ringbench.start(["sub", ring])
        pub.write("two\n")
        pub.closeInput()
        XCTAssertEqual(pub.running.wait().status, 0)
        let rest = successor.wait()
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertEqual(rest.stdout, "two\n")
        assertNameGone()
        // Also while waiting for the ring to be created.
        let waiting = try Ringbench.start(["sub", ring + "-none", "--wait-for-creation", "30"])
        usleep(300_000)
        kill(waiting.pid, SIGTERM)
        let waited = waiting.wait()
        XCTAssertEqual(waited.status, 128 + SIGTERM)
        XCTAssertTrue(waited.stderr.contains("interrupted by SIGTERM while waiting for ring"), waited.stderr)
        XCTAssertFalse(waited.stderr.contains("children"), waited.stderr)
    }

    // MARK: Item 11: a consumed stream is not consumed again

    func testOnlyOneOfFourSubsGetsAFinishedStream() throws {
        let total = 300_000
        let expected = (1...total).map { "\($0)\n" }.joined()
        let input = try temporaryFile(Data(expected.utf8), "four")
        defer { try? FileManager.default.removeItem(at: input) }
        let pub = try Ringbench.run(["pub", ring, "--capacity", "256M"], input: input)
        XCTAssertEqual(pub.status, 0, pub.stderr)
        let subs = try (0..<4).map { _ in try Ringbench.start(["sub", ring, "--wait-for-creation", "1"]) }
        let results = subs.map { $0.wait() }
        let winners = results.filter { $0.status == 0 }
        XCTAssertEqual(winners.count, 1, results.map(\.stderr).joined(separator: " | "))
        XCTAssertTrue(winners.first?.stdout == expected)
        for loser in results where loser.status != 0 {
            XCTAssertTrue(loser.stdout.isEmpty)
            XCTAssertTrue(loser.stderr.contains("stream already consumed by pid") || loser.stderr.contains("already held by")
                          || loser.stderr.contains("no ring"), loser.stderr)
        }
        assertNameGone()
    }

    func testLateConsumerOfAMappedFinishedRingFails() throws {
        // Deterministic form of the race: the loser has the ring mapped
        // before the winner reads it to the end and removes the name.
        let input = try temporaryFile(Data("a\nb\n".utf8), "late")
        defer { try? FileManager.default.removeItem(at: input) }
        XCTAssertEqual(try Ringbench.run(["pub", ring], input: input).status, 0)
        let mapped = try RecordRing.open(backing: .mmap, name: ring)
        let winner = try Ringbench.run(["sub", ring])
        XCTAssertEqual(winner.status, 0, winner.stderr)
        XCTAssertEqual(winner.stdout, "a\nb\n")
        do {
            _ = try mapped.consumer()
            XCTFail("a consumer claimed a stream another consumer read to its end")
        } catch {
            guard case let .streamConsumed(_, pid) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(pid, 0)
        }
        assertNameGone()
    }

    // MARK: --framing bytes: stdin as a byte stream, straight into the ring

    /// Every byte value, and text without a final newline, through a ring
    /// smaller than the input (both sides wait; reads wrap the ring's end):
    /// the copy is byte-identical, from a file (reads of --max-record) and
    /// from a pipe fed in uneven pieces (short reads).
    func testBytesFramingCopiesBinaryAndTextExactly() throws {
        var binary = Data(count: 600_000)
        for i in 0..<binary.count { binary[i] = UInt8(truncatingIfNeeded: (i &* 7919) ^ (i >> 11)) }
        let text = Data((0..<20_000).map { "line \($0)\n" }.joined().utf8) + Data("no newline at the end".utf8)
        let framing = ["--framing", "bytes"]
        let pubArguments = ["pub", ring, "--capacity", "64K", "--max-record", "16K"] + framing
        for (name, data) in [("binary", binary), ("text", text)] {
            let input = try temporaryFile(data, "bytes-\(name)")
            defer { try? FileManager.default.removeItem(at: input) }
            let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"] + framing)
            let pub = try Ringbench.start(pubArguments, input: input)
            let out = sub.waitForData()
            XCTAssertEqual(pub.wait().status, 0, name)
            XCTAssertEqual(out.status, 0, name)
            XCTAssertTrue(out.data == data, "\(name): \(out.data.count) of \(data.count) bytes")
            assertNameGone()
        }
        let fed = try startFed(pubArguments)
        let sub = try Ringbench.start(["sub", ring, "--wait-for-creation", "10"] + framing)
        // Fed from another thread: this one reads sub's output meanwhile.
        let feeder = Thread { [binary] in
            var offset = 0
            var piece = 1
            while offset < binary.count {
                let end = min(binary.count, offset + piece)
                fed.input.fileHandleForWriting.write(binary[offset..<end])
                offset = end
                piece = piece * 3 % 40_009 + 1
            }
            fed.closeInput()
        }
        feeder.start()
        let out = sub.waitForData()
        XCTAssertEqual(fed.running.wait().status, 0)
        XCTAssertEqual(out.status, 0)
        XCTAssertTrue(out.data == binary, "from a pipe: \(out.data.count) of \(binary.count) bytes")
        assertNameGone()
    }
}
