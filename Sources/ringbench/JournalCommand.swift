import ArgumentParser
import BenchHarness
import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench journal ls|verify|dump|trim|append DIR`: tools over a journal
/// directory (`ShmRing.Journal`).
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Inspect, check, print and trim a persistent journal (a directory of segment files).",
        subcommands: [List.self, Verify.self, Dump.self, Trim.self, Append.self, JournalBenchCommand.self])

    /// Runs `body`, turning a ShmError into one line and exit status 1.
    static func guarded<T>(_ body: () throws(ShmError) -> T) throws -> T {
        do { return try body() } catch { throw CommandFailure(message: error.description, code: 1) }
    }

    /// `guarded` for a body that may also be interrupted (`Journal.Tailer.follow`).
    static func guardedFollow<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ShmError {
            throw CommandFailure(message: error.description, code: 1)
        } catch HarnessError.interrupted(let signal) {
            throw CommandFailure(message: "interrupted by \(SignalGuard.name(of: signal))", code: 128 + signal)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "One line per segment: first sequence, committed records, state, first time.")
        @Argument(help: ArgumentHelp("Journal directory.", valueName: "DIR")) var directory: String

        func run() throws {
            let segments = try JournalCommand.guarded { () throws(ShmError) in try Journal.segments(directory: directory) }
            print("segment                  first_seq     records  state   first_time_ns")
            for s in segments {
                print("\(s.fileName)  \(String(s.firstSequence).padding(12))  \(String(s.records).padding(10))  \(s.state.padding(6))  \(s.firstTimestamp.map(String.init) ?? "-")")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Read every record from the oldest, checking framing, sequence and CRC32C; exit 1 on the first bad one.")
        @Argument(help: ArgumentHelp("Journal directory.", valueName: "DIR")) var directory: String
        @Flag(help: "Follow the live tail (parked) until a producer closes the journal.") var follow = false
        @Flag(help: ArgumentHelp("Also check each payload against `journal append`'s pattern.", visibility: .hidden)) var pattern = false

        func run() throws {
            var count: UInt64 = 0, bytes = 0, lost: UInt64 = 0
            var first: UInt64?
            var last: UInt64?
            try JournalCommand.guardedFollow { () throws in
                var tailer = try Journal.tailer(directory: directory, from: .oldest, verifyChecksums: true)
                let body = { (record: Journal.Record) throws(ShmError) -> (UInt64, Int) in
                    if pattern, !JournalPattern.check(record) { throw .corruptRing(reason: "record \(record.sequence) does not hold its pattern") }
                    if let last, record.sequence != last + 1 { throw .corruptRing(reason: "record \(record.sequence) follows \(last)") }
                    return (record.sequence, record.payload.count)
                }
                while let step = try follow ? tailer.follow(body) : tailer.tryRead(body) {
                    switch step {
                    case .record(let (sequence, length)):
                        if first == nil { first = sequence }
                        last = sequence
                        count += 1
                        bytes += length
                    case .overrun(let n): lost += n; last = nil
                    case .endOfStream: return
                    }
                }
            }
            let range = first.map { "\($0)...\(last!)" } ?? "none"
            print("ok: \(count) records (sequences \(range)), \(bytes) payload bytes\(lost > 0 ? ", \(lost) deleted by retention while reading" : "")")
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dump", abstract: "Print records: sequence, timestamp, length, and the payload (escaped text).")
        @Argument(help: ArgumentHelp("Journal directory.", valueName: "DIR")) var directory: String
        @Option(help: "Where to start: oldest, latest, a sequence number, or a time (ns since the epoch, suffix 'ns'; or seconds with a fraction).")
        var from: String = "oldest"
        @Option(help: "Print at most N records.") var limit: Int?

        func run() throws {
            let start = try JournalStart.parse(from)
            var printed = 0
            try JournalCommand.guarded { () throws(ShmError) in
                var tailer = try Journal.tailer(directory: directory, from: start)
                while printed < (limit ?? .max), let step = try tailer.tryRead({ record in
                    let text = String(decoding: record.payload.prefix(200), as: UTF8.self).debugDescription
                    return "\(record.sequence) \(record.timestamp) \(record.payload.count) \(text)"
                }) {
                    switch step {
                    case .record(let line): print(line); printed += 1
                    case .overrun(let n): print("# \(n) records deleted by retention")
                    case .endOfStream: return
                    }
                }
            }
        }
    }

    struct Trim: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trim",
            abstract: "Delete old segments as a producer's retention would (fails while a producer runs).")
        @Argument(help: ArgumentHelp("Journal directory.", valueName: "DIR")) var directory: String
        @Option(name: .customLong("max-bytes"), help: "Keep at most this many bytes of segments.") var maxBytes: Int?
        @Option(name: .customLong("max-age"), help: "Delete segments whose records are all older than this many seconds.") var maxAge: Double?

        func run() throws {
            guard maxBytes != nil || maxAge != nil else { throw CommandFailure(message: "journal trim needs --max-bytes and/or --max-age", code: 2) }
            let deleted = try JournalCommand.guarded { () throws(ShmError) in
                try Journal.trim(directory: directory, retention: .init(maximumBytes: maxBytes, maximumAgeSeconds: maxAge))
            }
            print("deleted \(deleted) segment\(deleted == 1 ? "" : "s")")
        }
    }

    /// The fault campaign's writer: appends records whose length and bytes
    /// follow from their sequence (so a reader can check every one), commits
    /// every --batch records, and after each commit prints the committed
    /// sequence on a line (written with write(2), so a kill -9 loses no line
    /// of a commit that returned).
    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "append", abstract: "Append checkable generated records (the crash campaign's writer).",
                                                        shouldDisplay: false)
        @Argument(help: ArgumentHelp("Journal directory.", valueName: "DIR")) var directory: String
        @Option var count: Int = 1000
        @Option var batch: Int = 1
        @Option(name: .customLong("segment-size")) var segmentSize: Int = 1 << 20
        @Option var durability: String = "process"
        @Flag var report = false
        @Flag var close = false

        func run() throws {
            let mode: Journal.Durability = durability == "every" ? .everyCommit : durability == "process" ? .processCrash
                : .interval(milliseconds: Int(durability) ?? 10)
            try JournalCommand.guarded { () throws(ShmError) in
                var producer = try Journal.producer(directory: directory, options: .init(segmentSize: segmentSize, durability: mode))
                for i in 0..<count {
                    let sequence = producer.nextSequence
                    try producer.reserve(JournalPattern.length(sequence)) { JournalPattern.fill(sequence, $0) }
                    if (i + 1) % max(1, batch) == 0 || i + 1 == count {
                        try producer.commit()
                        if report {
                            let line = Array("\(producer.committedSequence)\n".utf8)
                            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                        }
                    }
                }
                if close { try producer.close() }
            }
        }
    }
}

/// The checkable payload of the campaign's records: length and bytes follow from the sequence.
enum JournalPattern {
    static func length(_ sequence: UInt64) -> Int { 1 + Int(sequence &* 2_654_435_761 % 700) }
    static func fill(_ sequence: UInt64, _ payload: UnsafeMutableRawBufferPointer) {
        for i in 0..<payload.count { payload[i] = UInt8(truncatingIfNeeded: sequence &* 31 &+ UInt64(i)) }
    }
    static func check(_ record: Journal.Record) -> Bool {
        guard record.payload.count == length(record.sequence) else { return false }
        for i in 0..<record.payload.count where record.payload[i] != UInt8(truncatingIfNeeded: record.sequence &* 31 &+ UInt64(i)) { return false }
        return true
    }
}

/// `--from oldest|latest|SEQ|TIME` of `sub --journal` and `journal dump`.
enum JournalStart {
    static func parse(_ text: String) throws -> Journal.Start {
        switch text {
        case "oldest": return .oldest
        case "latest": return .latest
        default:
            if text.hasSuffix("ns"), let ns = UInt64(text.dropLast(2)) { return .time(nanosecondsSinceEpoch: ns) }
            if let sequence = UInt64(text) { return .sequence(sequence) }
            if let seconds = Double(text), seconds >= 0, seconds < 1e11 { return .time(nanosecondsSinceEpoch: UInt64(seconds * 1e9)) }
            throw CommandFailure(message: "--from must be oldest, latest, a sequence number, or a time (seconds with a fraction, or NNNns), got '\(text)'", code: 2)
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
