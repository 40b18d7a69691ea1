import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The one measurement loop of every transport, generic over the port type
/// and specialised for each. Timestamps come from the monotonic clock inside
/// the children, after the start barrier.
public enum MessageLoops {
    /// Runs the loop for one role with whatever port the transport builds.
    public struct Visitor: PortVisitor {
        let role: Role
        let cpu: Int?
        let context: Context

        public func visit<Port: MessagePort & ~Copyable>(_ port: inout Port) throws(HarnessError) -> ChildReport {
            try MessageLoops.run(&port, role: role, cpu: cpu, context: context)
        }
    }

    /// Everything a loop needs besides its port.
    public struct Context {
        public let scenario: Scenario
        public let control: ControlBlock
        public let codec: MessageCodec
        /// Times individual round trips (see `CycleClock`).
        public let clock: CycleClock
        /// Exact cross-consumer accounting, for multi-consumer runs bounded by --messages.
        public let ledger: DeliveryLedger?
        /// Every consumer receives every message (`TransportCapabilities.broadcast`).
        public let broadcast: Bool
        public init(scenario: Scenario, control: ControlBlock, clock: CycleClock, ledger: DeliveryLedger? = nil,
                    broadcast: Bool = false) {
            self.scenario = scenario
            self.broadcast = broadcast
            self.control = control
            self.codec = MessageCodec(messageSize: scenario.messageSize, timed: scenario.rate != nil,
                                      lengths: try? MessageLengths(scenario))
            self.clock = clock
            self.ledger = ledger
        }

        /// Absolute end time for duration-bounded runs, once started.
        @usableFromInline
        func deadline(from start: UInt64) -> UInt64 {
            guard let seconds = scenario.durationSeconds else { return .max }
            return start &+ UInt64(seconds * 1e9)
        }
    }

    /// Runs the loop for `role` on `port` and returns this child's report.
    @inlinable
    public static func run<P: MessagePort & ~Copyable>(_ port: inout P, role: Role, cpu: Int?,
                                                       context: Context) throws(HarnessError) -> ChildReport {
        var report = ChildReport(role: role, cpu: cpu)
        switch (context.scenario.mode, role) {
        case let (.throughput, .producer(index)):
            if let rate = context.scenario.rate {
                var pacing = FixedSchedule(clock: context.clock, messagesPerSecond: rate)
                try produce(&port, index: index, context: context, pacing: &pacing, report: &report)
            } else {
                var pacing = Unpaced()
                try produce(&port, index: index, context: context, pacing: &pacing, report: &report)
            }
        case let (.throughput, .consumer(index)):
            if context.scenario.rate != nil {
                var timing = FromIntendedTime(clock: context.clock)
                try consume(&port, index: index, context: context, timing: &timing, report: &report)
            } else {
                var timing = Untimed()
                try consume(&port, index: index, context: context, timing: &timing, report: &report)
            }
        case (.roundtrip, .producer(0)):
            try ping(&port, context: context, report: &report)
        case (.roundtrip, .consumer(0)):
            try echo(&port, context: context, report: &report)
        default:
            throw .invalidScenario("role \(role) has no part in a \(context.scenario.mode) run")
        }
        return report
    }

    /// Messages sent between two looks at the clock in duration-bounded
    /// runs: a clock read costs ~50 ns here, a ring message ~5 ns, so
    /// checking every message (or every 64) would be a tenth of the ring's
    /// cost; 1024 messages are ~5 us of a ring and ~1-10 ms of a kernel
    /// transport, and the rate is computed from the real end time anyway.
    public static let stopCheckInterval: UInt64 = 1024

    @inlinable
    static func produce<P: MessagePort & ~Copyable, Pacing: SendPacing>(
        _ port: inout P, index: Int, context: Context, pacing: inout Pacing, report: inout ChildReport
    ) throws(HarnessError) {
        let codec = context.codec
        let stampOnly = !codec.checksContent
        let batch = UInt64(context.scenario.batch)
        let total = UInt64(context.scenario.messages ?? .max)
        let stampBase = MessageCodec.stamp(producer: index, sequence: 0)
        context.control.arriveAndWait()
        let start = cshim_monotonic_ns()
        let deadline = context.deadline(from: start)
        pacing.begin()
        // Count-bounded runs go in one stretch; duration-bounded ones in
        // stretches between clock reads.
        let stretch = deadline == .max ? total : pacing.stretch(max(stopCheckInterval, batch &* 64))
        var sequence: UInt64 = 0
        while sequence < total {
            let end = sequence &+ min(stretch, total &- sequence)
            // One call site per port operation, so the port's code (and the
            // ring's) is inlined here; ports take a batch of one on a path
            // of its own. (A second copy of this loop for a literal batch of
            // one, as `consume` has, measured slower: docs/design.md.)
            while sequence < end {
                let count = Int(truncatingIfNeeded: min(batch, end &- sequence))
                let first = stampBase | sequence
                // Paced: a batch is due at its first message's time.
                let due = pacing.due(sequence)
                try port.send(count: count) { i, bytes in
                    pacing.fill(codec, bytes, stamp: first &+ UInt64(truncatingIfNeeded: i), due: due, stampOnly: stampOnly)
                }
                sequence &+= UInt64(truncatingIfNeeded: count)
            }
            if deadline != .max, cshim_monotonic_ns() >= deadline { break }
        }
        report.endNs = cshim_monotonic_ns()
        report.startNs = start
        report.integrity.sent = sequence
        context.control.setSentCount(producer: index, sequence)
        try endStream(&port, context: context)
    }

    /// The last producer to finish ends the stream, once per consumer: a
    /// FIFO transport delivers every earlier message before the markers.
    /// One marker at a time, each taken before the next is sent, so that
    /// a consumer popping a batch never takes another consumer's marker.
    /// (A call of its own, so that the loop has one `send` to inline.)
    @inlinable @inline(never)
    static func endStream<P: MessagePort & ~Copyable>(_ port: inout P, context: Context) throws(HarnessError) {
        guard context.control.producerFinished(of: context.scenario.producers) else { return }
        let codec = context.codec
        // A broadcast delivers one marker to every consumer.
        for ended in 0..<(context.broadcast ? 1 : context.scenario.consumers) {
            try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: MessageCodec.endOfStream) }
            if context.scenario.consumers > 1 { context.control.waitForEndedConsumers(ended + 1) }
        }
    }

    /// The consumer's loop until the end of stream. A function of its own,
    /// with the loop's state as inout parameters, rather than a local
    /// function capturing `consume`'s variables: captured variables got
    /// dynamic exclusivity checks (swift_beginAccess/endAccess around every
    /// message, ~120 instructions) wherever the port's receive is not inlined
    /// whole, as mpmc-lockfree's claim is not: -40 % (issue 20). Inout
    /// parameters are checked statically.
    /// Every 256 messages the counts so far go to the control block, so a
    /// run that fails mid-way still says what this consumer had verified.
    @inlinable @inline(__always)
    static func drain<P: MessagePort & ~Copyable, Timing: ArrivalTiming>(
        _ port: inout P, maxCount: Int, context: Context, child: Int, codec: MessageCodec, checksContent: Bool,
        book: DeliveryLedger.Book?, timing: inout Timing, tracker: inout IntegrityTracker
    ) throws(HarnessError) {
        var ended = false
        var unpublished = 0
        while !ended {
            if unpublished >= 256 {
                context.control.publishProgress(child: child, tracker.counts)
                unpublished = 0
            }
            unpublished &+= try port.receive(maxCount: maxCount) { _, bytes in
                take(bytes, codec: codec, checksContent: checksContent, book: book, timing: &timing,
                     tracker: &tracker, ended: &ended)
            }
        }
    }

    /// What a consumer does with each message: end of stream, or the
    /// checksum, the ledger (several consumers) and the tracker.
    @inlinable @inline(__always)
    static func take<Timing: ArrivalTiming>(_ bytes: UnsafeRawBufferPointer, codec: MessageCodec, checksContent: Bool,
                                            book: DeliveryLedger.Book?, timing: inout Timing,
                                            tracker: inout IntegrityTracker, ended: inout Bool) {
        let stamp = MessageCodec.stamp(of: bytes)
        if stamp == MessageCodec.endOfStream {
            ended = true
            return
        }
        timing.arrived(bytes)
        let intact = !checksContent || codec.verify(bytes)
        guard let book else {
            tracker.record(stamp: stamp, intact: intact)
            return
        }
        // The ledger sees this consumer's duplicates exactly, at any distance.
        switch intact ? book.mark(stamp: stamp) : nil {
        case .again?: tracker.counts.duplicated &+= 1
        case .unknown?: tracker.counts.corrupt &+= 1
        case .first?, nil: tracker.record(stamp: stamp, intact: intact)
        }
    }

    @inlinable
    static func consume<P: MessagePort & ~Copyable, Timing: ArrivalTiming>(
        _ port: inout P, index: Int, context: Context, timing: inout Timing, report: inout ChildReport
    ) throws(HarnessError) {
        let codec = context.codec
        let checksContent = codec.checksContent
        let batch = context.scenario.batch
        let seesEveryMessage = context.scenario.consumers == 1 || context.broadcast
        var tracker = IntegrityTracker(producers: context.scenario.producers, seesEveryMessage: seesEveryMessage)
        let book = context.ledger?.book(consumer: index)
        context.control.arriveAndWait()
        if index < context.scenario.stalledConsumers ?? 0 { stallUntilProducersFinish(context) }
        report.startNs = cshim_monotonic_ns()
        let child = context.scenario.producers + index
        // Two copies of the loop: with a literal batch of one the port's
        // receive loop folds away after inlining, instead of setting up a
        // loop (and the codec's payload loop) for every message.
        if batch == 1 {
            try drain(&port, maxCount: 1, context: context, child: child, codec: codec, checksContent: checksContent,
                      book: book, timing: &timing, tracker: &tracker)
        } else {
            try drain(&port, maxCount: batch, context: context, child: child, codec: codec, checksContent: checksContent,
                      book: book, timing: &timing, tracker: &tracker)
        }
        report.endNs = cshim_monotonic_ns()
        context.control.consumerEnded()
        // With one consumer (or a broadcast) it saw everything, so it can
        // settle losses; with several, the parent settles them from all
        // consumers' counts.
        if seesEveryMessage {
            tracker.finish(sentPerProducer: (0..<context.scenario.producers).map { context.control.sentCount(producer: $0) })
        }
        // A transport that reports its losses (a broadcast consumer's
        // overruns) must report exactly the gaps the stream shows.
        if let reported = port.reportedLost, reported != tracker.counts.lost {
            throw .protocolViolation("consumer \(index): the transport reported \(reported) message(s) lost, the sequence numbers show \(tracker.counts.lost)")
        }
        report.integrity = tracker.counts
        report.latencyBuckets = timing.buckets
    }

    /// `--stalled-consumers`: this consumer reads nothing until every
    /// producer has finished, so its cursor stands still as a SIGSTOPped
    /// reader's would (the ring cannot tell the two apart: neither moves
    /// its cursor nor releases its claim), while it sleeps off the CPUs the
    /// producer and the other consumers need. Then it drains what is left,
    /// with its overrun counted exactly like any lapped reader's.
    @usableFromInline @inline(never)
    static func stallUntilProducersFinish(_ context: Context) {
        while !context.control.producersFinished(context.scenario.producers) { usleep(1000) }
    }

    /// Times every round trip with one clock read per trip (`TripTimer`;
    /// with `--trips-per-sample K`, one read per K trips): the read that
    /// ends trip i (taken as soon as its echo is in) also starts trip i+1,
    /// whose ping goes out right after it. So a sample is the loop's period
    /// and every nanosecond of the loop is in some sample: the samples' mean
    /// is the reported trips per second. (With a read before and one after
    /// each trip, the bookkeeping between them was in no sample: same p50,
    /// but 5.9 M trips/s against 7.2 M now: docs/design.md.) The previous
    /// trip's bookkeeping (tracker, histogram) runs while the ping is in
    /// flight, hidden by the wait; the deadline is compared in clock ticks
    /// at the end of each sample, so the loop makes no system call.
    @inlinable
    static func ping<P: MessagePort & ~Copyable>(_ port: inout P, context: Context,
                                                 report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let clock = context.clock
        let total = UInt64(context.scenario.messages ?? .max)
        var timer = TripTimer(clock: clock, tripsPerSample: context.scenario.tripsPerSample)
        var tracker = IntegrityTracker(producers: 1)
        context.control.arriveAndWait()
        let start = cshim_monotonic_ns()
        var sequence: UInt64 = 0
        timer.start()
        let deadline = context.scenario.durationSeconds.map { clock.ticks(after: $0, from: timer.began) } ?? .max
        // The previous trip's echo, checked during the next trip's flight.
        var pending: (stamp: UInt64, intact: Bool)?
        while sequence < total {
            try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: sequence) }
            if let last = pending { tracker.record(stamp: last.stamp, intact: last.intact) }
            timer.recordPending()
            var got = 0
            var stamp: UInt64 = 0, intact = false
            while got == 0 {
                // Reading the echo (its checksum) is part of the round trip.
                got = try port.receive(maxCount: 1) { _, bytes in
                    stamp = MessageCodec.stamp(of: bytes)
                    intact = codec.verify(bytes)
                }
            }
            let ended = timer.tripEnded()
            pending = (stamp, intact)
            sequence &+= 1
            if let ended, ended >= deadline { break }
        }
        if let last = pending { tracker.record(stamp: last.stamp, intact: last.intact) }
        report.latencyBuckets = timer.finish()
        report.startNs = start
        report.endNs = cshim_monotonic_ns()
        try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: MessageCodec.endOfStream) }
        tracker.finish(sentPerProducer: [sequence])
        report.integrity = tracker.counts
        report.integrity.sent = sequence
    }

    @inlinable
    static func echo<P: MessagePort & ~Copyable>(_ port: inout P, context: Context,
                                                 report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let size = context.scenario.messageSize
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { copy.deallocate() }
        var tracker = IntegrityTracker(producers: 1)
        // Records vary in length; every other transport's are `size` bytes,
        // a constant the copy below is specialised for (derived from the
        // buffer's length, it cost a check per echo).
        let fixedLength = codec.variableLengths == nil
        context.control.arriveAndWait()
        report.startNs = cshim_monotonic_ns()
        // The echo goes back before this side checks the ping, so the
        // check (identical either way) stays off the pinger's clock.
        while true {
            var stamp: UInt64 = 0
            var length = size
            let got = try port.receive(maxCount: 1) { _, bytes in
                stamp = MessageCodec.stamp(of: bytes)
                if !fixedLength { length = min(bytes.count, size) }
                MessageCodec.copy(from: bytes.baseAddress!, to: copy.baseAddress!, byteCount: length)
            }
            guard got == 1 else { continue }
            if stamp == MessageCodec.endOfStream { break }
            try port.send(count: 1) { _, bytes in
                MessageCodec.copy(from: copy.baseAddress!, to: bytes.baseAddress!,
                                  byteCount: fixedLength ? size : min(length, bytes.count))
            }
            tracker.record(stamp: stamp, intact: codec.verify(UnsafeRawBufferPointer(rebasing: copy[..<length])))
        }
        report.endNs = cshim_monotonic_ns()
        report.integrity = tracker.counts
    }
}
