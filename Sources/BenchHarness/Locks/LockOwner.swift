import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The arena's owner-pid word, for locks that cannot be recovered when their
/// holder dies (futex, spin, ticket, POSIX semaphore). The holder writes its
/// pid right after acquiring and clears the word right before releasing, so
/// a non-zero word names the process inside the critical section.
///
/// A waiter that has waited `DeadOwnerWatch.boundNs` checks that process:
/// only when `kill(pid, 0)` says ESRCH (it exited *and* was reaped) *and* the
/// word still holds that pid afterwards did the holder die holding the lock.
/// A live holder that is merely preempted, or a zombie not yet reaped, passes
/// the check; a holder that released and then exited cleared the word first,
/// so the re-read sees 0 or the next holder's pid. No false failures under
/// contention, at the price of noticing a death only after the bound plus
/// the parent's reaping.
@usableFromInline
struct LockOwner {
    @usableFromInline let word: UnsafeMutablePointer<UInt64>
    @usableFromInline let pid: UInt64

    init(word: UnsafeMutablePointer<UInt64>) {
        self.word = word
        self.pid = UInt64(UInt32(bitPattern: getpid()))
    }

    /// Relaxed: the word is a hint for waiters' slow path, never data; the
    /// acquire that precedes this store and the release that follows the
    /// matching `clear` keep it inside the critical section.
    @inlinable func claim() { cshim_store_relaxed(word, pid) }

    /// Relaxed: the lock's release store that follows orders this clear
    /// before the next holder's `claim`.
    @inlinable func clear() { cshim_store_relaxed(word, 0) }

    /// Throws `lockOwnerDied` when the recorded holder no longer exists.
    func verifyHolderAlive() throws(HarnessError) {
        // Acquire: if the holder released, its clear is seen together with
        // everything before its release.
        let holder = cshim_load_acquire(word)
        guard holder != 0, holder <= UInt64(Int32.max), cshim_process_gone(Int32(holder)) != 0 else { return }
        // seq_cst fence: the re-read below must not be satisfied earlier than
        // the kill(2) that found the process gone; a clear it made before
        // exiting is then visible and rules the death out.
        cshim_fence_seq_cst()
        if cshim_load_acquire(word) == holder { throw .lockOwnerDied(pid: Int32(holder)) }
    }
}

/// Times a waiter's slow path: after each `boundNs` of waiting it checks the
/// holder (see `LockOwner`). Reads the clock only when asked, which waiters
/// do once per backoff round or futex timeout, never on the fast path.
@usableFromInline
struct DeadOwnerWatch {
    /// 100 ms: far above any critical section here, short enough that a
    /// dead holder fails the run promptly.
    @usableFromInline static let boundNs: UInt64 = 100_000_000
    @usableFromInline var since: UInt64 = 0

    @usableFromInline init() {}

    @usableFromInline
    mutating func check(_ owner: LockOwner) throws(HarnessError) {
        let now = cshim_monotonic_ns()
        if since == 0 { since = now; return }
        guard now &- since >= Self.boundNs else { return }
        since = now
        try owner.verifyHolderAlive()
    }
}

/// Exponential backoff for spinning waiters: 1, 2, 4 ... 1024 `pause`s, then
/// `sched_yield` on every round, because a waiter that spins that long is
/// probably keeping a preempted holder off its CPU (more processes than CPUs).
@usableFromInline
struct ExponentialBackoff {
    @usableFromInline static let maximumPauses = 1024
    @usableFromInline var pauses = 1

    @usableFromInline init() {}

    @inlinable
    mutating func pause() {
        for _ in 0..<pauses { cshim_cpu_pause() }
        if pauses < Self.maximumPauses { pauses &<<= 1 } else { sched_yield() }
    }
}
