/// An append-only log of records in a directory of memory-mapped segment
/// files: one producer at a time (`Journal.Producer`), any number of
/// independent readers (`Journal.Tailer`) that replay history and follow the
/// live tail. After Chronicle Queue's roll cycles and tailers and Kafka's
/// log segments; the record format and the reserve/commit producer are the
/// record ring's.
///
/// * Segments are files of a fixed size (`segmentSize`, chosen when the
///   journal is created) named by their first sequence; a full one is
///   sealed and the next one created (rolled). Every record carries its
///   sequence, a wall-clock timestamp, its length and a CRC32C; each segment
///   has a sparse index (an entry per 64 KiB of records) for O(log n) seeks.
/// * The producer's claim is an OFD lock on the control file (the liveness
///   witness): a second producer is refused, a killed one's journal can be
///   reopened at once, and opening recovers it (see `Producer.init`).
/// * Retention deletes whole old segments; a tailer still reading one keeps
///   its mapping, and a tailer that falls behind gets `overrun(lost:)`.
///
/// Layout and memory orders: docs/design.md, "Journal".
public enum Journal {
    /// When committed records are on stable storage.
    public enum Durability: Sendable, Equatable {
        /// In the page cache: a killed producer loses nothing committed; a
        /// machine crash may lose what the kernel had not written back.
        case processCrash
        /// fdatasync at a commit when `milliseconds` passed since the last one.
        case interval(milliseconds: Int)
        /// fdatasync at every commit: a commit returns once its records are on disk.
        case everyCommit
    }

    /// What the producer deletes when it rolls to a new segment (and when it
    /// opens the journal): whole segments, oldest first, never the one being written.
    public struct Retention: Sendable, Equatable {
        /// Keep at most this many bytes of segment files (nil: no limit).
        public var maximumBytes: Int?
        /// Delete segments whose every record is older than this (nil: no limit).
        public var maximumAgeSeconds: Double?

        public init(maximumBytes: Int? = nil, maximumAgeSeconds: Double? = nil) {
            self.maximumBytes = maximumBytes
            self.maximumAgeSeconds = maximumAgeSeconds
        }

        public static let keepEverything = Retention()
    }

    /// Where a tailer starts.
    public enum Start: Sendable, Equatable {
        /// The oldest record retention kept.
        case oldest
        /// The next record committed after the tailer opens.
        case latest
        /// The record with this sequence (or the oldest, with an overrun
        /// first, if retention deleted it; or when it is committed, if later).
        case sequence(UInt64)
        /// The first record whose timestamp is at or after this many
        /// nanoseconds since the epoch.
        case time(nanosecondsSinceEpoch: UInt64)
    }

    /// One record, seen in place during a tailer's closure.
    public struct Record {
        public let sequence: UInt64
        /// Wall-clock nanoseconds since the epoch when it was reserved
        /// (never less than the previous record's).
        public let timestamp: UInt64
        /// The payload, valid only during the closure.
        public let payload: UnsafeRawBufferPointer
    }

    /// What a tailer's read gives.
    public enum Read<Result> {
        /// The next record; the closure's result.
        case record(Result)
        /// Retention deleted `lost` records before this tailer read them; it
        /// continues at the oldest record kept.
        case overrun(lost: UInt64)
        /// The producer closed the journal and every record was read (a new
        /// producer may append more later).
        case endOfStream
    }

    /// Options of a producer.
    public struct ProducerOptions: Sendable {
        /// Bytes per segment file (default 64 MiB), a multiple of 4096 in 64 KiB...1 GiB. Used
        /// only when this producer creates the journal; later opens keep it.
        public var segmentSize: Int
        public var durability: Durability
        public var retention: Retention

        public init(segmentSize: Int = 64 << 20, durability: Durability = .processCrash,
                    retention: Retention = .keepEverything) {
            self.segmentSize = segmentSize
            self.durability = durability
            self.retention = retention
        }
    }

    /// Opens (creating if needed) the journal in `directory` and claims its
    /// producer role. Throws `endpointTaken` while another live producer
    /// holds it, `outOfSpace`, corruption errors.
    public static func producer(directory: String, options: ProducerOptions = ProducerOptions()) throws(ShmError) -> Producer {
        guard options.segmentSize >= JournalLayout.minimumSegmentSize, options.segmentSize <= JournalLayout.maximumSegmentSize,
              options.segmentSize % JournalLayout.pageSize == 0 else {
            throw .invalidArgument("journal segment size must be a multiple of 4096 between 64 KiB and 1 GiB, got \(options.segmentSize)")
        }
        if case .interval(let ms) = options.durability, ms < 1 {
            throw .invalidArgument("journal sync interval must be at least 1 ms, got \(ms)")
        }
        if let bytes = options.retention.maximumBytes, bytes < 1 { throw .invalidArgument("journal retention bytes must be positive") }
        if let age = options.retention.maximumAgeSeconds, !(age >= 0) { throw .invalidArgument("journal retention age must be at least 0 s") }
        let control = try JournalControl.openOrCreate(directory: directory, segmentSize: options.segmentSize)
        return try Producer(control: control, options: options)
    }

    /// Opens a tailer of the journal in `directory` at `start`. `wait`: how
    /// the blocking `read` waits (spin, yield, or park on a futex).
    /// `verifyChecksums`: check every record's CRC32C as it is read (a
    /// mismatch is `corruptRing`); off, only the framing is checked.
    public static func tailer(directory: String, from start: Start, wait: WaitStrategy = .park,
                              verifyChecksums: Bool = true) throws(ShmError) -> Tailer {
        try Tailer(control: JournalControl.open(directory: directory), start: start, wait: wait, verifyChecksums: verifyChecksums)
    }

    /// Deletes segments as `retention` says, as a producer would: claims
    /// the producer role for the call (so it fails while a producer runs).
    /// Returns the number of segment files deleted.
    public static func trim(directory: String, retention: Retention) throws(ShmError) -> Int {
        _ = try JournalControl.open(directory: directory)
        var options = ProducerOptions()
        options.retention = retention
        let producer = try Journal.producer(directory: directory, options: options)
        return producer.deletedAtOpen
    }
}
