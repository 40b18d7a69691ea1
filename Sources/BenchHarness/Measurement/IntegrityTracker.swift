/// Counts lost, duplicated, reordered and corrupt messages per producer
/// without allocating on the hot path.
///
/// Each producer has a window of `windowBits` sequence numbers, a bitmap of
/// which have arrived. In-order arrival (the common case) sets one bit. When a
/// sequence number beyond the window arrives, the window slides forward and
/// every unseen number it leaves behind is counted lost. A number below the
/// window arrives more than `windowBits` late; it cannot be told from a
/// duplicate and is counted as reordered (it was already counted lost).
public struct IntegrityTracker: ~Copyable {
    public static let windowBits: UInt64 = 1 << 16
    @usableFromInline static let windowWords = Int(windowBits / 64)

    @usableFromInline let producers: Int
    @usableFromInline let bits: UnsafeMutablePointer<UInt64>
    /// Per producer: lowest number still inside the window, and highest seen + 1.
    @usableFromInline let base: UnsafeMutablePointer<UInt64>
    @usableFromInline let next: UnsafeMutablePointer<UInt64>

    public var counts = IntegrityCounts()
    /// False when other consumers share the producers' messages: gaps are
    /// then other consumers' messages, not losses.
    @usableFromInline let seesEveryMessage: Bool

    public init(producers: Int, seesEveryMessage: Bool = true) {
        self.producers = producers
        self.seesEveryMessage = seesEveryMessage
        bits = .allocate(capacity: producers * Self.windowWords)
        bits.initialize(repeating: 0, count: producers * Self.windowWords)
        base = .allocate(capacity: producers)
        base.initialize(repeating: 0, count: producers)
        next = .allocate(capacity: producers)
        next.initialize(repeating: 0, count: producers)
    }

    deinit {
        bits.deallocate()
        base.deallocate()
        next.deallocate()
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
        let words = bits + producer &* Self.windowWords
        if sequence < base[producer] {
            counts.reordered &+= 1
            return
        }
        if sequence &- base[producer] >= Self.windowBits { slide(producer, toInclude: sequence) }
        let word = Int(truncatingIfNeeded: (sequence / 64) % UInt64(Self.windowWords))
        let bit: UInt64 = 1 << (sequence % 64)
        if words[word] & bit != 0 {
            counts.duplicated &+= 1
            return
        }
        words[word] |= bit
        counts.received &+= 1
        // Arrival below the highest seen so far breaks per-producer order.
        if sequence >= next[producer] {
            next[producer] = sequence &+ 1
        } else {
            counts.reordered &+= 1
        }
    }

    /// Moves the window so it ends at `sequence`, counting unseen numbers it drops as lost.
    @usableFromInline
    mutating func slide(_ producer: Int, toInclude sequence: UInt64) {
        let words = bits + producer &* Self.windowWords
        let newBase = (sequence &- Self.windowBits &+ 64) & ~63
        var wordBase = base[producer] & ~63
        while wordBase < newBase {
            let index = Int((wordBase / 64) % UInt64(Self.windowWords))
            // Only numbers at or above the old base were still pending.
            let pendingFrom = max(base[producer], wordBase) - wordBase
            let pendingMask: UInt64 = pendingFrom >= 64 ? 0 : ~0 << pendingFrom
            if seesEveryMessage { counts.lost &+= UInt64((~words[index] & pendingMask).nonzeroBitCount) }
            words[index] = 0
            wordBase &+= 64
        }
        base[producer] = newBase
    }

    /// Settles the books once every producer has said how many it sent:
    /// every number below `sent` that never arrived is lost.
    public mutating func finish(sentPerProducer: [UInt64]) {
        for (producer, sent) in sentPerProducer.enumerated() where producer < producers {
            let words = bits + producer &* Self.windowWords
            let low = base[producer]
            let windowEnd = low &+ Self.windowBits
            var sequence = low
            while sequence < min(sent, windowEnd) {
                let word = Int((sequence / 64) % UInt64(Self.windowWords))
                if words[word] & (1 << (sequence % 64)) == 0 { counts.lost &+= 1 }
                sequence &+= 1
            }
            if sent > windowEnd { counts.lost &+= sent &- windowEnd }
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
