import ArgumentParser
import BenchHarness
import CShim
import ShmRing

/// `ringbench sub NAME`: the reference consumer of a record pipeline.
struct SubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sub",
        abstract: "Write every record of a named record ring to standard output, until end of stream.",
        discussion: """
            Waits (up to --wait-for-creation seconds) for the ring NAME to exist, then writes each record
            with its framing restored (lines: the record and a newline; a last input line without newline
            is written without one, so the copy is byte-identical). Exits 0 at end of stream, after
            removing the ring's name. Exits 1 with a one-line message, after writing everything published:
              - "producer failed: <reason>" when pub failed or was interrupted;
              - when the producer died without closing the ring (detected within about 40 ms);
              - when the producer released the ring without ending the stream and no new producer
                claimed it within --producer-grace seconds (default 1; a producer that takes over
                within the grace resumes the stream);
              - "stream already consumed by pid N" when another sub already read the stream to its end.
            Records are handed back to the ring only after write(2) took them, so a sub started after
            this one died or failed resumes right after what reached standard output: nothing is lost;
            at most the records of one unfinished write (256 KiB) are written again (at least once).
            If writing fails (a full disk, a closed pipe) or sub is interrupted, sub tells pub, which
            waits its --consumer-grace for a new sub, then fails too.
            Example:
              ringbench sub q > copy.log
            """)

    @Argument(help: ArgumentHelp("Ring name (a file name under --directory).", valueName: "NAME"))
    var name: String

    @OptionGroup var location: RingLocationOptions

    @Option(help: "How records are written: lines (a newline after each), length (4-byte little-endian length first), or bytes (as they are: the byte stream pub --framing bytes read).")
    var framing: Framing = .lines

    @Option(help: "How the consumer waits when the ring is empty: spin, yield, park or backoff (spin, then yield, then park).")
    var wait: WaitStrategy = .park

    @Option(name: .customLong("wait-for-creation"),
            help: ArgumentHelp("Seconds to wait for a producer to create the ring.", valueName: "SECONDS"))
    var waitForCreation: Double = 30

    @Option(name: .customLong("producer-grace"),
            help: ArgumentHelp("Seconds a producing end may stay released, the stream unfinished, before sub fails.", valueName: "SECONDS"))
    var producerGrace: Double = 1

    /// How long one blocking wait lasts before sub looks at signals and the producer.
    static let sliceSeconds = 0.02

    @Option(help: ArgumentHelp("Read the persistent journal DIR/NAME instead of a ring: replay from --from, follow until closed.", valueName: "DIR"))
    var journal: String?

    @Option(help: ArgumentHelp("With --journal: oldest (default), latest, a sequence number, or a time (seconds with a fraction, or NNNns). On a broadcast ring: latest (default) or oldest still intact.", valueName: "WHERE"))
    var from: String?

    func run() throws {
        if let journal { return try JournalPipeline.subscribe(journal: journal, name: name, from: from ?? "oldest", framing: framing, wait: wait) }
        let backing = try location.regionBacking()
        for (option, value) in [("--wait-for-creation", waitForCreation), ("--producer-grace", producerGrace)]
        where !(value >= 0 && value.isFinite) {
            throw CommandFailure(message: "\(option) must be a number of seconds, at least 0", code: 2)
        }
        let ring: RecordRing
        switch try openWaiting(backing) {
        case .record(let record): ring = record
        case .broadcast(let broadcast): return try BroadcastSubscriber(command: self, ring: broadcast).run()
        }
        var consumer: RecordRing.Consumer
        do { consumer = try ring.consumer(wait: wait) } catch { throw error.commandFailure }
        var output = RecordOutput(framing: framing)
        do {
            // The record a wait read, not yet written out.
            var waited = false
            while true {
                // A batch: everything published, up to RecordOutput.batchBytes;
                // written, then handed back (release after write).
                // Many records per call (tryPeekRecords); again while there
                // is room, since the producer may have published more.
                var gathered = waited
                if try output.gather(from: &consumer) { gathered = true }
                if gathered {
                    try output.flush()
                    consumer.release()
                    waited = false
                    continue
                }
                // The record waited for joins the next batch.
                guard try waitForRecord(&consumer, into: &output) else { break }
                waited = true
            }
        } catch {
            let (message, code, removeName) = describe(error)
            if removeName {
                // The producer is gone for good: nobody else will remove the name.
                _ = try? RingNames.remove(backing: backing, name: name, options: location.regionOptions())
            }
            // Records not written stay in the ring for a successor; the
            // producer learns why this consumer stopped.
            if let reason = Self.consumerFailure(error) { consumer.abort(reason: reason) }
            throw CommandFailure(message: message, code: code)
        }
    }

    /// Waits, in slices, for the next record (true) or the end of the
    /// stream (false), failing once the producing end has been released
    /// without an end of stream for `producerGrace` seconds. The record read
    /// is added to `output` (and handed back with the batch it joins).
    private func waitForRecord(_ consumer: inout RecordRing.Consumer, into output: inout RecordOutput) throws -> Bool {
        var grace = ProducerGrace(seconds: producerGrace)
        while true {
            let outcome: Result<Bool, ShmError>
            do throws(ShmError) {
                outcome = .success(try consumer.peek(timeoutSeconds: Self.sliceSeconds) { output.append($0) } != nil)
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case let .success(more): return more
            case .failure(.timedOut): break
            case let .failure(error): throw error
            }
            if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            try grace.check(producerClaimed: consumer.producerClaimed)
        }
    }

    /// How long the producing end has stayed released, the stream
    /// unfinished (`--producer-grace`), across a sub's empty wait slices
    /// (record and broadcast rings).
    struct ProducerGrace {
        let seconds: Double
        private var releasedSince: UInt64?

        init(seconds: Double) { self.seconds = seconds }

        /// After an empty wait slice: throws once the end has stayed
        /// released for `seconds` (a producer that takes over resets it).
        mutating func check(producerClaimed: Bool) throws(ProducerReleased) {
            if producerClaimed { releasedSince = nil; return }
            let now = cshim_monotonic_ns()
            let since = releasedSince ?? now
            releasedSince = since
            if Double(now &- since) / 1e9 >= seconds { throw ProducerReleased(seconds: seconds) }
        }
    }

    /// The producing end stayed released, the stream unfinished.
    struct ProducerReleased: Error {
        var seconds: Double

        func message(ring name: String) -> String {
            "ring '\(name)': the producer released the ring without ending the stream, and no producer took over within \(seconds) s (--producer-grace)"
        }
    }

    /// Message, exit status, and whether the ring's name should go.
    private func describe(_ error: any Error) -> (String, Int32, Bool) {
        switch error {
        case let failure as OutputFailure:
            return ("ring '\(name)': \(failure.message)", 1, false)
        case HarnessError.interrupted(let signal):
            return ("ring '\(name)': interrupted by \(SignalGuard.name(of: signal)); records not yet written stay in the ring for the next sub",
                    128 + signal, false)
        case let released as ProducerReleased:
            return (released.message(ring: name), 1, true)
        case let error as ShmError:
            switch error {
            case .producerFailed, .streamConsumed: return (error.description, 1, { if case .producerFailed = error { true } else { false } }())
            case .peerDied: return ("ring '\(name)': \(error.description)", 1, true)
            default: return ("ring '\(name)': \(error.description)", 1, false)
            }
        default:
            return ("ring '\(name)': \(error)", 1, false)
        }
    }

    /// What the producer is told when this consumer stops early by its own
    /// failure (nil: the stream itself failed, or there is no producer to tell).
    static func consumerFailure(_ error: any Error) -> StreamFailure? {
        switch error {
        case let failure as OutputFailure: .outputError(errno: failure.errno)
        case HarnessError.interrupted(let signal): .interrupted(signal: signal)
        case is ShmError, is ProducerReleased: nil
        default: .other
        }
    }

    /// Opens the ring, waiting for its creation in slices so ^C works.
    /// The ring sub reads: a record ring, or a broadcast ring (tried only
    /// when the name holds another kind, so the record ring's path opens
    /// once, as before broadcast rings existed).
    enum OpenedRing {
        case record(RecordRing)
        case broadcast(BroadcastRing)
    }

    private func openWaiting(_ backing: RegionBacking) throws -> OpenedRing {
        let end = cshim_monotonic_ns() &+ UInt64(waitForCreation * 1e9)
        func remaining() -> Double { Double(Int64(bitPattern: end &- cshim_monotonic_ns())) / 1e9 }
        while true {
            do throws(ShmError) {
                return .record(try RecordRing.open(backing: backing, name: name, options: location.regionOptions(),
                                                   waitForCreationSeconds: max(0, min(InterruptibleWait.sliceSeconds, remaining()))))
            } catch .wrongStructure {
                do throws(ShmError) {
                    return .broadcast(try BroadcastRing.open(backing: backing, name: name, options: location.regionOptions()))
                } catch { throw error.commandFailure }
            } catch .timedOut, .noSuchRegion {
                if let signal = SignalGuard.takePendingTermination() {
                    throw CommandFailure(message: "interrupted by \(SignalGuard.name(of: signal)) while waiting for ring '\(name)'", code: 128 + signal)
                }
                if remaining() <= 0 {
                    throw CommandFailure(message: "no ring '\(name)' in \(location.directory) after waiting \(waitForCreation) s for a producer (see --wait-for-creation)")
                }
            } catch {
                throw error.commandFailure
            }
        }
    }
}
