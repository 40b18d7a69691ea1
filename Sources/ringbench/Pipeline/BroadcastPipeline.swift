import ArgumentParser
import BenchHarness
import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench pub NAME --broadcast`: the producer of a broadcast ring (one
/// producer, any number of `ringbench sub NAME` at once, each receiving the
/// whole stream). Same input as pub (stdin lines/length framing, or --count
/// generated records); `--consumers N` waits for N subscribers before the
/// first record, so that each gets the stream from its start.
struct BroadcastPublisher {
    let command: PubCommand

    func run() throws {
        let backing = try command.location.regionBacking()
        let slots = max(64, command.consumers ?? 0)
        let policy = try command.policy
        let ring: BroadcastRing
        do {
            let capacity = command.capacity
            ring = try BroadcastRing.create(backing: backing, name: command.name, capacity: capacity,
                                            maximumRecordLength: command.maxRecordOption ?? min(64 << 10, BroadcastLayout.largestRecord(capacity: capacity)),
                                            maximumConsumers: slots, policy: policy,
                                            options: command.location.regionOptions(), reclaimStale: true)
        } catch { throw CommandFailure(message: error.description, code: { if case .invalidArgument = error { 2 } else { 1 } }()) }
        var producer: BroadcastRing.Producer
        do { producer = try ring.producer(wait: command.wait) } catch { throw error.commandFailure }
        do {
            if let wanted = command.consumers { try waitForConsumers(wanted, producer: producer) }
            if let count = command.count {
                // Paced by --rate as for a record ring.
                try command.generate(count, into: &producer) { record, producer in try publish(record, into: &producer) }
            } else {
                var input = RecordInput(framing: command.framing, maximumRecord: ring.maximumRecordLength)
                // Read once: the loop's stores into the ring may alias `input`.
                let lines = command.framing == .lines
                var more = true
                while more {
                    more = try input.fill()
                    // Many records a batch (`writeRecords`); one the ring has no room for waits.
                    while true {
                        var waiting: UnsafeRawBufferPointer?
                        try producer.writeRecords { writer throws in
                            while true {
                                if lines, let line = try input.writeScannedLines { length throws(ShmError) in try writer.append(length) } { waiting = line; return }
                                guard let record = try input.next() else { return }
                                guard let payload = try writer.append(record.count) else { waiting = record; return }
                                if record.count > 0 { ShortBytes.copy(payload, record.baseAddress!, record.count) }
                            }
                        }
                        guard let record = waiting else { break }
                        try publish(record, into: &producer)
                    }
                    producer.commit()
                }
            }
        } catch {
            let (message, _, code) = PubCommand.describe(error, ring: command.name)
            _ = try? RingNames.remove(backing: backing, name: command.name, options: command.location.regionOptions())
            Ringbench.fail(message, code: code)
        }
        producer.close()
    }

    /// Waits (checking signals every 20 ms) until `wanted` consumers joined.
    func waitForConsumers(_ wanted: Int, producer: borrowing BroadcastRing.Producer) throws {
        while producer.joinedConsumers < wanted {
            if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            usleep(5_000)
        }
    }

    @inline(__always)
    func publish(_ record: UnsafeRawBufferPointer, into producer: inout BroadcastRing.Producer) throws {
        if try producer.tryReserve(record.count, { payload in Publisher.copy(record, to: payload) }) { return }
        while true {
            do throws(ShmError) {
                try producer.reserve(record.count, timeoutSeconds: Publisher.sliceSeconds) { payload in Publisher.copy(record, to: payload) }
                return
            } catch .timedOut {
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            }
        }
    }
}

/// `ringbench sub NAME` on a broadcast ring: joins at `--from`, writes the
/// whole stream. Under `.overwrite` each gap is reported on stderr with its
/// count and the exit status is 3 at the end if anything was lost; every
/// record is copied out and validated before it reaches the output.
struct BroadcastSubscriber {
    let command: SubCommand
    let ring: BroadcastRing

    func run() throws {
        guard let start = BroadcastStart(rawValue: command.from ?? BroadcastStart.latest.rawValue) else {
            throw CommandFailure(message: "--from on a broadcast ring must be latest or oldest, got '\(command.from ?? "")'", code: 2)
        }
        var consumer: BroadcastRing.Consumer
        do { consumer = try ring.consumer(from: start, wait: command.wait) } catch { throw error.commandFailure }
        var output = RecordOutput(framing: command.framing)
        let overwrite = ring.policy == .overwrite
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: ring.maximumRecordLength + 8, alignment: 8)
        defer { scratch.deallocate() }
        var lostTotal: UInt64 = 0
        // `.block`: many records per call (tryPeekRecords), written, then
        // released, as `sub` on a record ring; the blocking peek below only
        // waits for the next one, which joins the next batch.
        let batched = ring.policy == .block
        var waited = false
        var grace = SubCommand.ProducerGrace(seconds: command.producerGrace)
        do {
            while true {
                if batched {
                    if try output.gather(from: &consumer) || waited {
                        try output.flush()
                        consumer.release()
                        waited = false
                        continue
                    }
                }
                // Under .block the record is appended in place and released
                // after the write; under .overwrite it is copied out first and
                // appended only once validated.
                let outcome: Result<BroadcastDelivery<Int>?, ShmError>
                do throws(ShmError) {
                    outcome = .success(try consumer.peek(timeoutSeconds: SubCommand.sliceSeconds) { record in
                        if overwrite {
                            if let base = record.baseAddress { scratch.baseAddress!.copyMemory(from: base, byteCount: record.count) }
                        } else {
                            output.append(record)
                        }
                        return record.count
                    })
                } catch {
                    outcome = .failure(error)
                }
                let delivery: BroadcastDelivery<Int>?
                switch outcome {
                case .success(let got): delivery = got
                case .failure(.timedOut):
                    if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                    if !output.isEmpty { try output.flush(); consumer.release() }
                    // A producer that failed (or quit) without closing the
                    // stream released its end: fail after --producer-grace,
                    // as on a record ring, rather than wait for ever.
                    try grace.check(producerClaimed: consumer.producerClaimed)
                    continue
                case .failure(let error): throw error
                }
                guard let delivery else { break }
                switch delivery {
                case .record(let count):
                    waited = batched
                    if overwrite { output.append(UnsafeRawBufferPointer(start: scratch.baseAddress, count: count)) }
                    if !output.hasRoom || overwrite && count >= RecordOutput.inPlaceBytes {
                        try output.flush()
                        consumer.release()
                    }
                case .overrun(let lost):
                    lostTotal += lost
                    try output.flush()
                    FileHandleOutput.stderr("ringbench: ring '\(command.name)': overrun: \(lost) record(s) lost before record \(consumer.sequence)\n")
                }
                if consumer.sequence & 63 == 0 { try output.flush(); consumer.release() }
            }
            try output.flush()
            consumer.release()
        } catch {
            try? output.flush()
            switch error {
            case let failure as OutputFailure: throw CommandFailure(message: "ring '\(command.name)': \(failure.message)")
            case let released as SubCommand.ProducerReleased:
                throw CommandFailure(message: released.message(ring: command.name))
            case HarnessError.interrupted(let signal):
                throw CommandFailure(message: "ring '\(command.name)': interrupted by \(SignalGuard.name(of: signal))", code: 128 + signal)
            case let error as ShmError:
                // Evicted (`--policy evict`): the line names the ring itself.
                if case .evicted = error { throw CommandFailure(message: error.description, code: 4) }
                throw CommandFailure(message: "ring '\(command.name)': \(error.description)")
            default: throw CommandFailure(message: "ring '\(command.name)': \(error)")
            }
        }
        if lostTotal > 0 {
            throw CommandFailure(message: "ring '\(command.name)': \(lostTotal) record(s) lost to overruns (the producer overwrote them)", code: 3)
        }
    }
}
