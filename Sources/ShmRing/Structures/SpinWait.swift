import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Spin-then-yield waiting for the blocking variants of the lock-free
/// structures. Spinning with `pause` is right while the peer runs on another
/// CPU (a hand-off costs ~100 ns); once the wait is long, the peer may be
/// waiting for *our* CPU, so `sched_yield` gives it up. Nothing here sleeps:
/// structures that must sleep use futexes or semaphores.
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
            sched_yield()
        }
    }

    @inlinable public mutating func reset() { spins = 0 }

    /// Retries `attempt` until it returns true, spinning then yielding
    /// between tries; throws `timedOut` once `timeoutSeconds` (nil: never) pass.
    @inlinable
    public static func until(timeoutSeconds: Double?, operation: @autoclosure () -> String,
                             _ attempt: () throws(ShmError) -> Bool) throws(ShmError) {
        var spin = SpinWait()
        let deadline = WaitDeadline(seconds: timeoutSeconds)
        while try !attempt() {
            if deadline.expired(after: spin) { throw .timedOut(operation: operation(), seconds: timeoutSeconds ?? 0) }
            spin.wait()
        }
    }
}

/// A deadline for blocking operations; `nil` seconds waits forever.
public struct WaitDeadline: Sendable {
    @usableFromInline let endNs: UInt64

    @inlinable
    public init(seconds: Double?) {
        if let seconds { endNs = cshim_monotonic_ns() &+ UInt64(max(0, seconds) * 1e9) } else { endNs = .max }
    }

    /// Reads the clock only every 256 calls so that waiting stays cheap.
    @inlinable
    public func expired(after spin: SpinWait) -> Bool {
        endNs != .max && spin.spins & 255 == 0 && cshim_monotonic_ns() >= endNs
    }
}
