/// Byte work for short records (lines of tens of bytes), where a call to
/// memchr or memmove costs more than the bytes: inline, 8 bytes at a time.
/// Both may touch up to 7 bytes past the end of their range (read, or
/// write for the copy), so every caller's buffers have that much slack:
/// the record ring pads each record to 8 bytes, and pub's and sub's own
/// buffers are allocated 8 bytes larger.
enum ShortBytes {
    /// Records longer than this go to memmove/memchr-sized work in bulk.
    static let inlineLimit = 256

    /// Index of the first 0x0A in `base[0..<count]`, or nil. Reads whole
    /// 8-byte words up to the last one that starts before `count`.
    @inline(__always)
    static func firstNewline(_ base: UnsafeRawPointer, _ count: Int) -> Int? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let newlines: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
        var i = 0
        while i < count {
            // Bytes equal to 0x0A become 0; the classic has-zero-byte test
            // flags the first of them exactly (later flags may be false).
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ newlines
            let found = (word &- ones) & ~word & highs
            if found != 0 {
                let at = i + found.trailingZeroBitCount >> 3
                return at < count ? at : nil
            }
            i &+= 8
        }
        return nil
    }

    /// Copies `count` bytes, rounded up to 8 (see the type's note on slack).
    @inline(__always)
    static func copy(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) {
        guard count <= inlineLimit else {
            destination.copyMemory(from: source, byteCount: count)
            return
        }
        var i = 0
        while i < count {
            destination.storeBytes(of: source.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
    }
}
