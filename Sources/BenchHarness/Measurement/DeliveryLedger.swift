import ShmRing

/// Exact exactly-once accounting when several consumers share producers'
/// messages (MPMC throughput runs bounded by --messages).
///
/// One consumer's `IntegrityTracker` cannot tell another consumer's share
/// from a loss, nor see a message that two consumers both received. So every
/// consumer also marks each message in its own bitmap (one bit per producer
/// and sequence number) inside an anonymous shared mapping the parent made
/// before forking, and the parent, once every child has exited, settles:
/// * lost = messages a producer sent whose bit no consumer set;
/// * duplicated (across consumers) = Σ over bits of (consumers that set it − 1).
///   A consumer that receives a message twice sees its own bit already set
///   and counts the duplicate itself.
///
/// Why one bitmap per consumer rather than one shared bitmap set with atomic
/// fetch-or: a shared bitmap makes consumers write the same cache lines for
/// every message (adjacent sequence numbers share a word), adding exactly the
/// kind of cross-core traffic the queues are being measured for. Private
/// bitmaps cost a plain load, or and store; the sums above recover the same
/// exact answer at the end. Memory order: consumers write their bitmaps with
/// plain stores; the parent reads them after waitpid, and a child's exit
/// happens-before its reaping returns.
///
/// Only runs bounded by --messages know how many bits to reserve; --duration
/// runs settle across consumers from totals (see `RepetitionRunner.summarise`).
public final class DeliveryLedger: @unchecked Sendable {
    let region: SharedRegion
    let producers: Int
    let consumers: Int
    let messagesPerProducer: UInt64
    let wordsPerProducer: Int

    /// Bitmaps larger than this in total are not made (the run settles from totals).
    public static let maximumBytes = 1 << 30

    /// The ledger a scenario needs, or nil when totals suffice (one consumer),
    /// the size is unknown (--duration) or too large.
    public static func make(for scenario: Scenario) throws(HarnessError) -> DeliveryLedger? {
        guard let words = words(for: scenario), let messages = scenario.messages else { return nil }
        let region: SharedRegion
        do {
            region = try SharedRegion.create(backing: .anon, name: "delivery-ledger", size: RegionLayout.headerSize + words * 8)
        } catch { throw .shm(error) }
        return DeliveryLedger(region: region, producers: scenario.producers, consumers: scenario.consumers,
                              messagesPerProducer: UInt64(messages))
    }

    /// Whether `make` gives a ledger for this scenario.
    public static func isExact(for scenario: Scenario) -> Bool { words(for: scenario) != nil }

    static func words(for s: Scenario) -> Int? {
        guard s.mode == .throughput, s.consumers > 1, let messages = s.messages, messages > 0 else { return nil }
        let perProducer = (messages + 63) / 64
        let (total, overflow) = perProducer.multipliedReportingOverflow(by: s.producers * s.consumers)
        guard !overflow, total <= maximumBytes / 8 else { return nil }
        return total
    }

    init(region: SharedRegion, producers: Int, consumers: Int, messagesPerProducer: UInt64) {
        self.region = region
        self.producers = producers
        self.consumers = consumers
        self.messagesPerProducer = messagesPerProducer
        self.wordsPerProducer = Int((messagesPerProducer + 63) / 64)
    }

    func bitmap(consumer: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + RegionLayout.headerSize).assumingMemoryBound(to: UInt64.self) + consumer * producers * wordsPerProducer
    }

    /// Consumer `index`'s own bitmap, for the child's receive loop.
    public func book(consumer index: Int) -> Book {
        precondition(index < consumers)
        return Book(words: bitmap(consumer: index), producers: producers, wordsPerProducer: wordsPerProducer,
                    messagesPerProducer: messagesPerProducer)
    }

    /// One consumer's bitmap.
    public struct Book {
        @usableFromInline let words: UnsafeMutablePointer<UInt64>
        @usableFromInline let producers: Int
        @usableFromInline let wordsPerProducer: Int
        @usableFromInline let messagesPerProducer: UInt64

        public enum Mark { case first, again, unknown }

        /// Marks a received stamp: `.first` when new to this consumer,
        /// `.again` for its own duplicate, `.unknown` for a stamp no producer
        /// sends (a corrupt message).
        @inlinable
        public func mark(stamp: UInt64) -> Mark {
            let producer = Int(truncatingIfNeeded: stamp >> MessageCodec.producerShift)
            let sequence = stamp & MessageCodec.sequenceMask
            guard producer < producers, sequence < messagesPerProducer else { return .unknown }
            let word = words + (producer &* wordsPerProducer &+ Int(truncatingIfNeeded: sequence >> 6))
            let bit: UInt64 = 1 << (sequence & 63)
            let old = word.pointee
            // Plain store: only this consumer writes its bitmap (see the type's comment).
            word.pointee = old | bit
            return old & bit == 0 ? .first : .again
        }
    }

    /// Parent side, after every consumer exited: messages no consumer
    /// received, and receptions beyond the first across consumers.
    public func settle(sentPerProducer: [UInt64]) -> (lost: UInt64, duplicated: UInt64) {
        var lost: UInt64 = 0, duplicated: UInt64 = 0
        for producer in 0..<producers {
            let sent = min(producer < sentPerProducer.count ? sentPerProducer[producer] : 0, messagesPerProducer)
            var seen: UInt64 = 0
            for w in 0..<wordsPerProducer {
                var union: UInt64 = 0
                var total = 0
                for c in 0..<consumers {
                    let v = bitmap(consumer: c)[producer * wordsPerProducer + w]
                    union |= v
                    total += v.nonzeroBitCount
                }
                duplicated += UInt64(total - union.nonzeroBitCount)
                // Count only numbers the producer sent; a bit above is a stamp it never sent.
                let low = UInt64(w) * 64
                let validBits = sent <= low ? 0 : min(64, sent - low)
                let valid: UInt64 = validBits == 64 ? ~0 : (1 << validBits) - 1
                seen += UInt64((union & valid).nonzeroBitCount)
            }
            lost += sent - seen
        }
        return (lost, duplicated)
    }
}
