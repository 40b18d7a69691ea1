import CShim

/// Many records per call, for short records (a line each), where the
/// per-call work of `tryReserve` and `tryPeek` (fork check, free or
/// published bytes, closure set-up, error paths) costs as much as the
/// record itself.
extension RecordRing.Consumer {
    /// Reads consecutive published records in place: `body` sees each
    /// record's payload (valid only during its call) and returns whether to
    /// go on. Returns how many records were read: 0 when none is published.
    /// Stops when `body` returns false (after that record), or at the end of
    /// what is published: the producer's position is read once, at the
    /// start, and only if the cached one says there is nothing. Records read
    /// stay unreleased until `release()`, as with `tryPeek`; if `body` throws,
    /// the record it was given is not read (those before it are).
    ///
    /// Every header is checked as in `tryPeek` (a region the producer wrote
    /// is untrusted): a record's length is at most the largest record and
    /// its footprint within what is published and before the ring's end; a
    /// padding record must end the ring and cannot start it. Each step
    /// consumes at least 8 published bytes, so the loop is bounded by the
    /// ring's capacity.
    @inlinable @inline(__always)
    public mutating func tryPeekRecords(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Bool) throws(ShmError) -> Int {
        try endpoint.checkNotForked()
        // The acquire in `publishedBytes` (or the earlier one that set the
        // cached position) makes every byte below `cachedWritePosition`
        // visible: the loop reads only below it.
        var available = try publishedBytes()
        let data = geometry.data
        let capacity = geometry.capacity
        let largest = UInt64(geometry.maximumRecordLength)
        var position = readPosition
        var count = 0, bytes: UInt64 = 0
        defer {
            readPosition = position
            // Counted at `release()`, as `tryPeek`'s records are (once per
            // call, not per record).
            unreleasedRecords &+= UInt64(truncatingIfNeeded: count)
            unreleasedBytes &+= bytes
        }
        while available > 0 {
            let at = UInt64(geometry.offset(position))
            let header = UnsafeRawPointer(data + Int(truncatingIfNeeded: at))
            let length = UInt64(header.load(as: UInt32.self)) // aligned: `at` is a multiple of 8
            let type = header.load(fromByteOffset: 4, as: UInt32.self)
            let toEnd = capacity &- at
            guard type == RecordLayout.recordType else {
                guard type == RecordLayout.paddingType, at != 0, length &+ 8 == toEnd, toEnd <= available else {
                    throw Self.impossibleHeader(geometry, length: length, type: type, position: position)
                }
                position &+= toEnd
                available &-= toEnd
                if releasedPosition == readPosition, count == 0 {
                    // Nothing read is held: hand the padding back at once.
                    readPosition = position
                    releasedPosition = position
                    hand(back: position)
                }
                continue
            }
            // length < 2^32: no overflow.
            let footprint = (length &+ 15) & ~7
            guard length <= largest, footprint <= available, footprint <= toEnd else {
                throw Self.impossibleHeader(geometry, length: length, type: type, position: position)
            }
            let goOn = try body(UnsafeRawBufferPointer(start: header + RecordLayout.recordHeaderSize, count: Int(truncatingIfNeeded: length)))
            position &+= footprint
            available &-= footprint
            count &+= 1
            bytes &+= length
            if !goOn { break }
        }
        return count
    }

    /// Out of line: the hot loop builds no error (and copies no endpoint).
    @usableFromInline @inline(never)
    static func impossibleHeader(_ geometry: RecordRing.Geometry, length: UInt64, type: UInt32, position: UInt64) -> ShmError {
        let base = geometry.data - RecordLayout.dataOffset
        let at = geometry.offset(position)
        if type == RecordLayout.paddingType {
            return Endpoint.corrupt(regionBase: base, "padding record of \(length) bytes at offset \(at) does not end the ring (or starts it)")
        }
        return Endpoint.corrupt(regionBase: base, "record header (length \(length), type \(type)) at position \(position) is impossible")
    }
}

extension RecordRing {
    /// Room for many records written in place in one call of
    /// `Producer.writeRecords`: `append(length)` gives the payload of the
    /// next record (header written, space taken) or nil when the ring has no
    /// room for it now. The free space is known once for the whole batch (the
    /// consumer's position is reread only when it runs out), so a record
    /// costs a header store and its copy.
    public struct RecordWriter: ~Copyable {
        @usableFromInline let geometry: Geometry
        @usableFromInline let regionBase: UnsafeMutableRawPointer
        @usableFromInline let forked: Bool
        @usableFromInline let name: String
        /// End of what this batch (and the producer before it) wrote.
        @usableFromInline var position: UInt64
        /// The consumer's position as last read, and the producer's last
        /// published one (the consumer may not be past it).
        @usableFromInline var cachedReadPosition: UInt64
        @usableFromInline let publishedPosition: UInt64

        @usableFromInline
        init(geometry: Geometry, regionBase: UnsafeMutableRawPointer, forked: Bool, name: String, position: UInt64,
             cachedReadPosition: UInt64, publishedPosition: UInt64) {
            self.geometry = geometry
            self.regionBase = regionBase
            self.forked = forked
            self.name = name
            self.position = position
            self.cachedReadPosition = cachedReadPosition
            self.publishedPosition = publishedPosition
        }

        /// Takes room for a record of `length` bytes and returns its payload
        /// (`length` bytes, which may be written up to the next multiple of
        /// 8), to be filled before the batch ends; nil when there is no room
        /// now (a padding record before the ring's end may have been written).
        /// Throws `invalidArgument` for a record longer than the ring's
        /// largest, `forkedHandle` in a forked child, `corruptRing` for an
        /// impossible consumer position. Always inlined: left a call, it cost
        /// pub's loop 20 of its 148 instructions a line
        /// (results/vm-2026-12-07-pub-instructions).
        @inlinable @inline(__always)
        public mutating func append(_ length: Int) throws(ShmError) -> UnsafeMutableRawPointer? {
            if _slowPath(forked) { try Endpoint.throwForked(name: name, side: .producer) }
            guard length >= 0, length <= geometry.maximumRecordLength else { throw RecordLayout.tooLong(length, largest: geometry.maximumRecordLength) }
            let footprint = UInt64(RecordLayout.footprint(length: length))
            var at = geometry.offset(position)
            var toEnd = geometry.capacity &- UInt64(at)
            if _slowPath(footprint > toEnd) {
                // Pad to the end first: needs only the bytes up to the end.
                guard try hasFree(toEnd) else { return nil }
                write(length: UInt32(truncatingIfNeeded: toEnd &- 8), type: RecordLayout.paddingType, at: at)
                position &+= toEnd
                at = 0
                toEnd = geometry.capacity
            }
            guard try hasFree(footprint) else { return nil }
            write(length: UInt32(truncatingIfNeeded: length), type: RecordLayout.recordType, at: at)
            position &+= footprint
            return geometry.data + at + RecordLayout.recordHeaderSize
        }

        /// Whether `bytes` are free from `position` on, rereading the
        /// consumer's position only when the cached one says no.
        @inlinable @inline(__always)
        mutating func hasFree(_ bytes: UInt64) throws(ShmError) -> Bool {
            if geometry.capacity &- (position &- cachedReadPosition) >= bytes { return true }
            return try reloadFree(bytes)
        }

        @usableFromInline @inline(never)
        mutating func reloadFree(_ bytes: UInt64) throws(ShmError) -> Bool {
            // Acquire: pairs with the consumer's release in `release()`: its
            // reads of the bytes below are complete before we overwrite them.
            let read = cshim_load_acquire(geometry.readPositionWord)
            guard geometry.isWithinOneRing(read, position), read <= publishedPosition else {
                throw Endpoint.corrupt(regionBase: regionBase, "consumer position \(read) is inconsistent with producer position \(position) (capacity \(geometry.capacity))")
            }
            cachedReadPosition = read
            return geometry.capacity &- (position &- read) >= bytes
        }

        /// The header, as `Producer.writeHeader`; published by `commit`.
        @inlinable @inline(__always)
        func write(length: UInt32, type: UInt32, at offset: Int) {
            let header = geometry.data + offset
            header.storeBytes(of: length, as: UInt32.self)
            header.storeBytes(of: type, toByteOffset: 4, as: UInt32.self)
        }
    }
}

extension RecordRing.Producer {
    /// Writes many records in place in one call: `body` appends them to the
    /// `RecordWriter` (`append(length)` returns each payload to fill, or nil
    /// when the ring is full now). The records are published at the next
    /// `commit()`, as with `tryReserve`; what `body` appended before it
    /// threw stays written. The writer must not escape `body`.
    @inlinable
    public mutating func writeRecords<Failure: Error>(_ body: (inout RecordRing.RecordWriter) throws(Failure) -> Void) throws(Failure) {
        var writer = RecordRing.RecordWriter(geometry: geometry, regionBase: ring.region.base, forked: endpoint.isForkedCopy,
                                             name: ring.region.name,
                                             position: writePosition, cachedReadPosition: cachedReadPosition,
                                             publishedPosition: publishedPosition)
        defer {
            writePosition = writer.position
            cachedReadPosition = writer.cachedReadPosition
        }
        try body(&writer)
    }
}
