import CShim
import Foundation
import ShmRing

/// What the processes of one lock-engine repetition share: the lock arena
/// (an anonymous `SharedRegion` laid out as `LockArenaLayout`, inherited
/// through fork) and, for the kernel's locks, the SysV semaphore set or the
/// lock file. The parent creates everything before forking and registers each
/// object's removal with the repetition's `CleanupRegistry` right away;
/// children build their own handle with `withLock`.
public final class LockArena: @unchecked Sendable {
    public let kind: LockKind
    let region: SharedRegion
    let semid: Int32
    let lockFilePath: String?

    public init(kind: LockKind, cleanup: CleanupRegistry) throws(HarnessError) {
        self.kind = kind
        do {
            region = try SharedRegion.create(backing: .anon, name: "lock arena", size: LockArenaLayout.regionSize)
        } catch { throw .shm(error) }
        cleanup.retain("lock arena", region)
        RegionHeader(kind: .lockArena, totalSize: region.size, capacity: 1, slotSize: 0).write(to: region)
        var semid: Int32 = -1
        var lockFilePath: String?
        let native = region.base + LockArenaLayout.nativeLockOffset
        switch kind {
        case .sysvSem:
            semid = try Self.createSemaphore(cleanup: cleanup)
        case .fcntl, .flock:
            lockFilePath = try Self.createLockFile(cleanup: cleanup)
        case .pthreadMutex:
            // glibc's process-shared mutex holds no kernel object: unmapping
            // the arena ends it, so there is nothing to register.
            let r = cshim_robust_mutex_init(native)
            guard r == 0 else { throw .systemCall(call: "pthread_mutex_init(PROCESS_SHARED, ROBUST)", errno: .init(rawValue: r)) }
        case .posixSem:
            // Likewise for an unnamed semaphore: sem_destroy is a no-op in glibc.
            guard cshim_shared_sem_init(native, 1) == 0 else { throw .lastErrno("sem_init(pshared 1, value 1)") }
        case .futex, .tas, .ttas, .ticket, .none:
            break // zero-filled words are the unlocked state
        }
        self.semid = semid
        self.lockFilePath = lockFilePath
        RegionHeader.publishReady(region)
    }

    /// A private SysV set of one semaphore with value 1, mode 0600.
    static func createSemaphore(cleanup: CleanupRegistry) throws(HarnessError) -> Int32 {
        let semid = cshim_semget(cshim_IPC_PRIVATE, 1, cshim_IPC_CREAT | cshim_IPC_EXCL | 0o600)
        guard semid >= 0 else { throw .lastErrno("semget(IPC_PRIVATE, 1 semaphore)") }
        cleanup.register("SysV semaphore set \(semid)") { _ = cshim_semctl_rmid(semid) }
        guard cshim_semctl_setval(semid, 0, 1) == 0 else { throw .lastErrno("semctl(\(semid), SETVAL 1)") }
        return semid
    }

    /// An empty lock file, mode 0600, in a fresh private directory (mkdtemp,
    /// mode 0700) under $TMPDIR or /tmp, so no other user can swap it for a
    /// link or hold its lock.
    static func createLockFile(cleanup: CleanupRegistry) throws(HarnessError) -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/ringbench-locks-XXXXXX".utf8CString)
        guard cshim_mkdtemp(&template) == 0 else { throw .lastErrno("mkdtemp(\(base)/ringbench-locks-XXXXXX)") }
        let directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        cleanup.register("lock directory \(directory)") { _ = rmdir(directory) }
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .lastErrno("open(\(path), O_CREAT|O_EXCL)") }
        cleanup.register("lock file \(path)") { _ = unlink(path) }
        _ = close(fd)
        return path
    }

    // MARK: Words of the arena

    func word64(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    var lockWord32: UnsafeMutablePointer<UInt32> {
        (region.base + LockArenaLayout.lockWordOffset).assumingMemoryBound(to: UInt32.self)
    }

    var protectedCounterWord: UnsafeMutablePointer<UInt64> { word64(LockArenaLayout.protectedCounterOffset) }
    var sharedData: UnsafeMutablePointer<UInt64> { word64(LockArenaLayout.sharedDataOffset) }

    /// Read by the parent after every child is gone (waitpid orders it).
    public var protectedCounter: UInt64 { cshim_load_relaxed(protectedCounterWord) }

    // MARK: Fault injection

    /// Victim side: publishes its count and pid, then that it holds the lock.
    func announceVictimHolding(acquisitions: UInt64) {
        cshim_store_relaxed(word64(LockArenaLayout.victimAcquisitionsOffset), acquisitions)
        cshim_store_relaxed(word64(LockArenaLayout.victimPidOffset), UInt64(UInt32(bitPattern: getpid())))
        // Release: the two stores above are visible to whoever sees the flag.
        cshim_store_release(word64(LockArenaLayout.victimHoldingOffset), 1)
    }

    /// Parent side: whether the victim holds the lock and waits to be killed.
    /// Acquire pairs with the release in `announceVictimHolding`.
    public var victimHolding: Bool { cshim_load_acquire(word64(LockArenaLayout.victimHoldingOffset)) == 1 }

    /// The victim's acquisitions and pid; valid once `victimHolding` is true.
    /// Bounded like any value read from shared memory.
    public var victim: (acquisitions: UInt64, pid: Int32)? {
        guard victimHolding else { return nil }
        // Relaxed: the acquire load in `victimHolding` above orders these after the victim's writes.
        let pid = cshim_load_relaxed(word64(LockArenaLayout.victimPidOffset))
        guard pid > 0, pid <= UInt64(Int32.max) else { return nil }
        return (cshim_load_relaxed(word64(LockArenaLayout.victimAcquisitionsOffset)), Int32(pid))
    }

    // MARK: Child side

    /// Builds this process's handle on the lock and hands it to `visitor`:
    /// the one switch over the kinds, outside the measured loop.
    public func withLock<V: LockVisitor>(_ visitor: V) throws(HarnessError) -> V.Output {
        let owner = LockOwner(word: word64(LockArenaLayout.ownerPidOffset))
        let native = region.base + LockArenaLayout.nativeLockOffset
        switch kind {
        case .sysvSem:
            var lock = SysVSemaphoreLock(semid: semid)
            return try visitor.visit(&lock)
        case .fcntl:
            return try withLockFile { fd throws(HarnessError) in
                var lock = FileLock<FcntlCall>(fd: fd)
                return try visitor.visit(&lock)
            }
        case .flock:
            return try withLockFile { fd throws(HarnessError) in
                var lock = FileLock<FlockCall>(fd: fd)
                return try visitor.visit(&lock)
            }
        case .posixSem:
            var lock = PosixSemaphoreLock(semaphore: native, owner: owner)
            return try visitor.visit(&lock)
        case .pthreadMutex:
            var lock = RobustMutexLock(mutex: native)
            return try visitor.visit(&lock)
        case .futex:
            var lock = FutexMutex(word: lockWord32, owner: owner)
            return try visitor.visit(&lock)
        case .tas:
            var lock = TASLock(word: lockWord32, owner: owner)
            return try visitor.visit(&lock)
        case .ttas:
            var lock = TTASLock(word: lockWord32, owner: owner)
            return try visitor.visit(&lock)
        case .ticket:
            var lock = TicketLock(next: word64(LockArenaLayout.lockWordOffset),
                                  nowServing: word64(LockArenaLayout.nowServingOffset), owner: owner)
            return try visitor.visit(&lock)
        case .none:
            var lock = NoLock()
            return try visitor.visit(&lock)
        }
    }

    /// Opens the lock file in this process: flock locks belong to the open
    /// file description, which a descriptor inherited through fork would share.
    func withLockFile<R>(_ body: (Int32) throws(HarnessError) -> R) throws(HarnessError) -> R {
        guard let lockFilePath else { throw .invalidScenario("lock \(kind.rawValue) has no lock file") }
        let fd = open(lockFilePath, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .lastErrno("open(\(lockFilePath))") }
        defer { _ = close(fd) }
        return try body(fd)
    }
}
