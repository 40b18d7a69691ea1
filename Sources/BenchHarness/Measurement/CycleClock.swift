import CShim
import Foundation

/// The clock that times individual round trips.
///
/// `clock_gettime(CLOCK_MONOTONIC)` costs about 55 ns here (a KVM guest),
/// and a round trip includes the cost of about one read, which would inflate
/// a ~100 ns round trip by half. The TSC costs about 20 ns. It is used when
/// the kernel itself uses it as its clocksource (so it is invariant and
/// synchronised), converted with a ratio calibrated against the monotonic
/// clock; otherwise the monotonic clock is used directly. Start and end of
/// whole repetitions, compared across processes, always use the monotonic clock.
public struct CycleClock: Sendable {
    /// What `now()` reads: "tsc", "cntvct" or "monotonic".
    public let source: String
    public let nanosecondsPerTick: Double
    @usableFromInline let usesCounter: Bool

    /// Reads the clock: a counter value, not nanoseconds.
    @inlinable
    public func now() -> UInt64 { usesCounter ? cshim_cycles() : cshim_monotonic_ns() }

    /// Converts a difference of two `now()` readings to nanoseconds.
    @inlinable
    public func nanoseconds(_ ticks: UInt64) -> UInt64 {
        usesCounter ? UInt64(Double(ticks) * nanosecondsPerTick) : ticks
    }

    /// The reading `seconds` after the reading `start`, saturating, so that
    /// a loop can compare its deadline with the readings it takes anyway.
    @inlinable
    public func ticks(after seconds: Double, from start: UInt64) -> UInt64 {
        let ticks = seconds * 1e9 / nanosecondsPerTick
        guard ticks.isFinite, ticks < Double(UInt64.max - start) else { return .max }
        return start &+ UInt64(ticks)
    }

    public static let monotonic = CycleClock(source: "monotonic", nanosecondsPerTick: 1, usesCounter: false)

    /// Measures the counter's rate against the monotonic clock over ~20 ms.
    public static func calibrate() -> CycleClock {
        #if arch(x86_64) || arch(i386)
        let clocksource = (try? String(contentsOfFile: "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                                       encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard clocksource == "tsc" else { return .monotonic }
        let source = "tsc"
        #elseif arch(arm64)
        let source = "cntvct"
        #else
        return .monotonic
        #endif
        let ns0 = cshim_monotonic_ns(), t0 = cshim_cycles()
        usleep(20_000)
        let ns1 = cshim_monotonic_ns(), t1 = cshim_cycles()
        guard t1 > t0, ns1 > ns0 else { return .monotonic }
        return CycleClock(source: source, nanosecondsPerTick: Double(ns1 - ns0) / Double(t1 - t0), usesCounter: true)
    }
}
