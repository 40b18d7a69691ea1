import CShim
#if canImport(Glibc)
import Glibc
#endif

extension Journal {
    /// A reader of the journal: replays from where it started, then follows
    /// the live tail. Independent of the producer and of other tailers (it
    /// writes nothing the producer reads: the producer never waits for it).
    /// Records are shown in place to a closure (`tryRead`, `read`), valid
    /// only during the call. A tailer keeps the segment it reads mapped, so
    /// retention deleting that file does not disturb it; one that falls
    /// behind retention gets `.overrun(lost:)` with the exact count.
    public struct Tailer: ~Copyable, @unchecked Sendable {
        // @unchecked: the handle owns its mappings.
        let control: JournalControl
        public let directory: String
        let strategy: WaitStrategy
        let verifyChecksums: Bool
        var segment: JournalSegment
        /// The segment read before `segment`, kept mapped until the next move:
        /// payloads a caller still references after a move stay valid until it
        /// sees `segmentFirstSequence` change (see `ringbench sub --journal`).
        var previousSegment: JournalSegment?
        var offset: Int
        /// The sequence of the next record this tailer reads.
        public private(set) var nextSequence: UInt64
        var cachedCommitted: UInt64
        var pendingOverrun: UInt64 = 0
        /// Seeks skip records below this sequence, or before this time.
        var skipBelowSequence: UInt64 = 0
        var skipBeforeTime: UInt64 = 0
        /// When a waiting `read` next asks whether the journal was removed
        /// (kept across calls: a caller waiting in short slices is covered).
        var removalCheckDue: UInt64 = 0
        /// How far ahead of `offset` the tailer asked for cache lines.
        var prefetchedTo = 0

        init(control: JournalControl, start: Start, wait: WaitStrategy, verifyChecksums: Bool) throws(ShmError) {
            let place = try Self.place(control, start: start)
            self.control = control
            directory = control.directory
            strategy = wait
            self.verifyChecksums = verifyChecksums
            segment = place.segment
            offset = place.offset
            nextSequence = place.sequence
            cachedCommitted = place.sequence
            pendingOverrun = place.lost
            skipBelowSequence = place.skipBelow
            skipBeforeTime = place.skipBefore
            if wait.mayPark { control.announceParking() }
        }

        /// Where a tailer starts: a segment, the offset and sequence of the
        /// index's scan start there, what to skip from it, and an overrun to
        /// report first (a sequence retention already deleted).
        struct Place {
            var segment: JournalSegment
            var offset: Int
            var sequence: UInt64
            var lost: UInt64 = 0
            var skipBelow: UInt64 = 0
            var skipBefore: UInt64 = 0

            init(_ segment: JournalSegment, sequence: UInt64?, time: UInt64?, committed: UInt64) {
                let start = segment.scanStart(sequence: sequence, time: time, committed: committed)
                self.segment = segment
                offset = start.offset
                self.sequence = start.sequence
            }
        }

        static func place(_ control: JournalControl, start: Start) throws(ShmError) -> Place {
            let (oldest, _) = try oldestSegment(control)
            var place = Place(oldest, sequence: nil, time: nil, committed: oldest.firstSequence)
            place.offset = oldest.dataOffset
            place.sequence = oldest.firstSequence
            switch start {
            case .oldest: break
            case .latest:
                let last = try JournalDirectory.segments(in: control.directory).last ?? oldest.firstSequence
                let found = try openSegment(control, first: last) ?? oldest
                let committed = try found.committedSequence()
                place = Place(found, sequence: committed, time: nil, committed: committed)
                place.skipBelow = committed
            case .sequence(let target):
                if target < oldest.firstSequence {
                    place.lost = oldest.firstSequence - target
                } else {
                    let firsts = try JournalDirectory.segments(in: control.directory)
                    let first = firsts.last(where: { $0 <= target }) ?? oldest.firstSequence
                    let found = try first > oldest.firstSequence ? openSegment(control, first: first) ?? oldest : oldest
                    let committed = try found.committedSequence()
                    place = Place(found, sequence: min(target, committed), time: nil, committed: committed)
                    place.skipBelow = target
                }
            case .time(let time):
                let firsts = try JournalDirectory.segments(in: control.directory).filter { $0 >= oldest.firstSequence }
                // Binary search: the last segment whose first record is before `time`.
                var low = 0, high = firsts.count
                while low < high {
                    let mid = (low + high) / 2
                    if let first = try openSegment(control, first: firsts[mid])?.firstTimestamp(), first < time { low = mid + 1 } else { high = mid }
                }
                if low > 0, let found = try openSegment(control, first: firsts[low - 1]) {
                    place = Place(found, sequence: nil, time: time, committed: try found.committedSequence())
                }
                place.skipBefore = time
            }
            return place
        }

        /// The segment starting at `first`, or nil if its file is gone.
        static func openSegment(_ control: JournalControl, first: UInt64) throws(ShmError) -> JournalSegment? {
            do {
                return try JournalSegment.open(directory: control.directory, firstSequence: first, segmentSize: control.segmentSize, writable: false)
            } catch .noSuchRegion {
                return nil
            }
        }

        /// The oldest segment retention kept, and how many records before it
        /// `from` (when given) had to skip. Retries while retention deletes
        /// what it listed (bounded: each retry sees a later floor).
        static func oldestSegment(_ control: JournalControl, from: UInt64? = nil) throws(ShmError) -> (JournalSegment, UInt64) {
            for _ in 0..<64 {
                let floor = control.oldestSequence()
                let firsts = try JournalDirectory.segments(in: control.directory)
                guard let first = firsts.first(where: { $0 >= floor }) ?? firsts.last else {
                    throw .noSuchRegion(name: control.directory + " (no segment yet)")
                }
                if let segment = try openSegment(control, first: first) {
                    let lost = from.map { first > $0 ? first - $0 : 0 } ?? 0
                    return (segment, lost)
                }
            }
            throw .corruptRing(reason: "journal \(control.directory): segments keep disappearing while a tailer opens")
        }

        // MARK: Reading

        /// The next record, shown to `body` in place; nil when none is
        /// committed yet. `.overrun(lost:)` once when retention deleted
        /// records before this tailer read them; `.endOfStream` when the
        /// producer closed the journal and all is read. If `body` throws,
        /// the record is not consumed.
        @inlinable
        public mutating func tryRead<Result>(_ body: (Record) throws(ShmError) -> Result) throws(ShmError) -> Read<Result>? {
            guard let step = try nextStep() else { return nil }
            return try deliver(step, body)
        }

        /// Shows the records committed now in the segment being read, in
        /// order, to `body` until it returns false; returns how many (0 when
        /// the next step is not such a record: none committed, an overrun,
        /// the end of the stream, a seek still skipping, or the segment's
        /// end; `tryRead` takes those). Every payload shown lies in one
        /// segment's mapping. If `body` throws, the record it was given is
        /// not consumed (those before it are). Bounded by the committed count.
        @inlinable @inline(__always)
        public mutating func tryReadRecords(_ body: (Record) throws(ShmError) -> Bool) throws(ShmError) -> Int {
            var count = 0
            while let (record, footprint) = try nextCommittedRecord() {
                let goOn = try body(record)
                consume(footprint: footprint)
                count &+= 1
                if !goOn { break }
            }
            return count
        }

        /// `tryReadRecords`' next record: nil unless it is a plain committed
        /// record of this segment (checked as `nextStep` checks it).
        @usableFromInline
        mutating func nextCommittedRecord() throws(ShmError) -> (Record, footprint: Int)? {
            guard pendingOverrun == 0, nextSequence >= skipBelowSequence, skipBeforeTime == 0 else { return nil }
            if nextSequence >= cachedCommitted { guard try refreshCommitted() else { return nil } }
            return try committedRecord()
        }

        /// The committed record at `offset` (`nextSequence` is below the
        /// committed count), checked: framing, sequence, and the CRC unless
        /// the tailer was opened without; the lines ahead of it asked for.
        mutating func committedRecord() throws(ShmError) -> (Record, footprint: Int) {
            guard let record = segment.record(at: offset, sequence: nextSequence, verifyChecksum: verifyChecksums) else {
                throw .corruptRing(reason: "journal segment \(segment.name): record \(nextSequence) at offset \(offset) fails its \(verifyChecksums ? "checksum or " : "")framing")
            }
            prefetchAhead()
            let payload = UnsafeRawBufferPointer(start: segment.file.base + offset + JournalLayout.recordHeaderSize, count: record.length)
            return (Record(sequence: nextSequence, timestamp: record.timestamp, payload: payload), JournalLayout.footprint(length: record.length))
        }

        /// What the tailer found next, before the caller's closure sees it.
        /// The generic reads are two inlinable lines around this: the record
        /// path is compiled once, here, not looked up as generic metadata on
        /// every record (an unspecialised `tryRead` spent a third of a 1 KiB
        /// replay in the Swift runtime's metadata cache).
        @usableFromInline
        enum Step {
            case record(Record, footprint: Int)
            case overrun(lost: UInt64)
            case endOfStream
        }

        /// Runs `body` on a record step and consumes the record only if it
        /// returned.
        @inlinable @inline(__always)
        mutating func deliver<Result>(_ step: Step, _ body: (Record) throws(ShmError) -> Result) throws(ShmError) -> Read<Result> {
            switch step {
            case let .record(record, footprint):
                let result = try body(record)
                consume(footprint: footprint)
                return .record(result)
            case .overrun(let lost): return .overrun(lost: lost)
            case .endOfStream: return .endOfStream
            }
        }

        /// Moves past the record `nextStep` showed.
        @usableFromInline
        mutating func consume(footprint: Int) {
            offset += footprint
            nextSequence += 1
        }

        /// The next step of `tryRead`; nil when nothing is committed yet.
        @usableFromInline
        mutating func nextStep() throws(ShmError) -> Step? {
            if pendingOverrun > 0 {
                let lost = pendingOverrun
                pendingOverrun = 0
                return .overrun(lost: lost)
            }
            // Every round reads a record (sequence grows, bounded by the
            // committed count, which is bounded by the segment's size) or
            // moves to the next segment (first sequences grow).
            while true {
                if nextSequence < cachedCommitted {
                    let (record, footprint) = try committedRecord()
                    if nextSequence < skipBelowSequence || record.timestamp < skipBeforeTime {
                        consume(footprint: footprint)
                        continue
                    }
                    skipBeforeTime = 0
                    return .record(record, footprint: footprint)
                }
                if try refreshCommitted() { continue }
                switch segment.sealState() {
                case 0: return nil
                case 2: return try refreshCommitted() ? nil : .endOfStream
                case 1:
                    // The seal came after the last commit: one more look gives the final count.
                    if try refreshCommitted() { continue }
                    if let lost = try nextSegment() { return .overrun(lost: lost) }
                default:
                    throw .corruptRing(reason: "journal segment \(segment.name) has seal state \(segment.sealState())")
                }
            }
        }

        /// How far ahead of the record being read a tailer asks for its
        /// lines: more than the CRC checks during one trip to memory (~100 ns
        /// at ~16 GB/s, 1.6 KB), so that a replay's CRC runs beside the
        /// memory traffic instead of after it, as it did with the hardware
        /// prefetcher alone (results/vm-2026-12-07-crc-joins).
        static let prefetchBytes = 4096

        /// Asks for the lines up to `prefetchBytes` past `offset` not asked
        /// for yet (a line at a time, in this segment's mapping).
        mutating func prefetchAhead() {
            if prefetchedTo < offset { prefetchedTo = offset & ~63 }
            let end = min(offset + Self.prefetchBytes, segment.size)
            while prefetchedTo < end {
                cshim_prefetch(segment.file.base + prefetchedTo)
                prefetchedTo += 64
            }
        }

        /// How often a waiting tailer asks whether the journal was removed,
        /// and the longest it parks at once (a producer that died between
        /// its commit and its wake costs at most this).
        static let removalCheckNs: UInt64 = 50_000_000

        /// The first sequence of the segment being read: when it changes, the
        /// payloads of the segment before last are no longer mapped.
        public var segmentFirstSequence: UInt64 { segment.firstSequence }

        /// Reloads the segment's committed sequence; true when it grew.
        mutating func refreshCommitted() throws(ShmError) -> Bool {
            let committed = try segment.committedSequence()
            guard committed >= cachedCommitted else {
                throw .corruptRing(reason: "journal segment \(segment.name): committed sequence went back from \(cachedCommitted) to \(committed)")
            }
            if committed == cachedCommitted { return false }
            cachedCommitted = committed
            return true
        }

        /// Moves to the segment after a sealed one; the count of records lost
        /// when retention deleted it (then the tailer is at the oldest kept).
        mutating func nextSegment() throws(ShmError) -> UInt64? {
            previousSegment = segment
            prefetchedTo = 0
            if let next = try Self.openSegment(control, first: nextSequence) {
                segment = next
                offset = next.dataOffset
                cachedCommitted = nextSequence
                return nil
            }
            guard control.oldestSequence() > nextSequence else {
                throw .corruptRing(reason: "journal \(directory): segment \(JournalLayout.segmentName(firstSequence: nextSequence)) is missing but retention kept it")
            }
            let (oldest, lost) = try Self.oldestSegment(control, from: nextSequence)
            segment = oldest
            offset = oldest.dataOffset
            nextSequence = oldest.firstSequence
            cachedCommitted = oldest.firstSequence
            return lost
        }

        /// Pauses before a `.park` or `.yield` tailer parks or yields: the 128
        /// the tailer has always used (`.backoff` spins and yields by time,
        /// as everywhere).
        static let spinPausesBeforeParking = 128

        /// Waits for the next record (or overrun, or end of stream) with the
        /// tailer's strategy (`WaitPhases`), parking on the control file's
        /// futex. Throws `timedOut`, `corruptRing`, and `noSuchRegion`
        /// (within about 50 ms) when the journal is removed while it waits
        /// with every committed record read: nothing could ever be appended again.
        @inlinable
        public mutating func read<Result>(timeoutSeconds: Double?, _ body: (Record) throws(ShmError) -> Result) throws(ShmError) -> Read<Result> {
            if let step = try nextStep() { return try deliver(step, body) }
            return try deliver(waitForStep(timeoutSeconds: timeoutSeconds), body)
        }

        /// `read`'s wait: the next step once there is one.
        @usableFromInline
        mutating func waitForStep(timeoutSeconds: Double?) throws(ShmError) -> Step {
            let deadline = try WaitDeadline(timeoutSeconds: timeoutSeconds)
            var phases = WaitPhases(strategy, spinPauses: Self.spinPausesBeforeParking)
            while true {
                if let step = try nextStep() { return step }
                if phases.checksDue {
                    if deadline.hasExpired { throw .timedOut(operation: "journal read", seconds: timeoutSeconds ?? 0) }
                    let now = cshim_monotonic_ns()
                    if now >= removalCheckDue {
                        // Checked after tryRead found nothing: every record
                        // committed before the removal has been delivered.
                        if control.isRemoved() { throw .noSuchRegion(name: directory) }
                        removalCheckDue = now &+ Self.removalCheckNs
                    }
                }
                var found: Step?
                try phases.idle { () throws(ShmError) in
                    let seen = control.wakeValue()
                    control.prepareToSleep()
                    // The re-check looks for the record itself (a tailer's
                    // look changes nothing the producer sees, so it may run
                    // with the flag raised; the caller's closure runs later).
                    if let step = try nextStep() { found = step; return }
                    let left = deadline.remainingNs(now: cshim_monotonic_ns())
                    control.sleep(seen: seen, timeoutNs: min(left, Self.removalCheckNs) | 1)
                }
                if let found { return found }
            }
        }
    }
}
