import CShim
#if canImport(Glibc)
import Glibc
#endif

extension Journal {
    /// What opening the journal found and repaired.
    public struct Recovery: Sendable, Equatable {
        /// Records the last segment said were committed that failed their
        /// checksum (or framing) and were cut off: a torn tail. 0 after a
        /// process crash (the page cache holds every committed byte); more
        /// only after a machine crash or a damaged file.
        public var tornRecords: UInt64
        /// The sequence the next record gets.
        public var nextSequence: UInt64
    }

    /// The journal's one producer (its claim is an OFD lock on the control
    /// file, dropped by `close`, by dropping the handle, or by death). Like
    /// `RecordRing.Producer`: `reserve` writes a record in place, `commit`
    /// publishes everything reserved since the last commit with one release
    /// store (a batch). The producer never waits for a tailer.
    public struct Producer: ~Copyable, @unchecked Sendable {
        // @unchecked: the handle owns its mappings; the shared words are
        // accessed atomically (see each access).
        let control: JournalControl
        let held: HeldWitness
        public let directory: String
        public let durability: Durability
        public let retention: Retention
        var segment: JournalSegment
        var writeOffset: Int
        /// The sequence the next reserved record gets.
        public private(set) var nextSequence: UInt64
        /// The sequence after the last committed record.
        public private(set) var committedSequence: UInt64
        var lastTimestamp: UInt64
        var indexCount: Int
        var nextIndexOffset: Int
        var lastSyncNs: UInt64
        /// The record `reserve(_:)` lent, whose payload the caller may still
        /// be writing: its checksum is written once it is final, when the
        /// next record is reserved or at the commit that publishes it.
        var unchecksummed: (record: UnsafeMutableRawPointer, length: Int)?
        /// Segment files retention deleted when the producer opened.
        public private(set) var deletedAtOpen = 0
        public let recovery: Recovery

        /// Claims the producer role, then recovers the journal: the last
        /// segment's records from its last good index entry up to its
        /// committed sequence are checked (framing, sequence, CRC32C); the
        /// first bad one and everything after it is a torn tail, cut off by
        /// lowering the committed sequence. Records written but never
        /// committed lie past it and are never shown. A segment left
        /// half-created (`*.seg.tmp`) is removed; a predecessor left
        /// unsealed by a crash during a roll is sealed.
        init(control: JournalControl, options: ProducerOptions) throws(ShmError) {
            let directory = control.directory
            guard let held = try control.witness.hold(.producer, for: directory) else {
                throw .endpointTaken(name: directory, side: .producer, pid: control.producerPid)
            }
            do throws(ShmError) {
                control.setProducerPid(getpid())
                for name in try JournalDirectory.names(in: directory) where name.hasSuffix(JournalLayout.segmentSuffix + ".tmp") {
                    _ = unlink(JournalDirectory.path(directory, name))
                }
                let durable = options.durability != .processCrash
                let firsts = try JournalDirectory.segments(in: directory)
                var segment: JournalSegment
                var torn: UInt64 = 0
                var end: (sequence: UInt64, offset: Int, timestamp: UInt64)
                if let last = firsts.last {
                    segment = try JournalSegment.open(directory: directory, firstSequence: last, segmentSize: control.segmentSize, writable: true)
                    if firsts.count >= 2 {
                        let previous = try JournalSegment.open(directory: directory, firstSequence: firsts[firsts.count - 2],
                                                               segmentSize: control.segmentSize, writable: true)
                        guard try previous.committedSequence() == last else {
                            throw .corruptRing(reason: "journal segment \(previous.name) ends at sequence \(try previous.committedSequence()), but the next segment starts at \(last)")
                        }
                        // Release: as the roll's seal (the final commit is older).
                        if previous.sealState() != 1 { cshim_store_release(previous.file.word(JournalLayout.sealedOffset), 1) }
                    }
                    (end, torn) = try Self.recoverTail(segment)
                    if segment.sealState() == 1 {
                        // Sealed with no successor (a successor deleted by hand): start one.
                        let next = try JournalSegment.create(directory: directory, firstSequence: end.sequence, size: control.segmentSize, durable: durable)
                        segment = next
                        end = (end.sequence, next.dataOffset, end.timestamp)
                    } else if segment.sealState() != 0 {
                        // Closed by the previous producer: open again. Release: as in `close`.
                        cshim_store_release(segment.file.word(JournalLayout.sealedOffset), 0)
                    }
                } else {
                    let first = control.oldestSequence()
                    segment = try JournalSegment.create(directory: directory, firstSequence: first, size: control.segmentSize, durable: durable)
                    end = (first, segment.dataOffset, 0)
                }
                let deleted = try Self.retain(directory: directory, control: control, retention: options.retention,
                                              current: segment, durable: durable)
                let entries = segment.indexCount(committed: end.sequence)
                // Release: entries past the committed end are dropped before anyone counts them.
                cshim_store_release(segment.file.word(JournalLayout.indexCountOffset), UInt64(entries))
                self.control = control
                self.held = held
                self.directory = directory
                durability = options.durability
                retention = options.retention
                self.segment = segment
                writeOffset = end.offset
                nextSequence = end.sequence
                committedSequence = end.sequence
                lastTimestamp = end.timestamp
                indexCount = entries
                nextIndexOffset = entries > 0 ? segment.indexEntry(entries - 1).offset + JournalLayout.indexInterval : segment.dataOffset
                lastSyncNs = cshim_monotonic_ns()
                recovery = Recovery(tornRecords: torn, nextSequence: end.sequence)
                deletedAtOpen = deleted
            } catch {
                held.release()
                throw error
            }
        }

        /// Checks the last segment's tail by checksums and cuts a torn one.
        static func recoverTail(_ segment: JournalSegment) throws(ShmError) -> ((sequence: UInt64, offset: Int, timestamp: UInt64), torn: UInt64) {
            let committed = try segment.committedSequence()
            var (offset, sequence) = segment.scanStart(sequence: committed, time: nil, committed: committed)
            var timestamp: UInt64 = 0
            // Bounded: at most `committed - sequence` records, each moving `offset` forward.
            while sequence < committed, let record = segment.record(at: offset, sequence: sequence, verifyChecksum: true) {
                timestamp = record.timestamp
                offset += JournalLayout.footprint(length: record.length)
                sequence += 1
            }
            let committedOffset = cshim_load_acquire(segment.file.word(JournalLayout.committedOffsetOffset))
            if sequence != committed || committedOffset != UInt64(offset) {
                // No producer runs (we hold the role): plain release stores, offset first.
                cshim_store_release(segment.file.word(JournalLayout.committedOffsetOffset), UInt64(offset))
                cshim_store_release(segment.file.word(JournalLayout.committedSequenceOffset), sequence)
            }
            return ((sequence, offset, timestamp), committed - sequence)
        }

        deinit {
            guard cshim_fork_generation() == held.generation else { return }
            if let (record, length) = unchecksummed { Self.writeChecksum(record, length: length) }
            if nextSequence != committedSequence { Self.publish(segment, sequence: nextSequence, offset: writeOffset) }
            control.wakeTailers()
            held.release()
        }

        /// Where the producer's records go; for tests and tools.
        public var currentSegmentPath: String { segment.name }

        /// The largest payload a record may have.
        public var maximumRecordLength: Int { segment.maximumRecordLength }

        // MARK: Writing

        /// Writes one record of `length` bytes in place: `fill` gets its
        /// payload inside the segment (valid only during the call). It is
        /// published at the next `commit()`. Rolls to a new segment when this
        /// one is full (committing first): throws `outOfSpace` if the file
        /// system has no room for it, and nothing committed is lost. If `fill`
        /// throws, no record is written.
        public mutating func reserve(_ length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            let record = try room(for: length)
            try fill(UnsafeMutableRawBufferPointer(start: record + JournalLayout.recordHeaderSize, count: length))
            stamp(record, length: length)
            Self.writeChecksum(record, length: length)
        }

        /// `reserve(_:_:)` for a caller that writes the payload after the
        /// call (the C ABI): the record's `length` bytes in the segment, to be
        /// written before the next call on this producer, published at the
        /// next `commit()`. Its checksum covers the payload as it is at the
        /// next reserve or commit (or close, or when the handle is dropped).
        public mutating func reserve(_ length: Int) throws(ShmError) -> UnsafeMutableRawBufferPointer {
            let record = try room(for: length)
            stamp(record, length: length)
            unchecksummed = (record, length)
            return UnsafeMutableRawBufferPointer(start: record + JournalLayout.recordHeaderSize, count: length)
        }

        /// Where the next record of `length` bytes goes (rolling to a new
        /// segment when this one is full); the lent record before it is final.
        mutating func room(for length: Int) throws(ShmError) -> UnsafeMutableRawPointer {
            guard cshim_fork_generation() == held.generation else { throw .forkedHandle(name: directory, side: .producer) }
            guard length >= 0, length <= segment.maximumRecordLength else {
                throw .invalidArgument("journal record of \(length) bytes exceeds the largest a segment holds, \(segment.maximumRecordLength) bytes")
            }
            writeLentChecksum()
            if writeOffset + JournalLayout.footprint(length: length) > segment.size { try roll() }
            return segment.file.base + writeOffset
        }

        /// Writes the checksum of the record `reserve(_:)` lent, if any.
        mutating func writeLentChecksum() {
            guard let (record, length) = unchecksummed else { return }
            unchecksummed = nil
            Self.writeChecksum(record, length: length)
        }

        static func writeChecksum(_ record: UnsafeMutableRawPointer, length: Int) {
            // A plain store, as the header's: always before the release store
            // of the commit that publishes the record (`commit`, `deinit`).
            record.storeBytes(of: JournalLayout.checksum(record: record, length: length), toByteOffset: 4, as: UInt32.self)
        }

        /// The header of the record at `record` but its checksum (the
        /// caller's), its index entry if one is due, and the move past it.
        mutating func stamp(_ record: UnsafeMutableRawPointer, length: Int) {
            var timestamp = JournalLayout.wallClockNs()
            if timestamp < lastTimestamp { timestamp = lastTimestamp }
            lastTimestamp = timestamp
            // Plain stores: tailers read them only after acquiring a committed
            // sequence above this record's (the release in `commit`).
            record.storeBytes(of: UInt32(truncatingIfNeeded: length), as: UInt32.self)
            record.storeBytes(of: nextSequence, toByteOffset: 8, as: UInt64.self)
            record.storeBytes(of: timestamp, toByteOffset: 16, as: UInt64.self)
            if writeOffset >= nextIndexOffset, indexCount < segment.indexCapacity { addIndexEntry(timestamp: timestamp) }
            writeOffset += JournalLayout.footprint(length: length)
            nextSequence += 1
        }

        mutating func addIndexEntry(timestamp: UInt64) {
            let entry = segment.file.base + JournalLayout.indexOffset + indexCount * JournalLayout.indexEntrySize
            entry.storeBytes(of: nextSequence, as: UInt64.self)
            entry.storeBytes(of: UInt64(writeOffset), toByteOffset: 8, as: UInt64.self)
            entry.storeBytes(of: timestamp, toByteOffset: 16, as: UInt64.self)
            indexCount += 1
            // Release: the entry's bytes are visible to a tailer whose acquire
            // load sees the count (it still trusts only committed entries).
            cshim_store_release(segment.file.word(JournalLayout.indexCountOffset), UInt64(indexCount))
            nextIndexOffset = writeOffset + JournalLayout.indexInterval
        }

        /// Publishes every record reserved since the last commit, makes it
        /// as durable as `durability` says, and wakes parked tailers (no
        /// system call when none sleeps).
        public mutating func commit() throws(ShmError) {
            guard nextSequence != committedSequence else { return }
            guard cshim_fork_generation() == held.generation else { throw .forkedHandle(name: directory, side: .producer) }
            writeLentChecksum()
            Self.publish(segment, sequence: nextSequence, offset: writeOffset)
            committedSequence = nextSequence
            switch durability {
            case .processCrash: break
            case .everyCommit: try segment.file.syncData()
            case .interval(let milliseconds):
                let now = cshim_monotonic_ns()
                if now &- lastSyncNs >= UInt64(milliseconds) * 1_000_000 {
                    try segment.file.syncData()
                    lastSyncNs = now
                }
            }
            control.wakeTailers()
        }

        static func publish(_ segment: JournalSegment, sequence: UInt64, offset: Int) {
            // Relaxed: recovery's cross-check only; ordered before the release below.
            cshim_store_relaxed(segment.file.word(JournalLayout.committedOffsetOffset), UInt64(offset))
            // Release: the records' bytes are visible to a tailer whose acquire
            // load sees this sequence.
            cshim_store_release(segment.file.word(JournalLayout.committedSequenceOffset), sequence)
        }

        /// Copies `bytes` into one record and commits it.
        public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(ShmError) {
            try reserve(bytes.count) { payload in
                if let source = bytes.baseAddress, bytes.count > 0 { payload.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
            }
            try commit()
        }

        /// Commits, then marks the end of the stream: tailers that read
        /// everything get `.endOfStream`. The next producer opens it again.
        public consuming func close() throws(ShmError) {
            try commit()
            guard cshim_fork_generation() == held.generation else { return }
            if durability != .processCrash { try segment.file.syncData() }
            // Release: after the last commit; a tailer that acquires it sees every record.
            cshim_store_release(segment.file.word(JournalLayout.sealedOffset), 2)
        }

        // MARK: Rolling and retention

        /// Seals the full segment and continues in a new one. The order makes
        /// every crash point recoverable: commit (so the new segment's first
        /// sequence follows the old one's committed end), create the next
        /// segment (complete before its name appears), then seal the old one.
        mutating func roll() throws(ShmError) {
            try commit()
            let next = try JournalSegment.create(directory: directory, firstSequence: nextSequence, size: segment.size,
                                                 durable: durability != .processCrash)
            if durability != .processCrash { try segment.file.syncData() }
            // Release: after the segment's last commit; a tailer that acquires
            // the seal and then reloads the committed sequence has the final one.
            cshim_store_release(segment.file.word(JournalLayout.sealedOffset), 1)
            control.wakeTailers()
            segment = next
            writeOffset = next.dataOffset
            indexCount = 0
            nextIndexOffset = next.dataOffset
            _ = try Self.retain(directory: directory, control: control, retention: retention, current: segment,
                                durable: durability != .processCrash)
        }

        /// Deletes old segments as `retention` says; returns how many.
        static func retain(directory: String, control: JournalControl, retention: Retention, current segment: JournalSegment,
                           durable: Bool) throws(ShmError) -> Int {
            guard retention.maximumBytes != nil || retention.maximumAgeSeconds != nil else { return 0 }
            let firsts = try JournalDirectory.segments(in: directory)
            let now = JournalLayout.wallClockNs()
            var total = firsts.count * segment.size
            var deleted = 0
            var i = 0
            while i + 1 < firsts.count, firsts[i] < segment.firstSequence {
                var drop = false
                if let limit = retention.maximumBytes, total > limit { drop = true }
                if !drop, let age = retention.maximumAgeSeconds {
                    // Every record of segment i is older than segment i + 1's creation.
                    let successor = firsts[i + 1] == segment.firstSequence ? segment
                        : try JournalSegment.open(directory: directory, firstSequence: firsts[i + 1], segmentSize: segment.size, writable: false)
                    drop = successor.createdNs &+ UInt64(age * 1e9) < now
                }
                guard drop else { break }
                control.setOldestSequence(firsts[i + 1])
                guard unlink(JournalDirectory.segmentPath(directory, firstSequence: firsts[i])) == 0 || errnoValue() == ENOENT else {
                    throw .lastErrno("unlink(\(JournalDirectory.segmentPath(directory, firstSequence: firsts[i])))")
                }
                total -= segment.size
                deleted += 1
                i += 1
            }
            if deleted > 0, durable { try JournalDirectory.syncDirectory(directory) }
            return deleted
        }
    }
}
