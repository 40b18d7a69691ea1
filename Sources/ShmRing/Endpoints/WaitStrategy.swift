/// How an endpoint of a ring waits when it cannot proceed (consumer: the ring
/// is empty; producer: it is full). Chosen per endpoint when it is claimed.
///
/// `spin`, `yield` and `park` first spin briefly (`SpinWait.spinLimit`
/// pauses); `backoff` spins and yields for bounded times instead. Every
/// waiter walks these phases with the same code (`WaitPhases`). Whatever the
/// strategy, a waiting endpoint checks every `Endpoint.checkIntervalNs` that
/// its peer is alive and the ring sane, and every blocking call takes a timeout.
public enum WaitStrategy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Keep spinning with `pause`: lowest latency, burns a CPU while waiting.
    case spin
    /// `sched_yield` between checks: a CPU stays busy but others can run.
    case yield
    /// Sleep on a futex in the region until the peer wakes us (or a slice of
    /// `Endpoint.parkSliceNs` passes): an idle endpoint uses no CPU. The peer
    /// makes the wake-up system call only when this side is asleep.
    case park
    /// Adaptive (Aeron's `BackoffIdleStrategy`, the Disruptor's
    /// `PhasedBackoffWaitStrategy`): spin with `pause` for
    /// `backoffSpinNanoseconds` (25 µs), then `sched_yield` until
    /// `backoffYieldNanoseconds` (25 µs) more have passed, then park exactly as
    /// `park` does. A message that arrives within the window costs what it
    /// costs `spin` (or one `sched_yield`); a longer wait costs no CPU. The
    /// peer treats this side as a parking one (one fence per publication,
    /// the wake-up system call only while this side sleeps).
    case backoff

    public var description: String { rawValue }

    /// `backoff`: how long a wait spins with `pause` before yielding. Long
    /// enough that a peer sending every 20 µs is waited for by spinning:
    /// on the measured VM a message that arrives in the yield phase costs
    /// +0.1-0.15 µs (one `sched_yield` in flight, ~0.2 µs), 1.4-1.6x the
    /// spin latency, and spin windows of 2, 5 and 10 µs all left a 20 µs
    /// cadence there (results/vm-2026-12-06-wait/).
    public static let backoffSpinNanoseconds: UInt64 = 25_000
    /// `backoff`: how long a wait then yields before it parks. Waking a
    /// parked process costs 20-40 µs on the measured VM (more the longer it
    /// slept), so a peer that answers within the 50 µs window is waited for
    /// awake; beyond it the wait parks and its CPU is free. A consumer fed
    /// every 10 ms pays at most the window per message: 0.5 % of a CPU.
    public static let backoffYieldNanoseconds: UInt64 = 25_000

    /// Whether a waiter with this strategy may sleep on a futex: its peer
    /// (or producer) must then run the waker's side of the parking protocol.
    var mayPark: Bool { self == .park || self == .backoff }
}

/// The two ends of a ring.
public enum EndpointSide: String, Sendable, CustomStringConvertible {
    case producer, consumer

    public var description: String { rawValue }
    var peer: EndpointSide { self == .producer ? .consumer : .producer }
}

/// What a blocking receive got: a message (or record), or the end of the
/// stream: the producer closed the ring and everything it wrote has been read.
public enum Received: Sendable, Equatable {
    case message
    case endOfStream
}
