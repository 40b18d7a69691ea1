#if canImport(Glibc)
import Glibc
#endif

/// Buffers records for standard output with their framing restored, and
/// writes in large chunks (and whenever the ring runs dry, so a live
/// pipeline's lines show up at once).
struct RecordOutput: ~Copyable {
    let framing: Framing
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0

    init(framing: Framing) {
        self.framing = framing
        buffer = .allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit { buffer.deallocate() }

    mutating func append(_ record: UnsafeRawBufferPointer) throws {
        if framing == .length {
            var length = UInt32(truncatingIfNeeded: record.count).littleEndian
            try withUnsafeBytes(of: &length) { try put($0) }
            try put(record)
        } else {
            try put(record)
            var newline: UInt8 = 0x0A
            try withUnsafeBytes(of: &newline) { try put($0) }
        }
    }

    private mutating func put(_ bytes: UnsafeRawBufferPointer) throws {
        if filled + bytes.count > buffer.count { try flush() }
        if bytes.count > buffer.count { return try writeAll(bytes) }
        if !bytes.isEmpty { (buffer.baseAddress! + filled).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        filled += bytes.count
    }

    mutating func flush() throws {
        guard filled > 0 else { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
        filled = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(1, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(message: "write(standard output) failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}
