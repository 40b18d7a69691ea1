import CShim
#if canImport(Glibc)
import Glibc
#endif

/// A POSIX unnamed semaphore (value 1) in the arena. glibc takes it in user
/// space when it is free and sleeps on a futex otherwise. Nothing undoes a
/// dead holder's wait, so waiters time out every 100 ms and check the owner.
public struct PosixSemaphoreLock: ProcessLock {
    let semaphore: UnsafeMutableRawPointer
    let owner: LockOwner

    public mutating func acquire() throws(HarnessError) {
        while cshim_shared_sem_wait(semaphore, DeadOwnerWatch.boundNs) == -1 {
            switch errno {
            case EINTR: continue
            case ETIMEDOUT: try owner.verifyHolderAlive()
            default: throw .lastErrno("sem_clockwait")
            }
        }
        owner.claim()
    }

    public mutating func release() {
        owner.clear()
        // sem_post has release semantics (POSIX memory synchronisation).
        _ = cshim_shared_sem_post(semaphore)
    }
}
