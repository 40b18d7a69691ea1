/// How the harness fills and checks every message, whatever the transport.
///
/// | bytes      | content                                                       |
/// |-----------:|---------------------------------------------------------------|
/// |   0..<8    | stamp: producer index << 48 | sequence number (u64)           |
/// |   8..<16   | checksum (messages of 16 bytes or more)                       |
/// |  16..<size | payload: 64-bit word i = (i + 1) * K + stamp; tail bytes too  |
///
/// The payload changes with every message, so a consumer that read a slot
/// before the producer finished it (an ordering bug) sees a mismatch, not a
/// plausible old message. The producer computes the checksum in the same pass
/// that writes the payload. The consumer, in one pass, recomputes the checksum
/// and also compares every word with the value the stamp determines: a sum
/// alone misses some multi-word damage (a whole stale payload whose words all
/// differ by one can sum to the same value), the exact comparison misses
/// nothing, and both vectorise. The stamp `UInt64.max` marks end of stream.
///
/// A message is as long as the buffer the transport hands over: the fixed
/// `messageSize` for every fixed-slot transport, a length drawn from
/// `lengths` for the `records` transport. `verify` also checks that the
/// length is the one the stamp determines, so a truncated or overlong record
/// is corrupt.
public struct MessageCodec: Sendable {
    public let messageSize: Int
    /// Set only when lengths vary (`MessageLengths.isFixed` false).
    public let variableLengths: MessageLengths?

    public static let endOfStream: UInt64 = .max
    public static let producerShift: UInt64 = 48
    public static let sequenceMask: UInt64 = (1 << 48) - 1
    @usableFromInline static let k: UInt64 = 0x9E37_79B9_7F4A_7C15
    @usableFromInline static let stampMix: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    public init(messageSize: Int, lengths: MessageLengths? = nil) {
        self.messageSize = messageSize
        variableLengths = lengths.flatMap { $0.isFixed ? nil : $0 }
    }

    @inlinable
    public static func stamp(producer: Int, sequence: UInt64) -> UInt64 {
        UInt64(truncatingIfNeeded: producer) << producerShift | sequence
    }

    /// Writes a complete message with this stamp into `bytes` (messageSize
    /// bytes, or the record's length when lengths vary).
    @inlinable
    public func fill(_ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64) {
        let messageSize = variableLengths == nil ? messageSize : bytes.count
        let base = bytes.baseAddress!
        base.storeBytes(of: stamp, as: UInt64.self)
        guard messageSize >= 16 else { return }
        let payload = base + 16
        let payloadBytes = messageSize - 16
        let words = payloadBytes >> 3
        var sum: UInt64 = 0
        var value = stamp &+ Self.k
        var i = 0
        while i < words {
            payload.storeBytes(of: value, toByteOffset: i &<< 3, as: UInt64.self)
            sum = sum &+ (value ^ UInt64(truncatingIfNeeded: i))
            value = value &+ Self.k
            i &+= 1
        }
        let tail = payloadBytes & 7
        if tail > 0 {
            var last: UInt64 = 0
            withUnsafeBytes(of: value) { src in
                for j in 0..<tail { payload.storeBytes(of: src[j], toByteOffset: (words &<< 3) &+ j, as: UInt8.self) }
            }
            withUnsafeMutableBytes(of: &last) { dst in
                for j in 0..<tail { dst[j] = payload.load(fromByteOffset: (words &<< 3) &+ j, as: UInt8.self) }
            }
            sum = sum &+ (last ^ UInt64(truncatingIfNeeded: words))
        }
        base.storeBytes(of: sum ^ (stamp &* Self.stampMix), toByteOffset: 8, as: UInt64.self)
    }

    /// The stamp of a received message (unaligned-safe).
    @inlinable
    public static func stamp(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.baseAddress!.loadUnaligned(as: UInt64.self)
    }

    /// Whether the checksum and every payload byte match the stamp (always
    /// true below 16 bytes, where the stamp is all there is).
    @inlinable
    public func verify(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var messageSize = messageSize
        if let variableLengths {
            messageSize = bytes.count
            guard messageSize >= 8, messageSize == variableLengths.length(stamp: Self.stamp(of: bytes)) else { return false }
        }
        guard messageSize >= 16 else { return true }
        let base = bytes.baseAddress!
        let stamp = base.loadUnaligned(as: UInt64.self)
        let stored = base.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let payload = base + 16
        let payloadBytes = messageSize - 16
        let words = payloadBytes >> 3
        var sum: UInt64 = 0
        var difference: UInt64 = 0
        var expected = stamp &+ Self.k
        var i = 0
        while i < words {
            let word = payload.loadUnaligned(fromByteOffset: i &<< 3, as: UInt64.self)
            sum = sum &+ (word ^ UInt64(truncatingIfNeeded: i))
            difference |= word ^ expected
            expected = expected &+ Self.k
            i &+= 1
        }
        let tail = payloadBytes & 7
        if tail > 0 {
            var last: UInt64 = 0
            withUnsafeMutableBytes(of: &last) { dst in
                for j in 0..<tail { dst[j] = payload.load(fromByteOffset: (words &<< 3) &+ j, as: UInt8.self) }
            }
            sum = sum &+ (last ^ UInt64(truncatingIfNeeded: words))
            let mask: UInt64 = (1 << UInt64(tail * 8)) &- 1
            difference |= (last ^ expected) & mask
        }
        return difference == 0 && stored == sum ^ (stamp &* Self.stampMix)
    }
}
