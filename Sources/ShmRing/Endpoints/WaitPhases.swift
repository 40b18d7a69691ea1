import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Where a blocking call is in its strategy's phases and what it does
/// between two attempts: the one piece of waiting logic that every waiter
/// shares (`Endpoint.waitSlowly` for the SPSC ring, the record ring and the
/// exchange; the broadcast consumer; the journal tailer). A waiter supplies
/// only how it parks, since each parks on its own futex words.
///
/// - `spin`: `pause` forever.
/// - `yield`, `park`: `spinPauses` pauses, then `sched_yield` or park on
///   every round.
/// - `backoff`: `pause` until `WaitStrategy.backoffSpinNanoseconds` have
///   passed since the wait began, `sched_yield` until
///   `backoffYieldNanoseconds` more have, then park on every round. The
///   phases are in time, not iterations: a `pause` costs 13 ns on one CPU
///   and 140 cycles on another, a `sched_yield` 0.2 µs alone on a CPU and a
///   whole time slice beside another runnable thread.
///
/// A park returns after a wake-up, a spurious wake or a slice; the waiter
/// then parks again (it does not spin anew), so a long wait costs one
/// window of CPU, not one per slice.
struct WaitPhases {
    enum Phase { case spin, yield, park }

    let strategy: WaitStrategy
    private(set) var phase: Phase = .spin
    /// Pauses so far in the spin phase.
    private var pauses = 0
    /// `spin`, `yield`, `park`: pauses before the strategy's own phase.
    private let spinPauses: Int
    /// `backoff`: monotonic ns at which its spin and yield phases end.
    private var spinEndNs: UInt64 = 0
    private var yieldEndNs: UInt64 = 0

    /// Starts a wait (reads the clock for `backoff` only).
    init(_ strategy: WaitStrategy, spinPauses: Int = SpinWait.spinLimit) {
        self.strategy = strategy
        self.spinPauses = spinPauses
        if strategy == .backoff {
            spinEndNs = cshim_monotonic_ns() &+ WaitStrategy.backoffSpinNanoseconds
            yieldEndNs = spinEndNs &+ WaitStrategy.backoffYieldNanoseconds
        }
    }

    /// Whether the caller's periodic checks (deadline, peer liveness), which
    /// read the clock, are due after this round: every 256 pauses while
    /// spinning, every round once a round costs a system call.
    var checksDue: Bool { phase != .spin || pauses & 255 == 0 }

    /// One round of waiting: a pause, a yield, or `park` (one sleep of the
    /// caller's, at most a slice, which may return early).
    mutating func idle(park: () throws(ShmError) -> Void) throws(ShmError) {
        switch phase {
        case .spin:
            cshim_cpu_pause()
            pauses &+= 1
            if strategy == .backoff {
                // The clock every 8 pauses (~0.1 µs here): the phase ends
                // within that of its bound, at ~15 % of the spinning's cost.
                if pauses & 7 == 0 { advanceBackoff(now: cshim_monotonic_ns()) }
            } else if strategy != .spin, pauses >= spinPauses {
                phase = strategy == .yield ? .yield : .park
            }
        case .yield:
            sched_yield()
            if strategy == .backoff { advanceBackoff(now: cshim_monotonic_ns()) }
        case .park:
            try park()
        }
    }

    /// `backoff`: the phase the clock says it is in (a waiter descheduled
    /// past both bounds goes straight to parking).
    private mutating func advanceBackoff(now: UInt64) {
        if now >= yieldEndNs { phase = .park } else if now >= spinEndNs { phase = .yield }
    }
}
