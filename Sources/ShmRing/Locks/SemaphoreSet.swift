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
/// By default the creating process removes the set (`IPC_RMID`) on
/// `remove()` or deinit; a forked child or an opener never does on deinit
/// (the pid is checked). A SysV set, unlike a segment, cannot be marked for
/// removal while in use: removal is immediate, and every later operation on
/// it, in any process, fails with `ShmError.semaphoresRemoved` (EIDRM). A
/// structure that decides removal itself (`MPMCSemaphoreQueue`: the last user
/// removes its set) clears `removesOnDeinit`.
///
/// # Timeouts
/// Every timed operation takes an absolute CLOCK_MONOTONIC deadline and
/// recomputes what is left before each retry, so a signal (EINTR) never
/// restarts the full timeout.
public final class SemaphoreSet: @unchecked Sendable {
    public let id: Int32
    /// The IPC key (`SemaphoreSet.privateKey` for IPC_PRIVATE).
    public let key: Int32
    public let count: Int
    /// What the set belongs to, for error messages.
    public let name: String
    private let ownerPid: pid_t?
    private struct State {
        var removed = false
        var removesOnDeinit = true
    }
    private let state = ThreadLock(State())

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

    deinit {
        if state.withLock({ $0.removesOnDeinit }) { remove() }
    }

    /// Whether the creating process removes the set on deinit (default
    /// true). Internal: for structures that decide removal themselves.
    var removesOnDeinit: Bool {
        get { state.withLock { $0.removesOnDeinit } }
        set { state.withLock { $0.removesOnDeinit = newValue } }
    }

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
            // An ftok collision or a stale set holds the key (see ipcs -s).
            if e == .fileExists { throw .alreadyExists(name: name) }
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

    /// Opens a set another process created: waits, up to `timeoutSeconds`
    /// (.infinity: forever), for the set to exist and for its creator's first
    /// semop, and refuses a set owned by an untrusted uid or writable by
    /// group/others (`options.allowedOwners`, `options.allowSharedWrite`).
    public static func open(key: Int32, count: Int, name: String, timeoutSeconds: Double,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> SemaphoreSet {
        let keyText = "0x\(String(UInt32(bitPattern: key), radix: 16))"
        let deadline = try Deadline(seconds: timeoutSeconds, what: "semaphore open timeout")
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
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        guard cshim_semctl_perm(id, &uid, &mode) == 0 else { throw .lastErrno("semctl(\(id), IPC_STAT)") }
        try options.checkOwner(uid: uid, mode: mode, name: "\(name) (semaphore set \(keyText))")
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

    /// Removes the set, in the creating process only. Idempotent and
    /// thread-safe. Other users' later operations fail with
    /// `ShmError.semaphoresRemoved`.
    public func remove() {
        guard let ownerPid, ownerPid == getpid() else { return }
        removeNow()
    }

    /// Removes the set whichever process created it (the last user of a
    /// queue does this). Idempotent and thread-safe.
    func removeNow() {
        let first = state.withLock { s in
            defer { s.removed = true }
            return !s.removed
        }
        if first { _ = cshim_semctl_rmid(id) }
    }

    /// Sets semaphore `index` to `value` (SETVAL). Repair only: SETVAL also
    /// clears every process's undo adjustment of that semaphore.
    func setValue(_ index: UInt16, _ value: Int) throws(ShmError) {
        guard cshim_semctl_setval(id, Int32(index), Int32(value)) == 0 else {
            throw .lastErrno("semctl(semaphores of \(name), SETVAL \(index) = \(value))")
        }
    }

    /// The current value of semaphore `index` (GETVAL: one system call).
    @inlinable
    public func value(_ index: UInt16) throws(ShmError) -> Int {
        let v = cshim_semctl_getval(id, Int32(index))
        guard v >= 0 else {
            let e = errnoValue()
            if e == EIDRM || e == EINVAL { throw .semaphoresRemoved(name: name) }
            throw .systemCall(call: "semctl(semaphores of \(name), GETVAL \(index))", errno: Errno(rawValue: e))
        }
        return Int(v)
    }

    /// What became of an `apply`.
    public enum Outcome: Sendable, Equatable {
        case done
        /// EAGAIN: an IPC_NOWAIT operation could not proceed, or the timeout passed.
        case unavailable
    }

    /// Applies up to four operations atomically (all or none) with one
    /// semop. An operation without `noWait` may sleep until `deadlineNs`, an
    /// absolute `cshim_monotonic_ns()` time (`UInt64.max`: no limit); the
    /// wait is semtimedop with what is left, recomputed after a signal
    /// (EINTR), so signals never extend it. A zero delta is dropped: semop
    /// would read it as wait-for-zero; `SemaphoreOperation.waitForZero` is
    /// the explicit form.
    @inlinable
    public func apply(_ a: SemaphoreOperation, _ b: SemaphoreOperation = .none, _ c: SemaphoreOperation = .none,
                      _ d: SemaphoreOperation = .none, deadlineNs: UInt64 = .max) throws(ShmError) -> Outcome {
        var ops = (cshim_sembuf(), cshim_sembuf(), cshim_sembuf(), cshim_sembuf())
        // The real operations, compacted to the front.
        var n: UInt32 = 0
        withUnsafeMutableBytes(of: &ops) { raw in
            let list = raw.bindMemory(to: cshim_sembuf.self)
            // Written out, not looped over an array: no allocation here.
            if !a.isNothing { list[Int(n)] = a.raw; n &+= 1 }
            if !b.isNothing { list[Int(n)] = b.raw; n &+= 1 }
            if !c.isNothing { list[Int(n)] = c.raw; n &+= 1 }
            if !d.isNothing { list[Int(n)] = d.raw; n &+= 1 }
        }
        guard n > 0 else { return .done }
        while true {
            var timeoutNs: UInt64 = 0 // 0: no limit
            if deadlineNs != .max {
                let now = cshim_monotonic_ns()
                // Past the deadline, one nanosecond: an attempt that does not sleep.
                timeoutNs = deadlineNs > now ? deadlineNs - now : 1
            }
            let r = withUnsafeBytes(of: &ops) { raw in
                cshim_semop(id, raw.baseAddress!.assumingMemoryBound(to: cshim_sembuf.self), n, timeoutNs)
            }
            if r == 0 { return .done }
            let e = errnoValue()
            if e == EINTR {
                if deadlineNs != .max, cshim_monotonic_ns() >= deadlineNs { return .unavailable }
                continue
            }
            if e == EAGAIN { return .unavailable }
            if e == EIDRM || e == EINVAL { throw .semaphoresRemoved(name: name) }
            throw .systemCall(call: "semop(semaphores of \(name), id \(id))", errno: Errno(rawValue: e))
        }
    }
}

/// One operation of a semop: add `delta` to semaphore `index`; a negative
/// delta waits until the value allows it unless `noWait` is set. A zero
/// delta is "nothing" and dropped by `apply`, except in `waitForZero`.
@frozen
public struct SemaphoreOperation: Sendable {
    public var raw: cshim_sembuf
    /// Keep a zero delta (semop's wait-for-zero) instead of dropping it.
    @usableFromInline var waitsForZero: Bool

    @inlinable
    public init(index: UInt16, delta: Int16, noWait: Bool = false, undo: Bool = false) {
        raw = cshim_sembuf(num: index, op: delta,
                           flags: Int16((noWait ? cshim_IPC_NOWAIT : 0) | (undo ? cshim_SEM_UNDO : 0)))
        waitsForZero = false
    }

    /// Succeeds only while semaphore `index` is 0 (with `noWait`, fails at once otherwise).
    @inlinable
    public static func waitForZero(_ index: UInt16, noWait: Bool = true) -> SemaphoreOperation {
        var op = SemaphoreOperation(index: index, delta: 0, noWait: noWait)
        op.waitsForZero = true
        return op
    }

    @inlinable
    var isNothing: Bool { raw.op == 0 && !waitsForZero }

    /// No operation (dropped by `apply`).
    @inlinable
    public static var none: SemaphoreOperation { SemaphoreOperation(index: 0, delta: 0) }
}
