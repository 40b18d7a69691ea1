import CShim
import ShmRing

/// Ticket lock: a process takes the next ticket and waits until
/// `nowServing` reaches it; the holder's release hands the lock to exactly
/// the next ticket, so the lock is FIFO-fair. `next` sits on the lock line,
/// `nowServing` on its own line, so arrivals taking tickets do not disturb
/// the waiters spinning on `nowServing`.
///
/// Limitation: a process killed while *waiting* with a ticket stalls the lock
/// with no owner to blame; the run's timeout ends that run.
public struct TicketLock: ProcessLock {
    @usableFromInline let next: UnsafeMutablePointer<UInt64>
    @usableFromInline let nowServing: UnsafeMutablePointer<UInt64>
    @usableFromInline let owner: LockOwner

    @inlinable
    public mutating func acquire() throws(HarnessError) {
        // Relaxed: the ticket only numbers arrivals; the acquire load of
        // `nowServing` is what synchronises with the previous holder.
        let ticket = cshim_fetch_add_relaxed(next, 1)
        // Acquire: pairs with the previous holder's release store of `nowServing`.
        if cshim_load_acquire(nowServing) != ticket { try wait(for: ticket) }
        owner.claim()
    }

    @usableFromInline
    mutating func wait(for ticket: UInt64) throws(HarnessError) {
        // No exponential backoff: the next ticket must notice its turn at
        // once, or the whole queue waits for its sleep. SpinWait pauses, then
        // yields (a preempted holder or next-in-line may need this CPU).
        var spin = SpinWait()
        var watch = DeadOwnerWatch()
        var rounds: UInt = 0
        // Acquire, as in `acquire`.
        while cshim_load_acquire(nowServing) != ticket {
            spin.wait()
            rounds &+= 1
            if rounds & 63 == 0 { try watch.check(owner) }
        }
    }

    @inlinable
    public mutating func release() {
        owner.clear()
        // Relaxed read: only the holder writes `nowServing`. Release store:
        // the critical section happens before the next ticket's acquire load.
        cshim_store_release(nowServing, cshim_load_relaxed(nowServing) &+ 1)
    }
}
