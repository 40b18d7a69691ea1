/// Counts lost, duplicated, reordered and corrupt messages per producer
/// without allocating on the hot path.
///
/// The common case, the next message of a producer in order with nothing
/// outstanding, costs two compares and two increments: that is what every
/// consumer of every transport pays per message, so it is kept minimal (the
/// `empty` transport measures it).
///
/// Anything else takes the slow path. A message that skips ahead marks the
/// numbers it skipped as missing in a window of `windowBits` bits per
/// producer. A late message (below the highest seen) that is marked missing
/// clears its mark and counts as reordered; one that is not marked is a
/// duplicate. Marks the window slides past are counted lost, and so are
/// marks still outstanding, and numbers never reached, when `finish` learns
/// how many were sent. A message more than `windowBits` late cannot be told
/// from a duplicate and counts as reordered (it was already counted lost).
///
/// When other consumers share the producers' messages (`seesEveryMessage`
/// false), gaps are their share, not losses: only order is checked, and the
/// parent settles losses and duplicates across consumers (DeliveryLedger).
public struct IntegrityTracker: ~Copyable {
    public static let windowBits: UInt64 = 1 << 16
    @usableFromInline static let windowWords = Int(windowBits / 64)

    @usableFromInline
    struct ProducerState {
        /// Highest sequence number seen + 1.
        @usableFromInline var next: UInt64 = 0
        /// Missing marks outstanding.
        @usableFromInline var missing: UInt64 = 0
        /// No missing mark lies below this number.
        @usableFromInline var oldestMark: UInt64 = 0
    }

    @usableFromInline let producers: Int
    @usableFromInline let seesEveryMessage: Bool
    @usableFromInline let state: UnsafeMutablePointer<ProducerState>
    @usableFromInline let marks: UnsafeMutablePointer<UInt64>

    public var counts = IntegrityCounts()

    public init(producers: Int, seesEveryMessage: Bool = true) {
        self.producers = producers
        self.seesEveryMessage = seesEveryMessage
        state = .allocate(capacity: producers)
        state.initialize(repeating: ProducerState(), count: producers)
        marks = .allocate(capacity: producers * Self.windowWords)
        marks.initialize(repeating: 0, count: producers * Self.windowWords)
    }

    deinit {
        state.deallocate()
        marks.deallocate()
    }

    /// Records one received message's stamp; `intact` is its checksum verdict.
    @inlinable
    public mutating func record(stamp: UInt64, intact: Bool) {
        let producer = Int(truncatingIfNeeded: stamp >> MessageCodec.producerShift)
        guard intact, producer < producers else {
            counts.corrupt &+= 1
            return
        }
        let sequence = stamp & MessageCodec.sequenceMask
        let s = state + producer
        if sequence == s.pointee.next && s.pointee.missing == 0 {
            s.pointee.next = sequence &+ 1
            counts.received &+= 1
            return
        }
        recordOutOfOrder(producer: producer, sequence: sequence)
    }

    @usableFromInline
    mutating func recordOutOfOrder(producer: Int, sequence: UInt64) {
        let s = state + producer
        let next = s.pointee.next
        if sequence >= next {
            counts.received &+= 1
            s.pointee.next = sequence &+ 1
            guard seesEveryMessage else { return }
            evictMarks(producer, below: sequence &+ 1 &- min(sequence &+ 1, Self.windowBits))
            if sequence > next {
                // Skipped numbers are missing for now; those already outside
                // the window are lost outright.
                let from = max(next, sequence &+ 1 &- min(sequence &+ 1, Self.windowBits))
                counts.lost &+= from &- next
                if s.pointee.missing == 0 { s.pointee.oldestMark = from }
                var p = from
                while p < sequence { setMark(producer, p); p &+= 1 }
                s.pointee.missing &+= sequence &- from
            }
            return
        }
        guard seesEveryMessage else {
            counts.received &+= 1
            counts.reordered &+= 1
            return
        }
        if sequence &+ Self.windowBits < next {
            counts.reordered &+= 1
        } else if clearMark(producer, sequence) {
            s.pointee.missing &-= 1
            counts.received &+= 1
            counts.reordered &+= 1
        } else {
            counts.duplicated &+= 1
        }
    }

    /// Counts marks below `limit` as lost and clears them, so their bits can
    /// serve the numbers one window later.
    @usableFromInline
    mutating func evictMarks(_ producer: Int, below limit: UInt64) {
        let s = state + producer
        while s.pointee.missing > 0 && s.pointee.oldestMark < limit {
            if clearMark(producer, s.pointee.oldestMark) {
                s.pointee.missing &-= 1
                counts.lost &+= 1
            }
            s.pointee.oldestMark &+= 1
        }
    }

    @usableFromInline
    func setMark(_ producer: Int, _ sequence: UInt64) {
        let (word, bit) = position(producer, sequence)
        marks[word] |= bit
    }

    /// Clears the mark of `sequence`; returns whether it was set.
    @usableFromInline
    func clearMark(_ producer: Int, _ sequence: UInt64) -> Bool {
        let (word, bit) = position(producer, sequence)
        let was = marks[word] & bit != 0
        marks[word] &= ~bit
        return was
    }

    @usableFromInline
    func position(_ producer: Int, _ sequence: UInt64) -> (Int, UInt64) {
        let inWindow = sequence % Self.windowBits
        return (producer &* Self.windowWords &+ Int(inWindow / 64), 1 << (inWindow % 64))
    }

    /// Settles the books once every producer has said how many it sent:
    /// outstanding marks and numbers never reached are lost.
    public mutating func finish(sentPerProducer: [UInt64]) {
        for (producer, sent) in sentPerProducer.enumerated() where producer < producers {
            let s = state + producer
            counts.lost &+= s.pointee.missing
            s.pointee.missing = 0
            if sent > s.pointee.next { counts.lost &+= sent &- s.pointee.next }
        }
    }
}

/// Integrity counts of one process or of a whole run (docs/results-format.md).
public struct IntegrityCounts: Codable, Sendable, Equatable {
    public var sent: UInt64 = 0
    public var received: UInt64 = 0
    public var lost: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var reordered: UInt64 = 0
    public var corrupt: UInt64 = 0

    public init() {}

    public var clean: Bool { lost == 0 && duplicated == 0 && reordered == 0 && corrupt == 0 }

    public static func + (a: IntegrityCounts, b: IntegrityCounts) -> IntegrityCounts {
        var r = IntegrityCounts()
        r.sent = a.sent + b.sent
        r.received = a.received + b.received
        r.lost = a.lost + b.lost
        r.duplicated = a.duplicated + b.duplicated
        r.reordered = a.reordered + b.reordered
        r.corrupt = a.corrupt + b.corrupt
        return r
    }
}
