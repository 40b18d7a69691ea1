import CShim

extension BroadcastRing {
    /// The producing end: an ordinary ring `Endpoint` (claim, release,
    /// parking, fork poisoning). Records become visible at `commit()`;
    /// `tryReserve` commits by itself when it cannot proceed, and dropping
    /// the handle commits what it wrote.
    public struct Producer: ~Copyable, @unchecked Sendable {
        // @unchecked: as `RecordRing.Producer`.
        public let ring: BroadcastRing
        @usableFromInline let geometry: Geometry
        @usableFromInline let endpoint: Endpoint
        @usableFromInline var writePosition: UInt64
        @usableFromInline var publishedPosition: UInt64
        /// Start of the last record (or padding) written, for `lastRecord`.
        @usableFromInline var lastRecord: UInt64
        /// Our copy of `oldestPosition` (only we write it).
        @usableFromInline var oldest: UInt64
        /// `.block`: bytes below `gate + capacity` are free of live cursors.
        @usableFromInline var gate: UInt64
        /// What we stored in `reuseLimit`.
        @usableFromInline var promised: UInt64
        @usableFromInline var nextSequence: UInt64
        /// Records and payload bytes written since the last commit (counters).
        @usableFromInline var uncommittedRecords: UInt64 = 0
        @usableFromInline var uncommittedBytes: UInt64 = 0
        @usableFromInline var lastJudgedNs: UInt64 = 0
        /// `.evict`: when the producer began waiting for consumers (0: not waiting).
        @usableFromInline var blockedSinceNs: UInt64 = 0

        init(ring: BroadcastRing, strategy: WaitStrategy) throws(ShmError) {
            let geometry = Geometry(ring)
            // Acquire: pairs with the release store in `close`.
            if cshim_load_acquire(geometry.word(EndpointLayout.endOfStreamOffset)) != 0 {
                throw .invalidArgument("broadcast ring '\(ring.region.name)' was closed by its producer; a new stream needs a new ring")
            }
            let endpoint = try Endpoint.claim(ring.region, side: .producer, strategy: strategy,
                                              countersSlots: CountersLayout.broadcastSlots(consumers: ring.maximumConsumers))
            let start: (position: UInt64, sequence: UInt64)
            do throws(ShmError) {
                // A previous producer's published records stay; its
                // unpublished ones are lost. Resume after the published end.
                start = try geometry.startPoint(.latest, name: ring.region.name)
            } catch {
                endpoint.release()
                throw error
            }
            self.ring = ring
            self.geometry = geometry
            self.endpoint = endpoint
            writePosition = start.position
            publishedPosition = start.position
            // Relaxed: only producers write these; the claim's acquire CAS
            // ordered a predecessor's last stores before us.
            lastRecord = cshim_load_relaxed(geometry.word(BroadcastLayout.lastRecordOffset))
            oldest = cshim_load_relaxed(geometry.oldest)
            promised = cshim_load_relaxed(geometry.word(BroadcastLayout.reuseLimitOffset))
            gate = 0
            nextSequence = start.sequence
        }

        deinit {
            if writePosition != publishedPosition, !endpoint.isForkedCopy {
                // Relaxed, then release: as in `publish`.
                cshim_store_relaxed(geometry.word(BroadcastLayout.lastRecordOffset), lastRecord)
                cshim_store_release(geometry.published, writePosition)
                endpoint.counters.add(CountersLayout.recordsPublishedField, uncommittedRecords)
                endpoint.counters.add(CountersLayout.bytesPublishedField, uncommittedBytes)
                wakeConsumers(always: false)
            }
            endpoint.release()
        }

        /// Ends the stream after the records written so far (committing
        /// them); every consumer sees the end once it has read them.
        public consuming func close() {
            guard !endpoint.isForkedCopy else { return }
            commit()
            // Release: every record published before is visible to a
            // consumer that acquires this word.
            cshim_store_release(geometry.word(EndpointLayout.endOfStreamOffset), writePosition &+ 1)
            wakeConsumers(always: true)
        }

        /// Publishes every record written since the last commit.
        @inlinable
        public mutating func commit() {
            guard writePosition != publishedPosition, !endpoint.isForkedCopy else { return }
            publish()
        }

        @inlinable
        mutating func publish() {
            // Relaxed: made visible by the release store below (a reader
            // acquiring `published` sees this value or a later one).
            cshim_store_relaxed(geometry.word(BroadcastLayout.lastRecordOffset), lastRecord)
            // Release: the records' bytes are visible to a consumer whose
            // acquire load sees this position.
            cshim_store_release(geometry.published, writePosition)
            publishedPosition = writePosition
            endpoint.counters.add(CountersLayout.recordsPublishedField, uncommittedRecords)
            endpoint.counters.add(CountersLayout.bytesPublishedField, uncommittedBytes)
            uncommittedRecords = 0
            uncommittedBytes = 0
            wakeConsumers(always: false)
        }

        /// One relaxed load when no consumer parks; otherwise the Dekker
        /// half of the waker (a fence unless every parking consumer sleeps
        /// after a membarrier, `AsymmetricFence`) and, only if one sleeps,
        /// one FUTEX_WAKE for all.
        @inlinable
        func wakeConsumers(always: Bool) {
            // Relaxed: a count that changes only at join and leave; a joiner
            // not yet seen sleeps at most one slice (`parkSliceNs`).
            let parking = cshim_load32_relaxed(geometry.word32(BroadcastLayout.parkingConsumersOffset))
            guard always || parking != 0 else { return }
            let fenced = always || parking & (BroadcastLayout.parkingAfterMembarrierUnit &- 1) != 0
                || endpoint.fencelessPeerParks != AsymmetricFence.parksAfterMembarrier
            if FutexHandshake.wakeIfSleeping(sleeping: geometry.word32(BroadcastLayout.consumersSleepingOffset),
                                             wake: geometry.word32(BroadcastLayout.consumersWakeOffset), count: Int32.max,
                                             fenced: fenced) {
                endpoint.counters.add(CountersLayout.wakeupsIssuedField, 1)
            }
        }

        /// Writes one record of `length` bytes in place: `fill` gets its
        /// payload inside the ring (valid only during the call). Returns false
        /// when a live consumer (`.block`) holds the room now; what was
        /// written before is then committed. Published at the next `commit()`.
        @inlinable
        public mutating func tryReserve(_ length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard length >= 0, length <= geometry.maximumRecordLength else {
                throw RecordLayout.tooLong(length, largest: geometry.maximumRecordLength)
            }
            let footprint = UInt64(RecordLayout.footprint(length: length, headerSize: BroadcastLayout.recordHeaderSize))
            if _slowPath(writePosition &+ footprint > writableEnd) {
                guard try prepareRoom(footprint) else { return false }
            }
            let at = geometry.offset(writePosition)
            try fill(UnsafeMutableRawBufferPointer(start: geometry.data + at + BroadcastLayout.recordHeaderSize, count: length))
            writeHeader(length: UInt32(truncatingIfNeeded: length), type: RecordLayout.recordType)
            writePosition &+= footprint
            nextSequence &+= 1
            uncommittedRecords &+= 1
            uncommittedBytes &+= UInt64(truncatingIfNeeded: length)
            return true
        }

        /// End of the room `tryReserve` (and `RecordWriter.append`) may
        /// write without any other work: what `oldest` frees (nothing below
        /// it is read or reused again), up to the end of this lap of the ring.
        @inlinable
        var writableEnd: UInt64 {
            min(oldest &+ geometry.capacity, writePosition &- UInt64(geometry.offset(writePosition)) &+ geometry.capacity)
        }

        /// Makes `footprint` bytes writable at `writePosition` when they are
        /// not below `writableEnd`: pads to the end of the ring if the record
        /// does not fit before it, then reuses room (`makeRoom`). Returns
        /// false, after committing what was written, when a live consumer
        /// (`.block`) holds the room now.
        @usableFromInline
        mutating func prepareRoom(_ footprint: UInt64) throws(ShmError) -> Bool {
            let toEnd = geometry.capacity &- UInt64(geometry.offset(writePosition))
            if footprint > toEnd {
                guard try makeRoom(toEnd) else { commit(); return false }
                writeHeader(length: UInt32(truncatingIfNeeded: toEnd &- 8), type: RecordLayout.paddingType)
                writePosition &+= toEnd
            }
            guard try makeRoom(footprint) else { commit(); return false }
            return true
        }

        /// Header at `writePosition`: a padding record carries the sequence
        /// of the record after it, a record its own.
        @inlinable
        mutating func writeHeader(length: UInt32, type: UInt32) {
            let header = geometry.data + geometry.offset(writePosition)
            RecordLayout.writeHeader(header, length: length, type: type)
            header.storeBytes(of: nextSequence, toByteOffset: BroadcastLayout.sequenceOffsetInHeader, as: UInt64.self)
            lastRecord = writePosition
        }

        /// Makes `bytes` at `writePosition` writable: under `.block` only if
        /// no live consumer still needs what they hold; then moves
        /// `oldestPosition` past what they held (before any byte is written).
        /// It moves it `reuseAhead` further when it can without waiting (up to
        /// the published end and, under `.block`, the gate), so that the next
        /// records' room is below `writableEnd`: once the ring has lapped, the
        /// records of a batch then cost no call here each.
        @usableFromInline
        mutating func makeRoom(_ bytes: UInt64) throws(ShmError) -> Bool {
            let end = writePosition &+ bytes
            guard end > geometry.capacity else { return true } // first lap: nothing reused
            let reused = end &- geometry.capacity
            if reused <= oldest { return true }
            if !geometry.overwrite, reused > gate {
                try rescan(needing: reused)
                if reused > gate { return false }
            }
            var ahead = min(reused &+ geometry.reuseAhead, publishedPosition)
            if !geometry.overwrite { ahead = min(ahead, gate) } // no live cursor is below the gate
            try advanceOldest(past: max(reused, ahead))
            return true
        }

        /// Moves `oldest` to the first record boundary at or past `reused`
        /// and stores it before the bytes are written over.
        @usableFromInline
        mutating func advanceOldest(past reused: UInt64) throws(ShmError) {
            // The oldest record must stay published: a consumer reads its
            // header. Publish first if the reuse reaches unpublished records.
            if reused > publishedPosition { commit() }
            var position = oldest
            // Bounded: every step moves at least 16 bytes, within one ring.
            // (A `for ... where` here would run all capacity / 16 rounds on
            // every call: O(capacity) per record.)
            var steps: UInt64 = 0
            while position < reused, steps <= geometry.capacity / 16 {
                steps &+= 1
                let (frame, _) = geometry.frame(at: position, available: writePosition &- position)
                switch frame {
                case .padding(let toEnd): position &+= toEnd
                case .record(_, let footprint): position &+= footprint
                case let .impossible(length, type):
                    throw geometry.corrupt("broadcast ring '\(ring.region.name)': impossible record header (length \(length), type \(type)) at position \(position) while reusing it")
                }
            }
            guard position >= reused, position <= writePosition else {
                throw geometry.corrupt("broadcast ring '\(ring.region.name)': records do not chain from \(oldest) to \(reused)")
            }
            oldest = position
            // Relaxed store, then a release fence: the new oldest is ordered
            // before every byte we write after this (the seqlock's writer
            // half; a reader checks it after an acquire fence, `wasIntact`).
            cshim_store_relaxed(geometry.oldest, position)
            cshim_fence_release()
        }

        /// `.block`: recomputes `gate`, the slowest live cursor (or the
        /// published end when no consumer is joined). Dekker with a joining
        /// consumer (see docs/design.md, "Joining under .block"): raise
        /// `reuseLimit` to the first scan's result, fence, scan again, and use
        /// the lower of the two; a joiner either shows in the second scan or
        /// sees the new limit and starts at or past it.
        @usableFromInline
        mutating func rescan(needing needed: UInt64) throws(ShmError) {
            let first = try slowestCursor()
            if first > promised {
                promised = first
                // Relaxed: ordered before the second scan by the fence.
                cshim_store_relaxed(geometry.word(BroadcastLayout.reuseLimitOffset), first)
                // seq_cst fence: pairs with the joiner's fence between its
                // cursor store and its load of `reuseLimit`.
                cshim_fence_seq_cst()
            }
            gate = min(first, try slowestCursor())
            guard needed > gate else {
                blockedSinceNs = 0
                return
            }
            // Still full: judge the consumers holding us up (at most every
            // 20 ms): one that died stops gating (its slot is freed).
            let now = cshim_monotonic_ns()
            if now &- lastJudgedNs >= Endpoint.checkIntervalNs {
                lastJudgedNs = now
                if try releaseDeadConsumers(at: gate) { gate = min(first, try slowestCursor()) }
            }
            guard geometry.evict, needed > gate else { return }
            // `.evict`: waited the timeout without room: drop whoever still gates.
            if blockedSinceNs == 0 {
                blockedSinceNs = now
            } else if now &- blockedSinceNs >= geometry.evictAfterNs {
                blockedSinceNs = now
                evictConsumers(below: needed)
                gate = min(first, try slowestCursor())
            }
        }

        /// `.evict`: frees every claimed slot whose cursor is below `needed`
        /// (the consumers the producer has waited for throughout the timeout).
        /// The owner word goes to 0 while the consumer still holds the slot's
        /// witness lock, so no one else claims the slot until it leaves; scans
        /// skip it from now on. The release fence orders the eviction before
        /// every byte written after it: a consumer that reads any such byte
        /// sees its owner word changed after its acquire fence
        /// (`Consumer.evictedError`), the seqlock pattern of `.overwrite`.
        mutating func evictConsumers(below needed: UInt64) {
            // Acquire: as in `slowestCursor`; bounded by the slot count.
            let highWater = min(cshim_load_acquire(geometry.word(BroadcastLayout.slotHighWaterOffset)), UInt64(geometry.slots))
            for slot in 0..<Int(highWater) {
                let owner = geometry.slotWord(slot, BroadcastLayout.slotOwner)
                // Acquire: pairs with the claim's CAS (its cursor is visible).
                var word = cshim_load_acquire(owner)
                // Acquire: pairs with the consumer's release after reading.
                guard word != 0, cshim_load_acquire(geometry.slotWord(slot, BroadcastLayout.slotCursor)) < needed else { continue }
                // acq_rel: once, against the consumer's own leave (which CASes it to 0 too).
                _ = cshim_cas_acq_rel(owner, &word, 0)
            }
            cshim_fence_release()
        }

        /// The lowest cursor of a claimed slot, or the published end.
        mutating func slowestCursor() throws(ShmError) -> UInt64 {
            // Acquire: a joiner's cursor store happens before its owner CAS.
            let highWater = min(cshim_load_acquire(geometry.word(BroadcastLayout.slotHighWaterOffset)), UInt64(geometry.slots))
            var slowest = publishedPosition
            for slot in 0..<Int(highWater) {
                // Acquire: pairs with the claim's CAS (the cursor stored before it is visible).
                guard cshim_load_acquire(geometry.slotWord(slot, BroadcastLayout.slotOwner)) != 0 else { continue }
                // Acquire: pairs with the consumer's release after reading.
                let cursor = cshim_load_acquire(geometry.slotWord(slot, BroadcastLayout.slotCursor))
                guard cursor & 15 == 0, cursor <= publishedPosition else {
                    throw geometry.corrupt("broadcast ring '\(ring.region.name)': consumer slot \(slot) is at \(cursor), past the published end \(publishedPosition)")
                }
                slowest = min(slowest, cursor)
            }
            return slowest
        }

        /// Frees the slots at `gate` whose holder's witness lock is gone.
        /// Returns whether it freed one.
        func releaseDeadConsumers(at gate: UInt64) throws(ShmError) -> Bool {
            var freed = false
            let highWater = min(cshim_load_acquire(geometry.word(BroadcastLayout.slotHighWaterOffset)), UInt64(geometry.slots))
            for slot in 0..<Int(highWater) {
                // Acquire: monitoring the cursor of a gating slot.
                guard cshim_load_acquire(geometry.slotWord(slot, BroadcastLayout.slotCursor)) == gate else { continue }
                let owner = geometry.slotWord(slot, BroadcastLayout.slotOwner)
                guard case .dead(let dead) = ring.region.witness.judge(owner, byte: WitnessRole.broadcastConsumerByte(slot)) else { continue }
                if BroadcastRing.Consumer.vacate(geometry, slot: slot, owner: dead) { freed = true }
            }
            return freed
        }

        /// Whether `tryReserve(length)` can proceed now (a waiting
        /// producer's re-check; writes nothing but `oldestPosition`).
        @usableFromInline
        mutating func hasRoom(for length: Int) throws(ShmError) -> Bool {
            let footprint = UInt64(RecordLayout.footprint(length: length, headerSize: BroadcastLayout.recordHeaderSize))
            let toEnd = geometry.capacity &- UInt64(geometry.offset(writePosition))
            return try makeRoom(footprint > toEnd ? toEnd : footprint)
        }

        /// Blocking `tryReserve` (`.block`: waits with the strategy for the
        /// slowest live consumer). Throws `timedOut`, `corruptRing`.
        @inlinable
        public mutating func reserve(_ length: Int, timeoutSeconds: Double?,
                                     _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "broadcast ring reserve", position: writePosition,
                                  { () throws(ShmError) in try tryReserve(length, fill) }, settled: { false },
                                  ready: { () throws(ShmError) in try hasRoom(for: length) })
        }

        /// Copies `bytes` into one record and commits it.
        @inlinable
        public mutating func write(_ bytes: UnsafeRawBufferPointer, timeoutSeconds: Double?) throws(ShmError) {
            try reserve(bytes.count, timeoutSeconds: timeoutSeconds) { payload in
                if let source = bytes.baseAddress { payload.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
            }
            commit()
        }

        /// Records written so far (the next record's sequence number).
        public var sequence: UInt64 { nextSequence }

        /// Live consumers joined now (a scan of the slots, no judgement).
        public var joinedConsumers: Int {
            let highWater = min(cshim_load_acquire(geometry.word(BroadcastLayout.slotHighWaterOffset)), UInt64(geometry.slots))
            // Acquire: monitoring only.
            return (0..<Int(highWater)).filter { cshim_load_acquire(geometry.slotWord($0, BroadcastLayout.slotOwner)) != 0 }.count
        }
    }
}
