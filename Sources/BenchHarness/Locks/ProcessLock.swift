/// One process's handle on a lock shared between processes. The lock
/// engine's worker loop (`LockWorkerLoop`) is generic over this protocol and
/// specialised for each concrete lock, so no existential sits on the hot path.
///
/// `acquire` blocks until this process holds the lock. It throws only when
/// waiting on would be wrong: a system call failed, or the holder died in a
/// way the lock cannot recover from (`HarnessError.lockOwnerDied`).
/// `release` may only be called by the holder.
public protocol ProcessLock {
    mutating func acquire() throws(HarnessError)
    mutating func release()
    /// Times this process took the lock over from a holder that died
    /// (EOWNERDEAD); 0 for locks that cannot tell.
    var ownerDeathsRecovered: Int { get }
}

extension ProcessLock {
    public var ownerDeathsRecovered: Int { 0 }
}

/// Code that runs with one concrete lock (the worker loop), so that the
/// switch over `LockKind` happens once, outside the loop.
public protocol LockVisitor {
    associatedtype Output
    func visit<Lock: ProcessLock>(_ lock: inout Lock) throws(HarnessError) -> Output
}
