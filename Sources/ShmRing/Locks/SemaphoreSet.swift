import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A System V semaphore set, created race-free and removed by its creator.
///
/// # Creation protocol (Stevens, UNP vol. 2 §11.2; Beej's guide to IPC)
/// `semget` creates a set with every value 0 and `semctl(SETVAL)` is a
/// separate call, so a process that opens the set between the two would see
/// an uninitialised set. The kernel offers one witness that initialisation is
/// complete: `sem_otime`, the time of the last `semop`, is 0 until the first
/// one. Hence:
/// 1. the creator calls `semget(IPC_CREAT | IPC_EXCL)` (exactly one process
///    wins the key), then sets every initial value with ONE `semop` (atomic,
///    and it makes `sem_otime` non-zero);
/// 2. an opener calls `semget(key, 0, 0)`, then polls `IPC_STAT` until
///    `sem_otime` is non-zero, up to a deadline, after which it reports
///    `ShmError.semaphoresNotReady` (the creator died mid-way, or a stale set
///    holds the key).
/// The initial values must fit a `semop` delta (at most 32767, SEMVMX).
///
/// # Ownership
/// The creating process removes the set (`IPC_RMID`) on `remove()` or deinit;
/// a forked child or an opener never does (the pid is checked). A SysV set,
/// unlike a segment, cannot be marked for removal while in use, so
/// IPC_PRIVATE sets too are removed only by their creator: register
/// `remove()` with whatever cleans up after the creator.
public final class SemaphoreSet: @unchecked Sendable {
    public let id: Int32
    /// The IPC key (`SemaphoreSet.privateKey` for IPC_PRIVATE).
    public let key: Int32
    public let count: Int
    /// What the set belongs to, for error messages.
    public let name: String
    private let ownerPid: pid_t?
    private var removed = false

    public static var privateKey: Int32 { cshim_IPC_PRIVATE }
    /// ftok's project id for semaphore sets: differs from `SharedRegion`'s
    /// ('R'), so a region and its set derive different keys from one file.
    public static let projectID: Int32 = 0x53 // 'S'
    /// Largest value a semaphore (and a single semop delta) may hold: SEMVMX.
    public static let maximumValue = 32767

    init(id: Int32, key: Int32, count: Int, name: String, owner: Bool) {
        self.id = id
        self.key = key
        self.count = count
        self.name = name
        self.ownerPid = owner ? getpid() : nil
    }

    deinit { remove() }

    /// The key `ftok` derives from `path` with the semaphore project id.
    public static func key(forFile path: String) throws(ShmError) -> Int32 {
        let key = cshim_ftok(path, projectID)
        guard key != -1 else { throw .lastErrno("ftok(\(path), 'S')") }
        return key
    }

    /// Creates a set exclusively and initialises it with one semop.
    public static func create(key: Int32, initialValues: [Int], name: String,
                              permissions: FilePermissions = [.ownerReadWrite]) throws(ShmError) -> SemaphoreSet {
        guard !initialValues.isEmpty, initialValues.count <= 8,
              initialValues.allSatisfy({ (0...maximumValue).contains($0) }) else {
            throw .invalidArgument("a semaphore set needs 1 to 8 initial values in 0...\(maximumValue), got \(initialValues)")
        }
        let id = cshim_semget(key, Int32(initialValues.count), cshim_IPC_CREAT | cshim_IPC_EXCL | Int32(permissions.rawValue))
        guard id >= 0 else {
            let e = Errno(rawValue: errnoValue())
            if e == .fileExists {
                throw .invalidArgument("SysV key 0x\(String(UInt32(bitPattern: key), radix: 16)) for the semaphores of '\(name)' is already in use (ftok collision or a stale set: see ipcs -s)")
            }
            throw .systemCall(call: "semget(key 0x\(String(UInt32(bitPattern: key), radix: 16)), \(initialValues.count), IPC_CREAT|IPC_EXCL)", errno: e)
        }
        let set = SemaphoreSet(id: id, key: key, count: initialValues.count, name: name, owner: true)
        // One semop sets every non-zero value atomically and stamps sem_otime,
        // which is what openers wait for. A set of all zeros still needs an
        // operation to stamp it: a wait-for-zero on semaphore 0 succeeds at once.
        var ops = initialValues.enumerated().filter { $0.element > 0 }.map {
            cshim_sembuf(num: UInt16($0.offset), op: Int16($0.element), flags: 0)
        }
        if ops.isEmpty { ops = [cshim_sembuf(num: 0, op: 0, flags: Int16(cshim_IPC_NOWAIT))] }
        guard cshim_semop(id, ops, UInt32(ops.count), 0) == 0 else {
            let error = ShmError.lastErrno("semop(semaphores of \(name), initialise)")
            set.remove()
            throw error
        }
        return set
    }

    /// Opens a set another process created: waits, up to `timeoutSeconds`,
    /// for the set to exist and for its creator's first semop.
    public static func open(key: Int32, count: Int, name: String, timeoutSeconds: Double) throws(ShmError) -> SemaphoreSet {
        let keyText = "0x\(String(UInt32(bitPattern: key), radix: 16))"
        let deadline = Deadline(seconds: timeoutSeconds)
        var id: Int32
        while true {
            id = cshim_semget(key, 0, 0)
            if id >= 0 { break }
            let e = Errno(rawValue: errnoValue())
            if e == .noSuchFileOrDirectory, !deadline.expired { Deadline.pause(); continue }
            switch e {
            case .noSuchFileOrDirectory: throw .noSuchRegion(name: name)
            case .permissionDenied: throw .permissionDenied(name: name)
            default: throw .systemCall(call: "semget(key \(keyText))", errno: e)
            }
        }
        while true {
            var otime: Int64 = 0
            var nsems: UInt64 = 0
            guard cshim_semctl_stat(id, &otime, &nsems) == 0 else { throw .lastErrno("semctl(\(id), IPC_STAT)") }
            guard nsems == UInt64(count) else {
                throw .corruptedHeader(name: name, reason: "semaphore set \(keyText) has \(nsems) semaphores, expected \(count)")
            }
            if otime != 0 { break }
            if deadline.expired { throw .semaphoresNotReady(name: name, key: key, waitedSeconds: timeoutSeconds) }
            Deadline.pause()
        }
        return SemaphoreSet(id: id, key: key, count: count, name: name, owner: false)
    }

    /// Removes the set, in the creating process only. Idempotent.
    public func remove() {
        guard !removed, let ownerPid, ownerPid == getpid() else { return }
        removed = true
        _ = cshim_semctl_rmid(id)
    }

    /// The current value of semaphore `index` (GETVAL: one system call).
    @inlinable
    public func value(_ index: UInt16) throws(ShmError) -> Int {
        let v = cshim_semctl_getval(id, Int32(index))
        guard v >= 0 else { throw .lastErrno("semctl(semaphores of \(name), GETVAL \(index))") }
        return Int(v)
    }

    /// What became of an `apply`.
    public enum Outcome: Sendable, Equatable {
        case done
        /// EAGAIN: an IPC_NOWAIT operation could not proceed, or the timeout passed.
        case unavailable
    }

    /// Applies up to three operations atomically (all or none) with one
    /// semop, or semtimedop when `timeoutNs` is non-zero. A zero delta is
    /// dropped: semop would read it as wait-for-zero, which no caller means.
    /// EINTR (a signal such as SIGCONT) retries with the same timeout.
    @inlinable
    public func apply(_ a: SemaphoreOperation, _ b: SemaphoreOperation = .none, _ c: SemaphoreOperation = .none,
                      timeoutNs: UInt64 = 0) throws(ShmError) -> Outcome {
        var ops = (a.raw, b.raw, c.raw)
        // Compact the non-zero operations to the front.
        var n: UInt32 = 0
        withUnsafeMutableBytes(of: &ops) { raw in
            let list = raw.bindMemory(to: cshim_sembuf.self)
            for i in 0..<3 where list[i].op != 0 {
                list[Int(n)] = list[i]
                n &+= 1
            }
        }
        guard n > 0 else { return .done }
        while true {
            let r = withUnsafeBytes(of: &ops) { raw in
                cshim_semop(id, raw.baseAddress!.assumingMemoryBound(to: cshim_sembuf.self), n, timeoutNs)
            }
            if r == 0 { return .done }
            let e = errnoValue()
            if e == EINTR { continue }
            if e == EAGAIN { return .unavailable }
            throw .systemCall(call: "semop(semaphores of \(name), id \(id))", errno: Errno(rawValue: e))
        }
    }
}

/// One operation of a semop: add `delta` to semaphore `index`; a negative
/// delta waits until the value allows it unless `IPC_NOWAIT` is among `flags`.
@frozen
public struct SemaphoreOperation: Sendable {
    public var raw: cshim_sembuf

    @inlinable
    public init(index: UInt16, delta: Int16, noWait: Bool = false, undo: Bool = false) {
        raw = cshim_sembuf(num: index, op: delta,
                           flags: Int16((noWait ? cshim_IPC_NOWAIT : 0) | (undo ? cshim_SEM_UNDO : 0)))
    }

    /// No operation (dropped by `apply`).
    public static var none: SemaphoreOperation { SemaphoreOperation(index: 0, delta: 0) }
}
