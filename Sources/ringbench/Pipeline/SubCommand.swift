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
            with its framing restored (lines: the record and a newline). Exits 0 at end of stream, after
            removing the ring's name; exits 1 with a one-line message if the producer dies without closing
            the ring (detected within about 40 ms, also while parked).
            Example:
              ringbench sub q > copy.log
            """)

    @Argument(help: ArgumentHelp("Ring name (a file name under --directory).", valueName: "NAME"))
    var name: String

    @OptionGroup var location: RingLocationOptions

    @Option(help: "How records are written: lines (a newline after each), or length (4-byte little-endian length first).")
    var framing: Framing = .lines

    @Option(help: "How the consumer waits when the ring is empty: spin, yield or park.")
    var wait: WaitStrategy = .park

    @Option(name: .customLong("wait-for-creation"),
            help: ArgumentHelp("Seconds to wait for a producer to create the ring.", valueName: "SECONDS"))
    var waitForCreation: Double = 30

    func run() throws {
        let backing = try location.regionBacking()
        guard waitForCreation >= 0, waitForCreation.isFinite else {
            throw CommandFailure(message: "--wait-for-creation must be a number of seconds, at least 0", code: 2)
        }
        let ring = try openWaiting(backing)
        var consumer: RecordRing.Consumer
        do { consumer = try ring.consumer(wait: wait) } catch { throw error.commandFailure }
        var output = RecordOutput(framing: framing)
        do {
            // The record is seen in place only inside the closure; an output
            // error is carried out of it and thrown after.
            var failure: Error?
            func copyOut(_ record: UnsafeRawBufferPointer) {
                do { try output.append(record) } catch { failure = error }
            }
            while true {
                if try consumer.tryPeek(copyOut) != nil {
                    if let failure { throw failure }
                    consumer.release()
                    continue
                }
                // Dry: what we have goes out before we wait.
                try output.flush()
                let got = try InterruptibleWait.retrying { (slice: Double) throws(ShmError) in
                    try consumer.peek(timeoutSeconds: slice, copyOut) != nil
                }
                guard got else { break }
                if let failure { throw failure }
                consumer.release()
            }
            try output.flush()
        } catch let error as ShmError {
            try output.flush()
            if case .peerDied = error {
                // The producer is gone for good: nobody else will remove the name.
                _ = try? RingNames.remove(backing: backing, name: name, options: location.regionOptions())
            }
            throw CommandFailure(message: "ring '\(name)': \(error.description)")
        }
    }

    /// Opens the ring, waiting for its creation in slices so ^C works.
    private func openWaiting(_ backing: RegionBacking) throws -> RecordRing {
        let end = cshim_monotonic_ns() &+ UInt64(waitForCreation * 1e9)
        func remaining() -> Double { Double(Int64(bitPattern: end &- cshim_monotonic_ns())) / 1e9 }
        while true {
            do throws(ShmError) {
                return try RecordRing.open(backing: backing, name: name, options: location.regionOptions(),
                                           waitForCreationSeconds: max(0, min(InterruptibleWait.sliceSeconds, remaining())))
            } catch .timedOut, .noSuchRegion {
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                if remaining() <= 0 {
                    throw CommandFailure(message: "no ring '\(name)' in \(location.directory) after waiting \(waitForCreation) s for a producer (see --wait-for-creation)")
                }
            } catch {
                throw error.commandFailure
            }
        }
    }
}
