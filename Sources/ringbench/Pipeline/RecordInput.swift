import BenchHarness
import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// A failure of a pipeline end with the reason its peer is told
/// (`StreamFailure`, stored in the ring by `abort`).
struct PipelineFailure: Error {
    var message: String
    var reason: StreamFailure
}

/// Cuts standard input into records (`Framing`), reading in large chunks
/// and handing each record over in place (no copy but the one into the ring).
///
/// Use: `fill()` reads once (what one read(2) returns, up to `readSize`),
/// then `next()` gives every complete record that read made available; the
/// caller publishes them and commits, so a record is visible downstream as
/// soon as the read that completed it returned (item 9: no waiting for more
/// input). Lines: the record is the line without its newline; a last line
/// without a newline is sent as the one-byte record "\n" (impossible as a
/// line) followed by the line, so `sub` can write the input back exactly.
/// Bytes: each record is what the buffer holds, up to the largest record
/// (pub's record ring path skips the buffer: `readDirect(into:)` reads straight
/// into the ring).
struct RecordInput: ~Copyable {
    let framing: Framing
    let maximumRecord: Int
    /// Records so far, for error messages.
    private(set) var records = 0
    private let buffer: UnsafeMutableRawBufferPointer
    /// Unconsumed bytes are `buffer[start..<filled]`.
    private var start = 0
    private var filled = 0
    private var atEnd = false
    private var sentFinalMarker = false
    /// The one byte of the marker record.
    private let marker: UnsafeMutableRawPointer
    /// Lines: the newlines of `buffer[start..<scanned]`, found by one block
    /// scan (`cshim_newline_offsets`), as offsets from `newlineBase`; the
    /// next line ends at `newlines[nextNewline]`.
    private let newlines: UnsafeMutablePointer<UInt32>
    private var newlineCount = 0
    private var nextNewline = 0
    private var newlineBase = 0
    private var scanned = 0

    /// Bytes asked of one read(2) at most (a pipe gives 64 KiB at most).
    static let readSize = 1 << 20
    /// Newline offsets one scan stores at most (16 KiB, stays in L1).
    static let newlineBatch = 4096
    /// The record "\n" announces a last line without newline (`lines` framing).
    static let unterminatedLineMarker: UInt8 = 0x0A

    init(framing: Framing, maximumRecord: Int) {
        self.framing = framing
        self.maximumRecord = maximumRecord
        // Room for the largest record and its framing, plus a full read.
        // 8 bytes of slack past the end, for ShortBytes' word reads.
        let size = maximumRecord + 8 + Self.readSize
        buffer = UnsafeMutableRawBufferPointer(start: .allocate(byteCount: size + 8, alignment: 64), count: size)
        marker = .allocate(byteCount: 8, alignment: 8)
        marker.storeBytes(of: Self.unterminatedLineMarker, as: UInt8.self)
        newlines = .allocate(capacity: Self.newlineBatch)
    }

    deinit {
        buffer.deallocate()
        marker.deallocate()
        newlines.deallocate()
    }

    /// Reads once more from standard input. Returns false at end of input;
    /// `next()` then still gives the last records.
    mutating func fill() throws -> Bool {
        guard !atEnd else { return false }
        if buffer.count - filled < Self.readSize {
            // Move the partial record to the front.
            let rest = filled - start
            if rest > 0, start > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, rest) }
            // (`next()` returned nil: every newline found was used, and
            // the rest was scanned.)
            scanned -= start
            newlineCount = 0
            nextNewline = 0
            start = 0
            filled = rest
        }
        let got = try readStdin(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
        filled += got
        if got == 0 { atEnd = true }
        return !atEnd
    }

    /// The lines framing's common case, many per call: appends every line
    /// the last newline scan found (up to the first longer than the largest
    /// record, which `next()` reports) through `room` (a writer's `append`:
    /// the record ring's, the broadcast ring's or the journal's, passed as a
    /// closure literal, which inlines where a protocol over the three did
    /// not) and copies it in. Works on
    /// locals written back once: with `self`'s fields the compiler stored and
    /// reloaded each of them for every line, as the copies into the ring may
    /// alias `self` (results/vm-2026-12-07-pub-instructions). Returns the
    /// line the ring has no room for now (taken: publish it by waiting), or
    /// nil when the scan's lines are used up (`next()` goes on from there).
    @inline(__always)
    mutating func writeScannedLines(_ room: (Int) throws(ShmError) -> UnsafeMutableRawPointer?) throws(ShmError) -> UnsafeRawBufferPointer? {
        var next = nextNewline, start = self.start
        let first = next
        defer {
            nextNewline = next
            self.start = start
            records &+= next &- first
        }
        let count = newlineCount, base = newlineBase, newlines = self.newlines
        let bytes = UnsafeRawPointer(buffer.baseAddress!), largest = maximumRecord
        while next < count {
            let end = base &+ Int(newlines[next])
            let length = end &- start
            guard length <= largest else { return nil }
            let line = UnsafeRawBufferPointer(start: bytes + start, count: length)
            next &+= 1
            start = end &+ 1
            guard let payload = try room(length) else { return line }
            if length > 0 { ShortBytes.copy(payload, line.baseAddress!, length) }
        }
        return nil
    }

    /// The next complete record in the buffer (valid until the next
    /// `fill()`), or nil when it holds none. A record longer than
    /// `maximumRecord` is an error naming it.
    @inline(__always)
    mutating func next() throws -> UnsafeRawBufferPointer? {
        let available = filled - start
        guard available > 0 else { return nil }
        let base = UnsafeRawPointer(buffer.baseAddress! + start)
        switch framing {
        case .lines:
            if nextNewline < newlineCount || scanForNewlines() {
                let end = newlineBase &+ Int(newlines[nextNewline])
                nextNewline &+= 1
                let length = end &- start
                guard length <= maximumRecord else { throw tooLong("line", atLeast: length) }
                start = end &+ 1
                records &+= 1
                return UnsafeRawBufferPointer(start: base, count: length)
            }
            guard available <= maximumRecord else { throw tooLong("line", atLeast: available) }
            guard atEnd else { return nil }
            if !sentFinalMarker {
                sentFinalMarker = true
                return UnsafeRawBufferPointer(start: marker, count: 1)
            }
            start = filled
            records += 1
            return UnsafeRawBufferPointer(start: base, count: available)
        case .bytes:
            let length = min(available, maximumRecord)
            start += length
            records += 1
            return UnsafeRawBufferPointer(start: base, count: length)
        case .length:
            guard available >= 4 else {
                if atEnd { throw truncated() }
                return nil
            }
            let length = Int(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
            guard length <= maximumRecord else { throw tooLong("record", atLeast: length) }
            guard available >= 4 + length else {
                if atEnd { throw truncated() }
                return nil
            }
            start += 4 + length
            records += 1
            return UnsafeRawBufferPointer(start: base + 4, count: length)
        }
    }

    /// Finds the newlines of the bytes not scanned yet (up to
    /// `newlineBatch` of them) in one pass; false if there is none.
    private mutating func scanForNewlines() -> Bool {
        while scanned < filled {
            var done = 0
            let found = cshim_newline_offsets(buffer.baseAddress! + scanned, filled - scanned, newlines, Self.newlineBatch, &done)
            newlineBase = scanned
            scanned += done
            newlineCount = found
            nextNewline = 0
            if found > 0 { return true }
        }
        return false
    }

    private func tooLong(_ what: String, atLeast length: Int) -> PipelineFailure {
        PipelineFailure(message: "\(what) \(records + 1) is longer than the ring's largest record (\(maximumRecord) bytes); use a larger --max-record",
                        reason: .recordTooLong)
    }

    private func truncated() -> PipelineFailure {
        PipelineFailure(message: "input ends inside a length-framed record (after \(records) records)", reason: .badInput)
    }

    /// Length-framed records at least this long are read straight into the
    /// ring (`readRecord(into:_:)`): one readv(2) a record instead of a copy
    /// through the buffer (a 64 KiB copy costs several times the call).
    static let directBytes = 16 << 10

    /// Length framing: the length of the record whose header the buffer
    /// holds but whose payload has not all arrived, when it is at least
    /// `directBytes` long; the caller reserves that much room in the ring and
    /// calls `readRecord(into:_:)`. Nil otherwise (read on with `fill()`).
    func pendingLargeRecord() -> Int? {
        guard framing == .length, !atEnd else { return nil }
        let available = filled - start
        guard available >= 4 else { return nil }
        let length = Int(UInt32(littleEndian: UnsafeRawPointer(buffer.baseAddress! + start).loadUnaligned(as: UInt32.self)))
        guard length >= Self.directBytes, length <= maximumRecord, available < 4 + length else { return nil }
        return length
    }

    /// Reads the payload of `pendingLargeRecord()` (`length` bytes) to
    /// `payload`: the part already buffered is copied, the rest read straight
    /// from standard input, together with up to 4 bytes past it (the next
    /// record's header) into the emptied buffer, by the same readv(2).
    mutating func readRecord(into payload: UnsafeMutableRawPointer, _ length: Int) throws {
        let have = filled - start - 4
        precondition(have >= 0 && have < length, "readRecord without a pending large record")
        if have > 0 { memcpy(payload, buffer.baseAddress! + start + 4, have) }
        start = 0
        filled = 0
        scanned = 0
        var done = have
        // On the stack: no allocation per record.
        try withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { pieces in
            while done < length {
                pieces[0] = iovec(iov_base: payload + done, iov_len: length - done)
                pieces[1] = iovec(iov_base: buffer.baseAddress!, iov_len: 4)
                let got = try readStdin(pieces.baseAddress!, 2)
                if got == 0 {
                    atEnd = true
                    throw truncated()
                }
                let intoPayload = min(got, length - done)
                done += intoPayload
                filled = got - intoPayload
            }
        }
        records += 1
    }

    /// One read of standard input into `room` (`--framing bytes`, straight
    /// into the ring): returns the bytes read, 0 at end of input.
    mutating func readDirect(into room: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !atEnd else { return 0 }
        let got = try readStdin(into: room)
        if got == 0 { atEnd = true } else { records += 1 }
        return got
    }

    /// One read of standard input (0 at EOF), retrying EINTR and checking
    /// for a terminating signal every 20 ms while nothing arrives.
    private func readStdin(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        var piece = iovec(iov_base: buffer.baseAddress!, iov_len: min(buffer.count, Self.readSize))
        return try readStdin(&piece, 1)
    }

    /// One readv(2) of standard input into `pieces` (0 at EOF), as above.
    private func readStdin(_ pieces: UnsafeMutablePointer<iovec>, _ count: Int32) throws -> Int {
        while true {
            var ready = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 20) == 0 {
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
                continue
            }
            let n = readv(0, pieces, count)
            if n >= 0 { return n }
            if errno == EINTR || errno == EAGAIN { continue }
            let code = errno
            throw PipelineFailure(message: "read(standard input) failed: \(String(cString: strerror(code)))", reason: .inputError(errno: code))
        }
    }
}

