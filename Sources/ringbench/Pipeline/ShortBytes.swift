/// Byte copies for short records (lines of tens of bytes), where a call to
/// memmove costs more than the bytes: inline, 8 bytes at a time. It may
/// touch up to 7 bytes past the end of its range (read, and write), so
/// every caller's buffers have that much slack:
/// the record ring pads each record to 8 bytes, and pub's and sub's own
/// buffers are allocated 8 bytes larger.
enum ShortBytes {
    /// Records longer than this are copied with memmove.
    static let inlineLimit = 256

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
