import CShim

/// A bounded, lock-free multi-producer/multi-consumer queue of fixed-size
/// slots in a `SharedRegion`, with the same API as `MPMCSemaphoreQueue`, so
/// that the two differ only in what the semaphores cost.
///
/// # Design (Dmitry Vyukov's bounded MPMC queue, 2010)
/// * Producers share `enqueuePosition`, consumers `dequeuePosition`, each on
///   its own line (`RegionLayout.hotLineSeparation` apart). Every slot starts
///   with a sequence word that says whose turn the slot is.
/// * A producer reads `enqueuePosition` p, checks that slot p's sequence says
///   "free for p", and claims p with a CAS p → p + 1. It then writes the
///   message and publishes it by storing "holds p" into the sequence word. A
///   consumer does the same with `dequeuePosition` and "holds p", and frees
///   the slot for the next lap with "free for p + capacity".
/// * Vyukov encodes "free for p" as p and "holds p" as p + 1, which is
///   ambiguous with one slot ("holds p" = "free for p + 1"). Here the turns
///   are doubled, as in Rigtorp's MPMCQueue: "free for p" is 2p, "holds p" is
///   2p + 1, so capacity 1 works too. The creator writes 2i into slot i.
/// * A claim costs one CAS on a contended line plus the slot's own line; a
///   producer and a consumer never write the same position word.
///
/// # Memory order
/// The position CASes are relaxed: they only arbitrate which process gets a
/// position. Data is handed over through the sequence word alone: release
/// store after writing (producer) or reading (consumer) the slot, acquire load
/// before claiming it. See the comment at each atomic.
///
/// # Untrusted peer
/// Positions are masked, so every slot index is in bounds whatever a peer
/// wrote. Every value ever legitimately stored in slot i's sequence word is
/// 2p or 2p + 1 with p ≡ i (mod capacity); any other value (checkable for
/// capacity ≥ 2) is `ShmError.corruptRing`. A peer that dies between its
/// claim and its publish leaves its slot forever unfinished: the queue stops
/// at that slot (a lock-free queue cannot tell a slow peer from a dead one).
///
/// # Hot path
/// No lock, no system call, no allocation; `@inlinable` so that callers
/// specialise their closures. Blocking variants spin, then yield (`SpinWait`).
public struct MPMCLockFreeQueue: MPMCQueue {
    public let region: SharedRegion
    public let capacity: Int
    public let messageSize: Int
    @usableFromInline let stride: Int
    /// This process's slot of the counters block (`CountersLayout`), shared
    /// by its threads: relaxed atomic adds, once per batch.
    @usableFromInline let counters: EndpointCounters

    public static var structureKind: StructureKind { .mpmcLockFreeQueue }
    public static var maximumCapacity: Int { RegionLayout.maximumCapacity }

    public static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                              options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCLockFreeQueue {
        let region = try SlotShape.createRegion(backing: backing, name: name, capacity: capacity, messageSize: messageSize,
                                                 maximumCapacity: maximumCapacity, options: options,
                                                 regionSize: MPMCLockFreeLayout.regionSize)
        try region.joinQueue(asCreator: true)
        let queue = MPMCLockFreeQueue(region: region, capacity: capacity, messageSize: messageSize)
        RegionHeader(kind: structureKind, totalSize: region.size, capacity: capacity, slotSize: messageSize).write(to: region)
        // Slot i is free for position i. Relaxed: `publishReady`'s release
        // store orders these before any opener's first look.
        for i in 0..<UInt64(capacity) { cshim_store_relaxed(queue.sequenceWord(i), i &<< 1) }
        RegionHeader.publishReady(region)
        return queue
    }

    public static func open(backing: RegionBacking, name: String,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCLockFreeQueue {
        try attach(SharedRegion.open(backing: backing, name: name, options: options),
                   timeoutSeconds: options.openTimeoutSeconds)
    }

    /// Validates a mapped region as a lock-free queue.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> MPMCLockFreeQueue {
        let shape = try SlotShape.attach(region, kind: structureKind, maximumCapacity: maximumCapacity,
                                          timeoutSeconds: timeoutSeconds, regionSize: MPMCLockFreeLayout.regionSize)
        try region.joinQueue(asCreator: false)
        return MPMCLockFreeQueue(region: region, capacity: shape.capacity, messageSize: shape.messageSize)
    }

    init(region: SharedRegion, capacity: Int, messageSize: Int) {
        self.region = region
        self.capacity = capacity
        self.messageSize = messageSize
        self.stride = MPMCLockFreeLayout.stride(slotSize: messageSize)
        self.counters = EndpointCounters.queueSlot(region, kind: Self.structureKind)
    }

    /// Removes the region's name (see `SharedRegion.removeName`); the mapping
    /// stays valid for every queue value still holding it.
    public func removeName() { region.removeName() }

    // MARK: - Slots and positions

    @inlinable
    func slot(_ position: UInt64) -> UnsafeMutableRawPointer {
        region.base + MPMCLockFreeLayout.slotsOffset + Int(truncatingIfNeeded: position & UInt64(capacity &- 1)) &* stride
    }

    @inlinable
    func sequenceWord(_ position: UInt64) -> UnsafeMutablePointer<UInt64> {
        slot(position).assumingMemoryBound(to: UInt64.self)
    }

    @inlinable
    func positionWord(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    /// Claims the next position whose slot's sequence reads `turn(p)`, or
    /// returns nil when that slot is behind (full for producers, empty for
    /// consumers). `turnBit` is 0 for producers ("free for p" = 2p) and 1 for
    /// consumers ("holds p" = 2p + 1).
    @inlinable
    func claim(positionAt offset: Int, turnBit: UInt64) throws(ShmError) -> UInt64? {
        let word = positionWord(offset)
        // Relaxed: the position is only where to look; the slot's sequence
        // word (acquire below) decides whether the slot may be taken.
        var position = cshim_load_relaxed(word)
        let mask = UInt64(capacity &- 1)
        // Bounded: a peer that pins the position and writes a sequence that
        // always says "taken" would otherwise keep us here forever. Honest
        // contention retries a handful of times per competitor.
        var attempts = 0
        while true {
            attempts &+= 1
            guard attempts <= Self.claimAttemptLimit else { throw Self.claimImpossible(at: position) }
            // Acquire pairs with the release store that gave the slot this
            // turn: a consumer's reads of the old message (for a producer) or
            // the producer's writes of the message (for a consumer) are done.
            let sequence = cshim_load_acquire(sequenceWord(position))
            guard (sequence >> 1) & mask == position & mask else {
                throw Self.impossibleSequence(sequence, slot: position & mask, capacity: capacity)
            }
            let difference = Int64(bitPattern: sequence &- (position &<< 1 | turnBit))
            if difference == 0 {
                // Relaxed CAS: it only decides which process owns `position`;
                // the data hand-off is ordered by the sequence word. On failure
                // `position` is reloaded with the current value.
                if cshim_cas_weak_relaxed(word, &position, position &+ 1) { return position }
            } else if difference < 0 {
                return nil
            } else {
                // Another process took `position` already: look again. Relaxed as above.
                position = cshim_load_relaxed(word)
            }
        }
    }

    /// Claim attempts before a claim is declared impossible: far above what
    /// any number of honest competitors cause (each failed attempt means
    /// another process claimed a position), far below a noticeable stall.
    /// A computed constant, so that the check folds into the loop.
    @inlinable static var claimAttemptLimit: Int { 1 << 20 }

    // The errors of a corrupt queue, built out of line: their messages'
    // string interpolation would otherwise sit in every inlined claim.
    @usableFromInline @inline(never)
    static func claimImpossible(at position: UInt64) -> ShmError {
        .corruptRing(reason: "no slot could be claimed in \(claimAttemptLimit) attempts at position \(position) (sequence words and positions disagree)")
    }

    @usableFromInline @inline(never)
    static func impossibleSequence(_ sequence: UInt64, slot: UInt64, capacity: Int) -> ShmError {
        .corruptRing(reason: "slot \(slot) has sequence \(sequence), impossible for a slot of that index (capacity \(capacity))")
    }

    // MARK: - Push

    @inlinable
    public func tryPushBatch(maxCount: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int {
        var n = 0
        while n < maxCount, let position = try claim(positionAt: MPMCLockFreeLayout.enqueuePositionOffset, turnBit: 0) {
            let s = slot(position)
            fill(n, UnsafeMutableRawBufferPointer(start: s + MPMCLockFreeLayout.sequenceWordSize, count: messageSize))
            // Release: the message bytes are visible to a consumer whose
            // acquire load sees "holds position".
            cshim_store_release(s.assumingMemoryBound(to: UInt64.self), position &<< 1 | 1)
            n &+= 1
        }
        if n > 0 { counters.addShared(CountersLayout.recordsPublishedField, UInt64(truncatingIfNeeded: n)) }
        return n
    }

    @inlinable
    public func pushBatch(count: Int, timeoutSeconds: Double? = nil,
                          _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) {
        var done = 0, waited = false
        var spin = SpinWait()
        let endNs = try Self.deadline(timeoutSeconds)
        while done < count {
            let first = done
            let n = try tryPushBatch(maxCount: count &- done) { i, slot in fill(first &+ i, slot) }
            if n > 0 {
                done &+= n
                spin.reset()
            } else {
                // One full wait per blocking call that had to wait.
                if !waited { waited = true; counters.addShared(CountersLayout.fullWaitsField, 1) }
                if Self.expired(endNs, spin) { throw .timedOut(operation: "MPMC lock-free queue push", seconds: timeoutSeconds ?? 0) }
                spin.wait()
            }
        }
    }

    // MARK: - Pop

    @inlinable
    public func tryPopBatch(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        var n = 0
        while n < maxCount, let position = try claim(positionAt: MPMCLockFreeLayout.dequeuePositionOffset, turnBit: 1) {
            let s = slot(position)
            body(n, UnsafeRawBufferPointer(start: s + MPMCLockFreeLayout.sequenceWordSize, count: messageSize))
            // Release: our reads of the message happen before a producer of
            // the next lap, acquiring "free for position + capacity", overwrites it.
            cshim_store_release(s.assumingMemoryBound(to: UInt64.self), (position &+ UInt64(capacity)) &<< 1)
            n &+= 1
        }
        if n > 0 { counters.addShared(CountersLayout.recordsConsumedField, UInt64(truncatingIfNeeded: n)) }
        return n
    }

    @inlinable
    public func popBatch(maxCount: Int, timeoutSeconds: Double? = nil,
                         _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        var spin = SpinWait()
        let endNs = try Self.deadline(timeoutSeconds)
        while true {
            let n = try tryPopBatch(maxCount: maxCount, body)
            if n > 0 { return n }
            if spin.spins == 0 { counters.addShared(CountersLayout.emptyWaitsField, 1) }
            if Self.expired(endNs, spin) { throw .timedOut(operation: "MPMC lock-free queue pop", seconds: timeoutSeconds ?? 0) }
            spin.wait()
        }
    }

    /// The absolute deadline of a blocking call; without a timeout (the
    /// harness's every call) no function call at all: `queueDeadlineNs` is
    /// not inlinable, and calling it on every push and pop cost ~17
    /// instructions a message (issue 20).
    @inlinable
    static func deadline(_ timeoutSeconds: Double?) throws(ShmError) -> UInt64 {
        guard let timeoutSeconds else { return .max }
        return try queueDeadlineNs(timeoutSeconds)
    }

    /// Whether the absolute deadline `endNs` (`UInt64.max`: none) has passed.
    /// Reads the clock only every 256 spins, so that waiting stays cheap.
    @inlinable
    static func expired(_ endNs: UInt64, _ spin: SpinWait) -> Bool {
        endNs != .max && spin.spins & 255 == 0 && cshim_monotonic_ns() >= endNs
    }
}
