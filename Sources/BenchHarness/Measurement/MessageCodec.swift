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
/// Paced runs (`--rate`, `timed`) carry one more word, the intended send
/// time, and shift the rest by 8 bytes:
///
/// | bytes      | content (timed)                                               |
/// |-----------:|---------------------------------------------------------------|
/// |   0..<8    | stamp                                                         |
/// |   8..<16   | intended send time: CycleClock ticks (messages of 16 B or more)|
/// |  16..<24   | checksum (messages of 24 bytes or more)                       |
/// |  24..<size | payload                                                       |
///
/// A message is as long as the buffer the transport hands over: the fixed
/// `messageSize` for every fixed-slot transport, a length drawn from
/// `lengths` for the `records` transport. `verify` also checks that the
/// length is the one the stamp determines, so a truncated or overlong record
/// is corrupt.
public struct MessageCodec: Sendable {
    public let messageSize: Int
    /// Where the checksum is: 8, or 16 in timed messages.
    @usableFromInline let checksumOffset: Int
    /// Set only when lengths vary (`MessageLengths.isFixed` false).
    public let variableLengths: MessageLengths?

    public static let endOfStream: UInt64 = .max
    public static let producerShift: UInt64 = 48
    public static let sequenceMask: UInt64 = (1 << 48) - 1
    @usableFromInline static let k: UInt64 = 0x9E37_79B9_7F4A_7C15
    @usableFromInline static let stampMix: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    public init(messageSize: Int, timed: Bool = false, lengths: MessageLengths? = nil) {
        self.messageSize = messageSize
        checksumOffset = timed ? 16 : 8
        variableLengths = lengths.flatMap { $0.isFixed ? nil : $0 }
    }

    /// Offset of the intended send time in timed messages.
    public static let sendTimeOffset = 8

    @inlinable
    public static func stamp(producer: Int, sequence: UInt64) -> UInt64 {
        UInt64(truncatingIfNeeded: producer) << producerShift | sequence
    }

    /// Writes a complete message with this stamp into `bytes` (messageSize
    /// bytes, or the record's length when lengths vary). Below 16 bytes that
    /// is one store, kept inline in every loop.
    ///
    /// The fixed-size path computes everything from `messageSize`, never from
    /// `bytes.count`: the payload loop's set-up (word count, tail mask) is
    /// then invariant for the whole run and the optimiser hoists it out of the
    /// message loop. Derived from the buffer's length, it was recomputed for
    /// every message (about 100 instructions), which halved the `empty`
    /// transport; records take a call of their own instead.
    @inlinable @inline(__always)
    public func fill(_ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64) {
        let base = bytes.baseAddress!
        base.storeBytes(of: stamp, as: UInt64.self)
        if variableLengths != nil {
            fillRecordPayload(base, stamp: stamp, size: bytes.count)
        } else if messageSize >= checksumOffset &+ 8 {
            fillPayload(base, stamp: stamp, size: messageSize)
        }
    }

    /// `fill` for a loop that read `!checksContent` once: a message that is
    /// its stamp alone is one store, and the codec is not touched (copying
    /// it per message cost more than the store).
    @inlinable @inline(__always)
    public static func fill(_ codec: MessageCodec, _ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64,
                            stampOnly: Bool) {
        if stampOnly {
            bytes.baseAddress!.storeBytes(of: stamp, as: UInt64.self)
        } else {
            codec.fill(bytes, stamp: stamp)
        }
    }

    /// The payload of a record of varying length (see `fill`).
    @usableFromInline @inline(never)
    func fillRecordPayload(_ base: UnsafeMutableRawPointer, stamp: UInt64, size: Int) {
        if size >= checksumOffset &+ 8 { fillPayload(base, stamp: stamp, size: size) }
    }

    /// A timed message: the stamp, the intended send time, then as `fill`.
    @inlinable @inline(__always)
    public func fill(_ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64, sendTick: UInt64) {
        bytes.baseAddress!.storeBytes(of: sendTick, toByteOffset: Self.sendTimeOffset, as: UInt64.self)
        fill(bytes, stamp: stamp)
    }

    /// The intended send time of a timed message.
    @inlinable
    public static func sendTick(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.baseAddress!.loadUnaligned(fromByteOffset: sendTimeOffset, as: UInt64.self)
    }

    @inlinable
    func fillPayload(_ base: UnsafeMutableRawPointer, stamp: UInt64, size: Int) {
        let payload = base + checksumOffset + 8
        let payloadBytes = size - checksumOffset - 8
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
        base.storeBytes(of: sum ^ (stamp &* Self.stampMix), toByteOffset: checksumOffset, as: UInt64.self)
    }

    /// Copies a message: small ones word by word inline (an echo of 8 B
    /// through `memmove` costs a call on the round trip's critical path).
    @inlinable
    public static func copy(from source: UnsafeRawPointer, to target: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount <= 64, byteCount & 7 == 0 else {
            target.copyMemory(from: source, byteCount: byteCount)
            return
        }
        var offset = 0
        while offset < byteCount {
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
            offset &+= 8
        }
    }

    /// The stamp of a received message (unaligned-safe).
    @inlinable
    public static func stamp(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.baseAddress!.loadUnaligned(as: UInt64.self)
    }

    /// Whether `verify` can say anything but true: messages with a payload,
    /// and records (whose length is checked). A loop reads this once, so
    /// that at 8 bytes its per-message path never touches the codec (it
    /// copied the whole codec for every message otherwise).
    @inlinable
    public var checksContent: Bool { variableLengths != nil || messageSize >= checksumOffset &+ 8 }

    /// Whether the checksum and every payload byte match the stamp (always
    /// true below 16 bytes, where the stamp is all there is).
    @inlinable @inline(__always)
    public func verify(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let variableLengths else {
            return messageSize < checksumOffset &+ 8 || verifyPayload(bytes.baseAddress!, size: messageSize)
        }
        return verifyRecord(bytes, lengths: variableLengths)
    }

    /// A record of varying length: its length must be the one its stamp
    /// draws. Out of line, so that the fixed-size path stays small (`fill`).
    @usableFromInline @inline(never)
    func verifyRecord(_ bytes: UnsafeRawBufferPointer, lengths: MessageLengths) -> Bool {
        let size = bytes.count
        guard size >= 8, size == lengths.length(stamp: Self.stamp(of: bytes)) else { return false }
        return size < checksumOffset &+ 8 || verifyPayload(bytes.baseAddress!, size: size)
    }

    @inlinable
    func verifyPayload(_ base: UnsafeRawPointer, size: Int) -> Bool {
        let stamp = base.loadUnaligned(as: UInt64.self)
        let stored = base.loadUnaligned(fromByteOffset: checksumOffset, as: UInt64.self)
        let payload = base + checksumOffset + 8
        let payloadBytes = size - checksumOffset - 8
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
