import CShim
#if canImport(Glibc)
import Glibc
#endif

/// One producer, many consumers: every consumer receives every record (a
/// market-data feed, a log shipper with several readers), in a
/// `SharedRegion`, after LMAX Disruptor's gating sequences and Aeron's
/// broadcast buffer.
///
/// # Design (docs/design.md, "Broadcast ring"; layout in `BroadcastLayout`)
/// * Records are the record ring's (`RecordFrame`), with a 16-byte header
///   that adds the record's sequence number. The producer reserves records
///   in place and publishes a batch with one release store (`commit`), as in
///   `RecordRing`.
/// * Each consumer claims a slot (a cache line with its cursor), held, like
///   every ring end, by an OFD lock on its own byte of the region's witness
///   file (`RegionWitness`), so a consumer that dies releases its slot to the
///   kernel's judgement. Consumers join and leave at any time, at `.latest`
///   (the next record published) or `.oldest` (the oldest record intact).
/// * `.block`: the producer never reuses bytes a live consumer has not read
///   (it caches the slowest cursor and re-scans the slots only when that
///   cache says full); a dead consumer's slot is reclaimed by the waiting
///   producer within about 40 ms. `.overwrite`: the producer never waits; it
///   moves `oldestPosition` past what it is about to overwrite before
///   writing (release fence), and a consumer validates each record after
///   reading it (acquire fence, then `oldestPosition`), seqlock-style; a
///   consumer that was lapped gets `.overrun(lost:)` with the exact count
///   (the sequence numbers) and continues at the oldest intact record.
/// * Waking: parked consumers all sleep on one futex word; a publication
///   costs one relaxed load when none parks, and one FUTEX_WAKE for all of
///   them when some sleep.
///
/// # Untrusted region
/// Every position, length and count read from the region is checked before
/// use and every loop is bounded; a corrupt region is `corruptRing` (and
/// flags the ring corrupt for every participant), never an access outside
/// the mapping.
public struct BroadcastRing: Sendable {
    public let region: SharedRegion
    /// Bytes in the byte ring.
    public let capacity: Int
    /// The largest payload a record may have.
    public let maximumRecordLength: Int
    /// Consumer slots.
    public let maximumConsumers: Int
    public let policy: BroadcastPolicy

    /// Creates a ring of `capacity` bytes (a power of two, at least 256)
    /// with `maximumConsumers` slots (1...4096), records of at most
    /// `maximumRecordLength` bytes (at most capacity / 2 - 32).
    public static func create(backing: RegionBacking, name: String?, capacity: Int, maximumRecordLength: Int,
                              maximumConsumers: Int = 64, policy: BroadcastPolicy = .block,
                              options: RegionOptions = RegionOptions(), reclaimStale: Bool = false) throws(ShmError) -> BroadcastRing {
        guard capacity >= BroadcastLayout.minimumCapacity, capacity <= RecordLayout.maximumCapacity, capacity & (capacity - 1) == 0 else {
            throw .invalidArgument("broadcast ring capacity must be a power of two between \(BroadcastLayout.minimumCapacity) and \(RecordLayout.maximumCapacity) bytes, got \(capacity)")
        }
        let largest = BroadcastLayout.largestRecord(capacity: capacity)
        guard maximumRecordLength >= 1, maximumRecordLength <= largest else {
            throw .invalidArgument("largest record must be between 1 and \(largest) bytes for a \(capacity)-byte broadcast ring, got \(maximumRecordLength)")
        }
        guard (1...BroadcastLayout.maximumConsumers).contains(maximumConsumers) else {
            throw .invalidArgument("consumer slots must be between 1 and \(BroadcastLayout.maximumConsumers), got \(maximumConsumers)")
        }
        if case .evict(let seconds) = policy, !(seconds > 0 && seconds <= BroadcastPolicy.longestEviction) || policy.evictAfterNs == 0 {
            throw .invalidArgument("eviction timeout must be more than 0 and at most \(Int(BroadcastPolicy.longestEviction)) seconds, got \(seconds)")
        }
        guard let size = BroadcastLayout.regionSize(capacity: capacity, consumers: maximumConsumers) else {
            throw .invalidArgument("a broadcast ring of \(capacity) bytes is too large a region")
        }
        return try RingLifecycle.creating(backing: backing, name: name, options: options, reclaimStale: reclaimStale) { () throws(ShmError) in
            let region = try SharedRegion.create(backing: backing, name: name, size: size, options: options)
            // Zero-filled: positions 0, every slot free, nobody parked.
            var parameters = [UInt64](repeating: 0, count: 3)
            parameters[BroadcastLayout.consumersParameter] = UInt64(maximumConsumers)
            parameters[BroadcastLayout.policyParameter] = policy.code
            parameters[BroadcastLayout.evictAfterParameter] = policy.evictAfterNs
            RegionHeader(kind: .broadcastRing, totalSize: size, capacity: capacity, slotSize: maximumRecordLength,
                         parameters: parameters).write(to: region)
            try Endpoint.recordCreator(region)
            RegionHeader.publishReady(region)
            return BroadcastRing(region: region, capacity: capacity, maximumRecordLength: maximumRecordLength,
                                 maximumConsumers: maximumConsumers, policy: policy)
        }
    }

    /// Opens a broadcast ring another process created, waiting up to
    /// `waitForCreationSeconds` for it to exist.
    public static func open(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions(),
                            waitForCreationSeconds: Double = 0) throws(ShmError) -> BroadcastRing {
        try RingLifecycle.open(backing: backing, name: name, options: options, waitSeconds: waitForCreationSeconds) { region throws(ShmError) in
            try attach(region, timeoutSeconds: options.openTimeoutSeconds)
        }
    }

    /// Validates a mapped region as a broadcast ring.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> BroadcastRing {
        let header = try RegionHeader.validate(region, expecting: .broadcastRing, timeoutSeconds: timeoutSeconds)
        guard header.capacity >= UInt64(BroadcastLayout.minimumCapacity), header.capacity <= UInt64(RecordLayout.maximumCapacity),
              header.capacity & (header.capacity - 1) == 0 else {
            throw .corruptedHeader(name: region.name, reason: "broadcast ring capacity \(header.capacity) is not a power of two in \(BroadcastLayout.minimumCapacity)...\(RecordLayout.maximumCapacity)")
        }
        let capacity = Int(header.capacity)
        guard header.slotSize >= 1, header.slotSize <= UInt64(BroadcastLayout.largestRecord(capacity: capacity)) else {
            throw .corruptedHeader(name: region.name, reason: "largest record \(header.slotSize) does not fit a \(capacity)-byte broadcast ring")
        }
        let consumers = header.parameters[BroadcastLayout.consumersParameter]
        guard consumers >= 1, consumers <= UInt64(BroadcastLayout.maximumConsumers) else {
            throw .corruptedHeader(name: region.name, reason: "\(consumers) consumer slots (1...\(BroadcastLayout.maximumConsumers))")
        }
        let code = header.parameters[BroadcastLayout.policyParameter], evictNs = header.parameters[BroadcastLayout.evictAfterParameter]
        guard let policy = BroadcastPolicy(code: code, evictAfterNs: evictNs) else {
            throw .corruptedHeader(name: region.name, reason: "unknown broadcast policy \(code) (eviction timeout \(evictNs) ns)")
        }
        let expected = BroadcastLayout.regionSize(capacity: capacity, consumers: Int(consumers))
        guard let expected, expected == region.size else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(expected ?? 0), actual: UInt64(region.size))
        }
        return BroadcastRing(region: region, capacity: capacity, maximumRecordLength: Int(header.slotSize),
                             maximumConsumers: Int(consumers), policy: policy)
    }

    /// Claims the producing end (one at a time, as a ring's producer).
    public func producer(wait strategy: WaitStrategy = .park) throws(ShmError) -> Producer {
        try Producer(ring: self, strategy: strategy)
    }

    /// Joins as a consumer in a free slot (`endpointTaken` when all
    /// `maximumConsumers` are held by live consumers), starting at `start`.
    public func consumer(from start: BroadcastStart = .latest, wait strategy: WaitStrategy = .park) throws(ShmError) -> Consumer {
        try Consumer(ring: self, start: start, strategy: strategy)
    }
}

/// What the producer does when a consumer is a ring behind.
public enum BroadcastPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Wait for the slowest live consumer.
    case block
    /// Never wait: a lapped consumer gets `.overrun(lost:)`.
    case overwrite
    /// Wait, as `.block`, but for at most `after` seconds (0 < after <= a
    /// day): when the producer has waited that long for the same consumers,
    /// their slots are evicted (their cursors stop gating it), and each gets
    /// `ShmError.evicted` from its next read and must join again.
    case evict(after: Double)

    /// The policies' names, as `ringbench` takes them.
    public static let names = ["block", "overwrite", "evict"]
    /// The longest eviction timeout, in seconds.
    public static let longestEviction = 86_400.0

    /// The policy called `name`; `.evict` takes `evictAfter` seconds.
    public init?(name: String, evictAfter: Double? = nil) {
        switch (name, evictAfter) {
        case ("block", nil): self = .block
        case ("overwrite", nil): self = .overwrite
        case let ("evict", seconds?): self = .evict(after: seconds)
        default: return nil
        }
    }

    /// The policy a command line names (`--policy NAME`, `--evict-after
    /// SECONDS`; block without either), or `invalidArgument` in one line.
    public static func parse(name: String?, evictAfter: Double?) throws(ShmError) -> BroadcastPolicy {
        switch (name ?? "block", evictAfter) {
        case ("evict", nil):
            throw .invalidArgument("--policy evict needs --evict-after SECONDS")
        case let ("evict", seconds?):
            guard seconds > 0, seconds <= longestEviction, seconds * 1e9 >= 1 else {
                throw .invalidArgument("--evict-after must be more than 0 and at most \(Int(longestEviction)) seconds, got \(seconds)")
            }
            return .evict(after: seconds)
        case (_, _?):
            throw .invalidArgument("--evict-after goes with --policy evict")
        case let (raw, nil):
            guard let policy = BroadcastPolicy(name: raw) else {
                throw .invalidArgument("unknown --policy '\(raw)'; choose one of: \(names.joined(separator: ", "))")
            }
            return policy
        }
    }

    public var name: String {
        switch self {
        case .block: "block"
        case .overwrite: "overwrite"
        case .evict: "evict"
        }
    }

    /// Whether the producer waits for consumers (`.block`, `.evict`).
    public var waits: Bool { self != .overwrite }

    var code: UInt64 {
        switch self {
        case .block: 1
        case .overwrite: 2
        case .evict: 3
        }
    }

    /// `.evict`'s timeout in nanoseconds (header parameter 2), else 0.
    var evictAfterNs: UInt64 {
        guard case .evict(let seconds) = self else { return 0 }
        return UInt64(seconds * 1e9)
    }

    /// Read from a header: an eviction timeout of 0 or past a day is refused.
    init?(code: UInt64, evictAfterNs: UInt64) {
        switch code {
        case 1: self = .block
        case 2: self = .overwrite
        case 3 where evictAfterNs >= 1 && evictAfterNs <= UInt64(Self.longestEviction * 1e9):
            self = .evict(after: Double(evictAfterNs) / 1e9)
        default: return nil
        }
    }

    public var description: String {
        guard case .evict(let seconds) = self else { return name }
        return "evict after \(seconds) s"
    }
}

/// Where a joining consumer starts.
public enum BroadcastStart: String, Sendable, CaseIterable {
    /// The next record published after the join.
    case latest
    /// The oldest record still intact (under `.block`, not older than what
    /// the producer may already reuse: see docs/design.md).
    case oldest
}

/// What a consumer's read delivers.
public enum BroadcastDelivery<Result> {
    /// The next record: what the read's closure returned for it.
    case record(Result)
    /// The consumer was lapped (`.overwrite`): `lost` records were
    /// overwritten before it read them; the next read continues at the oldest
    /// intact record.
    case overrun(lost: UInt64)
}

extension BroadcastDelivery: Sendable where Result: Sendable {}

// MARK: - Geometry

extension BroadcastRing {
    /// Where everything is, computed once per handle.
    @usableFromInline
    struct Geometry: @unchecked Sendable {
        // @unchecked: pointers into the region the handle keeps mapped.
        @usableFromInline let base: UnsafeMutableRawPointer
        @usableFromInline let data: UnsafeMutableRawPointer
        @usableFromInline let capacity: UInt64
        @usableFromInline let maximumRecordLength: Int
        @usableFromInline let slots: Int
        @usableFromInline let overwrite: Bool
        /// `.evict`: consumers check after each read that they still own their slot.
        @usableFromInline let evict: Bool
        /// `.evict`'s timeout; 0 otherwise.
        @usableFromInline let evictAfterNs: UInt64
        /// How far past what it must reuse the producer frees room in one go
        /// (`Producer.makeRoom`): a sixteenth of the ring, at most 16 KiB. A
        /// consumer under `.overwrite` is lapped that much earlier; a joiner
        /// at `.oldest` starts that much later.
        @usableFromInline let reuseAhead: UInt64

        init(_ ring: BroadcastRing) {
            base = ring.region.base
            data = ring.region.base + BroadcastLayout.dataOffset(consumers: ring.maximumConsumers)
            capacity = UInt64(ring.capacity)
            maximumRecordLength = ring.maximumRecordLength
            slots = ring.maximumConsumers
            overwrite = ring.policy == .overwrite
            evictAfterNs = ring.policy.evictAfterNs
            evict = evictAfterNs != 0
            reuseAhead = min(capacity / 16, 16 << 10)
        }

        @inlinable func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
            (base + offset).assumingMemoryBound(to: UInt64.self)
        }
        @inlinable func word32(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
            (base + offset).assumingMemoryBound(to: UInt32.self)
        }
        @inlinable func slotWord(_ slot: Int, _ field: Int) -> UnsafeMutablePointer<UInt64> {
            word(BroadcastLayout.slotsOffset + BroadcastLayout.slotSize * slot + field)
        }
        @inlinable var published: UnsafeMutablePointer<UInt64> { word(BroadcastLayout.publishedPositionOffset) }
        @inlinable var oldest: UnsafeMutablePointer<UInt64> { word(BroadcastLayout.oldestPositionOffset) }

        /// Offset in the byte ring of `position`; in bounds by the mask.
        @inlinable func offset(_ position: UInt64) -> Int { Int(truncatingIfNeeded: position & (capacity &- 1)) }

        /// A sane pair of positions: ordered, 16-aligned, within one ring.
        @inlinable func isWithinOneRing(_ earlier: UInt64, _ later: UInt64) -> Bool {
            earlier <= later && later &- earlier <= capacity && (earlier | later) & 15 == 0
        }

        /// The header at `position`, judged with `available` bytes published.
        @inlinable func frame(at position: UInt64, available: UInt64) -> (RecordFrame, UnsafeRawPointer) {
            let at = offset(position)
            let header = UnsafeRawPointer(data + at)
            return (RecordLayout.frame(header, toEnd: capacity &- UInt64(at), available: available,
                                       headerSize: BroadcastLayout.recordHeaderSize, maximumRecordLength: maximumRecordLength), header)
        }

        @inlinable func sequence(_ header: UnsafeRawPointer) -> UInt64 {
            header.load(fromByteOffset: BroadcastLayout.sequenceOffsetInHeader, as: UInt64.self)
        }

        /// Whether the bytes read at `position` were intact throughout the
        /// read: call after the read. Acquire fence: the read's loads happen
        /// before the load of `oldestPosition`, which the producer moves past
        /// `position` (then a release fence) before it writes over them.
        @inlinable func wasIntact(_ position: UInt64) -> Bool {
            cshim_fence_acquire()
            // Relaxed: ordered by the fence above.
            return cshim_load_relaxed(oldest) <= position
        }

        /// Flags the ring corrupt for every participant and returns the error.
        @usableFromInline func corrupt(_ reason: String) -> ShmError {
            Endpoint.corrupt(regionBase: base, reason)
        }

        /// Where a reader starts, with the sequence number of the record
        /// there: `.oldest` the first intact record, `.latest` the end of the
        /// published records. Each try reads what the producer may overwrite
        /// meanwhile and is validated after (`wasIntact`); a producer that
        /// keeps lapping the try for `tries` rounds is `timedOut`.
        func startPoint(_ start: BroadcastStart, name: String, tries: Int = 100_000) throws(ShmError) -> (position: UInt64, sequence: UInt64) {
            for _ in 0..<tries {
                // Acquire: the records below it are complete (pairs with `commit`).
                let published = cshim_load_acquire(self.published)
                // Acquire: pairs with the producer's store; the header there is published.
                let oldest = cshim_load_acquire(self.oldest)
                guard isWithinOneRing(oldest, published) else {
                    // Oldest past the published end we loaded: we were
                    // preempted between the two loads while the producer
                    // went on (it keeps oldest <= its published end, and
                    // both only grow), so the published end has moved: try
                    // again. Acquire: as above. A pair that stays wrong is
                    // a corrupt region.
                    if oldest > published, cshim_load_acquire(self.published) != published { continue }
                    throw corrupt("broadcast ring '\(name)' positions are inconsistent: oldest \(oldest), published \(published)")
                }
                if published == 0 { return (0, 0) }
                if start == .oldest, oldest < published {
                    let (frame, header) = frame(at: oldest, available: published &- oldest)
                    let sequence = sequence(header)
                    guard wasIntact(oldest) else { continue }
                    guard case .impossible = frame else { return (oldest, sequence) }
                    throw corrupt("broadcast ring '\(name)': impossible record header at the oldest position \(oldest)")
                }
                // The last published record ends at `published`: its sequence
                // + 1 (a padding record carries the next sequence itself).
                // Relaxed: stored before `published`, whose acquire load above
                // makes this commit's value (or a later one's) visible.
                let last = cshim_load_relaxed(word(BroadcastLayout.lastRecordOffset))
                guard last < published, published &- last <= capacity, last & 15 == 0 else { continue }
                let (frame, header) = frame(at: last, available: published &- last)
                let sequence = sequence(header)
                guard wasIntact(last) else { continue }
                switch frame {
                case .padding(let toEnd) where last &+ toEnd == published: return (published, sequence)
                case .record(_, let footprint) where last &+ footprint == published: return (published, sequence &+ 1)
                default: continue // a later commit's `lastRecord`: try again
                }
            }
            throw .timedOut(operation: "finding a start in broadcast ring '\(name)' (the producer kept overwriting it)", seconds: 0)
        }
    }
}

// MARK: - Waking

/// The futex hand-shake of a waker and a sleeper (Dekker's pattern, see
/// `Endpoint`): the sleeper raises `sleeping`, fences, re-checks, sleeps on
/// `wake`; the waker publishes, fences, and only if the flag is up clears it,
/// bumps `wake` and calls FUTEX_WAKE for `count` sleepers. The fences are
/// `AsymmetricFence`'s halves.
@usableFromInline
enum FutexHandshake {
    /// Returns whether it issued a wake-up (for the counters).
    @inlinable @inline(__always) @discardableResult
    static func wakeIfSleeping(sleeping: UnsafeMutablePointer<UInt32>, wake: UnsafeMutablePointer<UInt32>, count: Int32,
                               fenced: Bool) -> Bool {
        // Our publication (before) and our read of the flag (after) cannot
        // be reordered: a fence, or only a compiler barrier when every
        // sleeper pays with a membarrier; pairs with `sleep`.
        AsymmetricFence.wakerBarrier(fenced: fenced)
        // Relaxed: ordered by the fence; acq_rel exchange: one waker per sleep.
        if cshim_load32_relaxed(sleeping) != 0, cshim_exchange32_acq_rel(sleeping, 0) != 0 {
            // Relaxed: the futex call orders it; the sleeper compares the value.
            _ = cshim_fetch_add32_relaxed(wake, 1)
            _ = cshim_futex_wake(wake, count)
            return true
        }
        return false
    }

    /// One sleep of at most `sliceNs` unless `recheck` finds the wait over
    /// once the flag is up. The flag is left up (other sleepers may share
    /// it); a waker clears it. Counts the park, and the wake-up if one
    /// ended it, in `counters`.
    static func sleep(sleeping: UnsafeMutablePointer<UInt32>, wake: UnsafeMutablePointer<UInt32>, sliceNs: UInt64,
                      parks: UInt32, counters: EndpointCounters, recheck: () throws(ShmError) -> Bool) throws(ShmError) {
        // Acquire: read before raising the flag, so a bump after it makes
        // futex_wait return at once instead of sleeping.
        let epoch = cshim_load32_acquire(wake)
        // Relaxed: ordered before the re-check by the fence below.
        cshim_store32_relaxed(sleeping, 1)
        // The flag (before) and the re-check (after), and a waker's
        // publication and its read of the flag: our half of the fence, as we
        // announced it in `parks`; pairs with `wakeIfSleeping`.
        AsymmetricFence.sleeperBarrier(parks: parks)
        if try recheck() { return }
        counters.add(CountersLayout.parksField, 1)
        counters.touch()
        if cshim_futex_wait(wake, epoch, max(1, sliceNs)) == 0 {
            counters.add(CountersLayout.wakeupsReceivedField, 1)
        }
    }
}

// MARK: - Monitoring

/// One claimed consumer slot, as `ringbench ls` / `inspect` show it.
public struct BroadcastConsumerInfo: Sendable, Equatable {
    public var slot: Int
    public var pid: Int32
    /// False only when the slot's witness lock shows its holder gone.
    public var alive: Bool
    public var cursor: UInt64
    public var lost: UInt64
}

extension BroadcastRing {
    /// End of the published records.
    public var publishedPosition: UInt64 {
        // Acquire: monitoring; pairs with `commit`.
        cshim_load_acquire(Geometry(self).published)
    }

    /// Start of the oldest intact record.
    public var oldestPosition: UInt64 {
        // Acquire: monitoring; pairs with the producer's store.
        cshim_load_acquire(Geometry(self).oldest)
    }

    /// The claimed slots, each judged by its witness byte. A slot word that
    /// names no process is `corruptRing`.
    public func consumers() throws(ShmError) -> [BroadcastConsumerInfo] {
        let geometry = Geometry(self)
        var found: [BroadcastConsumerInfo] = []
        for slot in 0..<maximumConsumers {
            let owner = geometry.slotWord(slot, BroadcastLayout.slotOwner)
            let verdict = region.witness.judge(owner, byte: WitnessRole.broadcastConsumerByte(slot))
            let word: UInt64, alive: Bool
            switch verdict {
            case .unclaimed: continue
            case let .alive(w), let .unknown(w, _): (word, alive) = (w, true)
            case let .dead(w): (word, alive) = (w, false)
            }
            guard let identity = ProcessIdentity(packed: word) else {
                throw .corruptRing(reason: "consumer slot \(slot) of broadcast ring '\(region.name)' holds 0x\(String(word, radix: 16)), not a process")
            }
            // Acquire/relaxed: monitoring only.
            found.append(BroadcastConsumerInfo(slot: slot, pid: identity.pid, alive: alive,
                                               cursor: cshim_load_acquire(geometry.slotWord(slot, BroadcastLayout.slotCursor)),
                                               lost: cshim_load_relaxed(geometry.slotWord(slot, BroadcastLayout.slotLost))))
        }
        return found
    }
}
