import CShim
#if canImport(Glibc)
import Glibc
#endif

/// A process-shared robust pthread mutex in the arena. When a holder dies,
/// the kernel (through the robust list glibc registers) marks the mutex and
/// the next locker gets EOWNERDEAD while holding it. The data it protects
/// is consistent at that point (the fault injection kills a holder only
/// after its critical section's writes), so it calls
/// pthread_mutex_consistent and carries on.
public struct RobustMutexLock: ProcessLock {
    let mutex: UnsafeMutableRawPointer
    public private(set) var ownerDeathsRecovered = 0

    public mutating func acquire() throws(HarnessError) {
        let r = cshim_robust_mutex_lock(mutex)
        if r == 0 { return }
        guard r == EOWNERDEAD else { throw .systemCall(call: "pthread_mutex_lock", errno: .init(rawValue: r)) }
        let c = cshim_robust_mutex_consistent(mutex)
        guard c == 0 else { throw .systemCall(call: "pthread_mutex_consistent", errno: .init(rawValue: c)) }
        ownerDeathsRecovered += 1
    }

    public mutating func release() {
        _ = cshim_robust_mutex_unlock(mutex)
    }
}
