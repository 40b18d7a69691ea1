import CShim
import Foundation
import ShmRing
import TestSupport
import XCTest

/// The journal in one process: append and replay, seeks, tail following
/// (threads), torn tails, corrupt segments, retention while tailing. The
/// cross-process cases (kill -9 campaign, disk full) are in
/// RingbenchCLITests.JournalCLITests.
final class JournalTests: XCTestCase {
    static let segmentSize = 64 << 10

    /// The payload every test writes for `sequence`: its length and bytes
    /// follow from the sequence, so any reader can check any record.
    static func length(_ sequence: UInt64) -> Int { 1 + Int(sequence &* 2_654_435_761 % 700) }
    static func fill(_ sequence: UInt64, _ payload: UnsafeMutableRawBufferPointer) {
        for i in 0..<payload.count { payload[i] = UInt8(truncatingIfNeeded: sequence &* 31 &+ UInt64(i)) }
    }
    static func check(_ record: Journal.Record) -> Bool {
        guard record.payload.count == length(record.sequence) else { return false }
        for i in 0..<record.payload.count where record.payload[i] != UInt8(truncatingIfNeeded: record.sequence &* 31 &+ UInt64(i)) { return false }
        return true
    }

    func options(retention: Journal.Retention = .keepEverything) -> Journal.ProducerOptions {
        Journal.ProducerOptions(segmentSize: Self.segmentSize, durability: .processCrash, retention: retention)
    }

    func append(_ producer: inout Journal.Producer, _ count: Int, batch: Int = 1) throws {
        for i in 0..<count {
            let sequence = producer.nextSequence
            try producer.reserve(Self.length(sequence)) { Self.fill(sequence, $0) }
            if (i + 1) % batch == 0 { try producer.commit() }
        }
        try producer.commit()
    }

    /// Reads until nothing is committed; checks every record; returns the sequences.
    func drain(_ tailer: inout Journal.Tailer) throws -> [UInt64] {
        var seen: [UInt64] = []
        while let step = try tailer.tryRead({ record in (record.sequence, Self.check(record)) }) {
            guard case let .record((sequence, good)) = step else { break }
            XCTAssertTrue(good, "record \(sequence) has the wrong payload")
            seen.append(sequence)
        }
        return seen
    }

    /// The error `body` throws (nil if none): XCTAssertThrowsError needs a copyable result.
    func thrown(_ body: () throws -> Void) -> ShmError? {
        do { try body(); return nil } catch { return error as? ShmError ?? .invalidArgument("not a ShmError: \(error)") }
    }

    func segmentFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    func testCRC32CMatchesTheStandardCheckValueInHardwareAndSoftware() {
        let text = Array("123456789".utf8)
        XCTAssertEqual(cshim_crc32c(0, text, text.count), 0xE306_9283)
        XCTAssertEqual(cshim_crc32c_software(0, text, text.count), 0xE306_9283)
        var generator = SystemRandomNumberGenerator()
        // Every length up to 1100 (word steps, every 0-7-byte tail, the
        // smallest triples of equal thirds from 96 bytes, a 1 KiB record), and
        // around the largest third (3 x 4 KiB) and several triples in a row.
        for length in Array(0...1100) + [12_287, 12_288, 12_289, 12_312, 24_575, 24_576, 24_577, 50_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(cshim_crc32c(0, bytes, length), cshim_crc32c_software(0, bytes, length), "length \(length)")
            // Continuing a CRC over a split equals the CRC of the whole.
            let half = length / 2
            let split = bytes.withUnsafeBytes { b in cshim_crc32c(cshim_crc32c(0, b.baseAddress, half), b.baseAddress! + half, length - half) }
            XCTAssertEqual(split, cshim_crc32c(0, bytes, length))
            // The pair (a record's checksum skips its own field) equals the split too.
            let pair = bytes.withUnsafeBytes { b in cshim_crc32c_pair(b.baseAddress, half, b.baseAddress! + half, length - half) }
            XCTAssertEqual(pair, cshim_crc32c(0, bytes, length), "pair, length \(length)")
        }
    }

    func testManyRecordsPerReadStayInOneSegmentAndLeaveTheRestToTryRead() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 3000, batch: 7)
        for start in [Journal.Start.oldest, .sequence(1234)] {
            var tailer = try Journal.tailer(directory: dir, from: start)
            var seen: [UInt64] = [], batches = 0, steps = 0
            while true {
                let segment = tailer.segmentFirstSequence
                var good = true
                let limit = batches % 5 == 0 ? 2 : Int.max
                var shown = 0
                let count = try tailer.tryReadRecords { record in
                    good = good && Self.check(record) && record.sequence >= segment
                    seen.append(record.sequence)
                    shown += 1
                    return shown < limit
                }
                XCTAssertTrue(good)
                XCTAssertEqual(tailer.segmentFirstSequence, segment, "a batch never leaves its segment")
                if count > 0 {
                    batches += 1
                    continue
                }
                // Segment seams, the seek's skipping: one step at a time.
                guard let step = try tailer.tryRead({ record in (record.sequence, Self.check(record)) }) else { break }
                guard case let .record((sequence, intact)) = step else { return XCTFail("unexpected \(step)") }
                XCTAssertTrue(intact)
                seen.append(sequence)
                steps += 1
            }
            let first: UInt64 = if case .sequence(let n) = start { n } else { 0 }
            XCTAssertEqual(seen, Array(first..<3000))
            XCTAssertGreaterThan(batches, steps, "most records come in batches")
            XCTAssertGreaterThan(steps, 10, "each seam is a step of its own")
        }
        // At the end of the stream a batch is empty; tryRead says why.
        try producer.close()
        var tailer = try Journal.tailer(directory: dir, from: .latest)
        XCTAssertEqual(try tailer.tryReadRecords { _ in true }, 0)
        guard case .endOfStream? = try tailer.tryRead({ _ in () }) else { return XCTFail("expected the end of the stream") }
    }

    /// `writeRecords`: many records a batch, across index entries and
    /// segment rolls, each sealed with its checksum (the replay verifies
    /// every one), sequences without a gap, one timestamp a batch, never
    /// decreasing; a `reserve` whose fill throws leaves no record behind; a
    /// record lent by `reserve(_:)` and written after the call is sealed by
    /// the next write or the commit.
    func testBatchWriterSealsEveryRecordAcrossRollsAndAFailedFillLeavesNoRecord() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        var written = 0
        for batch in 0..<40 {
            try producer.writeRecords { (writer) throws(ShmError) in
                for _ in 0..<(batch % 7 == 0 ? 1 : 97) {
                    let sequence = UInt64(written)
                    let length = Self.length(sequence)
                    Self.fill(sequence, UnsafeMutableRawBufferPointer(start: try writer.append(length), count: length))
                    written += 1
                }
            }
            if batch % 3 == 0 { try producer.commit() }
            // A record lent by `reserve(_:)`, written after the call: sealed by the next write.
            if batch % 4 == 1 {
                let sequence = UInt64(written)
                let payload = try producer.reserve(Self.length(sequence))
                Self.fill(sequence, payload)
                written += 1
            }
            // A fill that throws: nothing written, the next record takes its sequence.
            XCTAssertThrowsError(try producer.reserve(100) { _ throws(ShmError) in throw .invalidArgument("no") })
            XCTAssertEqual(producer.nextSequence, UInt64(written))
        }
        // The last lent record is sealed by the commit.
        let payload = try producer.reserve(Self.length(UInt64(written)))
        Self.fill(UInt64(written), payload)
        written += 1
        try producer.commit()
        XCTAssertGreaterThan(segmentFiles(dir).count, 10, "the batches rolled segments")
        var tailer = try Journal.tailer(directory: dir, from: .oldest, verifyChecksums: true)
        var stamps: [UInt64] = []
        while let step = try tailer.tryRead({ record in (record.sequence, record.timestamp, Self.check(record)) }) {
            guard case let .record((sequence, stamp, good)) = step else { return XCTFail("unexpected \(step)") }
            XCTAssertTrue(good, "record \(sequence)")
            XCTAssertEqual(sequence, UInt64(stamps.count))
            stamps.append(stamp)
        }
        XCTAssertEqual(stamps.count, written)
        XCTAssertEqual(stamps, stamps.sorted(), "timestamps never decrease")
        // Seeks through the index entries the batches wrote land on their record.
        for target in [UInt64(1), 777, UInt64(written - 1)] {
            var seeker = try Journal.tailer(directory: dir, from: .sequence(target))
            guard case let .record(sequence)? = try seeker.tryRead({ $0.sequence }) else { return XCTFail("no record at \(target)") }
            XCTAssertEqual(sequence, target)
        }
        // A new producer recovers the journal with no torn record.
        try producer.close()
        let again = try Journal.producer(directory: dir, options: options())
        XCTAssertEqual(again.recovery.tornRecords, 0)
        XCTAssertEqual(again.nextSequence, UInt64(written))
    }

    func testAppendRollAndReplayFromOldestThenEndOfStream() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 3000, batch: 7)
        XCTAssertGreaterThan(segmentFiles(dir).count, 10, "3000 records of ~350 B roll 64 KiB segments")
        var tailer = try Journal.tailer(directory: dir, from: .oldest)
        XCTAssertEqual(try drain(&tailer), Array(0..<3000))
        try producer.close()
        let end = try tailer.read(timeoutSeconds: 1) { _ in () }
        guard case .endOfStream = end else { return XCTFail("expected end of stream, got \(end)") }
        // Files are private.
        var st = stat()
        XCTAssertEqual(stat(dir + "/" + segmentFiles(dir)[0], &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        // A new producer continues the sequence.
        var again = try Journal.producer(directory: dir, options: options())
        XCTAssertEqual(again.nextSequence, 3000)
        XCTAssertEqual(again.recovery.tornRecords, 0)
        try append(&again, 10)
        XCTAssertEqual(try drain(&tailer), Array(3000..<3010))
    }

    /// `reserve(_:)` lends the payload; the bytes written after it are what
    /// the checksum covers (it is written at the next reserve or commit),
    /// across segment rolls, and what a checking tailer reads.
    func testReserveInPlaceChecksumsThePayloadWrittenAfterIt() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        for i: UInt64 in 0..<1000 {
            Self.fill(i, try producer.reserve(Self.length(i)))
            if i % 7 == 6 { try producer.commit() }
        }
        try producer.commit()
        XCTAssertGreaterThan(segmentFiles(dir).count, 3)
        var tailer = try Journal.tailer(directory: dir, from: .oldest, verifyChecksums: true)
        XCTAssertEqual(try drain(&tailer), Array(0..<1000))
        // The last one, checksummed when the handle goes.
        Self.fill(1000, try producer.reserve(Self.length(1000)))
        _ = consume producer
        XCTAssertEqual(try drain(&tailer), [1000])
    }

    /// A tailer waiting without a deadline for a journal that is then
    /// removed (`rm -r`) gets `noSuchRegion` within about 50 ms, after every
    /// committed record, instead of parking forever; a removal while records
    /// are still unread does not cut them off. Each strategy waits its own way.
    func testAWaitingTailerLearnsThatItsJournalWasRemoved() throws {
        for strategy in [WaitStrategy.park, .yield, .spin] {
            let scratch = try ScratchDirectory()
            let dir = scratch.file("j")
            var producer = try Journal.producer(directory: dir, options: options())
            try append(&producer, 5)
            var tailer = try Journal.tailer(directory: dir, from: .oldest, wait: strategy)
            _ = consume producer
            try FileManager.default.removeItem(atPath: dir)
            XCTAssertEqual(try drain(&tailer), Array(0..<5), "\(strategy): records committed before the removal are read")
            let start = Date()
            let error = thrown { _ = try tailer.read(timeoutSeconds: nil) { _ in () } }
            guard case .noSuchRegion? = error else { return XCTFail("\(strategy): expected noSuchRegion, got \(String(describing: error))") }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(strategy): bounded")
        }
    }

    func testSecondProducerIsRefusedWhileTheFirstLives() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        let producer = try Journal.producer(directory: dir, options: options())
        let error = thrown { _ = try Journal.producer(directory: dir, options: options()) }
        guard case .endpointTaken(_, .producer, let pid)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(pid, getpid())
        _ = consume producer
        XCTAssertNil(thrown { _ = try Journal.producer(directory: dir, options: options()) })
    }

    func testSeekBySequenceTimeAndLatest() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        var stamps: [UInt64] = []
        for i in 0..<2000 {
            try append(&producer, 1)
            if i % 100 == 0 { usleep(200) } // distinct times between groups
        }
        var all = try Journal.tailer(directory: dir, from: .oldest)
        while case let .record(stamp)? = try all.tryRead({ $0.timestamp }) { stamps.append(stamp) }
        XCTAssertEqual(stamps.count, 2000)
        XCTAssertEqual(stamps, stamps.sorted(), "timestamps never go back")
        for target: UInt64 in [0, 1, 99, 100, 777, 1234, 1999] {
            var tailer = try Journal.tailer(directory: dir, from: .sequence(target))
            let first = try tailer.tryRead { $0.sequence }
            guard case .record(let sequence)? = first else { return XCTFail("no record at \(target)") }
            XCTAssertEqual(sequence, target)
        }
        for k in [0, 5, 101, 1500, 1999] {
            let time = stamps[k]
            var tailer = try Journal.tailer(directory: dir, from: .time(nanosecondsSinceEpoch: time))
            guard case .record(let sequence)? = try tailer.tryRead({ $0.sequence }) else { return XCTFail("no record at time index \(k)") }
            XCTAssertEqual(sequence, UInt64(stamps.firstIndex(where: { $0 >= time })!), "first record at or after stamp \(k)")
        }
        var late = try Journal.tailer(directory: dir, from: .time(nanosecondsSinceEpoch: stamps[1999] + 1))
        XCTAssertNil(try late.tryRead { $0.sequence })
        var latest = try Journal.tailer(directory: dir, from: .latest)
        XCTAssertNil(try latest.tryRead { $0.sequence })
        var beyond = try Journal.tailer(directory: dir, from: .sequence(2005))
        try append(&producer, 10)
        XCTAssertEqual(try drain(&latest), Array(2000..<2010))
        XCTAssertEqual(try drain(&beyond), Array(2005..<2010))
    }

    func testTailerFollowsTheLiveTailAcrossSegmentsWhileParked() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 1)
        let total = 4000
        let box = ResultBox<[UInt64], ShmError>()
        let tailerReady = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                var tailer = try Journal.tailer(directory: dir, from: .oldest, wait: .park)
                tailerReady.signal()
                var seen: [UInt64] = []
                while seen.count < total + 1 {
                    guard case .record(let sequence) = try tailer.read(timeoutSeconds: 10, { record in
                        XCTAssertTrue(Self.check(record))
                        return record.sequence
                    }) else { break }
                    seen.append(sequence)
                }
                box.set(.success(seen))
            } catch let error as ShmError { box.set(.failure(error)) } catch { box.set(.failure(.invalidArgument("\(error)"))) }
        }
        thread.start()
        tailerReady.wait()
        for i in 0..<total {
            try append(&producer, 1)
            if i % 500 == 0 { usleep(20_000) } // let the tailer park
        }
        XCTAssertEqual(try box.wait(seconds: 20)?.get(), Array(0..<UInt64(total + 1)))
    }

    func testTornTailIsCutAndNeverShown() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 100)
        let path = producer.currentSegmentPath
        _ = consume producer
        // Damage the payload of the last record (what a machine crash can leave).
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let lastLength = Self.length(99)
        let end = data.withUnsafeBytes { $0.load(fromByteOffset: 72, as: UInt64.self) }
        let lastPayload = Int(end) - ((24 + lastLength + 7) & ~7) + 24
        try flipByte(path, at: lastPayload)
        let reopened = try Journal.producer(directory: dir, options: options())
        XCTAssertEqual(reopened.recovery.tornRecords, 1)
        XCTAssertEqual(reopened.nextSequence, 99)
        var tailer = try Journal.tailer(directory: dir, from: .oldest)
        XCTAssertEqual(try drain(&tailer), Array(0..<99))
    }

    func flipByte(_ path: String, at offset: Int) throws {
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var byte: UInt8 = 0
        XCTAssertEqual(pread(fd, &byte, 1, off_t(offset)), 1)
        byte ^= 0x5A
        XCTAssertEqual(pwrite(fd, &byte, 1, off_t(offset)), 1)
    }

    func testCorruptSegmentsAreTypedErrors() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 400)
        try producer.close()
        let first = dir + "/" + segmentFiles(dir)[0]
        // A flipped payload byte: the checksum catches it.
        let dataOffset = 8192
        try flipByte(first, at: dataOffset + 24)
        var tailer = try Journal.tailer(directory: dir, from: .oldest)
        XCTAssertThrowsError(try tailer.tryRead { _ in () }) { error in
            guard case .corruptRing = error as? ShmError else { return XCTFail("\(error)") }
        }
        try flipByte(first, at: dataOffset + 24)
        // An impossible committed sequence.
        try flipByte(first, at: 64 + 5)
        guard case .corruptRing? = thrown({ try readAll(dir, from: .oldest) }) else { return XCTFail() }
        try flipByte(first, at: 64 + 5)
        // A damaged header.
        try flipByte(first, at: 20)
        let corruptedHeaderError = thrown { _ = try Journal.tailer(directory: dir, from: .oldest) }
        guard case .corruptedHeader? = corruptedHeaderError else { return XCTFail("\(String(describing: corruptedHeaderError))") }
        try flipByte(first, at: 20)
        // A truncated segment.
        XCTAssertEqual(truncate(first, off_t(Self.segmentSize / 2)), 0)
        let sizeMismatchError = thrown { _ = try Journal.tailer(directory: dir, from: .oldest) }
        guard case .sizeMismatch? = sizeMismatchError else { return XCTFail("\(String(describing: sizeMismatchError))") }
        // Random garbage everywhere in a segment: typed errors or valid records, never a crash.
        let last = dir + "/" + segmentFiles(dir).last!
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 { try flipByte(last, at: Int.random(in: 64..<Self.segmentSize, using: &generator)) }
        _ = thrown { try readAll(dir, from: .sequence(390)) }
    }

    /// Reads every record from `start` to the end of the stream.
    func readAll(_ dir: String, from start: Journal.Start) throws {
        var tailer = try Journal.tailer(directory: dir, from: start)
        while let step = try tailer.tryRead({ _ in () }) { if case .endOfStream = step { break } }
    }

    func testRetentionDeletesSegmentsWhileATailerReadsThem() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options(retention: .init(maximumBytes: 4 * Self.segmentSize)))
        try append(&producer, 300)
        var tailer = try Journal.tailer(directory: dir, from: .oldest)
        // Read a few records of segment 0, then let retention delete it and more.
        for expected in 0..<UInt64(5) {
            guard case .record(let sequence)? = try tailer.tryRead({ $0.sequence }) else { return XCTFail() }
            XCTAssertEqual(sequence, expected)
        }
        try append(&producer, 3000)
        XCTAssertLessThanOrEqual(segmentFiles(dir).count, 4)
        // The tailer finishes the deleted segment from its mapping, then is told what it lost.
        var sequences: [UInt64] = []
        var lost: UInt64 = 0
        while let step = try tailer.tryRead({ record in XCTAssertTrue(Self.check(record)); return record.sequence }) {
            switch step {
            case .record(let sequence): sequences.append(sequence)
            case .overrun(let count): lost += count; XCTAssertEqual(sequences.last.map { $0 + 1 + count }, firstSequence(dir))
            case .endOfStream: XCTFail()
            }
        }
        XCTAssertGreaterThan(lost, 0)
        XCTAssertEqual(UInt64(sequences.count) + lost + 5, 3300, "every record read or counted lost, exactly")
        XCTAssertEqual(sequences.last, 3299)
    }

    func testAgeRetentionDeletesOldSegmentsAndTrimAgrees() throws {
        let scratch = try ScratchDirectory()
        let dir = scratch.file("j")
        var producer = try Journal.producer(directory: dir, options: options())
        try append(&producer, 1000)
        let before = segmentFiles(dir).count
        _ = consume producer
        usleep(20_000)
        // Every segment but the last was followed by one created over 10 ms ago.
        XCTAssertEqual(try Journal.trim(directory: dir, retention: .init(maximumAgeSeconds: 0.01)), before - 1)
        XCTAssertEqual(segmentFiles(dir).count, 1)
        var tailer = try Journal.tailer(directory: dir, from: .sequence(0))
        guard case .overrun(let lost)? = try tailer.tryRead({ _ in () }) else { return XCTFail("expected an overrun") }
        XCTAssertEqual(lost, firstSequence(dir))
        XCTAssertEqual(try drain(&tailer), Array(firstSequence(dir)!..<1000))
        // A producer with age retention deletes at its roll too.
        var aging = try Journal.producer(directory: dir, options: options(retention: .init(maximumAgeSeconds: 0)))
        try append(&aging, 1000)
        XCTAssertLessThanOrEqual(segmentFiles(dir).count, 2)
    }

    func firstSequence(_ dir: String) -> UInt64? { segmentFiles(dir).first.flatMap { UInt64($0.prefix(20)) } }

    func testDurabilityModesCommitAndReplay() throws {
        for durability: Journal.Durability in [.everyCommit, .interval(milliseconds: 1)] {
            let scratch = try ScratchDirectory()
            let dir = scratch.file("j")
            var producer = try Journal.producer(directory: dir, options: .init(segmentSize: Self.segmentSize, durability: durability))
            try append(&producer, 500)
            var tailer = try Journal.tailer(directory: dir, from: .oldest)
            XCTAssertEqual(try drain(&tailer), Array(0..<500))
        }
    }

    func testBadArgumentsAreTypedErrors() throws {
        let scratch = try ScratchDirectory()
        guard case .invalidArgument? = thrown({ _ = try Journal.producer(directory: scratch.file("j"), options: .init(segmentSize: 1000)) }) else { return XCTFail() }
        guard case .noSuchRegion? = thrown({ _ = try Journal.tailer(directory: scratch.file("missing"), from: .oldest) }) else { return XCTFail() }
        var producer = try Journal.producer(directory: scratch.file("j"), options: options())
        XCTAssertThrowsError(try producer.reserve(Self.segmentSize) { _ in })
        // A symlink in place of the directory is refused.
        XCTAssertEqual(symlink(scratch.file("j"), scratch.file("link")), 0)
        guard case .invalidArgument? = thrown({ _ = try Journal.producer(directory: scratch.file("link"), options: options()) }) else { return XCTFail() }
    }
}
