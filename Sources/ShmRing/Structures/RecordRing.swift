import CShim

/// A single-producer/single-consumer ring of variable-length records in a
/// `SharedRegion`: log lines, serialized rows, market data.
///
/// # Design (after Aeron's and the Linux io_uring's byte rings)
/// * The data area is a byte ring of `capacity` bytes. Each record is an
///   8-byte header (length, type) and its payload, padded to 8 bytes
///   (`RecordLayout`). A record never wraps: if it does not fit before the
///   end, a padding record fills the rest and the record starts at 0. So a
///   consumer always sees a record as one contiguous buffer, in place.
/// * The producer writes records in place (`tryReserve`: the closure gets
///   the payload's bytes inside the ring) and publishes everything written
///   since the last publication with one release store of its position
///   (`commit`): several reserves, one commit, is a batch. The consumer
///   acquires that position, reads in place (`tryPeek`, whose closure sees
///   the record), and hands the space of everything read so far back with a
///   release store of its own position (`release`). Each side
///   caches the other's position and reloads it only when its copy says
///   empty (consumer) or full (producer).
/// * The largest payload, `maximumRecordLength`, is fixed at creation; it is
///   at most `capacity - 8`, so any record fits once the ring is empty.
///
/// # Untrusted peer
/// Every value read from the region is checked before use: positions must
/// be 8-aligned and within one ring of each other, a record's length must
/// fit the largest record and the published bytes, a padding record must end
/// exactly at the ring's end. Anything else is `corruptRing`; no access can
/// leave the data area (offsets are masked, lengths are checked).
///
/// Ownership, wait strategies, end of stream and peer death are the SPSC
/// ring's (`Endpoint`, `RingLifecycle`).
public struct RecordRing: Sendable {
    public let region: SharedRegion
    /// Bytes in the byte ring.
    public let capacity: Int
    /// The largest payload a record may have.
    public let maximumRecordLength: Int
    let naming: RegionOptions?

    /// Creates a ring of `capacity` bytes (a power of two, at least 64)
    /// whose records carry at most `maximumRecordLength` bytes (at most
    /// `capacity - 8`). `name` nil: anonymous or IPC_PRIVATE. `reclaimStale`:
    /// see `SPSCRing.create`.
    public static func create(backing: RegionBacking, name: String?, capacity: Int, maximumRecordLength: Int,
                              options: RegionOptions = RegionOptions(), reclaimStale: Bool = false) throws(ShmError) -> RecordRing {
        guard capacity >= RecordLayout.minimumCapacity, capacity <= RecordLayout.maximumCapacity, capacity & (capacity - 1) == 0 else {
            throw .invalidArgument("record ring capacity must be a power of two between \(RecordLayout.minimumCapacity) and \(RecordLayout.maximumCapacity) bytes, got \(capacity)")
        }
        let largest = min(capacity - RecordLayout.recordHeaderSize, RecordLayout.maximumRecordLength)
        guard maximumRecordLength >= 1, maximumRecordLength <= largest else {
            throw .invalidArgument("largest record must be between 1 and \(largest) bytes for a \(capacity)-byte ring, got \(maximumRecordLength)")
        }
        guard let size = RecordLayout.regionSize(capacity: capacity) else {
            throw .invalidArgument("a record ring of \(capacity) bytes is too large a region")
        }
        return try RingLifecycle.creating(backing: backing, name: name, options: options, reclaimStale: reclaimStale) { () throws(ShmError) in
            let region = try SharedRegion.create(backing: backing, name: name, size: size, options: options)
            // Zero-filled: both positions 0, both ends unclaimed.
            RegionHeader(kind: .recordRing, totalSize: size, capacity: capacity, slotSize: maximumRecordLength).write(to: region)
            try Endpoint.recordCreator(region)
            RegionHeader.publishReady(region)
            return RecordRing(region: region, capacity: capacity, maximumRecordLength: maximumRecordLength,
                              naming: name == nil ? nil : options)
        }
    }

    /// Opens a record ring another process created (see `SPSCRing.open`).
    public static func open(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions(),
                            waitForCreationSeconds: Double = 0) throws(ShmError) -> RecordRing {
        try RingLifecycle.open(backing: backing, name: name, options: options, waitSeconds: waitForCreationSeconds) { region throws(ShmError) in
            try attach(region, timeoutSeconds: options.openTimeoutSeconds, naming: options)
        }
    }

    /// Opens the named record ring, or creates it; its shape must match.
    public static func openOrCreate(backing: RegionBacking, name: String, capacity: Int, maximumRecordLength: Int,
                                    options: RegionOptions = RegionOptions()) throws(ShmError) -> RecordRing {
        try RingLifecycle.openOrCreate(name: name, open: { () throws(ShmError) in
            try open(backing: backing, name: name, options: options)
        }, create: { () throws(ShmError) in
            try create(backing: backing, name: name, capacity: capacity, maximumRecordLength: maximumRecordLength, options: options)
        }, shapeMismatch: { ring in
            ring.capacity == capacity && ring.maximumRecordLength == maximumRecordLength ? nil
                : "record ring '\(name)' exists with \(ring.capacity) bytes and records up to \(ring.maximumRecordLength), not \(capacity) and \(maximumRecordLength)"
        })
    }

    /// Validates a mapped region as a record ring.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> RecordRing {
        try attach(region, timeoutSeconds: timeoutSeconds, naming: nil)
    }

    static func attach(_ region: SharedRegion, timeoutSeconds: Double, naming: RegionOptions?) throws(ShmError) -> RecordRing {
        let header = try RegionHeader.validate(region, expecting: .recordRing, timeoutSeconds: timeoutSeconds)
        guard header.capacity >= UInt64(RecordLayout.minimumCapacity), header.capacity <= UInt64(RecordLayout.maximumCapacity),
              header.capacity & (header.capacity - 1) == 0 else {
            throw .corruptedHeader(name: region.name, reason: "record ring capacity \(header.capacity) is not a power of two in \(RecordLayout.minimumCapacity)...\(RecordLayout.maximumCapacity)")
        }
        let capacity = Int(header.capacity)
        guard header.slotSize >= 1, header.slotSize <= UInt64(min(capacity - RecordLayout.recordHeaderSize, RecordLayout.maximumRecordLength)) else {
            throw .corruptedHeader(name: region.name, reason: "largest record \(header.slotSize) does not fit a \(capacity)-byte ring")
        }
        guard let expected = RecordLayout.regionSize(capacity: capacity), expected == region.size else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(RecordLayout.regionSize(capacity: capacity) ?? 0), actual: UInt64(region.size))
        }
        return RecordRing(region: region, capacity: capacity, maximumRecordLength: Int(header.slotSize), naming: naming)
    }

    /// Claims the producing end for this process (see `SPSCRing.producer`).
    public func producer(wait strategy: WaitStrategy = .park) throws(ShmError) -> Producer {
        try Producer(ring: self, strategy: strategy)
    }

    /// Claims the consuming end for this process.
    public func consumer(wait strategy: WaitStrategy = .park) throws(ShmError) -> Consumer {
        try Consumer(ring: self, strategy: strategy)
    }

    /// Where the bytes and the two positions are.
    @usableFromInline
    struct Geometry: @unchecked Sendable {
        // @unchecked: pointers into the region the ring keeps mapped.
        @usableFromInline let data: UnsafeMutableRawPointer
        @usableFromInline let writePositionWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let readPositionWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let endOfStreamWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let capacity: UInt64
        @usableFromInline let maximumRecordLength: Int

        init(_ ring: RecordRing) {
            let base = ring.region.base
            data = base + RecordLayout.dataOffset
            writePositionWord = (base + EndpointLayout.producerPositionOffset).assumingMemoryBound(to: UInt64.self)
            readPositionWord = (base + EndpointLayout.readPositionOffset).assumingMemoryBound(to: UInt64.self)
            endOfStreamWord = (base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self)
            capacity = UInt64(ring.capacity)
            maximumRecordLength = ring.maximumRecordLength
        }

        /// Offset in the byte ring of `position`; in bounds by the mask.
        @inlinable
        func offset(_ position: UInt64) -> Int { Int(truncatingIfNeeded: position & (capacity &- 1)) }

        /// Whether `later - earlier` is a sane distance between positions.
        @inlinable
        func isWithinOneRing(_ earlier: UInt64, _ later: UInt64) -> Bool {
            earlier <= later && later &- earlier <= capacity && (earlier | later) & 7 == 0
        }
    }

    // MARK: - Producer

    /// The producing end (ownership as `SPSCRing.Producer`). Records become
    /// visible to the consumer at `commit()`; `reserve` commits by itself
    /// when it has to wait, and dropping the handle commits what it wrote.
    public struct Producer: ~Copyable, @unchecked Sendable {
        // @unchecked: as `SPSCRing.Producer`.
        public let ring: RecordRing
        @usableFromInline let geometry: Geometry
        @usableFromInline let endpoint: Endpoint
        /// End of what was written (published or not), and of what was published.
        @usableFromInline var writePosition: UInt64
        @usableFromInline var publishedPosition: UInt64
        @usableFromInline var cachedReadPosition: UInt64
        /// As `SPSCRing.Producer.counters`.
        @usableFromInline let counters: EndpointCounters
        /// Records and payload bytes written since the last commit, counted
        /// into the region (`CountersLayout`) at the commit: per batch.
        @usableFromInline var uncommittedRecords: UInt64 = 0
        @usableFromInline var uncommittedBytes: UInt64 = 0

        init(ring: RecordRing, strategy: WaitStrategy) throws(ShmError) {
            let geometry = Geometry(ring)
            // Acquire: pairs with the release store in `close`.
            if cshim_load_acquire(geometry.endOfStreamWord) != 0 {
                throw .invalidArgument("ring '\(ring.region.name)' was closed by its producer (end of stream); a new stream needs a new ring")
            }
            // Acquire: pairs with the release store in `abort`.
            if cshim_load_acquire(RecordRing.streamWord(ring, EndpointLayout.abortedAtOffset)) != 0 {
                throw .invalidArgument("ring '\(ring.region.name)' was aborted by its producer; a new stream needs a new ring")
            }
            let endpoint = try Endpoint.claim(ring.region, side: .producer, strategy: strategy)
            // Again after the claim: a producer that closed the stream just
            // before it would otherwise see us publish into a closed ring.
            // Acquire: as above.
            if cshim_load_acquire(geometry.endOfStreamWord) != 0 {
                endpoint.release()
                throw .invalidArgument("ring '\(ring.region.name)' was closed by its producer (end of stream); a new stream needs a new ring")
            }
            // Resume after what a previous producer published (acquire: its
            // records are complete); a dead one's unpublished records are lost.
            let written = cshim_load_acquire(geometry.writePositionWord)
            let read = cshim_load_acquire(geometry.readPositionWord)
            guard geometry.isWithinOneRing(read, written) else {
                endpoint.release()
                throw endpoint.corrupt("record ring positions are inconsistent: read \(read), written \(written)")
            }
            self.ring = ring
            self.geometry = geometry
            self.endpoint = endpoint
            counters = endpoint.counters
            writePosition = written
            publishedPosition = written
            cachedReadPosition = read
        }

        deinit {
            if writePosition != publishedPosition, !endpoint.isForkedCopy {
                // Release: as in `commit`.
                cshim_store_release(geometry.writePositionWord, writePosition)
                countPublished()
                endpoint.wakePeerIfParked()
            }
            endpoint.release()
        }

        /// Ends the stream after the records written so far (committing them).
        /// In a forked child (see `ShmError.forkedHandle`) it does nothing.
        public consuming func close() {
            guard !endpoint.isForkedCopy else { return }
            commit()
            // Release: every record published before is visible to a consumer
            // that acquires this word.
            cshim_store_release(geometry.endOfStreamWord, writePosition &+ 1)
            endpoint.wakePeerIfSleeping()
            if ring.region.isOwner { ring.region.keepNameForConsumer() }
        }

        /// Publishes every record written since the last commit. In a forked
        /// child it does nothing (the records are the parent's).
        @inlinable
        public mutating func commit() {
            guard writePosition != publishedPosition, !endpoint.isForkedCopy else { return }
            // Release: the records' bytes are visible to a consumer whose
            // acquire load sees this position.
            cshim_store_release(geometry.writePositionWord, writePosition)
            publishedPosition = writePosition
            countPublished()
            uncommittedRecords = 0
            uncommittedBytes = 0
            endpoint.wakePeerIfParked()
        }

        /// Adds the batch just published to the region's counters.
        @inlinable
        func countPublished() {
            counters.add(CountersLayout.recordsPublishedField, uncommittedRecords)
            counters.add(CountersLayout.bytesPublishedField, uncommittedBytes)
        }

        /// Free bytes, reloading the consumer's position when the cached one
        /// says fewer than `wanted`.
        @inlinable
        mutating func freeBytes(wanted: UInt64) throws(ShmError) -> UInt64 {
            var free = geometry.capacity &- (writePosition &- cachedReadPosition)
            if free >= wanted { return free }
            // Acquire: pairs with the consumer's release in `release()`: its
            // reads of the bytes below are complete before we overwrite them.
            let read = cshim_load_acquire(geometry.readPositionWord)
            guard geometry.isWithinOneRing(read, writePosition), read <= publishedPosition else {
                throw endpoint.corrupt("consumer position \(read) is inconsistent with producer position \(writePosition) (capacity \(geometry.capacity))")
            }
            cachedReadPosition = read
            free = geometry.capacity &- (writePosition &- read)
            return free
        }

        /// Writes one record of `length` bytes in place: `fill` gets its
        /// payload inside the ring (valid only during the call). Returns false
        /// when there is no room now; then what was written before is
        /// committed, so the consumer can make room. The record is published
        /// at the next `commit()`. If `fill` throws, the record is not written.
        @inlinable
        public mutating func tryReserve(_ length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard length >= 0, length <= geometry.maximumRecordLength else {
                throw RecordLayout.tooLong(length, largest: geometry.maximumRecordLength)
            }
            let footprint = UInt64(RecordLayout.footprint(length: length))
            guard try padToTheEnd(unlessItHolds: footprint), try freeBytes(wanted: footprint) >= footprint else { commit(); return false }
            let at = geometry.offset(writePosition)
            try fill(UnsafeMutableRawBufferPointer(start: geometry.data + at + RecordLayout.recordHeaderSize, count: length))
            finishRecord(length)
            return true
        }

        /// Writes a padding record to the ring's end if the bytes before it
        /// cannot hold `footprint`; false if there is no room for the padding now.
        @inlinable @inline(__always)
        mutating func padToTheEnd(unlessItHolds footprint: UInt64) throws(ShmError) -> Bool {
            let toEnd = geometry.capacity &- UInt64(geometry.offset(writePosition))
            guard footprint > toEnd else { return true }
            // Needs only the bytes up to the end.
            guard try freeBytes(wanted: toEnd) >= toEnd else { return false }
            writeHeader(at: writePosition, length: UInt32(truncatingIfNeeded: toEnd &- 8), type: RecordLayout.paddingType)
            writePosition &+= toEnd
            return true
        }

        /// The header of the record of `length` bytes just filled at the
        /// write position; the record is taken (published at `commit`).
        @inlinable @inline(__always)
        mutating func finishRecord(_ length: Int) {
            writeHeader(at: writePosition, length: UInt32(truncatingIfNeeded: length), type: RecordLayout.recordType)
            writePosition &+= UInt64(RecordLayout.footprint(length: length))
            uncommittedRecords &+= 1
            uncommittedBytes &+= UInt64(truncatingIfNeeded: length)
        }

        /// Writes one record of a length `fill` decides, in place: `fill`
        /// gets contiguous room inside the ring for between `minimum` and
        /// `maximum` payload bytes (as many as are free and contiguous, capped
        /// by `maximum` and the ring's largest record; valid only during the
        /// call), writes there, and returns how many bytes it used. For
        /// reading straight into the ring: `read(fd, room.baseAddress, room.count)`.
        /// Returns the bytes used (the record's length), or nil when there is
        /// no room for `minimum` bytes now (then what was written before is
        /// committed, as with `tryReserve`). `fill` returning 0 writes no
        /// record (a zero-length record needs `tryReserve(0)`). If the bytes
        /// before the ring's end cannot hold `minimum`, a padding record fills
        /// them first and the room starts at the ring's start. The record is
        /// published at the next `commit()`; if `fill` throws, it is not written.
        /// Throws `invalidArgument` for `minimum` not in 1...`maximum` or over
        /// the largest record, and when `fill` returns more than it was given.
        @inlinable
        public mutating func tryReserve(upTo maximum: Int, atLeast minimum: Int = 1,
                                        _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Int) throws(ShmError) -> Int? {
            try endpoint.checkNotForked()
            guard minimum >= 1, minimum <= maximum, minimum <= geometry.maximumRecordLength else {
                throw .invalidArgument("a record of \(minimum) to \(maximum) bytes: the least must be between 1 and the most, and at most this ring's largest record, \(geometry.maximumRecordLength) bytes")
            }
            let most = min(maximum, geometry.maximumRecordLength)
            let least = UInt64(RecordLayout.footprint(length: minimum))
            guard try padToTheEnd(unlessItHolds: least) else { commit(); return nil }
            let toEnd = geometry.capacity &- UInt64(geometry.offset(writePosition))
            // Free bytes are a multiple of 8 (positions are), so a payload of
            // `room - 8` bytes has a footprint of at most `room`.
            let room = min(try freeBytes(wanted: min(UInt64(RecordLayout.footprint(length: most)), toEnd)), toEnd)
            guard room >= least else { commit(); return nil }
            let offered = min(most, Int(truncatingIfNeeded: room) &- RecordLayout.recordHeaderSize)
            let at = geometry.offset(writePosition)
            let used = try fill(UnsafeMutableRawBufferPointer(start: geometry.data + at + RecordLayout.recordHeaderSize, count: offered))
            guard used >= 0, used <= offered else {
                throw .invalidArgument("the record's body says it used \(used) bytes of the \(offered) it was given")
            }
            if used > 0 { finishRecord(used) }
            return used
        }

        /// Whether `tryReserve(length)` can make progress now (write the
        /// padding before the end, or the record): a waiting producer's
        /// re-check, which writes nothing.
        @inlinable
        mutating func hasRoom(for length: Int) throws(ShmError) -> Bool {
            let footprint = UInt64(RecordLayout.footprint(length: length))
            let toEnd = geometry.capacity &- UInt64(geometry.offset(writePosition))
            let step = footprint > toEnd ? toEnd : footprint
            return try freeBytes(wanted: step) >= step
        }

        @inlinable
        func writeHeader(at position: UInt64, length: UInt32, type: UInt32) {
            RecordLayout.writeHeader(geometry.data + geometry.offset(position), length: length, type: type)
        }

        /// Blocking `tryReserve`: waits with the endpoint's strategy for room.
        /// Throws `timedOut`, `peerDied` (the consumer died), `corruptRing`.
        @inlinable
        public mutating func reserve(_ length: Int, timeoutSeconds: Double?,
                                     _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "record ring reserve", position: writePosition,
                                  { () throws(ShmError) in try tryReserve(length, fill) }, settled: { false },
                                  ready: { () throws(ShmError) in try hasRoom(for: length) })
        }

        /// Blocking `tryReserve(upTo:atLeast:_:)`: waits with the endpoint's
        /// strategy until `minimum` bytes of contiguous room are free, then
        /// lets `fill` use up to `maximum` and returns the bytes it used.
        /// Throws as `reserve(_:timeoutSeconds:_:)`.
        @inlinable
        public mutating func reserve(upTo maximum: Int, atLeast minimum: Int = 1, timeoutSeconds: Double?,
                                     _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Int) throws(ShmError) -> Int {
            var used = 0
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "record ring reserve", position: writePosition,
                                  { () throws(ShmError) in
                                      guard let got = try tryReserve(upTo: maximum, atLeast: minimum, fill) else { return false }
                                      used = got
                                      return true
                                  }, settled: { false },
                                  ready: { () throws(ShmError) in try hasRoom(for: minimum) })
            return used
        }

        /// Copies `bytes` into one record and commits it.
        @inlinable
        public mutating func write(_ bytes: UnsafeRawBufferPointer, timeoutSeconds: Double?) throws(ShmError) {
            try reserve(bytes.count, timeoutSeconds: timeoutSeconds) { payload in
                if let source = bytes.baseAddress { payload.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
            }
            commit()
        }
    }

    // MARK: - Consumer

    /// The consuming end (ownership as `SPSCRing.Consumer`). `tryPeek` and
    /// `peek` show the next record in place, to a closure: the bytes are
    /// valid only during the call (copy what must outlive it). A record
    /// read this way stays unreleased (its space is not handed back) until
    /// `release()`, which hands back everything read so far; the next peek
    /// shows the following record. So a consumer can read a batch in place,
    /// write it out, and only then release it. `read` peeks and releases.
    public struct Consumer: ~Copyable, @unchecked Sendable {
        // @unchecked: as `SPSCRing.Producer`.
        public let ring: RecordRing
        @usableFromInline let geometry: Geometry
        @usableFromInline let endpoint: Endpoint
        /// Where the next record to read starts.
        @usableFromInline var readPosition: UInt64
        /// What was handed back to the producer (the shared position word);
        /// the records between it and `readPosition` were read, not released.
        @usableFromInline var releasedPosition: UInt64
        @usableFromInline var cachedWritePosition: UInt64
        @usableFromInline var reachedEndOfStream = false
        /// Records and payload bytes read but not yet released, counted into
        /// the region at `release()`.
        @usableFromInline var unreleasedRecords: UInt64 = 0
        @usableFromInline var unreleasedBytes: UInt64 = 0
        /// As `SPSCRing.Producer.counters`.
        @usableFromInline let counters: EndpointCounters

        init(ring: RecordRing, strategy: WaitStrategy) throws(ShmError) {
            let endpoint = try Endpoint.claim(ring.region, side: .consumer, strategy: strategy)
            do throws(ShmError) { try Self.checkClaimable(ring) } catch { endpoint.release(); throw error }
            let geometry = Geometry(ring)
            // Acquire: pairs with a previous consumer's release of its position.
            let read = cshim_load_acquire(geometry.readPositionWord)
            guard read & 7 == 0 else {
                endpoint.release()
                throw endpoint.corrupt("record ring read position \(read) is not 8-byte aligned")
            }
            self.ring = ring
            self.geometry = geometry
            self.endpoint = endpoint
            counters = endpoint.counters
            readPosition = read
            releasedPosition = read
            cachedWritePosition = read
        }

        deinit { endpoint.release() }

        /// Published bytes from `readPosition` on, reloading the producer's
        /// position only when the cached one says there are none.
        @inlinable
        mutating func publishedBytes() throws(ShmError) -> UInt64 {
            if cachedWritePosition != readPosition { return cachedWritePosition &- readPosition }
            // Acquire: pairs with the producer's release in `commit`.
            let written = cshim_load_acquire(geometry.writePositionWord)
            guard geometry.isWithinOneRing(readPosition, written), geometry.isWithinOneRing(releasedPosition, written) else {
                throw endpoint.corrupt("producer position \(written) is inconsistent with consumer position \(readPosition) (capacity \(geometry.capacity))")
            }
            cachedWritePosition = written
            return written &- readPosition
        }

        /// Reads the next record in place: `body` sees its payload, valid
        /// only during the call, and its result is returned; nil when no
        /// record is published. The record stays unreleased until
        /// `release()`; if `body` throws, it is not read (the next call shows
        /// it again). Padding records are skipped here.
        @inlinable
        public mutating func tryPeek<Result>(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> Result? {
            try endpoint.checkNotForked()
            // At most two rounds: after a padding record the offset is 0.
            for _ in 0..<2 {
                let available = try publishedBytes()
                guard available > 0 else { return nil }
                let at = geometry.offset(readPosition)
                let header = UnsafeRawPointer(geometry.data + at)
                switch RecordLayout.frame(header, toEnd: geometry.capacity &- UInt64(at), available: available,
                                          headerSize: RecordLayout.recordHeaderSize, maximumRecordLength: geometry.maximumRecordLength) {
                case .padding(let toEnd):
                    // Nothing read is held: hand the padding back at once.
                    let holdsNothing = releasedPosition == readPosition
                    readPosition &+= toEnd
                    if holdsNothing {
                        releasedPosition = readPosition
                        hand(back: readPosition)
                    }
                    continue
                case let .record(length, footprint):
                    let result = try body(UnsafeRawBufferPointer(start: header + RecordLayout.recordHeaderSize, count: length))
                    readPosition &+= footprint
                    unreleasedRecords &+= 1
                    unreleasedBytes &+= UInt64(truncatingIfNeeded: length)
                    return result
                case let .impossible(length, type):
                    throw endpoint.corrupt(type == RecordLayout.paddingType
                        ? "padding record of \(length) bytes at offset \(at) does not end the ring"
                        : "record header (length \(length), type \(type)) at position \(readPosition) is impossible")
                }
            }
            throw endpoint.corrupt("two padding records in a row at position \(readPosition)")
        }

        /// Hands every record read so far back to the producer. Does
        /// nothing if there is none (or in a forked child).
        @inlinable
        public mutating func release() {
            guard releasedPosition != readPosition, !endpoint.isForkedCopy else { return }
            releasedPosition = readPosition
            counters.add(CountersLayout.recordsConsumedField, unreleasedRecords)
            counters.add(CountersLayout.bytesConsumedField, unreleasedBytes)
            unreleasedRecords = 0
            unreleasedBytes = 0
            hand(back: readPosition)
        }

        /// Release: our reads of the bytes below happen before the producer
        /// may overwrite them.
        @inlinable
        func hand(back position: UInt64) {
            cshim_store_release(geometry.readPositionWord, position)
            endpoint.wakePeerIfParked()
        }

        @usableFromInline
        mutating func reachedEnd() throws(ShmError) -> Bool {
            if try endpoint.consumerReachedEnd(position: readPosition, handedBack: releasedPosition, hasData: { () throws(ShmError) in
                try publishedBytes() > 0
            }) {
                return true
            }
            try checkAborted()
            return false
        }

        @usableFromInline
        mutating func endOfStream() {
            guard !reachedEndOfStream else { return }
            reachedEndOfStream = true
            markConsumed()
            RingLifecycle.removeNameAtEnd(ring.region, naming: ring.naming)
        }

        /// Blocking `tryPeek`: waits for the next record and returns what
        /// `body` returned for it (the record stays unreleased until
        /// `release()`), or nil at the end of the stream. Throws `timedOut`,
        /// `peerDied` (the producer died without closing, after its last
        /// record was read), `corruptRing`.
        @inlinable
        public mutating func peek<Result>(timeoutSeconds: Double?,
                                          _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Result) throws(ShmError) -> Result? {
            var result: Result?
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "record ring read", position: readPosition,
                                  { () throws(ShmError) in result = try tryPeek(body); return result != nil },
                                  settled: { () throws(ShmError) in try reachedEnd() },
                                  ready: { () throws(ShmError) in if try publishedBytes() > 0 { return true }; return try reachedEnd() })
            if result == nil { endOfStream() }
            return result
        }

        /// Blocking read: `body` sees the next record in place, then it (and
        /// anything read before it) is released. Returns `.endOfStream` once
        /// the stream is over.
        @inlinable
        public mutating func read(timeoutSeconds: Double?, _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Received {
            guard try peek(timeoutSeconds: timeoutSeconds, body) != nil else { return .endOfStream }
            release()
            return .message
        }
    }
}
