import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The journal's control file, `journal.ctl`: the fixed segment size, the
/// futex word tailers park on, the retention floor, and the byte whose OFD
/// lock says which process is the producer (`RegionWitness`).
final class JournalControl: @unchecked Sendable {
    // @unchecked: immutable fields; shared words are accessed atomically.
    let file: JournalFile
    let directory: String
    let segmentSize: Int
    /// The liveness witness over this file: the producer's claim.
    let witness: RegionWitness

    private init(file: JournalFile, directory: String, segmentSize: Int, witness: RegionWitness) {
        self.file = file
        self.directory = directory
        self.segmentSize = segmentSize
        self.witness = witness
    }

    static func path(_ directory: String) -> String { JournalDirectory.path(directory, JournalLayout.controlFileName) }

    /// Opens the control file of `directory` and validates it.
    static func open(directory: String) throws(ShmError) -> JournalControl {
        let path = path(directory)
        let file = try JournalFile.open(path, writable: true, expectedSize: JournalLayout.controlSize,
                                        sizes: JournalLayout.controlSize...JournalLayout.controlSize)
        let b = UnsafeRawPointer(file.base)
        let magic = b.load(fromByteOffset: JournalLayout.controlMagicOffset, as: UInt64.self)
        guard magic == JournalLayout.controlMagic else { throw .notARing(name: path, magic: magic) }
        let version = b.load(fromByteOffset: JournalLayout.controlVersionOffset, as: UInt32.self)
        guard version == JournalLayout.version else { throw .incompatibleVersion(name: path, found: version, supported: JournalLayout.version) }
        guard b.load(fromByteOffset: JournalLayout.controlCRCOffset, as: UInt32.self) == cshim_crc32c(0, b, JournalLayout.controlCRCOffset) else {
            throw .corruptedHeader(name: path, reason: "control header checksum does not match")
        }
        let size = b.load(fromByteOffset: JournalLayout.controlSegmentSizeOffset, as: UInt64.self)
        guard size >= UInt64(JournalLayout.minimumSegmentSize), size <= UInt64(JournalLayout.maximumSegmentSize), size % UInt64(JournalLayout.pageSize) == 0 else {
            throw .corruptedHeader(name: path, reason: "segment size \(size) is not a multiple of 4096 in 64 KiB...1 GiB")
        }
        let fd = Glibc.open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        let witness = fd >= 0 ? RegionWitness(source: fd, path: path)
                              : RegionWitness(failedCall: "open(\(path)) (liveness witness)", errno: Errno(rawValue: errnoValue()))
        return JournalControl(file: file, directory: directory, segmentSize: Int(size), witness: witness)
    }

    /// Creates the directory (0700) and its control file if they do not
    /// exist, then opens it. Two creators racing: `link` lets one win.
    static func openOrCreate(directory: String, segmentSize: Int) throws(ShmError) -> JournalControl {
        if mkdir(directory, 0o700) != 0, errnoValue() != EEXIST { throw .lastErrno("mkdir(\(directory))") }
        var st = stat()
        guard lstat(directory, &st) == 0 else { throw .lastErrno("lstat(\(directory))") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw .invalidArgument("journal directory '\(directory)' is not a directory (a symlink is refused)") }
        let path = path(directory)
        if access(path, F_OK) != 0 {
            let temporary = path + ".\(getpid()).tmp"
            _ = unlink(temporary)
            let file = try JournalFile.create(temporary, size: JournalLayout.controlSize)
            let b = file.base
            b.storeBytes(of: JournalLayout.controlMagic, toByteOffset: JournalLayout.controlMagicOffset, as: UInt64.self)
            b.storeBytes(of: JournalLayout.version, toByteOffset: JournalLayout.controlVersionOffset, as: UInt32.self)
            b.storeBytes(of: UInt64(segmentSize), toByteOffset: JournalLayout.controlSegmentSizeOffset, as: UInt64.self)
            b.storeBytes(of: cshim_crc32c(0, b, JournalLayout.controlCRCOffset), toByteOffset: JournalLayout.controlCRCOffset, as: UInt32.self)
            let linked = link(temporary, path) == 0 || errnoValue() == EEXIST
            let error = ShmError.lastErrno("link(\(temporary), \(path))")
            _ = unlink(temporary)
            guard linked else { throw error }
        }
        return try open(directory: directory)
    }

    /// The retention floor. Acquire: pairs with the release in `retain`
    /// (a tailer that sees it finds the segments from it on).
    func oldestSequence() -> UInt64 { cshim_load_acquire(file.word(JournalLayout.oldestSequenceOffset)) }

    func setOldestSequence(_ sequence: UInt64) {
        // Release: stored before the segments below it are unlinked.
        cshim_store_release(file.word(JournalLayout.oldestSequenceOffset), sequence)
    }

    var producerPid: Int32 {
        // Relaxed: a label only.
        Int32(truncatingIfNeeded: cshim_load_relaxed(file.word(JournalLayout.producerPidOffset)))
    }

    func setProducerPid(_ pid: Int32) {
        // Relaxed: a label only; the OFD lock decides who the producer is.
        cshim_store_relaxed(file.word(JournalLayout.producerPidOffset), UInt64(UInt32(bitPattern: pid)))
    }

    // MARK: Parking (the Dekker pair of SPSCRing's endpoints, for many sleepers)

    var wakeWord: UnsafeMutablePointer<UInt32> { file.word32(JournalLayout.wakeOffset) }
    var sleepingWord: UnsafeMutablePointer<UInt32> { file.word32(JournalLayout.sleepingOffset) }
    var parksWord: UnsafeMutablePointer<UInt32> { file.word32(JournalLayout.parksOffset) }

    /// A tailer that may park says so once, for the journal's lifetime: the
    /// producer pays the fence below only when some tailer ever parked.
    func announceParking() {
        // Relaxed: a hint; the first park's race is covered by the bounded
        // futex wait (see `park`).
        if cshim_load32_relaxed(parksWord) == 0 { cshim_store32_relaxed(parksWord, 1) }
    }

    /// The producer after a commit: wakes every sleeping tailer, with no
    /// system call when none sleeps.
    @inline(__always)
    func wakeTailers() {
        // Relaxed: a sticky hint (see `announceParking`).
        guard cshim_load32_relaxed(parksWord) != 0 else { return }
        // seq_cst fence: our commit (before) is ordered before our read of
        // `sleeping` (after); pairs with the fence in `park`.
        cshim_fence_seq_cst()
        guard cshim_load32_relaxed(sleepingWord) != 0 else { return }
        wakeAll()
    }

    func wakeAll() {
        // acq_rel: one wake per sleep, ordered with the fence above.
        if cshim_exchange32_acq_rel(sleepingWord, 0) != 0 {
            // Relaxed: the futex call orders it; a sleeper compares the value.
            _ = cshim_fetch_add32_relaxed(wakeWord, 1)
            _ = cshim_futex_wake(wakeWord, Int32.max)
        }
    }

    /// The wake word's value before a tailer's last check.
    func wakeValue() -> UInt32 {
        // Acquire: read before the re-check; a wake after it changes the value
        // and the futex wait returns at once.
        cshim_load32_acquire(wakeWord)
    }

    /// Marks a sleeper and fences: after this, the tailer re-checks the
    /// committed sequence, then sleeps (if the value is still `seen`).
    func prepareToSleep() {
        cshim_store32_relaxed(sleepingWord, 1)
        // seq_cst fence: our flag (before) is ordered before our re-check of
        // the committed sequence (after); pairs with `wakeTailers`.
        cshim_fence_seq_cst()
    }

    /// Whether the control file's name is gone (`rm -r` of the directory, or
    /// another journal renamed over it): no producer can open this journal
    /// again, so a tailer waiting on it would wait forever. One fstat(2): a
    /// waiting tailer asks at most every 50 ms, never on the read path.
    func isRemoved() -> Bool {
        var st = stat()
        guard fstat(file.fd, &st) == 0 else { return false } // undecided: keep waiting
        return st.st_nlink == 0
    }

    /// Sleeps while the wake word is `seen`, at most `timeoutNs` (bounded by
    /// the caller to 50 ms: a producer that died between its commit and its
    /// wake, or the first park's race, costs at most that).
    func sleep(seen: UInt32, timeoutNs: UInt64) {
        _ = cshim_futex_wait(wakeWord, seen, timeoutNs)
    }
}
