import CShim

/// The writing side of one counters slot (`CountersLayout`): a pointer to
/// the slot and single-writer increments. Only the endpoint (or, for a
/// queue, the process) that holds the slot writes it, so an increment is a
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

    /// The ring side's slot: slot 0 producer, slot 1 consumer.
    static func ring(_ region: SharedRegion, side: EndpointSide) -> EndpointCounters {
        let block = CountersLayout.blockOffset(regionSize: region.size, slots: 2)
        return EndpointCounters(slot: region.base + block + (side == .producer ? 0 : CountersLayout.slotSize))
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

    /// Claims a queue's process slot for this process: its own if it has one
    /// already, else the first never-used one, else one whose process is
    /// gone (a takeover). `unattributed` when all are held by live processes.
    static func queueSlot(_ region: SharedRegion, kind: StructureKind) -> EndpointCounters {
        let slots = CountersLayout.slots(for: kind)
        guard slots > 0, let me = ProcessIdentity.current() else { return unattributed }
        let block = region.base + CountersLayout.blockOffset(regionSize: region.size, slots: slots)
        func owner(_ i: Int) -> UnsafeMutablePointer<UInt64> {
            (block + i * CountersLayout.slotSize).assumingMemoryBound(to: UInt64.self)
        }
        // Relaxed: the owner word is only a label; the CAS below decides.
        if let mine = (0..<slots).first(where: { cshim_load_relaxed(owner($0)) == me.packed }) {
            return EndpointCounters(slot: block + mine * CountersLayout.slotSize)
        }
        for takeover in [false, true] {
            for i in 0..<slots {
                var current = cshim_load_relaxed(owner(i))
                if takeover {
                    guard let holder = ProcessIdentity(packed: current), !holder.isAlive else { continue }
                } else if current != 0 { continue }
                // Relaxed CAS: the slot's other words are counters that need
                // no ordering with the label.
                if cshim_cas_relaxed(owner(i), &current, me.packed) {
                    let counters = EndpointCounters(slot: block + i * CountersLayout.slotSize)
                    cshim_store_relaxed(counters.word(CountersLayout.roleField), CountersLayout.roleBoth)
                    counters.addShared(CountersLayout.claimsField, 1)
                    if takeover { counters.addShared(CountersLayout.takeoversField, 1) }
                    counters.touch()
                    return counters
                }
            }
        }
        return unattributed
    }
}
