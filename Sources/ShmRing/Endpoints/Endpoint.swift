import CShim
#if canImport(Glibc)
import Glibc
#endif

/// One claimed end of a ring: the code the SPSC ring and the record ring
/// share for ownership, waking, waiting and detecting a dead or misbehaving
/// peer. It works on the endpoint area every ring region starts with
/// (`EndpointLayout`); the rings' handles (`SPSCRing.Producer`, ...) hold one
/// and release it in their deinit.
///
/// # Ownership and liveness (see `RegionWitness`)
/// Each side is held through a kernel lock: an OFD write lock on the side's
/// byte of the region's witness file, taken on an open file description of
/// the handle's own. The kernel drops it when the holder dies, in any PID
/// namespace, so the lock decides who holds an end and whether it lives.
/// The side's owner word holds the holder's `ProcessIdentity` (pid and
/// start time) as a label for people (`ringbench ls`). A claim takes the
/// lock without blocking (held: `endpointTaken`), then swaps the word to
/// its own identity; a release clears the word, then drops the lock.
///
/// # Fork
/// A forked child's copy of a handle is poisoned: the fork handler closed
/// its witness in the child (so the child never keeps the parent's end
/// alive) and bumped the process's fork generation, which every operation
/// compares with the handle's (one load of a process-local word and a
/// predictable branch); a mismatch is `ShmError.forkedHandle`, and the
/// child's release, close and commit do nothing.
///
/// # Waking (see docs/design.md, "Parking")
/// A side that may park (`park`, `backoff`) announces `parks` (1, or 2: see
/// below) when it claims, for as long as it holds the end (not only while it
/// sleeps: see docs/design.md, "Parking", for the wake-up a late flag could
/// lose). To sleep it sets its
/// `sleeping` flag, issues a seq_cst fence, re-checks the ring, and only then
/// waits on its `wake` futex word. The other side, after publishing, reads
/// the peer's `parks` flag (relaxed: a word that changes only at claim and
/// release, so it stays in the cache) and, if set, issues a seq_cst fence and
/// reads `sleeping`; only if that is set does it bump `wake` and call
/// FUTEX_WAKE. The two fences make this Dekker's pattern: at least one side
/// sees the other's write, so either the sleeper sees the new data or the
/// waker sees the flag. Where the kernel offers it, the sleeper adds a
/// membarrier and says so in `parks` (2), and a registered waker then needs
/// only a compiler barrier: no fence on the hot path (`AsymmetricFence`).
/// The sleeper sleeps in slices of `parkSliceNs`, so a wake-up that could
/// only be lost in the instant a peer claims (before its `parks` flag is
/// visible) costs at most one slice, and a dead peer is noticed while asleep.
@usableFromInline
struct Endpoint: @unchecked Sendable {
    // @unchecked: raw pointers into the region, which the ring's handle keeps mapped.
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let side: EndpointSide
    @usableFromInline let strategy: WaitStrategy
    /// The peer's `parks` flag, `sleeping` flag and `wake` word.
    @usableFromInline let peerParks: UnsafeMutablePointer<UInt32>
    @usableFromInline let peerSleeping: UnsafeMutablePointer<UInt32>
    @usableFromInline let peerWake: UnsafeMutablePointer<UInt32>
    /// The `parks` value this side announced (`AsymmetricFence`): how it
    /// fences before it sleeps.
    @usableFromInline let ownParks: UInt32
    /// The peer `parks` value this process may wake without a fence
    /// (`AsymmetricFence.registerWaker`; 0: none).
    @usableFromInline let fencelessPeerParks: UInt32
    /// This process's identity as stored in the owner word.
    @usableFromInline let identity: UInt64
    @usableFromInline let name: String
    /// The lock that holds this end, and the fork generation it was taken in.
    @usableFromInline let held: HeldWitness
    /// The region's witness, for judging the peer. Unowned(unsafe): the
    /// handle keeps the region (and so the witness) alive, and an endpoint
    /// is copied in hot loops, which must not retain.
    @usableFromInline unowned(unsafe) let witness: RegionWitness
    /// This side's slot of the counters block (`CountersLayout`).
    @usableFromInline let counters: EndpointCounters

    /// How often a waiting side checks that its peer lives (peer death is
    /// reported within about twice this).
    @usableFromInline static let checkIntervalNs: UInt64 = 20_000_000
    /// Longest single futex sleep of a parked side.
    @usableFromInline static let parkSliceNs: UInt64 = 20_000_000

    // MARK: Words of the endpoint area

    static func ownerOffset(_ side: EndpointSide) -> Int {
        side == .producer ? EndpointLayout.producerOwnerOffset : EndpointLayout.consumerOwnerOffset
    }
    static func waitingAtOffset(_ side: EndpointSide) -> Int {
        side == .producer ? EndpointLayout.producerWaitingAtOffset : EndpointLayout.consumerWaitingAtOffset
    }
    static func parksOffset(_ side: EndpointSide) -> Int {
        side == .producer ? EndpointLayout.producerParksOffset : EndpointLayout.consumerParksOffset
    }
    static func sleepingOffset(_ side: EndpointSide) -> Int {
        side == .producer ? EndpointLayout.producerSleepingOffset : EndpointLayout.consumerSleepingOffset
    }
    static func wakeOffset(_ side: EndpointSide) -> Int {
        side == .producer ? EndpointLayout.producerWakeOffset : EndpointLayout.consumerWakeOffset
    }

    @usableFromInline
    func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (base + offset).assumingMemoryBound(to: UInt64.self)
    }

    func word32(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    // MARK: Claiming and releasing

    private init(region: SharedRegion, side: EndpointSide, strategy: WaitStrategy, identity: UInt64, held: HeldWitness,
                 countersSlots: Int) {
        base = region.base
        ownParks = strategy.mayPark ? AsymmetricFence.sleeperParks : 0
        fencelessPeerParks = AsymmetricFence.registerWaker()
        self.held = held
        witness = region.witness
        self.side = side
        self.strategy = strategy
        self.identity = identity
        name = region.name
        counters = EndpointCounters.ring(region, side: side, slots: countersSlots)
        peerParks = (base + Self.parksOffset(side.peer)).assumingMemoryBound(to: UInt32.self)
        peerSleeping = (base + Self.sleepingOffset(side.peer)).assumingMemoryBound(to: UInt32.self)
        peerWake = (base + Self.wakeOffset(side.peer)).assumingMemoryBound(to: UInt32.self)
    }

    /// Claims `side` of the ring in `region` for this process. Throws
    /// `endpointTaken` while a live holder (another process, or another
    /// handle in this one) has it; takes over from a holder that is gone.
    /// The caller then resumes from the positions in the region.
    /// `countersSlots`: the region's counters block's slot count (2 but
    /// for a broadcast ring).
    static func claim(_ region: SharedRegion, side: EndpointSide, strategy: WaitStrategy,
                      countersSlots: Int = 2) throws(ShmError) -> Endpoint {
        #if DEBUG
        claimHookForTesting?()
        #endif
        // The label only: a process without a readable /proc still claims.
        let me = ProcessIdentity.current() ?? ProcessIdentity(pid: getpid(), startTime: 0)
        let owner = (region.base + ownerOffset(side)).assumingMemoryBound(to: UInt64.self)
        func taken() -> ShmError {
            // Relaxed: only the label of the error.
            .endpointTaken(name: region.name, side: side, pid: Int32(truncatingIfNeeded: cshim_load_relaxed(owner) & 0xFFFF_FFFF))
        }
        guard let held = try region.witness.hold(WitnessRole(side), for: region.name) else { throw taken() }
        // We hold the lock: no live process holds this end. The word is 0
        // (released) or the label of a holder that died; only a process not
        // following this protocol could change it under us.
        // Acquire on load and CAS pairs with the previous owner's release in
        // `release`, so its last position stores are visible to our resume.
        // (An owner that died made no release; its stores reached memory
        // before the kernel dropped its lock.)
        var current = cshim_load_acquire(owner)
        guard cshim_cas_acq_rel(owner, &current, me.packed) else {
            held.release()
            throw taken()
        }
        let endpoint = Endpoint(region: region, side: side, strategy: strategy, identity: me.packed, held: held,
                                countersSlots: countersSlots)
        // `current` holds the word the CAS replaced: a dead holder's label, or 0.
        endpoint.counters.claimed(by: me.packed, role: side == .producer ? CountersLayout.roleProducer : CountersLayout.roleConsumer,
                                  tookOver: current != 0)
        // A predecessor may have died asleep, its flag still set.
        cshim_store32_relaxed(endpoint.word32(sleepingOffset(side)), 0)
        // Relaxed: read by the peer only to decide whether to wake us and
        // how to fence; see the type's comment for why a late sight of it is
        // harmless.
        cshim_store32_relaxed(endpoint.word32(parksOffset(side)), endpoint.ownParks)
        return endpoint
    }

    #if DEBUG
    /// Tests only (debug builds): runs at the start of every claim, so a
    /// test can interleave what another process would do just then.
    nonisolated(unsafe) static var claimHookForTesting: (() -> Void)?
    #endif

    /// Gives the claim up (the handle's deinit, or a claim undone): clears
    /// the word (release: every position the handle stored is visible to the
    /// next claimant's acquire), then drops the lock, so that a free lock
    /// under a set word always means a death. A forked child's copy of a
    /// handle never touches its parent's claim.
    func release() {
        guard !isForkedCopy else { return }
        cshim_store32_relaxed(word32(Self.parksOffset(side)), 0)
        var expected = identity
        _ = cshim_cas_release(word(Self.ownerOffset(side)), &expected, 0)
        held.release()
    }

    // MARK: Fork

    /// Whether this copy of the endpoint was inherited across fork (one load
    /// of a process-local word; the fork handler changes it in the child).
    @inlinable
    var isForkedCopy: Bool { held.generation != cshim_fork_generation() }

    /// Throws `forkedHandle` in a forked child; every operation of a handle
    /// calls it first.
    @inlinable @inline(__always)
    func checkNotForked() throws(ShmError) {
        if _slowPath(isForkedCopy) { try Self.throwForked(name: name, side: side) }
    }

    /// Out of line and static, on the two fields it needs: as a method (or
    /// with the error built inline) it made the optimiser copy the whole
    /// endpoint to the stack for every push and pop (+3 ns per push+pop).
    @usableFromInline @inline(never)
    static func throwForked(name: String, side: EndpointSide) throws(ShmError) { throw .forkedHandle(name: name, side: side) }

    // MARK: Waking the peer (hot path)

    /// Call after publishing (producer) or freeing space (consumer): wakes a
    /// parked peer. Without a parking peer this is one load of a read-mostly
    /// word, no fence and no system call.
    /// The slow half is static, on the three fields it needs (as
    /// `throwForked`): as a method it made the optimiser copy the whole
    /// endpoint to the stack before the check, at every push and pop through
    /// the C ABI (perf annotate of shmring_spsc_try_pop).
    @inlinable
    func wakePeerIfParked() {
        // Relaxed: a hint that the peer may sleep, and how it fences; see
        // the type's comment and `AsymmetricFence`.
        let parks = cshim_load32_relaxed(peerParks)
        guard parks != 0 else { return }
        Self.wakeIfSleeping(peerSleeping, peerWake, counters, fenced: parks != fencelessPeerParks)
    }

    /// The Dekker half of the waker: fence, then look at the peer's flag.
    @inlinable
    func wakePeerIfSleeping() {
        Self.wakeIfSleeping(peerSleeping, peerWake, counters, fenced: true)
    }

    @usableFromInline @inline(never)
    static func wakeIfSleeping(_ sleeping: UnsafeMutablePointer<UInt32>, _ wake: UnsafeMutablePointer<UInt32>,
                               _ counters: EndpointCounters, fenced: Bool) {
        // Our publication (before) and our read of `sleeping` (after) cannot
        // be reordered: a seq_cst fence, or a compiler barrier where the
        // sleeper's membarrier stands in for our fence; pairs with `park`.
        AsymmetricFence.wakerBarrier(fenced: fenced)
        guard cshim_load32_relaxed(sleeping) != 0 else { return }
        // The system call, only when the peer sleeps. Clearing the flag first
        // makes one wake-up per sleep, however many messages follow.
        // acq_rel: ordered with the fence above and the sleeper's own store.
        if cshim_exchange32_acq_rel(sleeping, 0) != 0 {
            // Relaxed: the futex call orders it; the sleeper compares the value.
            _ = cshim_fetch_add32_relaxed(wake, 1)
            _ = cshim_futex_wake(wake, 1)
            counters.add(CountersLayout.wakeupsIssuedField, 1)
        }
    }

    // MARK: Waiting

    /// Waits until `attempt` succeeds (returns true), `settled` says the wait
    /// is over without success (returns false: end of stream), the peer is
    /// found dead (`peerDied`) or the ring corrupt (`corruptRing`), or the
    /// deadline passes (`timedOut`). `position` is where this side waits,
    /// published for the peer's consistency checks.
    @inlinable
    func wait(timeoutSeconds: Double?, operation: @autoclosure () -> String, position: UInt64,
              _ attempt: () throws(ShmError) -> Bool,
              settled: () throws(ShmError) -> Bool,
              ready: () throws(ShmError) -> Bool) throws(ShmError) -> Bool {
        if try attempt() { return true }
        return try waitSlowly(timeoutSeconds: timeoutSeconds, operation: operation(), position: position,
                              attempt, settled: settled, ready: ready)
    }

    @usableFromInline
    func waitSlowly(timeoutSeconds: Double?, operation: String, position: UInt64,
                    _ attempt: () throws(ShmError) -> Bool,
                    settled: () throws(ShmError) -> Bool,
                    ready: () throws(ShmError) -> Bool) throws(ShmError) -> Bool {
        try checkNotForked()
        let deadline = try WaitDeadline(timeoutSeconds: timeoutSeconds)
        counters.add(side == .producer ? CountersLayout.fullWaitsField : CountersLayout.emptyWaitsField, 1)
        counters.touch()
        defer { counters.touch() }
        let waitingAt = word(Self.waitingAtOffset(side))
        // Release: what we published before waiting is visible to a peer that
        // reads this word (the consumer's consistency check relies on it).
        cshim_store_release(waitingAt, position &+ 1)
        // Relaxed: only a hint for the peer's checks; a stale value is harmless.
        defer { cshim_store_relaxed(waitingAt, 0) }
        var phases = WaitPhases(strategy)
        var nextCheck = cshim_monotonic_ns() &+ Self.checkIntervalNs
        while true {
            if try settled() { return false }
            // The re-check with the flag raised looks only at readiness (data
            // or the end of the stream, both of which the waker may have
            // published); the caller's body runs below, in `attempt`, after
            // the flag is down.
            try phases.idle { () throws(ShmError) in try park(until: deadline, recheck: ready) }
            if try attempt() { return true }
            guard phases.checksDue else { continue }
            let now = cshim_monotonic_ns()
            if now >= nextCheck {
                nextCheck = now &+ Self.checkIntervalNs
                if let dead = try deadPeer() {
                    // Its last publications are visible now: drain them first.
                    if try attempt() { return true }
                    if try settled() { return false }
                    throw .peerDied(pid: dead)
                }
            }
            if now >= deadline.endNs { throw .timedOut(operation: operation, seconds: timeoutSeconds ?? 0) }
        }
    }

    /// One sleep of at most a slice, unless `recheck` (readiness only: it
    /// must not consume anything) finds the wait over once the flag is up.
    /// The flag is down again when this returns or throws; the caller then
    /// makes its attempt.
    func park(until deadline: WaitDeadline, recheck: () throws(ShmError) -> Bool) throws(ShmError) {
        let sleeping = word32(Self.sleepingOffset(side))
        let wake = word32(Self.wakeOffset(side))
        // Acquire: read before raising the flag, so a bump after it makes
        // futex_wait return at once (EAGAIN) instead of sleeping.
        let epoch = cshim_load32_acquire(wake)
        cshim_store32_relaxed(sleeping, 1)
        // Relaxed: the flag is only a hint to the waker (see the type's comment).
        defer { cshim_store32_relaxed(sleeping, 0) }
        // The flag (before) and the re-check (after) cannot be reordered, nor
        // a waker's publication and its read of the flag: a seq_cst fence, and
        // the membarrier when we announced it (`AsymmetricFence`); pairs with
        // `wakeIfSleeping`.
        AsymmetricFence.sleeperBarrier(parks: ownParks)
        if try recheck() { return }
        let now = cshim_monotonic_ns()
        let left = deadline.remainingNs(now: now)
        counters.add(CountersLayout.parksField, 1)
        // Relaxed: a monitoring hint (the clock was read anyway).
        cshim_store_relaxed(counters.word(CountersLayout.lastActivityField), now)
        if cshim_futex_wait(wake, epoch, max(1, min(Self.parkSliceNs, left))) == 0 {
            counters.add(CountersLayout.wakeupsReceivedField, 1)
        }
    }

    /// The peer's pid if the peer's owner word names a holder whose witness
    /// lock is gone (`RegionWitness.judge`); nil while it lives, while
    /// nobody holds that end (not yet claimed, or released: a new peer may
    /// still come), or while liveness cannot be judged. Throws `corruptRing`
    /// once either side flagged the ring corrupt.
    func deadPeer() throws(ShmError) -> Int32? {
        // Relaxed: a flag; its reason was reported on the side that set it.
        if cshim_load_relaxed(word(EndpointLayout.corruptionOffset)) != 0 {
            throw .corruptRing(reason: "the other end of ring '\(name)' found it corrupt")
        }
        guard case .dead(let owner) = witness.judge(word(Self.ownerOffset(side.peer)), as: WitnessRole(side.peer)) else { return nil }
        guard let peer = ProcessIdentity(packed: owner) else {
            throw corrupt("the \(side.peer) owner word of ring '\(name)' holds 0x\(String(owner, radix: 16)), not a process")
        }
        return peer.pid
    }

    /// The consumer's part of a wait that both rings share: is the stream
    /// over at `position`? Also checks what a waiting consumer can check
    /// (issue 7.20): its own position word must hold what it handed back
    /// (`handedBack`, default `position`; a record ring's consumer may hold
    /// records it read but has not released), and an end of stream must not
    /// be behind it; `hasData` says whether a message is ready at `position`
    /// (an end beyond it promises one).
    @usableFromInline
    func consumerReachedEnd(position: UInt64, handedBack: UInt64? = nil,
                            hasData: () throws(ShmError) -> Bool) throws(ShmError) -> Bool {
        // Relaxed: only this consumer writes its position.
        let shared = cshim_load_relaxed(word(EndpointLayout.readPositionOffset))
        guard shared == handedBack ?? position else {
            throw corrupt("the consumer position in ring '\(name)' is \(shared); this consumer is at \(handedBack ?? position)")
        }
        // Acquire: pairs with the release in the producers' `close`.
        let end = cshim_load_acquire(word(EndpointLayout.endOfStreamOffset))
        guard end != 0 else { return false }
        if end &- 1 == position { return true }
        if end &- 1 < position {
            throw corrupt("end of stream at \(end &- 1) is behind the consumer position \(position) in ring '\(name)'")
        }
        if try !hasData() {
            throw corrupt("end of stream at \(end &- 1) but nothing to read at \(position) in ring '\(name)'")
        }
        return false
    }

    /// Flags the ring corrupt, so the peer stops too, and returns the error.
    @usableFromInline
    func corrupt(_ reason: String) -> ShmError {
        Self.corrupt(regionBase: base, reason)
    }

    /// `corrupt` for a caller that holds only the region's base address (a
    /// hot loop, which must not copy the endpoint for its error path).
    @usableFromInline
    static func corrupt(regionBase: UnsafeMutableRawPointer, _ reason: String) -> ShmError {
        // Relaxed: the peer polls it; nothing else is published with it.
        cshim_store_relaxed((regionBase + EndpointLayout.corruptionOffset).assumingMemoryBound(to: UInt64.self), 1)
        return .corruptRing(reason: reason)
    }
}
