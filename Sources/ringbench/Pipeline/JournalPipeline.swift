import BenchHarness
import Foundation
import CShim
import ShmRing

/// `ringbench pub NAME --journal DIR` and `ringbench sub NAME --journal DIR`:
/// the pipeline's ends over the persistent journal DIR/NAME instead of a
/// ring. pub appends every input record (one commit per read, as with a
/// ring) and closes the journal at the end; sub replays from `--from` and
/// follows the live tail until a producer closes the journal. A record lost
/// to retention before sub read it is reported on stderr with its count, and
/// sub then exits 3.
enum JournalPipeline {
    static func warn(_ message: String) { FileHandle.standardError.write(Data(("ringbench: " + message + "\n").utf8)) }

    static func directory(_ journal: String, name: String) -> String { journal + "/" + name }

    static func publish(journal: String, name: String, framing: Framing, maxRecord: Int, count: Int?, size: Int) throws {
        let dir = directory(journal, name: name)
        var producer: Journal.Producer
        do { producer = try Journal.producer(directory: dir) } catch { throw error.commandFailure }
        do {
            let append = { (record: UnsafeRawBufferPointer, producer: inout Journal.Producer) throws(ShmError) in
                try producer.reserve(record.count) { payload in
                    if record.count > 0 { payload.baseAddress!.copyMemory(from: record.baseAddress!, byteCount: record.count) }
                }
            }
            if let count {
                let line = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
                defer { line.deallocate() }
                for i in 0..<count {
                    let prefix = Array("record \(i) ".utf8.prefix(size))
                    for j in 0..<size { line[j] = j < prefix.count ? prefix[j] : UInt8(ascii: "a") + UInt8((i + j) % 26) }
                    try append(UnsafeRawBufferPointer(line), &producer)
                    if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                }
            } else {
                var input = RecordInput(framing: framing, maximumRecord: maxRecord)
                // Read once: the loop's stores into the segment may alias `input`.
                let lines = framing == .lines
                var more = true
                while more {
                    more = try input.fill()
                    // Every record read, in place, one batch (the journal never waits).
                    try producer.writeRecords { writer throws in
                        while true {
                            if lines { _ = try input.writeScannedLines { length throws(ShmError) in try writer.append(length) } }
                            guard let record = try input.next() else { return }
                            let payload = try writer.append(record.count)
                            if record.count > 0 { ShortBytes.copy(payload, record.baseAddress!, record.count) }
                        }
                    }
                    try producer.commit()
                    if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                }
            }
            try producer.close()
        } catch {
            // Everything committed stays in the journal; the stream is not closed.
            let (message, _, code) = PubCommand.describe(error, ring: dir)
            Ringbench.fail(message, code: code)
        }
    }

    static func subscribe(journal: String, name: String, from: String, framing: Framing, wait: WaitStrategy) throws {
        let dir = directory(journal, name: name)
        let start = try JournalStart.parse(from)
        var tailer: Journal.Tailer
        do { tailer = try Journal.tailer(directory: dir, from: start, wait: wait) } catch { throw error.commandFailure }
        var output = RecordOutput(framing: framing)
        var lost: UInt64 = 0
        var segment = tailer.segmentFirstSequence
        do {
            reading: while true {
                var gathered = false
                while output.hasRoom {
                    // Many records of one segment per call; one step at a
                    // time through segment moves, overruns and the end.
                    if try output.gather(from: &tailer) {
                        gathered = true
                        continue
                    }
                    guard let step = try tailer.tryRead({ output.append($0.payload) }) else { break }
                    if tailer.segmentFirstSequence != segment {
                        // Referenced payloads of the segment before stay mapped until the next move: write them now.
                        try output.flush()
                        segment = tailer.segmentFirstSequence
                    }
                    switch step {
                    case .record: gathered = true
                    case .overrun(let count): lost += count; warn("journal '\(dir)': \(count) records deleted by retention before they were read")
                    case .endOfStream: try output.flush(); break reading
                    }
                }
                if gathered { try output.flush(); continue }
                var waited: Journal.Read<Void>?
                do throws(ShmError) {
                    waited = try tailer.read(timeoutSeconds: 0.02, { output.append($0.payload) })
                } catch .timedOut {}
                if tailer.segmentFirstSequence != segment {
                    try output.flush()
                    segment = tailer.segmentFirstSequence
                }
                switch waited {
                case .record?, nil: break
                case .overrun(let count)?: lost += count; warn("journal '\(dir)': \(count) records deleted by retention before they were read")
                case .endOfStream?: try output.flush(); break reading
                }
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            }
        } catch let failure as OutputFailure {
            throw CommandFailure(message: "journal '\(dir)': \(failure.message)", code: 1)
        } catch HarnessError.interrupted(let signal) {
            throw CommandFailure(message: "journal '\(dir)': interrupted by \(SignalGuard.name(of: signal))", code: 128 + signal)
        } catch let error as ShmError {
            throw CommandFailure(message: "journal '\(dir)': \(error.description)", code: 1)
        }
        if lost > 0 { throw CommandFailure(message: "journal '\(dir)': \(lost) records were lost to retention", code: 3) }
    }
}
