import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Byte offsets of the journal's two file formats (docs/design.md,
/// "Journal"): the control file `journal.ctl` and the segment files
/// `<first sequence, 20 decimal digits>.seg`. All integers little-endian
/// (the host's order; the journal is not portable across endianness, like
/// every ShmRing region).
@usableFromInline
enum JournalLayout {
    // MARK: Control file (one page)

    static let controlFileName = "journal.ctl"
    static let controlSize = 4096
    static let controlMagic: UInt64 = 0x314C_5443_4A4D_4853 // "SHMJCTL1"
    static let version: UInt32 = 1
    /// u64 magic, u32 version, u32 zero, u64 segment size, u32 CRC32C of [0, 24).
    static let controlMagicOffset = 0
    static let controlVersionOffset = 8
    static let controlSegmentSizeOffset = 16
    static let controlCRCOffset = 24
    /// u32 futex word: bumped by the producer to wake parked tailers.
    static let wakeOffset = 64
    /// u32: 1 when some tailer may sleep on `wakeOffset` (cleared by the waker).
    static let sleepingOffset = 68
    /// u32: 1 once any tailer parked (the producer fences only then).
    static let parksOffset = 72
    /// u64: the first sequence retention kept (segments before it are going).
    static let oldestSequenceOffset = 128
    /// u64: pid of the last producer (a label for `journal ls`; the OFD lock decides).
    static let producerPidOffset = 136
    /// The OFD lock byte the producer holds (far past the end of the file).
    static let producerLockByte: UInt64 = 1 << 40

    // MARK: Segment file

    static let segmentSuffix = ".seg"
    static let segmentMagic: UInt64 = 0x3147_4553_4A4D_4853 // "SHMJSEG1"
    static let pageSize = 4096
    /// u64 magic, u32 version, u32 data offset, u64 segment size, u64 first
    /// sequence, u64 creation time (ns since the epoch), u32 index capacity,
    /// u32 index interval (bytes), u32 CRC32C of [0, 48).
    static let segmentMagicOffset = 0
    static let segmentVersionOffset = 8
    static let segmentDataOffsetOffset = 12
    static let segmentSizeOffset = 16
    static let segmentFirstSequenceOffset = 24
    static let segmentCreatedOffset = 32
    static let segmentIndexCapacityOffset = 40
    static let segmentIndexIntervalOffset = 44
    static let segmentCRCOffset = 48
    static let segmentHeaderCRCBytes = 48
    /// u64: the sequence after the last committed record of this segment.
    static let committedSequenceOffset = 64
    /// u64: the offset just past the last committed record.
    static let committedOffsetOffset = 72
    /// u64: nonzero once the producer moved on to the next segment.
    static let sealedOffset = 80
    /// u64: index entries written (some may name uncommitted records).
    static let indexCountOffset = 88
    /// Index entries from here: u64 sequence, u64 offset, u64 timestamp.
    static let indexOffset = 4096
    static let indexEntrySize = 24
    /// One index entry per this many bytes of records, at least.
    static let indexInterval = 64 << 10

    // MARK: Records (8-aligned, from the data offset)

    /// u32 payload length, u32 CRC32C (of the length and bytes 8..<24+length),
    /// u64 sequence, u64 timestamp (ns since the epoch), payload, padding to 8.
    /// (Computed, not stored: inlined writers fold it instead of loading a global.)
    @inlinable static var recordHeaderSize: Int { 24 }
    @inlinable static var sequenceOffsetInHeader: Int { 8 }
    @inlinable static var timestampOffsetInHeader: Int { 16 }
    @inlinable static var checksumOffsetInHeader: Int { 4 }

    static let minimumSegmentSize = 64 << 10
    static let maximumSegmentSize = 1 << 30
    static let defaultSegmentSize = 64 << 20

    @inlinable @inline(__always)
    static func footprint(length: Int) -> Int { (recordHeaderSize + length + 7) & ~7 }

    /// Writes a record's header but its checksum (which covers the payload,
    /// written after it): `seal` completes it.
    @inlinable @inline(__always)
    static func writeHeader(_ record: UnsafeMutableRawPointer, length: Int, sequence: UInt64, timestamp: UInt64) {
        // Plain stores: tailers read them only after acquiring a committed
        // sequence above this record's (the release in `Producer.commit`).
        record.storeBytes(of: UInt32(truncatingIfNeeded: length), as: UInt32.self)
        record.storeBytes(of: sequence, toByteOffset: sequenceOffsetInHeader, as: UInt64.self)
        record.storeBytes(of: timestamp, toByteOffset: timestampOffsetInHeader, as: UInt64.self)
    }

    /// Stores the checksum of a record whose header and payload are written.
    @inlinable @inline(__always)
    static func seal(_ record: UnsafeMutableRawPointer, length: Int) {
        // Plain store: as the header's, published by `commit`'s release.
        record.storeBytes(of: checksum(record: record, length: length), toByteOffset: checksumOffsetInHeader, as: UInt32.self)
    }

    static func indexCapacity(segmentSize: Int) -> Int { segmentSize / indexInterval + 1 }

    static func dataOffset(segmentSize: Int) -> Int {
        let indexBytes = indexCapacity(segmentSize: segmentSize) * indexEntrySize
        return indexOffset + (indexBytes + pageSize - 1) / pageSize * pageSize
    }

    static func segmentName(firstSequence: UInt64) -> String {
        let digits = String(firstSequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + segmentSuffix
    }

    /// The first sequence a segment file name stands for, or nil when the name
    /// is not a segment's.
    static func firstSequence(ofSegmentNamed name: String) -> UInt64? {
        guard name.count == 20 + segmentSuffix.count, name.hasSuffix(segmentSuffix) else { return nil }
        let digits = name.prefix(20)
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    /// The checksum a record at `record` carries: the length field, then the
    /// sequence, timestamp and payload (one call: it skips its own field).
    @inlinable @inline(__always)
    static func checksum(record: UnsafeRawPointer, length: Int) -> UInt32 {
        cshim_crc32c_pair(record, 4, record + 8, 16 + length)
    }

    /// Nanoseconds since the epoch (CLOCK_REALTIME): record timestamps, so
    /// `.time(t)` means wall-clock time across processes and reboots.
    static func wallClockNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
