import CShim

extension BroadcastRing {
    /// Room for many records written in place in one call of
    /// `Producer.writeRecords`, as `RecordRing.RecordWriter`: `append(length)`
    /// gives the payload of the next record (header written, space taken) or
    /// nil when a live consumer (`.block`) holds the room now. The batch works
    /// on locals (the position, the sequence, the counts) written back once
    /// at its end: kept in the producer, the compiler stored and reloaded each
    /// of them around every record, as the copies into the ring may alias it.
    /// A record below `limit` (the producer's `writableEnd`) costs a header
    /// store and its copy; the rest (padding at the end of the ring, reusing
    /// room) goes through the producer itself.
    public struct RecordWriter: ~Copyable {
        @usableFromInline let producer: UnsafeMutablePointer<Producer>
        @usableFromInline let data: UnsafeMutableRawPointer
        @usableFromInline let mask: UInt64
        @usableFromInline let maximumRecordLength: Int
        @usableFromInline let forked: Bool
        @usableFromInline var position: UInt64
        @usableFromInline var sequence: UInt64
        @usableFromInline var lastRecord: UInt64
        /// Records and payload bytes appended since the last write-back.
        @usableFromInline var records: UInt64 = 0
        @usableFromInline var bytes: UInt64 = 0
        /// The producer's `writableEnd` as of the last write-back.
        @usableFromInline var limit: UInt64

        @usableFromInline
        init(_ producer: UnsafeMutablePointer<Producer>) {
            self.producer = producer
            let geometry = producer.pointee.geometry
            data = geometry.data
            mask = geometry.capacity &- 1
            maximumRecordLength = geometry.maximumRecordLength
            forked = producer.pointee.endpoint.isForkedCopy
            position = producer.pointee.writePosition
            sequence = producer.pointee.nextSequence
            lastRecord = producer.pointee.lastRecord
            limit = producer.pointee.writableEnd
        }

        /// Takes room for a record of `length` bytes and returns its payload
        /// (`length` bytes, which may be written up to the next multiple of
        /// 16), to be filled before the batch ends; nil when a live consumer
        /// holds the room now (what was written before is then committed).
        /// Throws `invalidArgument` for a record longer than the ring's
        /// largest, `forkedHandle` in a forked child, `corruptRing` for an
        /// impossible region.
        @inlinable @inline(__always)
        public mutating func append(_ length: Int) throws(ShmError) -> UnsafeMutableRawPointer? {
            if _slowPath(forked) { try producer.pointee.endpoint.checkNotForked() }
            guard length >= 0, length <= maximumRecordLength else { throw RecordLayout.tooLong(length, largest: maximumRecordLength) }
            let footprint = UInt64(RecordLayout.footprint(length: length, headerSize: BroadcastLayout.recordHeaderSize))
            if _slowPath(position &+ footprint > limit) {
                guard try prepareRoom(footprint) else { return nil }
            }
            let header = data + Int(truncatingIfNeeded: position & mask)
            RecordLayout.writeHeader(header, length: UInt32(truncatingIfNeeded: length), type: RecordLayout.recordType)
            header.storeBytes(of: sequence, toByteOffset: BroadcastLayout.sequenceOffsetInHeader, as: UInt64.self)
            lastRecord = position
            position &+= footprint
            sequence &+= 1
            records &+= 1
            bytes &+= UInt64(truncatingIfNeeded: length)
            return header + BroadcastLayout.recordHeaderSize
        }

        /// The producer's own `prepareRoom`, on its state as of now.
        @usableFromInline @inline(never)
        mutating func prepareRoom(_ footprint: UInt64) throws(ShmError) -> Bool {
            writeBack()
            defer {
                position = producer.pointee.writePosition
                lastRecord = producer.pointee.lastRecord
                limit = producer.pointee.writableEnd
            }
            return try producer.pointee.prepareRoom(footprint)
        }

        /// Hands what the batch wrote to the producer (published at its next commit).
        @usableFromInline
        mutating func writeBack() {
            producer.pointee.writePosition = position
            producer.pointee.nextSequence = sequence
            producer.pointee.lastRecord = lastRecord
            producer.pointee.uncommittedRecords &+= records
            producer.pointee.uncommittedBytes &+= bytes
            records = 0
            bytes = 0
        }
    }
}

extension BroadcastRing.Producer {
    /// Writes many records in place in one call: `body` appends them to the
    /// `RecordWriter` (`append(length)` returns each payload to fill, or nil
    /// when a live consumer holds the room now). The records are published
    /// at the next `commit()`, as with `tryReserve`; what `body` appended
    /// before it threw stays written. The writer must not escape `body`.
    @inlinable
    public mutating func writeRecords<Failure: Error>(_ body: (inout BroadcastRing.RecordWriter) throws(Failure) -> Void) throws(Failure) {
        try withUnsafeMutablePointer(to: &self) { (producer) throws(Failure) in
            var writer = BroadcastRing.RecordWriter(producer)
            defer { writer.writeBack() }
            try body(&writer)
        }
    }
}
