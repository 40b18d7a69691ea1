import CShim
#if canImport(Glibc)
import Glibc
#endif

extension BroadcastRing {
    /// One consumer: a claimed slot whose cursor it advances. `tryPeek` and
    /// `peek` show the next record in place, to a closure (the bytes are
    /// valid only during the call); under `.block` what was read stays
    /// unreleased (the producer may not reuse it) until `release()`. Under
    /// `.overwrite` a record overwritten while the closure read it is never
    /// delivered: the read returns `.overrun(lost:)` instead (the closure's
    /// result is dropped, so a closure must tolerate garbage bytes, as any
    /// reader of shared memory must; its buffer is always inside the ring).
    /// Dropping the handle leaves the ring (the slot is free again).
    public struct Consumer: ~Copyable, @unchecked Sendable {
        // @unchecked: as `RecordRing.Consumer`.
        public let ring: BroadcastRing
        @usableFromInline let geometry: Geometry
        /// Our slot, and its cursor word.
        public let slot: Int
        @usableFromInline let cursor: UnsafeMutablePointer<UInt64>
        @usableFromInline let held: HeldWitness
        @usableFromInline let identity: UInt64
        let strategy: WaitStrategy
        /// Our `parks` value (`AsymmetricFence`; 0: we never park).
        let sleeperParks: UInt32
        /// The producer `parks` value we may wake without a fence.
        @usableFromInline let fencelessPeerParks: UInt32
        @usableFromInline var readPosition: UInt64
        @usableFromInline var releasedPosition: UInt64
        @usableFromInline var cachedPublished: UInt64
        /// The sequence number the next record must carry.
        @usableFromInline var nextSequence: UInt64
        /// Records lost to overruns since the join.
        public private(set) var lost: UInt64 = 0
        /// Our counters slot (slot 1 + our consumer slot), written only by us.
        @usableFromInline let counters: EndpointCounters
        /// Records and payload bytes read since the last release (counters).
        @usableFromInline var unreleasedRecords: UInt64 = 0
        @usableFromInline var unreleasedBytes: UInt64 = 0
        var reachedEndOfStream = false
        /// The record `tryPeekHeld`/`peekHeld` lent and `releaseHeld` has
        /// not validated yet (BroadcastHeldRead.swift).
        var lent: LentRecord?

        init(ring: BroadcastRing, start: BroadcastStart, strategy: WaitStrategy) throws(ShmError) {
            let geometry = Geometry(ring)
            let name = ring.region.name
            let bytes = (0..<geometry.slots).map { WitnessRole.broadcastConsumerByte($0) }
            guard let (slot, held) = try ring.region.witness.holdFirstFree(of: bytes, label: "consumer slot", for: name) else {
                throw .endpointTaken(name: name, side: .consumer, pid: 0)
            }
            let me = ProcessIdentity.current() ?? ProcessIdentity(pid: getpid(), startTime: 0)
            let owner = geometry.slotWord(slot, BroadcastLayout.slotOwner)
            let parks = geometry.slotWord(slot, BroadcastLayout.slotParks)
            let parking = geometry.word32(BroadcastLayout.parkingConsumersOffset)
            // We hold the slot's lock: its word is 0 or names a holder that
            // died. Only a lock holder touches `parks`: undo a dead holder's
            // parking count (acq_rel exchange: after its increment).
            let counted = cshim_exchange_acq_rel(parks, 0)
            if counted != 0 { _ = cshim_fetch_sub32_release(parking, BroadcastLayout.parkingUnit(slotWord: counted)) }
            // Acquire: a dead holder's word; free it (the producer may race us to it).
            let previous = cshim_load_acquire(owner)
            if previous != 0 { _ = Consumer.vacate(geometry, slot: slot, owner: previous) }
            // Raise the high water mark before the owner word, so a scan that
            // sees our owner word scans our slot. Bounded: it only grows, at
            // most to the slot count; a hostile writer gets a bounded number of tries.
            let highWater = geometry.word(BroadcastLayout.slotHighWaterOffset)
            for _ in 0..<1024 {
                // Acquire: read-modify-write below is acq_rel.
                var seen = cshim_load_acquire(highWater)
                if seen >= UInt64(slot + 1) || cshim_cas_acq_rel(highWater, &seen, UInt64(slot + 1)) { break }
            }
            var point: (position: UInt64, sequence: UInt64)
            do throws(ShmError) { point = try geometry.startPoint(start, name: name) } catch { held.release(); throw error }
            let cursor = geometry.slotWord(slot, BroadcastLayout.slotCursor)
            // Relaxed: published by the owner CAS below (release).
            cshim_store_relaxed(cursor, point.position)
            cshim_store_relaxed(geometry.slotWord(slot, BroadcastLayout.slotLost), 0)
            var free: UInt64 = 0
            // acq_rel: releases the cursor to a producer scan that acquires the word.
            guard cshim_cas_acq_rel(owner, &free, me.packed) else {
                held.release()
                throw .endpointTaken(name: name, side: .consumer, pid: Int32(truncatingIfNeeded: free & 0xFFFF_FFFF))
            }
            let sleeperParks = strategy.mayPark ? AsymmetricFence.sleeperParks : 0
            if sleeperParks != 0 {
                let unit = sleeperParks == AsymmetricFence.parksAfterMembarrier
                    ? BroadcastLayout.parkingAfterMembarrierUnit : BroadcastLayout.parkingFencedUnit
                // Relaxed: the producer reads the count relaxed (a late sight
                // costs one park slice); `parks` is ours alone.
                cshim_store_relaxed(parks, UInt64(unit))
                _ = cshim_fetch_add32_relaxed(parking, unit)
            }
            if ring.policy.waits {
                do throws(ShmError) {
                    if let later = try Self.settleJoinUnderBlock(geometry, at: point.position, name: name) {
                        point = later
                        // Release: as in `release()`.
                        cshim_store_release(cursor, later.position)
                    }
                } catch {
                    Self.leave(geometry, slot: slot, identity: me.packed, held: held)
                    throw error
                }
            }
            self.ring = ring
            self.geometry = geometry
            self.slot = slot
            self.cursor = cursor
            self.held = held
            self.identity = me.packed
            self.strategy = strategy
            self.sleeperParks = sleeperParks
            fencelessPeerParks = AsymmetricFence.registerWaker()
            counters = EndpointCounters.broadcastConsumer(ring.region, consumers: geometry.slots, index: slot)
            // Relaxed: labels for monitors; only the slot's holder writes them.
            counters.claimed(by: me.packed, role: CountersLayout.roleConsumer, tookOver: previous != 0)
            readPosition = point.position
            releasedPosition = point.position
            cachedPublished = point.position
            nextSequence = point.sequence
        }

        /// `.block`: the Dekker half of the joiner. Our cursor is stored;
        /// after a fence, `reuseLimit` says below which position the producer
        /// may reuse bytes without having seen us. Start at or past it: the
        /// new start, or nil to stay at `position`.
        static func settleJoinUnderBlock(_ geometry: Geometry, at position: UInt64, name: String) throws(ShmError) -> (position: UInt64, sequence: UInt64)? {
            // seq_cst fence: our cursor and owner stores (before) and the load
            // of `reuseLimit` (after); pairs with the producer's fence in `rescan`.
            cshim_fence_seq_cst()
            // Acquire: pairs with nothing stronger than the fence; a plain read.
            let limit = cshim_load_acquire(geometry.word(BroadcastLayout.reuseLimitOffset))
            guard limit > position else { return nil }
            // Acquire: the records below it are complete.
            let published = cshim_load_acquire(geometry.published)
            guard limit & 15 == 0, limit <= published else {
                throw geometry.corrupt("broadcast ring '\(name)': reuse limit \(limit) is past the published end \(published)")
            }
            var sequence: UInt64
            if limit < published {
                // Protected: the producer reuses nothing at or past `limit`
                // until a scan, which sees our cursor (below it).
                let (frame, header) = geometry.frame(at: limit, available: published &- limit)
                guard !frame.isImpossible else {
                    throw geometry.corrupt("broadcast ring '\(name)': impossible record header at the reuse limit \(limit)")
                }
                sequence = geometry.sequence(header)
            } else {
                sequence = try geometry.startPoint(.latest, name: name).sequence
                // Published moved past `limit` meanwhile: the header is there now.
                let now = cshim_load_acquire(geometry.published)
                if now != limit {
                    let (frame, header) = geometry.frame(at: limit, available: now &- limit)
                    guard !frame.isImpossible else {
                        throw geometry.corrupt("broadcast ring '\(name)': impossible record header at \(limit)")
                    }
                    sequence = geometry.sequence(header)
                }
            }
            return (limit, sequence)
        }

        deinit { leave() }

        /// Frees the slot: its parking count, then the owner word (release:
        /// our cursor stores are visible to whoever claims it next), then the lock.
        func leave() { Self.leave(geometry, slot: slot, identity: identity, held: held) }

        static func leave(_ geometry: Geometry, slot: Int, identity: UInt64, held: HeldWitness) {
            guard held.generation == cshim_fork_generation() else { return }
            // acq_rel exchange: exactly one of us and a later claimant undoes the count.
            let counted = cshim_exchange_acq_rel(geometry.slotWord(slot, BroadcastLayout.slotParks), 0)
            if counted != 0 {
                _ = cshim_fetch_sub32_release(geometry.word32(BroadcastLayout.parkingConsumersOffset),
                                              BroadcastLayout.parkingUnit(slotWord: counted))
            }
            var expected = identity
            // Release: our cursor stores are visible to the next claimant.
            _ = cshim_cas_release(geometry.slotWord(slot, BroadcastLayout.slotOwner), &expected, 0)
            held.release()
        }

        /// Frees a slot whose holder died (the producer under `.block`, or
        /// the next claimant): the owner word goes from `owner` to 0, once.
        static func vacate(_ geometry: Geometry, slot: Int, owner: UInt64) -> Bool {
            var expected = owner
            // acq_rel: ordered with the dead holder's last stores and a claimant's CAS.
            return cshim_cas_acq_rel(geometry.slotWord(slot, BroadcastLayout.slotOwner), &expected, 0)
        }

        @inlinable @inline(__always)
        func checkNotForked() throws(ShmError) {
            if _slowPath(held.generation != cshim_fork_generation()) {
                try Endpoint.throwForked(name: ring.region.name, side: .consumer)
            }
        }

        /// Published bytes from `readPosition` (at most one ring), reloading
        /// the producer's position only when the cached one says none.
        @inlinable
        mutating func publishedBytes() throws(ShmError) -> UInt64 {
            if cachedPublished != readPosition { return min(cachedPublished &- readPosition, geometry.capacity) }
            // Acquire: pairs with the producer's release in `commit`.
            let published = cshim_load_acquire(geometry.published)
            guard published >= readPosition, published & 15 == 0,
                  geometry.overwrite || published &- readPosition <= geometry.capacity else {
                throw evictedError() ?? geometry.corrupt("broadcast ring '\(ring.region.name)': published end \(published) is inconsistent with consumer position \(readPosition)")
            }
            cachedPublished = published
            return min(published &- readPosition, geometry.capacity)
        }

        /// Reads the next record in place: `body` sees its payload (valid
        /// only during the call) and `.record` carries what it returned; nil
        /// when nothing is published. Under `.overwrite`, a consumer that was
        /// lapped gets `.overrun(lost:)` and its next read continues at the
        /// oldest intact record. Padding records are skipped here.
        @inlinable
        public mutating func tryPeek<Result>(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> BroadcastDelivery<Result>? {
            try checkNotForked()
            if geometry.evict, let evicted = evictedError() { throw evicted }
            // Bounded: a padding moves to offset 0, a silent resync happens
            // at most once per call.
            for _ in 0..<4 {
                let available = try publishedBytes()
                guard available > 0 else { return nil }
                let (frame, header) = geometry.frame(at: readPosition, available: available)
                let sequence = geometry.sequence(header)
                switch frame {
                case .padding(let toEnd):
                    guard sequence == nextSequence, !geometry.overwrite || geometry.wasIntact(readPosition) else {
                        if let lost = try overrun() { return .overrun(lost: lost) } else { continue }
                    }
                    let holdsNothing = releasedPosition == readPosition
                    readPosition &+= toEnd
                    if holdsNothing { release() }
                case let .record(length, footprint):
                    guard sequence == nextSequence else {
                        if let lost = try overrun() { return .overrun(lost: lost) } else { continue }
                    }
                    let result = try body(UnsafeRawBufferPointer(start: header + BroadcastLayout.recordHeaderSize, count: length))
                    if geometry.overwrite, !geometry.wasIntact(readPosition) {
                        if let lost = try overrun() { return .overrun(lost: lost) } else { continue }
                    }
                    // `.evict`: the bytes were ours throughout the read only
                    // if we still own the slot after it.
                    if geometry.evict, let evicted = evictedError() { throw evicted }
                    readPosition &+= footprint
                    nextSequence &+= 1
                    unreleasedRecords &+= 1
                    unreleasedBytes &+= UInt64(truncatingIfNeeded: length)
                    return .record(result)
                case .impossible:
                    if let lost = try overrun() { return .overrun(lost: lost) } else { continue }
                }
            }
            throw evictedError() ?? geometry.corrupt("broadcast ring '\(ring.region.name)': no record after two paddings at position \(readPosition)")
        }

        /// `.block` rings: shows every record published now, in order, to
        /// `body` in place until it returns false; returns how many (0 when
        /// none is). The records stay unreleased until `release()`, as with
        /// `tryPeek`; if `body` throws, the record it was given is not read
        /// (those before it are). The published end is read once, and only
        /// if the cached one says there is nothing; the loop runs on locals
        /// (the record ring's `tryPeekRecords`). A header that is not the next
        /// record ends the batch: `tryPeek` then reports it. Under
        /// `.overwrite` and `.evict` every record must be validated after it
        /// was read, which a batch cannot undo: `invalidArgument` there.
        /// Bounded: each step consumes at least one header of the published
        /// bytes, themselves at most the ring's capacity.
        @inlinable @inline(__always)
        public mutating func tryPeekRecords(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Bool) throws(ShmError) -> Int {
            try checkNotForked()
            guard !geometry.overwrite, !geometry.evict else {
                throw .invalidArgument("broadcast ring '\(ring.region.name)': tryPeekRecords reads .block rings only (use tryPeek)")
            }
            var available = try publishedBytes()
            let geometry = geometry
            var position = readPosition, sequence = nextSequence
            var count = 0, bytes: UInt64 = 0
            defer {
                readPosition = position
                nextSequence = sequence
                unreleasedRecords &+= UInt64(truncatingIfNeeded: count)
                unreleasedBytes &+= bytes
            }
            while available > 0 {
                let (frame, header) = geometry.frame(at: position, available: available)
                guard geometry.sequence(header) == sequence else { break }
                switch frame {
                case .padding(let toEnd):
                    let holdsNothing = count == 0 && releasedPosition == position
                    position &+= toEnd
                    available &-= toEnd
                    // Nothing read is held: hand the padding back at once (a
                    // producer waiting for room may wait for exactly it).
                    if holdsNothing { readPosition = position; release() }
                case let .record(length, footprint):
                    let goOn = try body(UnsafeRawBufferPointer(start: header + BroadcastLayout.recordHeaderSize, count: length))
                    position &+= footprint
                    available &-= footprint
                    sequence &+= 1
                    count &+= 1
                    bytes &+= UInt64(truncatingIfNeeded: length)
                    if !goOn { return count }
                case .impossible:
                    return count
                }
            }
            return count
        }

        /// What we read at `readPosition` was not the next record: under
        /// `.overwrite` because the producer lapped us (then continue at the
        /// oldest intact record and return the exact number of records
        /// skipped, or nil when none was: read again); otherwise the ring is
        /// corrupt.
        @usableFromInline
        mutating func overrun() throws(ShmError) -> UInt64? {
            let name = ring.region.name
            guard geometry.overwrite, !geometry.wasIntact(readPosition) else {
                throw evictedError() ?? geometry.corrupt("broadcast ring '\(name)': the record at position \(readPosition) is not record \(nextSequence) or is impossible")
            }
            let point = try geometry.startPoint(.oldest, name: name)
            guard point.position > readPosition, point.sequence >= nextSequence else {
                throw geometry.corrupt("broadcast ring '\(name)': oldest record \(point.sequence) at \(point.position) is behind consumer record \(nextSequence) at \(readPosition)")
            }
            let lost = point.sequence &- nextSequence
            readPosition = point.position
            cachedPublished = point.position
            nextSequence = point.sequence
            release()
            guard lost > 0 else { return nil }
            self.lost &+= lost
            // Relaxed: a statistic for `ringbench inspect`.
            cshim_store_relaxed(geometry.slotWord(slot, BroadcastLayout.slotLost), self.lost)
            counters.add(CountersLayout.recordsLostField, lost)
            return lost
        }

        /// `.evict`: the error to throw if the producer evicted us (our
        /// slot's owner word no longer names us), else nil. Acquire fence:
        /// our reads of the ring happen before the load of the owner word,
        /// which the producer changes (then a release fence) before it
        /// writes over anything we had not released (`evictConsumers`).
        @inlinable
        func evictedError() -> ShmError? {
            guard geometry.evict else { return nil }
            cshim_fence_acquire()
            // Relaxed: ordered by the fence above.
            guard cshim_load_relaxed(geometry.slotWord(slot, BroadcastLayout.slotOwner)) != identity else { return nil }
            return .evicted(name: ring.region.name, slot: slot, afterSeconds: Double(geometry.evictAfterNs) / 1e9)
        }

        /// Hands every record read so far back (`.block`: the producer may
        /// reuse their bytes; `.overwrite`: only the cursor `inspect` shows).
        @inlinable
        public mutating func release() {
            guard releasedPosition != readPosition, held.generation == cshim_fork_generation() else { return }
            releasedPosition = readPosition
            counters.add(CountersLayout.recordsConsumedField, unreleasedRecords)
            counters.add(CountersLayout.bytesConsumedField, unreleasedBytes)
            unreleasedRecords = 0
            unreleasedBytes = 0
            // Release: our reads of the bytes below happen before the
            // producer (acquiring the cursor in its scan) reuses them.
            cshim_store_release(cursor, readPosition)
            guard !geometry.overwrite else { return }
            // Relaxed: the producer's `parks` flag, read-mostly (see `Endpoint`).
            let producerParks = cshim_load32_relaxed(geometry.word32(EndpointLayout.producerParksOffset))
            if producerParks != 0 {
                if FutexHandshake.wakeIfSleeping(sleeping: geometry.word32(EndpointLayout.producerSleepingOffset),
                                                 wake: geometry.word32(EndpointLayout.producerWakeOffset), count: 1,
                                                 fenced: producerParks != fencelessPeerParks) {
                    counters.add(CountersLayout.wakeupsIssuedField, 1)
                }
            }
        }

        /// Whether the stream ended at our position (the producer closed it
        /// and we read everything).
        mutating func reachedEnd() throws(ShmError) -> Bool {
            // Acquire: pairs with the release in the producer's `close`.
            let end = cshim_load_acquire(geometry.word(EndpointLayout.endOfStreamOffset))
            guard end != 0 else { return false }
            if end &- 1 == readPosition {
                if !reachedEndOfStream { reachedEndOfStream = true; release() }
                return true
            }
            if end &- 1 < readPosition {
                throw geometry.corrupt("broadcast ring '\(ring.region.name)': end of stream at \(end &- 1) is behind consumer position \(readPosition)")
            }
            return false
        }

        /// Blocking `tryPeek`: waits with the strategy for the next record and
        /// returns its delivery, or nil at the end of the stream. Throws
        /// `timedOut`, `peerDied` (the producer died without closing, after
        /// everything it published was read), `corruptRing`.
        @inlinable
        public mutating func peek<Result>(timeoutSeconds: Double?,
                                          _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> BroadcastDelivery<Result>? {
            if let delivery = try tryPeek(body) { return delivery }
            return try peekWaiting(timeoutSeconds: timeoutSeconds, body)
        }

        @usableFromInline
        mutating func peekWaiting<Result>(timeoutSeconds: Double?,
                                          _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> BroadcastDelivery<Result>? {
            let deadline = try WaitDeadline(timeoutSeconds: timeoutSeconds)
            counters.add(CountersLayout.emptyWaitsField, 1)
            counters.touch()
            var phases = WaitPhases(strategy)
            var nextCheck = cshim_monotonic_ns() &+ Endpoint.checkIntervalNs
            while true {
                if try reachedEnd() { return nil }
                try phases.idle { () throws(ShmError) in
                    let left = deadline.remainingNs(now: cshim_monotonic_ns())
                    try FutexHandshake.sleep(sleeping: geometry.word32(BroadcastLayout.consumersSleepingOffset),
                                             wake: geometry.word32(BroadcastLayout.consumersWakeOffset),
                                             sliceNs: min(Endpoint.parkSliceNs, left), parks: sleeperParks, counters: counters,
                                             recheck: { () throws(ShmError) in
                                                 // Acquire: pairs with `commit` and `close`.
                                                 cshim_load_acquire(geometry.published) != readPosition
                                                     || cshim_load_acquire(geometry.word(EndpointLayout.endOfStreamOffset)) != 0
                                             })
                }
                if let delivery = try tryPeek(body) { return delivery }
                guard phases.checksDue else { continue }
                let now = cshim_monotonic_ns()
                if now >= nextCheck {
                    nextCheck = now &+ Endpoint.checkIntervalNs
                    // Relaxed: a flag; its reason was reported where it was set.
                    if cshim_load_relaxed(geometry.word(EndpointLayout.corruptionOffset)) != 0 {
                        throw .corruptRing(reason: "another participant of broadcast ring '\(ring.region.name)' found it corrupt")
                    }
                    let owner = geometry.word(EndpointLayout.producerOwnerOffset)
                    if case .dead(let word) = ring.region.witness.judge(owner, as: .producer) {
                        // Its last publications are visible now: drain them first.
                        if let delivery = try tryPeek(body) { return delivery }
                        if try reachedEnd() { return nil }
                        throw .peerDied(pid: ProcessIdentity(packed: word)?.pid ?? 0)
                    }
                }
                if now >= deadline.endNs { throw .timedOut(operation: "broadcast ring read", seconds: timeoutSeconds ?? 0) }
            }
        }

        /// Blocking read: `body` sees the next record, then it (and anything
        /// read before) is released. nil at the end of the stream.
        @inlinable
        public mutating func read<Result>(timeoutSeconds: Double?,
                                          _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> BroadcastDelivery<Result>? {
            let delivery = try peek(timeoutSeconds: timeoutSeconds, body)
            release()
            return delivery
        }

        /// Whether a producer holds the producing end now.
        public var producerClaimed: Bool {
            // Acquire: monitoring only.
            cshim_load_acquire(geometry.word(EndpointLayout.producerOwnerOffset)) != 0
        }

        /// The sequence number of the next record this consumer reads.
        public var sequence: UInt64 { nextSequence }
    }
}

extension RecordFrame {
    @inlinable var isImpossible: Bool { if case .impossible = self { true } else { false } }
}
