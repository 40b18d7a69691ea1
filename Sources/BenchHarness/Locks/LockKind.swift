/// Every lock `ringbench locks --lock KIND` measures.
public enum LockKind: String, Sendable, CaseIterable, Codable {
    /// A SysV semaphore: semop -1 / +1 with SEM_UNDO.
    case sysvSem = "sysv-sem"
    /// fcntl F_SETLKW write lock on the whole of a lock file.
    case fcntl
    /// flock LOCK_EX on a lock file (each process opens it itself).
    case flock
    /// A POSIX unnamed semaphore (sem_init, pshared = 1) in the arena.
    case posixSem = "posix-sem"
    /// A PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST mutex in the arena.
    case pthreadMutex = "pthread-mutex"
    /// Drepper's three-state futex mutex ("Futexes Are Tricky", mutex #3).
    case futex
    /// Test-and-set spinlock with exponential backoff.
    case tas
    /// Test-and-test-and-set spinlock with exponential backoff.
    case ttas
    /// Ticket lock: FIFO hand-off by ticket number.
    case ticket
    /// No lock at all: the control that shows the exclusion check catching
    /// lost updates (and what the loop costs without a lock).
    case none

    /// What `--lock all` runs: every real lock.
    public static var measured: [LockKind] { allCases.filter { $0 != .none } }

    /// How the lock survives a holder that dies: the mechanism that frees it,
    /// or nil when it cannot be freed and waiters must detect the dead owner.
    public var recovery: String? {
        switch self {
        case .sysvSem: "SEM_UNDO: the kernel undid the dead holder's semop"
        case .fcntl, .flock: "the kernel dropped the dead holder's lock when its descriptors closed"
        case .pthreadMutex: "EOWNERDEAD: the next locker made the robust mutex consistent"
        case .posixSem, .futex, .tas, .ttas, .ticket, .none: nil
        }
    }

    /// Whether a dead holder's pid is kept in the arena for waiters to check.
    public var tracksOwner: Bool {
        switch self {
        case .posixSem, .futex, .tas, .ttas, .ticket: true
        case .sysvSem, .fcntl, .flock, .pthreadMutex, .none: false
        }
    }

    public static func named(_ name: String) throws(HarnessError) -> LockKind {
        guard let kind = LockKind(rawValue: name) else {
            throw .invalidScenario("unknown lock '\(name)'; choose one of: \(allCases.map(\.rawValue).joined(separator: ", ")), all")
        }
        return kind
    }
}
