import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// A write to standard output failed (errno kept for the reason the
/// producer is told).
struct OutputFailure: Error {
    var errno: Int32
    var message: String { "write(standard output) failed: \(String(cString: strerror(errno)))" }
}

/// Gathers a batch of records for standard output with their framing
/// restored, then writes it with few large writev(2) calls. Small records
/// are copied into a staging buffer (consecutive ones form one piece);
/// records of `inPlaceBytes` or more, and every record of the bytes
/// framing, are written straight from the ring, so the batch must be
/// written (`flush`) before the records are released.
///
/// Lines: a newline after each record, except after the record that
/// follows the marker record "\n" (`RecordInput.unterminatedLineMarker`:
/// the input's last line had none), so the copy is byte-identical.
struct RecordOutput: ~Copyable {
    let framing: Framing
    private let stage: UnsafeMutableRawPointer
    private var staged = 0
    private let pieces: UnsafeMutablePointer<iovec>
    private var pieceCount = 0
    private var pendingBytes = 0
    private var omitNextNewline = false
    /// The last piece ends where the next staged byte goes (extend it).
    private var lastPieceIsStaged = false

    /// Bytes gathered before a batch is written (and its records released).
    static let batchBytes = 256 << 10
    /// Records at least this long are written from the ring, not copied.
    static let inPlaceBytes = 4096
    /// Pieces per writev(2) (IOV_MAX on Linux).
    static let maximumPieces = 1024
    static let stageBytes = batchBytes + inPlaceBytes + 16

    init(framing: Framing) {
        self.framing = framing
        stage = .allocate(byteCount: Self.stageBytes + 8, alignment: 64) // + slack for ShortBytes.copy
        pieces = .allocate(capacity: Self.maximumPieces)
    }

    deinit {
        stage.deallocate()
        pieces.deallocate()
    }

    /// Whether another record (of any size) fits the batch.
    @inline(__always)
    var hasRoom: Bool {
        pendingBytes < Self.batchBytes && pieceCount <= Self.maximumPieces - 4
    }

    var isEmpty: Bool { pendingBytes == 0 }

    /// Adds one record to the batch (`hasRoom` must hold). Large records'
    /// bytes are referenced, not copied: keep them until `flush()`.
    @inline(__always)
    mutating func append(_ record: UnsafeRawBufferPointer) {
        let count = record.count
        if framing == .bytes {
            // Chunks of a byte stream: written from the ring, never staged.
            if count > 0 { addPiece(UnsafeMutableRawPointer(mutating: record.baseAddress!), count) }
            return
        }
        if framing == .lines {
            if count == 1, record[0] == RecordInput.unterminatedLineMarker {
                omitNextNewline = true
                return
            }
            if count < Self.inPlaceBytes {
                // The line and its newline staged together, one extend.
                if count > 0 { ShortBytes.copy(stage + staged, record.baseAddress!, count) }
                var staging = count
                if omitNextNewline {
                    omitNextNewline = false
                } else {
                    (stage + staged + count).storeBytes(of: UInt8(0x0A), as: UInt8.self)
                    staging += 1
                }
                if staging > 0 { extendStaged(staging) }
                return
            }
            addPiece(UnsafeMutableRawPointer(mutating: record.baseAddress!), count)
            if omitNextNewline { omitNextNewline = false } else { stageNewline() }
        } else {
            (stage + staged).storeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian, as: UInt32.self)
            extendStaged(4)
            if count < Self.inPlaceBytes {
                copyIn(record.baseAddress, count)
            } else {
                addPiece(UnsafeMutableRawPointer(mutating: record.baseAddress!), count)
            }
        }
    }

    /// A run of short lines staged with their newlines on locals, for a
    /// many-records read (`gather`, RecordSources.swift). With `self`'s
    /// fields the compiler stored and reloaded each of them for every line,
    /// as the copies into the stage may alias `self`
    /// (results/vm-2026-12-07-pub-instructions).
    struct LineRun {
        let stage: UnsafeMutableRawPointer
        let start: Int
        var end: Int
        let roomEnd: Int
        /// Short lines are staged here; false once anything else came (or
        /// for other framings): then every record goes through `append`.
        var fast: Bool
    }

    @inline(__always)
    func lineRun() -> LineRun {
        LineRun(stage: stage, start: staged, end: staged, roomEnd: staged &+ (Self.batchBytes &- pendingBytes),
                fast: framing == .lines && !omitNextNewline)
    }

    /// Adds one record of a run (`hasRoom` held when the read began);
    /// whether the batch has room for another.
    @inline(__always)
    mutating func take(_ record: UnsafeRawBufferPointer, _ run: inout LineRun) -> Bool {
        let length = record.count
        if run.fast, length < Self.inPlaceBytes, !(length == 1 && record[0] == RecordInput.unterminatedLineMarker) {
            if length > 0 { ShortBytes.copy(run.stage + run.end, record.baseAddress!, length) }
            (run.stage + run.end + length).storeBytes(of: UInt8(0x0A), as: UInt8.self)
            run.end &+= length &+ 1
            return run.end < run.roomEnd
        }
        return takeOther(record, &run)
    }

    /// Anything but a short line: out of line, so that `take` stays small
    /// enough to be inlined into the source's loop (with `append` in it, it
    /// was not: sub 88 -> 105 instructions a line).
    @inline(never)
    mutating func takeOther(_ record: UnsafeRawBufferPointer, _ run: inout LineRun) -> Bool {
        finish(&run)
        append(record)
        return hasRoom
    }

    /// The run's staged lines join the batch as one piece (also when the
    /// read threw: what was read joins the batch).
    @inline(__always)
    mutating func finish(_ run: inout LineRun) {
        if run.fast, run.end > run.start { extendStaged(run.end &- run.start) }
        run.fast = false
    }

    /// (The stage always has room: `hasRoom` leaves more than a small record and its framing.)
    @inline(__always)
    private mutating func stageNewline() {
        (stage + staged).storeBytes(of: UInt8(0x0A), as: UInt8.self)
        extendStaged(1)
    }

    /// Copies a record's payload (padded to 8 in the ring, so whole words may be read).
    @inline(__always)
    private mutating func copyIn(_ bytes: UnsafeRawPointer?, _ count: Int) {
        guard count > 0, let bytes else { return }
        ShortBytes.copy(stage + staged, bytes, count)
        extendStaged(count)
    }

    /// The `count` bytes just staged join the last piece if it ends where
    /// they start, else start a new one.
    @inline(__always)
    private mutating func extendStaged(_ count: Int) {
        if lastPieceIsStaged {
            // Through a local: TSan's access check on `self` miscompiles a
            // modify of a pointee reached through a stored field of this
            // ~Copyable struct (Swift 6.3.1, "Invalid bitcast").
            let last = pieces + (pieceCount - 1)
            last.pointee.iov_len += count
        } else {
            pieces[pieceCount] = iovec(iov_base: stage + staged, iov_len: count)
            pieceCount += 1
            lastPieceIsStaged = true
        }
        staged += count
        pendingBytes += count
    }

    @inline(__always)
    private mutating func addPiece(_ bytes: UnsafeMutableRawPointer, _ count: Int) {
        pieces[pieceCount] = iovec(iov_base: bytes, iov_len: count)
        pieceCount += 1
        pendingBytes += count
        lastPieceIsStaged = false
    }

    /// Writes the batch out (until every byte is written or write fails).
    mutating func flush() throws(OutputFailure) {
        defer {
            pieceCount = 0
            staged = 0
            pendingBytes = 0
            lastPieceIsStaged = false
        }
        var first = 0
        while first < pieceCount {
            let n = writev(1, pieces + first, Int32(pieceCount - first))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    // A non-blocking stdout: wait until it takes more.
                    var ready = pollfd(fd: 1, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, 100)
                    continue
                }
                throw OutputFailure(errno: errno)
            }
            if n == 0 { throw OutputFailure(errno: EIO) } // no progress: never loop on it
            // Skip the pieces written; trim a partly written one.
            var left = n
            while first < pieceCount, left >= pieces[first].iov_len {
                left -= pieces[first].iov_len
                first += 1
            }
            if left > 0 {
                let partial = pieces + first // a local, as in `extendStaged`
                partial.pointee.iov_base = partial.pointee.iov_base! + left
                partial.pointee.iov_len -= left
            }
        }
    }
}
