import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The writing side of one counters slot (`CountersLayout`): a pointer to
/// the slot and single-writer increments. Only the endpoint (or, for a
/// queue, the region object, whose threads add atomically) that holds the slot writes it, so an increment is a
/// relaxed load and a relaxed store of a word on a line no peer reads: no
/// locked instruction, no fence, no shared-line traffic. Monitors read the
/// words relaxed; a value a moment old is all they need.
@usableFromInline
struct EndpointCounters: @unchecked Sendable {
    // @unchecked: a pointer into a region its holder keeps mapped.
    @usableFromInline let slot: UnsafeMutablePointer<UInt64>

    @usableFromInline
    init(slot: UnsafeMutableRawPointer) {
        self.slot = slot.assumingMemoryBound(to: UInt64.self)
    }

    /// A slot of this process's own, for a handle that has none in its
    /// region (a queue whose slots are all taken): counting into it keeps
    /// the hot path free of a branch, and nobody reads it.
    static let unattributed: EndpointCounters = {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: CountersLayout.slotSize, alignment: CountersLayout.slotSize)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: CountersLayout.slotSize)
        return EndpointCounters(slot: memory)
    }()

    /// The ring side's slot: slot 0 producer, slot 1 consumer, in a block
    /// of `slots` (a broadcast ring's has more: see `CountersLayout`).
    static func ring(_ region: SharedRegion, side: EndpointSide, slots: Int = 2) -> EndpointCounters {
        let block = CountersLayout.blockOffset(regionSize: region.size, slots: slots)
        return EndpointCounters(slot: region.base + block + (side == .producer ? 0 : CountersLayout.slotSize))
    }

    /// Broadcast consumer slot `index`'s: slot 1 + index of the block. The
    /// ring was attached (its size matches its slot count), so it is in bounds.
    static func broadcastConsumer(_ region: SharedRegion, consumers: Int, index: Int) -> EndpointCounters {
        let block = CountersLayout.blockOffset(regionSize: region.size, slots: CountersLayout.broadcastSlots(consumers: consumers))
        return EndpointCounters(slot: region.base + block + (1 + index) * CountersLayout.slotSize)
    }

    @inlinable
    func word(_ field: Int) -> UnsafeMutablePointer<UInt64> { slot + field / 8 }

    /// Single writer: relaxed load and store (a locked add would cost tens of
    /// cycles per message for an atomicity only a second writer needs).
    @inlinable @inline(__always)
    func add(_ field: Int, _ n: UInt64) {
        let w = word(field)
        cshim_store_relaxed(w, cshim_load_relaxed(w) &+ n)
    }

    /// One message of `bytes` bytes sent (`published`) or taken: a record
    /// and its bytes, single writer (see `add`).
    @inlinable @inline(__always)
    func countMessage(published: Bool, bytes: Int) {
        add(published ? CountersLayout.recordsPublishedField : CountersLayout.recordsConsumedField, 1)
        add(published ? CountersLayout.bytesPublishedField : CountersLayout.bytesConsumedField, UInt64(truncatingIfNeeded: bytes))
    }

    /// For a queue's process slot, which the process's threads share: a
    /// relaxed atomic add (per batch, on a line only this process writes).
    @inlinable
    func addShared(_ field: Int, _ n: UInt64) {
        _ = cshim_fetch_add_relaxed(word(field), n)
    }

    /// Stores the time of this activity (a clock read: slow paths only).
    @usableFromInline
    func touch() {
        // Relaxed: a monitoring hint.
        cshim_store_relaxed(word(CountersLayout.lastActivityField), cshim_monotonic_ns())
    }

    /// Records a claim by `identity`; `tookOver`: the previous holder died.
    func claimed(by identity: UInt64, role: UInt64, tookOver: Bool) {
        // Relaxed: labels for monitors; only the holder writes them.
        cshim_store_relaxed(word(CountersLayout.ownerField), identity)
        cshim_store_relaxed(word(CountersLayout.roleField), role)
        add(CountersLayout.claimsField, 1)
        if tookOver { add(CountersLayout.takeoversField, 1) }
        touch()
    }

    /// A queue's counters slot for this region object: the one it holds
    /// already, else the first whose witness byte no live holder has
    /// (`RegionWitness.holdCounterSlot`: the kernel, not /proc, says a
    /// holder is gone, so a live process in another PID namespace keeps its
    /// slot). `unattributed` when all are held or the witness cannot answer.
    static func queueSlot(_ region: SharedRegion, kind: StructureKind) -> EndpointCounters {
        let slots = CountersLayout.slots(for: kind)
        guard slots > 0, let (index, isNew) = region.witness.holdCounterSlot(count: slots, for: region.name) else { return unattributed }
        let counters = EndpointCounters(slot: region.base + CountersLayout.blockOffset(regionSize: region.size, slots: slots)
                                              + index * CountersLayout.slotSize)
        guard isNew else { return counters }
        // Relaxed: labels and counters for monitors; the witness lock, not
        // these words, decides who holds the slot.
        let label = ProcessIdentity.current()?.packed ?? UInt64(UInt32(bitPattern: getpid()))
        cshim_store_relaxed(counters.word(CountersLayout.ownerField), label)
        cshim_store_relaxed(counters.word(CountersLayout.roleField), CountersLayout.roleBoth)
        counters.addShared(CountersLayout.claimsField, 1)
        counters.touch()
        return counters
    }
}
