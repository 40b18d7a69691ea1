import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Spin-then-yield waiting for the blocking variants of the lock-free
/// structures. Spinning with `pause` is right while the peer runs on another
/// CPU (a hand-off costs ~100 ns); once the wait is long, the peer may be
/// waiting for *our* CPU, so `sched_yield` gives it up. Nothing here sleeps:
/// the rings' endpoints sleep on a futex with `WaitStrategy.park`.
public struct SpinWait: Sendable {
    @usableFromInline var spins: Int = 0
    /// Busy-wait iterations before the first yield.
    public static let spinLimit = 2048

    @inlinable public init() {}

    @inlinable
    public mutating func wait() {
        if spins < Self.spinLimit {
            spins &+= 1
            cshim_cpu_pause()
        } else {
            // `spins` stays at the limit, so `WaitDeadline.expired(after:)`
            // reads the clock after every yield (a yield can take a time slice).
            sched_yield()
        }
    }

    @inlinable public mutating func reset() { spins = 0 }

    /// Retries `attempt` until it returns true, spinning then yielding
    /// between tries; throws `timedOut` once `timeoutSeconds` pass (nil or
    /// `.infinity`: never) and `invalidArgument` for a NaN or negative timeout.
    @inlinable
    public static func until(timeoutSeconds: Double?, operation: @autoclosure () -> String,
                             _ attempt: () throws(ShmError) -> Bool) throws(ShmError) {
        var spin = SpinWait()
        let deadline = try WaitDeadline(timeoutSeconds: timeoutSeconds)
        while try !attempt() {
            if deadline.expired(after: spin) { throw .timedOut(operation: operation(), seconds: timeoutSeconds ?? 0) }
            spin.wait()
        }
    }
}

/// A deadline for blocking operations on the monotonic clock.
///
/// A timeout is a number of seconds: nil or `.infinity` waits forever; any
/// finite value, however large, is clamped to the clock's range instead of
/// trapping; NaN and negative values are caller bugs, rejected by the
/// validating initialiser with `ShmError.invalidArgument`.
public struct WaitDeadline: Sendable {
    /// Monotonic nanoseconds at which the wait ends; `.max` never ends.
    public let endNs: UInt64

    /// Validates `timeoutSeconds` (see the type's comment).
    @inlinable
    public init(timeoutSeconds: Double?) throws(ShmError) {
        if let seconds = timeoutSeconds, seconds.isNaN || seconds < 0 {
            throw .invalidArgument("timeout must be a non-negative number of seconds (or infinity), got \(seconds)")
        }
        self.init(seconds: timeoutSeconds)
    }

    /// Does not validate: NaN and negative values count as 0 (already
    /// expired); nil, infinity and values past the clock's range never expire.
    @inlinable
    public init(seconds: Double?) {
        endNs = Self.end(after: seconds, now: cshim_monotonic_ns())
    }

    /// `now` plus `seconds`, saturating at `.max` (never).
    @inlinable
    public static func end(after seconds: Double?, now: UInt64) -> UInt64 {
        guard let seconds else { return .max }
        guard seconds > 0 else { return now } // also NaN
        let remaining = Double(UInt64.max - now)
        let ns = seconds * 1e9
        // `ns < remaining` is false for infinity and for anything that
        // would not fit: both mean "never" rather than a trap in UInt64(_:).
        guard ns < remaining else { return .max }
        return now &+ UInt64(ns)
    }

    /// True once the deadline has passed (reads the clock).
    @inlinable
    public var hasExpired: Bool { endNs != .max && cshim_monotonic_ns() >= endNs }

    /// Nanoseconds left (0 once expired; `.max` without a deadline).
    @inlinable
    public func remainingNs(now: UInt64) -> UInt64 { endNs == .max ? .max : (endNs > now ? endNs - now : 0) }

    /// Reads the clock only every 256 calls so that waiting stays cheap.
    @inlinable
    public func expired(after spin: SpinWait) -> Bool {
        endNs != .max && spin.spins & 255 == 0 && cshim_monotonic_ns() >= endNs
    }
}
