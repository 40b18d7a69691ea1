import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Drepper's mutex #3 from "Futexes Are Tricky": the futex word is 0
/// (unlocked), 1 (locked, no waiters) or 2 (locked, maybe waiters). An
/// uncontended acquire is one CAS and a release one atomic decrement: no
/// system call unless someone sleeps. A waiter always sets 2 before sleeping,
/// so the holder's release knows to FUTEX_WAKE.
public struct FutexMutex: ProcessLock {
    @usableFromInline let word: UnsafeMutablePointer<UInt32>
    @usableFromInline let owner: LockOwner

    @inlinable
    public mutating func acquire() throws(HarnessError) {
        var c: UInt32 = 0
        // Acquire on success: the previous holder's critical section (published
        // by its release decrement or store) happens before ours.
        if !cshim_cas32_acquire(word, &c, 1) { try acquireContended(seen: c) }
        owner.claim()
    }

    @usableFromInline
    mutating func acquireContended(seen: UInt32) throws(HarnessError) {
        // Acquire: a 0 returned here means we took the lock (as 2, since others may wait).
        var c = seen == 2 ? 2 : cshim_exchange32_acquire(word, 2)
        while c != 0 {
            // Sleeps only while the word is still 2; 100 ms at most, then the
            // holder is checked (futex_wait returns EAGAIN if the word moved).
            if cshim_futex_wait(word, 2, DeadOwnerWatch.boundNs) == -1 {
                switch errno {
                case ETIMEDOUT: try owner.verifyHolderAlive()
                case EAGAIN, EINTR: break
                default: throw .lastErrno("futex(FUTEX_WAIT)")
                }
            }
            // Acquire, as above: seeing 0 means we own the lock.
            c = cshim_exchange32_acquire(word, 2)
        }
    }

    @inlinable
    public mutating func release() {
        owner.clear()
        // Release: publishes the critical section to the next acquirer. The
        // old value 1 means nobody waited: done, in user space.
        if cshim_fetch_sub32_release(word, 1) != 1 {
            // Release again: this plain store starts a new modification, so
            // it must itself carry the critical section to whoever reads 0.
            cshim_store32_release(word, 0)
            _ = cshim_futex_wake(word, 1)
        }
    }
}
