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
            standard input as one record (or --count generated records), and closes the ring at the end:
            the consumer (`ringbench sub NAME`) drains it and sees end of stream. pub may exit before
            sub starts: the name stays until the consumer reaches the end (or `ringbench rm NAME`).
            If pub fails or is interrupted, the ring is removed and a running sub reports that the
            producer died.
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

    @Option(help: "How stdin is cut into records: lines, or length (4-byte little-endian length, then the bytes).")
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

    @Option(help: "How the producer waits when the ring is full: spin, yield or park.")
    var wait: WaitStrategy = .park

    func run() throws {
        let backing = try location.regionBacking()
        if count != nil, !(1...maxRecord).contains(size) {
            throw CommandFailure(message: "--size must be between 1 and --max-record (\(maxRecord)) bytes, got \(size)", code: 2)
        }
        let ring: RecordRing
        do {
            ring = try RecordRing.create(backing: backing, name: name, capacity: capacity, maximumRecordLength: maxRecord,
                                         options: location.regionOptions(), reclaimStale: true)
        } catch { throw CommandFailure(message: error.description, code: { if case .invalidArgument = error { 2 } else { 1 } }()) }
        var producer: RecordRing.Producer
        do { producer = try ring.producer(wait: wait) } catch { throw error.commandFailure }
        do {
            if let count {
                try generate(count, into: &producer)
            } else {
                var input = RecordInput(framing: framing, maximumRecord: maxRecord)
                try input.forEach { record throws in try Self.write(record, into: &producer) }
            }
        } catch {
            // Fail without releasing the producing end: to a running sub this
            // process is a producer that died without closing (a one-line
            // error there too), never a complete stream. The name goes now.
            _ = try? RingNames.remove(backing: backing, name: name, options: location.regionOptions())
            let message = (error as? CommandFailure)?.message ?? (error as? HarnessError)?.description
                ?? (error as? ShmError)?.description ?? "\(error)"
            let code: Int32 = if case .interrupted(let signal)? = error as? HarnessError { 128 + signal } else { 1 }
            Ringbench.fail(message, code: code)
        }
        producer.close()
    }

    /// Copies one record in (waiting, in slices, while the ring is full).
    static func write(_ record: UnsafeRawBufferPointer, into producer: inout RecordRing.Producer) throws {
        try InterruptibleWait.retrying { (slice: Double) throws(ShmError) in
            try producer.reserve(record.count, timeoutSeconds: slice) { payload in
                if record.count > 0 { payload.baseAddress!.copyMemory(from: record.baseAddress!, byteCount: record.count) }
            }
        }
    }

    /// `--count` records of `--size` bytes: "record N " then letters, paced by `--rate`.
    func generate(_ total: Int, into producer: inout RecordRing.Producer) throws {
        let line = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { line.deallocate() }
        let start = cshim_monotonic_ns()
        for i in 0..<total {
            let prefix = Array("record \(i) ".utf8.prefix(size))
            for j in 0..<size { line[j] = j < prefix.count ? prefix[j] : UInt8(ascii: "a") + UInt8((i + j) % 26) }
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
            try Self.write(UnsafeRawBufferPointer(line), into: &producer)
        }
    }
}
