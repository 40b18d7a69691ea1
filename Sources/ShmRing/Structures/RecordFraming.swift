/// The record format the record ring and the broadcast ring share
/// (`RecordLayout`): a record is a header whose first 8 bytes are its length
/// (u32) and type (u32), then its payload, padded to the header's size; a
/// padding record (type 2) fills the rest of the ring when a record does not
/// fit before the end (records never wrap), its length counting the bytes
/// after those first 8. The record ring's header is those 8 bytes; the
/// broadcast ring's is 16, the last 8 the record's sequence number
/// (`BroadcastLayout`). Everything here is plain reads and writes of bytes
/// the caller bounds; deciding whether a header is possible is here too, so
/// both rings judge an untrusted header by the same rules.
public enum RecordFrame: Equatable {
    /// A padding record: skip `toEnd` bytes, to the start of the ring.
    case padding(toEnd: UInt64)
    /// A record of `length` payload bytes taking `footprint` bytes.
    case record(length: Int, footprint: UInt64)
    /// A header no writer could have written here (as found, for the error).
    case impossible(length: Int, type: UInt32)
}

extension RecordLayout {
    /// Bytes a record of `length` payload bytes takes in a ring whose record
    /// headers are `headerSize` bytes (8 or 16) and whose records are
    /// aligned to it.
    @inlinable @inline(__always)
    static func footprint(length: Int, headerSize: Int) -> Int {
        headerSize + (length + headerSize - 1) & ~(headerSize - 1)
    }

    /// The error for a record longer than a ring's largest (every ring
    /// kind's writers). Out of line: the hot paths build no string.
    @usableFromInline @inline(never)
    static func tooLong(_ length: Int, largest: Int) -> ShmError {
        .invalidArgument("record of \(length) bytes exceeds this ring's largest record, \(largest) bytes")
    }

    /// Writes the common 8 bytes of a record header at `header`.
    @inlinable @inline(__always)
    static func writeHeader(_ header: UnsafeMutableRawPointer, length: UInt32, type: UInt32) {
        header.storeBytes(of: length, as: UInt32.self)
        header.storeBytes(of: type, toByteOffset: 4, as: UInt32.self)
    }

    /// Judges the header at `header`: `toEnd` bytes remain before the end of
    /// the ring from it, `available` bytes from it are published. A padding
    /// record must end exactly at the ring's end; a record must carry a known
    /// type, at most `maximumRecordLength` bytes, and fit both bounds. So
    /// whatever the region holds, a `.record` lies inside the published bytes
    /// and before the ring's end.
    @inlinable @inline(__always)
    static func frame(_ header: UnsafeRawPointer, toEnd: UInt64, available: UInt64,
                      headerSize: Int, maximumRecordLength: Int) -> RecordFrame {
        let length = Int(header.load(as: UInt32.self))
        let type = header.load(fromByteOffset: 4, as: UInt32.self)
        if type == paddingType {
            guard UInt64(length) &+ 8 == toEnd, toEnd <= available, toEnd >= UInt64(headerSize) else {
                return .impossible(length: length, type: type)
            }
            return .padding(toEnd: toEnd)
        }
        // `min` keeps the arithmetic small for a hostile length (u32 anyway).
        let footprint = UInt64(footprint(length: min(length, maximumRecordLength &+ 1), headerSize: headerSize))
        guard type == recordType, length <= maximumRecordLength, footprint <= available, footprint <= toEnd else {
            return .impossible(length: length, type: type)
        }
        return .record(length: length, footprint: footprint)
    }
}
