import BenchHarness
#if canImport(Glibc)
import Glibc
#endif

/// Cuts standard input into records (`Framing`), reading in large chunks
/// and handing each record over in place (no copy but the one into the ring).
struct RecordInput {
    let framing: Framing
    let maximumRecord: Int
    /// Records so far, for error messages.
    private(set) var records = 0

    init(framing: Framing, maximumRecord: Int) {
        self.framing = framing
        self.maximumRecord = maximumRecord
    }

    /// Calls `body` with every record of standard input, then returns at EOF.
    /// A record longer than `maximumRecord` is an error naming it.
    mutating func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let headerSize = framing == .length ? 4 : 1
        // Room for the largest record and its framing, and big reads.
        let size = max(1 << 20, maximumRecord + headerSize + (64 << 10))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        var filled = 0
        while true {
            let got = try readStdin(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            filled += got
            var start = 0
            while let (record, next) = try cut(UnsafeRawBufferPointer(rebasing: buffer[start..<filled]), atEOF: got == 0) {
                try body(record)
                records += 1
                start += next
            }
            // Move the partial record to the front.
            if start > 0 {
                if filled > start { memmove(buffer.baseAddress!, buffer.baseAddress! + start, filled - start) }
                filled -= start
            }
            if got == 0 {
                guard filled == 0 else { throw CommandFailure(message: "input ends inside a length-framed record (after \(records) records)") }
                return
            }
        }
    }

    /// The first record in `bytes` and how many bytes it took, or nil if
    /// `bytes` holds no complete record (at EOF: a last line without newline
    /// is a record).
    private func cut(_ bytes: UnsafeRawBufferPointer, atEOF: Bool) throws -> (UnsafeRawBufferPointer, Int)? {
        guard !bytes.isEmpty else { return nil }
        switch framing {
        case .lines:
            let limit = min(bytes.count, maximumRecord + 1)
            if let newline = memchr(bytes.baseAddress!, 0x0A, limit) {
                let length = bytes.baseAddress!.distance(to: UnsafeRawPointer(newline))
                return (UnsafeRawBufferPointer(rebasing: bytes[..<length]), length + 1)
            }
            guard bytes.count <= maximumRecord else { throw tooLong("line", at: records + 1, atLeast: bytes.count) }
            return atEOF ? (bytes, bytes.count) : nil
        case .length:
            guard bytes.count >= 4 else { return nil }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
            guard length <= maximumRecord else { throw tooLong("record", at: records + 1, atLeast: length) }
            guard bytes.count >= 4 + length else { return nil }
            return (UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]), 4 + length)
        }
    }

    private func tooLong(_ what: String, at index: Int, atLeast length: Int) -> CommandFailure {
        CommandFailure(message: "\(what) \(index) is longer than the ring's largest record (\(maximumRecord) bytes); use a larger --max-record")
    }

    /// One read of standard input (0 at EOF), retrying EINTR and checking
    /// for SIGINT/SIGTERM every 100 ms while nothing arrives.
    private func readStdin(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        while true {
            var ready = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 100) == 0 {
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                continue
            }
            let n = read(0, buffer.baseAddress!, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR || errno == EAGAIN { continue }
            throw CommandFailure(message: "read(standard input) failed: \(String(cString: strerror(errno)))")
        }
    }
}
