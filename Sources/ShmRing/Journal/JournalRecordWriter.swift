import CShim

extension Journal {
    /// Room for many records written in place in one call of
    /// `Producer.writeRecords`, as `RecordRing.RecordWriter` and
    /// `BroadcastRing.RecordWriter`: `append(length)` writes the next
    /// record's header and returns its payload to fill. The journal never
    /// waits for a reader, so `append` always returns room (rolling to a new
    /// segment when this one is full) or throws.
    ///
    /// Why a batch: a record's checksum covers its payload, which the caller
    /// writes after `append` returns, so each record is sealed (its CRC32C
    /// stored) when the next one is appended or the batch ends, while its
    /// bytes are still in cache. The clock is read once a batch (every record
    /// of it gets that timestamp; they are committed together anyway), the
    /// fork check once a batch, and the position and sequence live in locals
    /// written back at the end (kept in the producer, the compiler reloads
    /// them around every copy into the segment, which may alias it).
    public struct RecordWriter: ~Copyable {
        @usableFromInline let producer: UnsafeMutablePointer<Producer>
        @usableFromInline let forked: Bool
        @usableFromInline let timestamp: UInt64
        /// The segment being written: its mapping, size and largest record.
        @usableFromInline var base: UnsafeMutableRawPointer
        @usableFromInline var size: Int
        @usableFromInline var maximumRecordLength: Int
        @usableFromInline var offset: Int
        @usableFromInline var sequence: UInt64
        /// Where the next index entry is due (Int.max once the index is full).
        @usableFromInline var nextIndexOffset: Int
        /// The last appended record, whose payload may still be being written:
        /// sealed by the next `append` or at the end of the batch.
        @usableFromInline var unsealed: UnsafeMutableRawPointer?
        @usableFromInline var unsealedLength = 0

        @usableFromInline
        init(_ producer: UnsafeMutablePointer<Producer>) {
            // A record `reserve(_:)` lent is final once the next write starts.
            producer.pointee.sealLent()
            self.producer = producer
            forked = cshim_fork_generation() != producer.pointee.held.generation
            // Never earlier than a record already written: timestamps are
            // non-decreasing in sequence order (`.time(t)` seeks rely on it).
            timestamp = max(JournalLayout.wallClockNs(), producer.pointee.lastTimestamp)
            base = producer.pointee.segment.file.base
            size = 0
            maximumRecordLength = 0
            offset = 0
            sequence = 0
            nextIndexOffset = 0
            reload()
        }

        /// Writes the header of a record of `length` bytes and returns its
        /// payload (`length` bytes, which may be written up to the next
        /// multiple of 8), to be filled before the next `append` or the end
        /// of the batch. Throws `invalidArgument` for a record longer than a
        /// segment holds, `forkedHandle` in a forked child, and what rolling
        /// to a new segment can throw (`outOfSpace`): everything appended
        /// before is then committed.
        @inlinable @inline(__always)
        public mutating func append(_ length: Int) throws(ShmError) -> UnsafeMutableRawPointer {
            if _slowPath(forked) { throw .forkedHandle(name: producer.pointee.directory, side: .producer) }
            guard length >= 0, length <= maximumRecordLength else { throw Self.tooLong(length, largest: maximumRecordLength) }
            seal()
            let footprint = JournalLayout.footprint(length: length)
            if _slowPath(offset &+ footprint > size) { try roll() }
            if _slowPath(offset >= nextIndexOffset) { addIndexEntry() }
            let record = base + offset
            JournalLayout.writeHeader(record, length: length, sequence: sequence, timestamp: timestamp)
            unsealed = record
            unsealedLength = length
            offset &+= footprint
            sequence &+= 1
            return record + JournalLayout.recordHeaderSize
        }

        /// Stores the checksum of the last appended record, if any.
        @inlinable @inline(__always)
        mutating func seal() {
            if let record = unsealed { JournalLayout.seal(record, length: unsealedLength) }
            unsealed = nil
        }

        /// Forgets the last appended record (its payload could not be
        /// written): the next one takes its place and sequence.
        @usableFromInline
        mutating func dropLast() {
            guard let record = unsealed else { return }
            offset = record - base
            sequence &-= 1
            unsealed = nil
        }

        /// Hands the last appended record to the producer unsealed: its
        /// payload is written after the batch (`Producer.reserve(_:)`).
        @usableFromInline
        mutating func lendLast() {
            guard let record = unsealed else { return }
            producer.pointee.lent = (record, unsealedLength)
            unsealed = nil
        }

        @usableFromInline @inline(never)
        static func tooLong(_ length: Int, largest: Int) -> ShmError {
            .invalidArgument("journal record of \(length) bytes exceeds the largest a segment holds, \(largest) bytes")
        }

        /// Hands what the batch wrote to the producer (published at its next commit).
        @usableFromInline
        mutating func writeBack() {
            seal()
            producer.pointee.writeOffset = offset
            producer.pointee.nextSequence = sequence
            producer.pointee.lastTimestamp = timestamp
        }

        /// Takes the producer's state as of now (after a roll or an index entry).
        mutating func reload() {
            let segment = producer.pointee.segment
            base = segment.file.base
            size = segment.size
            maximumRecordLength = segment.maximumRecordLength
            offset = producer.pointee.writeOffset
            sequence = producer.pointee.nextSequence
            nextIndexOffset = producer.pointee.indexCount < segment.indexCapacity ? producer.pointee.nextIndexOffset : Int.max
        }

        /// The segment is full: commits what was written and continues in a new one.
        @usableFromInline @inline(never)
        mutating func roll() throws(ShmError) {
            writeBack()
            defer { reload() }
            try producer.pointee.roll()
        }

        /// An index entry for the record about to be written at `offset`.
        @usableFromInline @inline(never)
        mutating func addIndexEntry() {
            writeBack()
            producer.pointee.addIndexEntry(timestamp: timestamp)
            reload()
        }
    }
}

extension Journal.Producer {
    /// Writes many records in place in one call: `body` appends them to the
    /// `RecordWriter` (`append(length)` returns each payload to fill). They
    /// are published at the next `commit()`, as with `reserve`; what `body`
    /// appended before it threw stays written, so fill each payload before
    /// appending the next. The writer must not escape `body`.
    @inlinable
    public mutating func writeRecords<Failure: Error>(_ body: (inout Journal.RecordWriter) throws(Failure) -> Void) throws(Failure) {
        try withUnsafeMutablePointer(to: &self) { (producer) throws(Failure) in
            var writer = Journal.RecordWriter(producer)
            defer { writer.writeBack() }
            try body(&writer)
        }
    }
}
