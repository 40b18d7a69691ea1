import CShim
import Histogram

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
        public init(scenario: Scenario, control: ControlBlock, clock: CycleClock, ledger: DeliveryLedger? = nil) {
            self.scenario = scenario
            self.control = control
            self.codec = MessageCodec(messageSize: scenario.messageSize, lengths: try? MessageLengths(scenario))
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
            try produce(&port, index: index, context: context, report: &report)
        case let (.throughput, .consumer(index)):
            try consume(&port, index: index, context: context, report: &report)
        case (.roundtrip, .producer(0)):
            try ping(&port, context: context, report: &report)
        case (.roundtrip, .consumer(0)):
            try echo(&port, context: context, report: &report)
        default:
            throw .invalidScenario("role \(role) has no part in a \(context.scenario.mode) run")
        }
        return report
    }

    @inlinable
    static func produce<P: MessagePort & ~Copyable>(_ port: inout P, index: Int, context: Context,
                                                    report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let batch = context.scenario.batch
        let total = UInt64(context.scenario.messages ?? .max)
        let stampBase = MessageCodec.stamp(producer: index, sequence: 0)
        context.control.arriveAndWait()
        let start = cshim_monotonic_ns()
        let deadline = context.deadline(from: start)
        var sequence: UInt64 = 0
        var rounds: UInt64 = 0
        while sequence < total {
            // The clock is read every 64 sends, so duration runs stay cheap.
            if deadline != .max, rounds & 63 == 0, cshim_monotonic_ns() >= deadline { break }
            rounds &+= 1
            let count = Int(truncatingIfNeeded: min(UInt64(batch), total &- sequence))
            let first = sequence
            try port.send(count: count) { i, bytes in
                codec.fill(bytes, stamp: stampBase | (first &+ UInt64(truncatingIfNeeded: i)))
            }
            sequence &+= UInt64(count)
        }
        report.endNs = cshim_monotonic_ns()
        report.startNs = start
        report.integrity.sent = sequence
        context.control.setSentCount(producer: index, sequence)
        // The last producer to finish ends the stream, once per consumer: a
        // FIFO transport delivers every earlier message before the markers.
        // One marker at a time, each taken before the next is sent, so that
        // a consumer popping a batch never takes another consumer's marker.
        if context.control.producerFinished(of: context.scenario.producers) {
            for ended in 0..<context.scenario.consumers {
                try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: MessageCodec.endOfStream) }
                if context.scenario.consumers > 1 { context.control.waitForEndedConsumers(ended + 1) }
            }
        }
    }

    @inlinable
    static func consume<P: MessagePort & ~Copyable>(_ port: inout P, index: Int, context: Context,
                                                    report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let batch = context.scenario.batch
        var tracker = IntegrityTracker(producers: context.scenario.producers,
                                       seesEveryMessage: context.scenario.consumers == 1)
        let book = context.ledger?.book(consumer: index)
        context.control.arriveAndWait()
        report.startNs = cshim_monotonic_ns()
        var ended = false
        while !ended {
            _ = try port.receive(maxCount: batch) { _, bytes in
                let stamp = MessageCodec.stamp(of: bytes)
                if stamp == MessageCodec.endOfStream {
                    ended = true
                } else {
                    let intact = codec.verify(bytes)
                    // The ledger sees this consumer's duplicates exactly, at any distance.
                    switch intact ? book?.mark(stamp: stamp) : nil {
                    case .again?: tracker.counts.duplicated &+= 1
                    case .unknown?: tracker.counts.corrupt &+= 1
                    case .first?, nil: tracker.record(stamp: stamp, intact: intact)
                    }
                }
            }
        }
        report.endNs = cshim_monotonic_ns()
        context.control.consumerEnded()
        // With one consumer it saw everything, so it can settle losses; with
        // several, the parent settles them from all consumers' counts.
        if context.scenario.consumers == 1 {
            tracker.finish(sentPerProducer: (0..<context.scenario.producers).map { context.control.sentCount(producer: $0) })
        }
        report.integrity = tracker.counts
    }

    @inlinable
    static func ping<P: MessagePort & ~Copyable>(_ port: inout P, context: Context,
                                                 report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let clock = context.clock
        let total = UInt64(context.scenario.messages ?? .max)
        var histogram = LatencyHistogram.make()
        var tracker = IntegrityTracker(producers: 1)
        context.control.arriveAndWait()
        let start = cshim_monotonic_ns()
        let deadline = context.deadline(from: start)
        var sequence: UInt64 = 0
        while sequence < total {
            // The deadline is checked every 256 round trips, outside the timed part.
            if deadline != .max, sequence & 255 == 0, cshim_monotonic_ns() >= deadline { break }
            let t0 = clock.now()
            try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: sequence) }
            var got = 0
            var stamp: UInt64 = 0, intact = false
            while got == 0 {
                // Reading the echo (its checksum) is part of the round trip;
                // the bookkeeping after the clock read is not.
                got = try port.receive(maxCount: 1) { _, bytes in
                    stamp = MessageCodec.stamp(of: bytes)
                    intact = codec.verify(bytes)
                }
            }
            let t1 = clock.now()
            tracker.record(stamp: stamp, intact: intact)
            _ = histogram.record(clock.nanoseconds(t1 &- t0))
            sequence &+= 1
        }
        report.startNs = start
        report.endNs = cshim_monotonic_ns()
        try port.send(count: 1) { _, bytes in codec.fill(bytes, stamp: MessageCodec.endOfStream) }
        tracker.finish(sentPerProducer: [sequence])
        report.integrity = tracker.counts
        report.integrity.sent = sequence
        report.latencyBuckets = LatencyHistogram.buckets(histogram)
    }

    @inlinable
    static func echo<P: MessagePort & ~Copyable>(_ port: inout P, context: Context,
                                                 report: inout ChildReport) throws(HarnessError) {
        let codec = context.codec
        let size = context.scenario.messageSize
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { copy.deallocate() }
        var tracker = IntegrityTracker(producers: 1)
        context.control.arriveAndWait()
        report.startNs = cshim_monotonic_ns()
        // The echo goes back before this side checks the ping, so the
        // check (identical either way) stays off the pinger's clock.
        while true {
            var stamp: UInt64 = 0
            // Records vary in length; every other transport's are `size` bytes.
            var length = size
            let got = try port.receive(maxCount: 1) { _, bytes in
                stamp = MessageCodec.stamp(of: bytes)
                length = min(bytes.count, size)
                copy.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: length)
            }
            guard got == 1 else { continue }
            if stamp == MessageCodec.endOfStream { break }
            try port.send(count: 1) { _, bytes in
                bytes.baseAddress!.copyMemory(from: copy.baseAddress!, byteCount: min(length, bytes.count))
            }
            tracker.record(stamp: stamp, intact: codec.verify(UnsafeRawBufferPointer(rebasing: copy[..<length])))
        }
        report.endNs = cshim_monotonic_ns()
        report.integrity = tracker.counts
    }
}
