import CShim
import Histogram

/// When a producer sends: as fast as it can (`Unpaced`, the default), or on
/// a fixed schedule (`FixedSchedule`, `--rate`). The loop is generic over
/// it, so the unpaced loop compiles to exactly the loop without pacing.
public protocol SendPacing {
    /// Starts the schedule (after the start barrier).
    mutating func begin()
    /// Messages between two stop checks of a duration-bounded run, given the
    /// unpaced number: a slow schedule must not overrun the duration.
    func stretch(_ unpaced: UInt64) -> UInt64
    /// Waits until message `sequence` is due and returns its intended send
    /// time (CycleClock ticks; 0 unpaced).
    mutating func due(_ sequence: UInt64) -> UInt64
    /// Writes a message: timed ones carry their intended send time.
    /// `stampOnly`: the loop's `!codec.checksContent`, read once (see
    /// `MessageCodec.fill(_:_:stamp:stampOnly:)`).
    func fill(_ codec: MessageCodec, _ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64, due: UInt64, stampOnly: Bool)
}

public struct Unpaced: SendPacing {
    @inlinable public init() {}
    @inlinable @inline(__always) public mutating func begin() {}
    @inlinable public func stretch(_ unpaced: UInt64) -> UInt64 { unpaced }
    @inlinable @inline(__always) public mutating func due(_ sequence: UInt64) -> UInt64 { 0 }
    @inlinable @inline(__always)
    public func fill(_ codec: MessageCodec, _ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64, due: UInt64, stampOnly: Bool) {
        MessageCodec.fill(codec, bytes, stamp: stamp, stampOnly: stampOnly)
    }
}

/// Message i is due at start + i / rate, whatever happened before it (as in
/// wrk2): a producer that falls behind sends late messages at once, and
/// each carries the time it was due, so a stall is charged to every message
/// it delayed, not only to the one that met it (no coordinated omission).
public struct FixedSchedule: SendPacing {
    @usableFromInline let clock: CycleClock
    @usableFromInline var start: UInt64 = 0
    @usableFromInline let ticksPerMessage: Double
    let messagesPerSecond: Double

    public init(clock: CycleClock, messagesPerSecond: Double) {
        self.clock = clock
        self.messagesPerSecond = messagesPerSecond
        ticksPerMessage = 1e9 / messagesPerSecond / clock.nanosecondsPerTick
    }

    public mutating func begin() { start = clock.now() }

    /// About a millisecond of the schedule, at most the unpaced stretch.
    public func stretch(_ unpaced: UInt64) -> UInt64 {
        max(1, min(unpaced, UInt64(messagesPerSecond / 1000)))
    }

    @inlinable
    public mutating func due(_ sequence: UInt64) -> UInt64 {
        let due = start &+ UInt64(Double(sequence) * ticksPerMessage)
        while clock.now() < due { cshim_cpu_pause() }
        return due
    }

    /// Timed messages always carry their send time (`stampOnly` is ignored).
    @inlinable @inline(__always)
    public func fill(_ codec: MessageCodec, _ bytes: UnsafeMutableRawBufferPointer, stamp: UInt64, due: UInt64, stampOnly: Bool) {
        codec.fill(bytes, stamp: stamp, sendTick: due)
    }
}

/// What a consumer does with each message's timing: nothing (`Untimed`), or
/// record its one-way latency from the intended send time (`FromIntendedTime`).
public protocol ArrivalTiming {
    mutating func arrived(_ bytes: UnsafeRawBufferPointer)
    /// The histogram as flattened buckets, if this timing records one.
    var buckets: [UInt64]? { get }
}

public struct Untimed: ArrivalTiming {
    @inlinable public init() {}
    @inlinable @inline(__always) public mutating func arrived(_ bytes: UnsafeRawBufferPointer) {}
    public var buckets: [UInt64]? { nil }
}

/// One-way latency = now - intended send time, both read from the
/// calibrated cycle counter (the processes share one machine's TSC). The
/// histogram is HdrHistogram's: recording allocates nothing.
public struct FromIntendedTime: ArrivalTiming {
    @usableFromInline let clock: CycleClock
    @usableFromInline var histogram = LatencyHistogram.make()

    public init(clock: CycleClock) { self.clock = clock }

    @inlinable
    public mutating func arrived(_ bytes: UnsafeRawBufferPointer) {
        let now = clock.now(), due = MessageCodec.sendTick(of: bytes)
        _ = histogram.record(clock.nanoseconds(now > due ? now &- due : 0))
    }

    public var buckets: [UInt64]? { LatencyHistogram.buckets(histogram) }
}
