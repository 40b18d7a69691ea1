import CShim
#if canImport(Glibc)
import Glibc
#endif

/// One segment file, mapped, with its validated header fields. Everything
/// read from the file beyond the header is checked where it is used: a
/// segment is untrusted input.
final class JournalSegment: @unchecked Sendable {
    // @unchecked: immutable fields; the shared words are accessed atomically.
    let file: JournalFile
    let firstSequence: UInt64
    let dataOffset: Int
    let indexCapacity: Int
    let createdNs: UInt64
    var size: Int { file.size }
    /// The segment's path (its final name, also for one created under a temporary name).
    let name: String

    private init(file: JournalFile, name: String, firstSequence: UInt64, dataOffset: Int, indexCapacity: Int, createdNs: UInt64) {
        self.file = file
        self.name = name
        self.firstSequence = firstSequence
        self.dataOffset = dataOffset
        self.indexCapacity = indexCapacity
        self.createdNs = createdNs
    }

    /// The most records a segment of this size can hold (each takes at least a header).
    var recordCapacity: UInt64 { UInt64((size - dataOffset) / JournalLayout.recordHeaderSize) }
    /// The largest payload one record may have.
    var maximumRecordLength: Int { size - dataOffset - JournalLayout.recordHeaderSize }

    // MARK: Creating and opening

    /// Creates the segment whose first record will be `firstSequence`: under
    /// a temporary name, header written (and synced when `durable`), then
    /// renamed into place, so a segment name never shows a torn header.
    static func create(directory: String, firstSequence: UInt64, size: Int, durable: Bool) throws(ShmError) -> JournalSegment {
        let path = JournalDirectory.segmentPath(directory, firstSequence: firstSequence)
        let temporary = path + ".tmp"
        _ = unlink(temporary) // a predecessor's leftover (we hold the producer lock)
        let file = try JournalFile.create(temporary, size: size)
        let capacity = JournalLayout.indexCapacity(segmentSize: size)
        let dataOffset = JournalLayout.dataOffset(segmentSize: size)
        let created = JournalLayout.wallClockNs()
        // Fault every page in now, in one madvise(MADV_POPULATE_WRITE), rather
        // than one trap per page in `reserve` (on ext4 each first write costs a
        // page_mkwrite). Best effort: a failure leaves the pages to fault later.
        _ = cshim_prefault(file.base, size, 1)
        let b = file.base
        b.storeBytes(of: JournalLayout.segmentMagic, toByteOffset: JournalLayout.segmentMagicOffset, as: UInt64.self)
        b.storeBytes(of: JournalLayout.version, toByteOffset: JournalLayout.segmentVersionOffset, as: UInt32.self)
        b.storeBytes(of: UInt32(dataOffset), toByteOffset: JournalLayout.segmentDataOffsetOffset, as: UInt32.self)
        b.storeBytes(of: UInt64(size), toByteOffset: JournalLayout.segmentSizeOffset, as: UInt64.self)
        b.storeBytes(of: firstSequence, toByteOffset: JournalLayout.segmentFirstSequenceOffset, as: UInt64.self)
        b.storeBytes(of: created, toByteOffset: JournalLayout.segmentCreatedOffset, as: UInt64.self)
        b.storeBytes(of: UInt32(capacity), toByteOffset: JournalLayout.segmentIndexCapacityOffset, as: UInt32.self)
        b.storeBytes(of: UInt32(JournalLayout.indexInterval), toByteOffset: JournalLayout.segmentIndexIntervalOffset, as: UInt32.self)
        b.storeBytes(of: cshim_crc32c(0, b, JournalLayout.segmentHeaderCRCBytes), toByteOffset: JournalLayout.segmentCRCOffset, as: UInt32.self)
        // Plain stores: nobody can see the file before the rename below.
        b.storeBytes(of: firstSequence, toByteOffset: JournalLayout.committedSequenceOffset, as: UInt64.self)
        b.storeBytes(of: UInt64(dataOffset), toByteOffset: JournalLayout.committedOffsetOffset, as: UInt64.self)
        do throws(ShmError) {
            if durable { try file.syncData() }
            guard rename(temporary, path) == 0 else { throw .lastErrno("rename(\(temporary), \(path))") }
            if durable { try JournalDirectory.syncDirectory(directory) }
        } catch {
            _ = unlink(temporary)
            throw error
        }
        return JournalSegment(file: file, name: path, firstSequence: firstSequence, dataOffset: dataOffset, indexCapacity: capacity, createdNs: created)
    }

    /// Opens and validates the segment starting at `firstSequence`.
    /// A missing file is `noSuchRegion`; a bad header `corruptedHeader`.
    static func open(directory: String, firstSequence: UInt64, segmentSize: Int, writable: Bool) throws(ShmError) -> JournalSegment {
        let path = JournalDirectory.segmentPath(directory, firstSequence: firstSequence)
        let file = try JournalFile.open(path, writable: writable, expectedSize: segmentSize,
                                        sizes: JournalLayout.minimumSegmentSize...JournalLayout.maximumSegmentSize)
        let b = UnsafeRawPointer(file.base)
        func bad(_ reason: String) -> ShmError { .corruptedHeader(name: path, reason: reason) }
        guard b.load(fromByteOffset: JournalLayout.segmentMagicOffset, as: UInt64.self) == JournalLayout.segmentMagic else {
            throw bad("not a journal segment (bad magic)")
        }
        let version = b.load(fromByteOffset: JournalLayout.segmentVersionOffset, as: UInt32.self)
        guard version == JournalLayout.version else { throw .incompatibleVersion(name: path, found: version, supported: JournalLayout.version) }
        guard b.load(fromByteOffset: JournalLayout.segmentCRCOffset, as: UInt32.self) == cshim_crc32c(0, b, JournalLayout.segmentHeaderCRCBytes) else {
            throw bad("header checksum does not match")
        }
        let capacity = JournalLayout.indexCapacity(segmentSize: segmentSize)
        let dataOffset = JournalLayout.dataOffset(segmentSize: segmentSize)
        guard b.load(fromByteOffset: JournalLayout.segmentSizeOffset, as: UInt64.self) == UInt64(segmentSize),
              b.load(fromByteOffset: JournalLayout.segmentFirstSequenceOffset, as: UInt64.self) == firstSequence,
              b.load(fromByteOffset: JournalLayout.segmentDataOffsetOffset, as: UInt32.self) == UInt32(dataOffset),
              b.load(fromByteOffset: JournalLayout.segmentIndexCapacityOffset, as: UInt32.self) == UInt32(capacity),
              b.load(fromByteOffset: JournalLayout.segmentIndexIntervalOffset, as: UInt32.self) == UInt32(JournalLayout.indexInterval) else {
            throw bad("header fields disagree with the file's name or size")
        }
        let created = b.load(fromByteOffset: JournalLayout.segmentCreatedOffset, as: UInt64.self)
        return JournalSegment(file: file, name: path, firstSequence: firstSequence, dataOffset: dataOffset, indexCapacity: capacity, createdNs: created)
    }

    // MARK: Shared words

    /// The sequence after the last committed record, checked against what
    /// the segment can hold. Acquire: pairs with the producer's release in
    /// `commit`: every record below it is completely written.
    @inline(__always)
    func committedSequence() throws(ShmError) -> UInt64 {
        let committed = cshim_load_acquire(file.word(JournalLayout.committedSequenceOffset))
        guard committed >= firstSequence, committed &- firstSequence <= recordCapacity else {
            throw .corruptRing(reason: "journal segment \(name): committed sequence \(committed) is impossible (first \(firstSequence))")
        }
        return committed
    }

    /// 0 open, 1 sealed (the next segment follows), 2 closed (end of stream
    /// until a producer reopens). Acquire: pairs with the producer's release
    /// store after its last commit to this segment.
    @inline(__always)
    func sealState() -> UInt64 { cshim_load_acquire(file.word(JournalLayout.sealedOffset)) }

    // MARK: Records

    /// The record at `offset`, which must be sequence `sequence`: its payload
    /// length and timestamp, or why it is not a valid record there (torn,
    /// overwritten, corrupt). Every byte it reads is inside the mapping.
    @inline(__always)
    func record(at offset: Int, sequence: UInt64, verifyChecksum: Bool) -> (length: Int, timestamp: UInt64)? {
        guard offset >= dataOffset, offset & 7 == 0, offset <= size &- JournalLayout.recordHeaderSize else { return nil }
        let p = UnsafeRawPointer(file.base + offset)
        let length = Int(p.load(as: UInt32.self))
        guard length <= size &- offset &- JournalLayout.recordHeaderSize,
              p.load(fromByteOffset: 8, as: UInt64.self) == sequence else { return nil }
        if verifyChecksum, p.load(fromByteOffset: 4, as: UInt32.self) != JournalLayout.checksum(record: p, length: length) { return nil }
        return (length, p.load(fromByteOffset: 16, as: UInt64.self))
    }

    /// Index entry `i` (sequence, offset, timestamp) as written; unchecked.
    func indexEntry(_ i: Int) -> (sequence: UInt64, offset: Int, timestamp: UInt64) {
        let p = UnsafeRawPointer(file.base + JournalLayout.indexOffset + i * JournalLayout.indexEntrySize)
        return (p.load(as: UInt64.self), Int(truncatingIfNeeded: p.load(fromByteOffset: 8, as: UInt64.self)),
                p.load(fromByteOffset: 16, as: UInt64.self))
    }

    /// Usable index entries: those the count covers (bounded by the
    /// capacity) that name committed records. Acquire: pairs with the
    /// producer's release after writing an entry.
    func indexCount(committed: UInt64) -> Int {
        let count = Int(truncatingIfNeeded: min(cshim_load_acquire(file.word(JournalLayout.indexCountOffset)), UInt64(indexCapacity)))
        // Entries are in sequence order: drop those at or past `committed`.
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if indexEntry(mid).sequence < committed { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Where to start scanning for sequence `target` (or, with `time`, the
    /// first record at or after that time): the last index entry at or
    /// before it whose record checks out, else the segment's first record.
    /// O(log n) over the sparse index; the scan from there is at most one
    /// index interval, plus whatever a corrupt entry makes us skip.
    func scanStart(sequence target: UInt64?, time: UInt64?, committed: UInt64) -> (offset: Int, sequence: UInt64) {
        var high = indexCount(committed: committed)
        var low = 0
        // The last entry whose key is <= target (entries are in key order).
        while low < high {
            let mid = (low + high) / 2
            let entry = indexEntry(mid)
            let before = target.map { entry.sequence <= $0 } ?? (entry.timestamp < time ?? 0)
            if before { low = mid + 1 } else { high = mid }
        }
        var i = low - 1
        while i >= 0 {
            let entry = indexEntry(i)
            if entry.sequence >= firstSequence, entry.sequence < committed,
               record(at: entry.offset, sequence: entry.sequence, verifyChecksum: true) != nil {
                return (entry.offset, entry.sequence)
            }
            i -= 1
        }
        return (dataOffset, firstSequence)
    }

    /// Timestamp of the segment's first committed record, if any.
    func firstTimestamp() throws(ShmError) -> UInt64? {
        guard try committedSequence() > firstSequence,
              let first = record(at: dataOffset, sequence: firstSequence, verifyChecksum: true) else { return nil }
        return first.timestamp
    }
}
