import ArgumentParser
import BenchHarness
import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench pub NAME`: the reference producer of a record pipeline.
struct PubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pub",
        abstract: "Publish records into a named record ring: lines of standard input, or generated ones.",
        discussion: """
            Creates the ring NAME (reclaiming a stale one a killed pipeline left), writes every line of
            standard input as one record (a last line without newline stays without one: the copy is
            byte-identical) (or --count generated records), and closes the ring at the end:
            the consumer (`ringbench sub NAME`) drains it and sees end of stream. pub may exit before
            sub starts: the name stays until the consumer reaches the end (or `ringbench rm NAME`).
            Each record is published as soon as the read that completed it returns (a line typed or
            logged reaches sub at once); a kill -9 loses only records not yet read from stdin.
            --framing bytes carries stdin as a byte stream: each read(2) goes straight into the ring
            as one record (up to --max-record bytes) and sub writes it straight out: the fastest
            framing, a pipe replacement, but records are arbitrary chunks (use lines, the default,
            when a consumer expects one line per record; both sides need the same framing).
            If pub fails (SIGINT/SIGTERM/SIGHUP, a record longer than --max-record, a bad length
            prefix, a read error), it ends the stream as failed and removes the name: a running sub
            writes what was published, then exits 1 with "producer failed: <reason>".
            If the consumer dies or fails while the ring is full, pub waits --consumer-grace seconds
            for another `ringbench sub NAME` to take over (it resumes after the last record the old
            one wrote out), then fails.
            Examples:
              ringbench pub q < big.log            (and in another shell: ringbench sub q > copy.log)
              ringbench pub q --count 1M --size 100 --rate 50000
            """)

    @Argument(help: ArgumentHelp("Ring name (a file name under --directory).", valueName: "NAME"))
    var name: String

    @OptionGroup var location: RingLocationOptions

    @Option(parsing: .unconditional,
            help: OptionRules.ringBytes.help("Bytes in the ring, a power of two (suffixes K, M, G).", valueName: "BYTES", default: 4 << 20),
            transform: OptionRules.ringBytes.transform)
    var capacity: Int = 4 << 20

    @Option(name: .customLong("max-record"), parsing: .unconditional,
            help: OptionRules.recordBytes.help("Largest record the ring accepts (default 64K, or the ring's capacity - 8 if smaller); longer input is an error.",
                                               valueName: "BYTES"),
            transform: OptionRules.recordBytes.transform)
    var maxRecordOption: Int?

    var maxRecord: Int { maxRecordOption ?? max(1, min(64 << 10, capacity - 8)) }

    @Option(help: "How stdin is cut into records: lines (one record per line, the default), length (4-byte little-endian length, then the bytes), or bytes (each read is a record: fastest, a pipe replacement; records are arbitrary chunks).")
    var framing: Framing = .lines

    @Option(parsing: .unconditional,
            help: OptionRules.messages.help("Generate N records instead of reading stdin (suffixes k, M).", valueName: "N"),
            transform: OptionRules.messages.transform)
    var count: Int?

    @Option(parsing: .unconditional,
            help: OptionRules.recordBytes.help("Bytes per generated record.", valueName: "BYTES", default: 64),
            transform: OptionRules.recordBytes.transform)
    var size: Int = 64

    @Option(parsing: .unconditional,
            help: OptionRules.rate.help("Generated records per second (default: as fast as the consumer takes them).", valueName: "N"),
            transform: OptionRules.rate.transform)
    var rate: Int?

    @Option(help: "How the producer waits when the ring is full: spin, yield, park or backoff (spin, then yield, then park).")
    var wait: WaitStrategy = .park

    @Option(name: .customLong("consumer-grace"),
            help: ArgumentHelp("Seconds to wait, with the ring full, for a new sub after the consumer died or failed.", valueName: "SECONDS"))
    var consumerGrace: Double = 5

    @Flag(help: "Create a broadcast ring: any number of `ringbench sub NAME` each receive the whole stream.")
    var broadcast = false

    @OptionGroup var policyOptions: BroadcastPolicyOptions

    /// `--policy` and `--evict-after`, checked.
    var policy: BroadcastPolicy { get throws { try policyOptions.policy() } }

    @Option(help: ArgumentHelp("With --broadcast: wait for N subs to join before the first record (slots: at least 64).", valueName: "N"))
    var consumers: Int?

    @Option(help: ArgumentHelp("Append to the persistent journal DIR/NAME instead of a ring (closed at the end of input).", valueName: "DIR"))
    var journal: String?

    func run() throws {
        if let journal {
            return try JournalPipeline.publish(journal: journal, name: name, framing: framing, maxRecord: maxRecord, count: count, size: size)
        }
        if count != nil, !(1...maxRecord).contains(size) {
            throw CommandFailure(message: "--size must be between 1 and --max-record (\(maxRecord)) bytes, got \(size)", code: 2)
        }
        if !broadcast, policyOptions.given {
            throw CommandFailure(message: "--policy and --evict-after go with --broadcast", code: 2)
        }
        if broadcast {
            _ = try policy
            if let consumers, !(1...BroadcastLayout.maximumConsumers).contains(consumers) {
                throw CommandFailure(message: "--consumers must be between 1 and \(BroadcastLayout.maximumConsumers), got \(consumers)", code: 2)
            }
            return try BroadcastPublisher(command: self).run()
        }
        let backing = try location.regionBacking()
        guard consumerGrace >= 0, consumerGrace.isFinite else {
            throw CommandFailure(message: "--consumer-grace must be a number of seconds, at least 0", code: 2)
        }
        let ring: RecordRing
        do {
            ring = try RecordRing.create(backing: backing, name: name, capacity: capacity, maximumRecordLength: maxRecord,
                                         options: location.regionOptions(), reclaimStale: true)
        } catch { throw CommandFailure(message: error.description, code: { if case .invalidArgument = error { 2 } else { 1 } }()) }
        var producer: RecordRing.Producer
        do { producer = try ring.producer(wait: wait) } catch { throw error.commandFailure }
        var publisher = Publisher(ring: name, consumerGrace: consumerGrace)
        do {
            if let count {
                try generate(count, into: &producer) { record, producer in try publisher.publish(record, into: &producer) }
            } else {
                var input = RecordInput(framing: framing, maximumRecord: maxRecord)
                // Every record a read completed goes out at once (one commit per read).
                var more = true
                while more {
                    if framing == .bytes {
                        more = try publisher.publishRead(from: &input, into: &producer)
                    } else {
                        more = try input.fill()
                        try publisher.publishAll(from: &input, into: &producer)
                        // Large length-framed records: straight from stdin into the ring, each
                        // committed as soon as it is complete (then any small ones its read completed).
                        while let length = input.pendingLargeRecord() {
                            producer.commit() // what is complete goes out before a read that may wait
                            try publisher.publishDirect(length, from: &input, into: &producer)
                            producer.commit()
                            try publisher.publishAll(from: &input, into: &producer)
                        }
                    }
                    producer.commit()
                }
            }
        } catch {
            // End the stream as failed: a running sub delivers what was
            // committed, then reports "producer failed: <reason>". The name
            // goes now (a sub that has not opened the ring yet finds none).
            let (message, reason, code) = Self.describe(error, ring: name)
            producer.abort(reason: reason)
            _ = try? RingNames.remove(backing: backing, name: name, options: location.regionOptions())
            Ringbench.fail(message, code: code)
        }
        producer.close()
    }

    /// The one-line message, the reason told to the consumer, the exit status.
    static func describe(_ error: any Error, ring: String) -> (String, StreamFailure, Int32) {
        switch error {
        case let failure as PipelineFailure:
            return ("ring '\(ring)': \(failure.message)", failure.reason, 1)
        case HarnessError.interrupted(let signal):
            return ("ring '\(ring)': interrupted by \(SignalGuard.name(of: signal)); the stream was ended as failed",
                    .interrupted(signal: signal), 128 + signal)
        case let error as ShmError:
            return ("ring '\(ring)': \(error.description)", .other, 1)
        default:
            return ("ring '\(ring)': \((error as? CommandFailure)?.message ?? "\(error)")", .other, 1)
        }
    }

    /// `--count` records of `--size` bytes: "record N " then letters, paced
    /// by `--rate`, into either ring kind's producer; `publish` writes one
    /// record, waiting for room as that kind does.
    func generate<Producer: RecordReserving & ~Copyable>(
        _ total: Int, into producer: inout Producer, _ publish: (UnsafeRawBufferPointer, inout Producer) throws -> Void
    ) throws {
        // 8 bytes of slack for ShortBytes.copy.
        let line = UnsafeMutableRawBufferPointer(start: .allocate(byteCount: size + 8, alignment: 8), count: size)
        defer { line.deallocate() }
        // A local: an @Option read in the loop goes through ArgumentParser's generic getter each time.
        let rate = rate
        let start = cshim_monotonic_ns()
        for i in 0..<total {
            Self.generatedRecord(i, into: line)
            if let rate {
                let due = start &+ UInt64(Double(i) / Double(rate) * 1e9)
                let now = cshim_monotonic_ns()
                if due > now {
                    producer.commit() // what is written goes out before we sleep
                    var pause = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
                    _ = nanosleep(&pause, nil)
                    if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                }
            }
            try publish(UnsafeRawBufferPointer(line), &producer)
        }
    }
}

/// `--policy` and `--evict-after` of a broadcast ring (`pub --broadcast`,
/// `run --transport broadcast`).
struct BroadcastPolicyOptions: ParsableArguments {
    @Option(name: .customLong("policy"),
            help: ArgumentHelp("Broadcast ring: what the producer does when a consumer is a ring behind: block (wait for it), overwrite (never wait; the lapped consumer reports its losses, exactly) or evict (block, but drop a consumer that kept the producer waiting --evict-after seconds). Default block.",
                               valueName: "block|overwrite|evict"))
    var name: String?

    @Option(name: .customLong("evict-after"), parsing: .unconditional,
            help: OptionRules.evictAfter.help("With --policy evict: seconds the producer waits for a consumer before dropping it.", valueName: "SECONDS"),
            transform: OptionRules.evictAfter.transform)
    var evictAfter: Double?

    var given: Bool { name != nil || evictAfter != nil }

    /// The policy named, checked (exit 2 with one line).
    func policy() throws -> BroadcastPolicy {
        do { return try BroadcastPolicy.parse(name: name, evictAfter: evictAfter) } catch {
            throw CommandFailure(message: error.description, code: 2)
        }
    }
}

extension PubCommand {
    /// Generated record `i`: "record i " then letters.
    static func generatedRecord(_ i: Int, into line: UnsafeMutableRawBufferPointer) {
        let size = line.count
        let prefix = Array("record \(i) ".utf8.prefix(size))
        for j in 0..<size { line[j] = j < prefix.count ? prefix[j] : UInt8(ascii: "a") + UInt8((i + j) % 26) }
    }
}


/// Copies records into the ring: in place when there is room (the hot
/// path: no call but the copy), else waiting in short slices, so that a
/// terminating signal ends pub within about 20 ms, and a consumer that died
/// or failed is given `consumerGrace` seconds for a successor to take its
/// end over (nothing is lost: sub hands records back only once written).
struct Publisher {
    let ring: String
    let consumerGrace: Double
    static let sliceSeconds = 0.02

    @inline(__always)
    mutating func publish(_ record: UnsafeRawBufferPointer, into producer: inout RecordRing.Producer) throws {
        if try producer.tryReserve(record.count, { payload in Self.copy(record, to: payload) }) { return }
        try publishWaiting(record, into: &producer)
    }

    /// Every record `input` has now, many per call (`writeRecords`: a
    /// header store and a copy per record), waiting like `publish` for one
    /// the ring has no room for.
    mutating func publishAll(from input: inout RecordInput, into producer: inout RecordRing.Producer) throws {
        // Read once: the loop's stores into the ring may alias `input`, so
        // `input.framing` would be loaded again for every record.
        let lines = input.framing == .lines
        while true {
            var waiting: UnsafeRawBufferPointer?
            try producer.writeRecords { writer throws in
                while true {
                    // Lines: every line one newline scan found, then `next()`
                    // scans again (or ends the input, or reports a long line).
                    if lines, let line = try input.writeScannedLines { length throws(ShmError) in try writer.append(length) } { waiting = line; return }
                    guard let record = try input.next() else { return }
                    guard let payload = try writer.append(record.count) else { waiting = record; return }
                    if record.count > 0 { ShortBytes.copy(payload, record.baseAddress!, record.count) }
                }
            }
            guard let record = waiting else { return }
            try publishWaiting(record, into: &producer)
        }
    }

    /// The record's source has 8 bytes of slack (pub's buffers), the
    /// payload is padded to 8 in the ring: ShortBytes may copy whole words.
    @inline(__always)
    static func copy(_ record: UnsafeRawBufferPointer, to payload: UnsafeMutableRawBufferPointer) {
        if record.count > 0 { ShortBytes.copy(payload.baseAddress!, record.baseAddress!, record.count) }
    }

    /// `--framing bytes`: one read of standard input straight into the
    /// ring's free space (no buffer between), as one record of what the read
    /// returned (up to the largest record); waits like `publish` when the ring
    /// is full. Returns false at end of input.
    mutating func publishRead(from input: inout RecordInput, into producer: inout RecordRing.Producer) throws -> Bool {
        let most = input.maximumRecord
        // Wait for room for a useful read rather than read a few bytes.
        let least = min(most, Self.leastRead)
        // The read's failure (a signal, a read error) crosses the ring's
        // typed-throws closure here; nothing is written then.
        var failure: (any Error)?
        var got = 0
        func fill(_ room: UnsafeMutableRawBufferPointer) -> Int {
            do { got = try input.readDirect(into: room) } catch { failure = error; got = 0 }
            return got
        }
        if try producer.tryReserve(upTo: most, atLeast: least, fill) == nil {
            try waiting(&producer) { producer, slice throws(ShmError) in
                _ = try producer.reserve(upTo: most, atLeast: least, timeoutSeconds: slice, fill)
            }
        }
        if let failure { throw failure }
        return got > 0
    }

    /// A large length-framed record (`RecordInput.pendingLargeRecord`) read
    /// straight into its place in the ring, waiting like `publish` for room.
    /// A read that fails cancels the record (never half a record published).
    mutating func publishDirect(_ length: Int, from input: inout RecordInput, into producer: inout RecordRing.Producer) throws {
        var failure: (any Error)?
        func fill(_ payload: UnsafeMutableRawBufferPointer) throws(ShmError) {
            do { try input.readRecord(into: payload.baseAddress!, length) } catch {
                failure = error
                throw .invalidArgument("reading standard input failed") // cancels the record; `failure` says why
            }
        }
        do {
            if try !producer.tryReserve(length, fill) {
                try waiting(&producer) { producer, slice throws(ShmError) in try producer.reserve(length, timeoutSeconds: slice, fill) }
            }
        } catch {
            throw failure ?? error
        }
    }

    /// Room `publishRead` waits for (at most the largest record).
    static let leastRead = 4096

    private func publishWaiting(_ record: UnsafeRawBufferPointer, into producer: inout RecordRing.Producer) throws {
        try waiting(&producer) { producer, slice throws(ShmError) in
            try producer.reserve(record.count, timeoutSeconds: slice) { payload in Self.copy(record, to: payload) }
        }
    }

    /// Retries `attempt` (a blocking reserve of at most `slice` seconds)
    /// until it succeeds, checking for a terminating signal between tries and
    /// failing once the consumer has been gone (died, or failed and not
    /// replaced) for `consumerGrace` seconds.
    private func waiting(_ producer: inout RecordRing.Producer,
                         _ attempt: (inout RecordRing.Producer, Double) throws(ShmError) -> Void) throws {
        var lostSince: UInt64?
        while true {
            var outcome: ShmError?
            do throws(ShmError) {
                try attempt(&producer, Self.sliceSeconds)
            } catch {
                outcome = error
            }
            var lost: String?
            switch outcome {
            case nil: return
            case .timedOut?:
                if let failure = producer.consumerFailure, !producer.consumerClaimed { lost = "the consumer failed (\(failure))" }
            case let .peerDied(pid)?:
                lost = "the consumer (pid \(pid)) died"
            case let error?:
                throw error
            }
            if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            guard let lost else { lostSince = nil; continue }
            let now = cshim_monotonic_ns()
            let since = lostSince ?? now
            lostSince = since
            if Double(now &- since) / 1e9 >= consumerGrace {
                throw PipelineFailure(message: "\(lost) and no new consumer took over within \(consumerGrace) s (--consumer-grace)",
                                      reason: .peerGone)
            }
        }
    }
}
