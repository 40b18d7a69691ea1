/// How an endpoint of a ring waits when it cannot proceed (consumer: the ring
/// is empty; producer: it is full). Chosen per endpoint when it is claimed.
///
/// Every strategy first spins briefly (`SpinWait.spinLimit` pauses); they
/// differ in what follows. Whatever the strategy, a waiting endpoint checks
/// every `Endpoint.checkIntervalNs` that its peer is alive and the ring sane,
/// and every blocking call takes a timeout.
public enum WaitStrategy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Keep spinning with `pause`: lowest latency, burns a CPU while waiting.
    case spin
    /// `sched_yield` between checks: a CPU stays busy but others can run.
    case yield
    /// Sleep on a futex in the region until the peer wakes us (or a slice of
    /// `Endpoint.parkSliceNs` passes): an idle endpoint uses no CPU. The peer
    /// makes the wake-up system call only when this side is asleep.
    case park

    public var description: String { rawValue }
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
