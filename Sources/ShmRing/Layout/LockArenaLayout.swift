import CShim

/// The lock arena (`StructureKind.lockArena`): one lock of the lock engine,
/// the data it protects, and the fault-injection hand-shake, after the usual
/// 128-byte `RegionLayout` header. Every group sits on its own 128-byte block
/// (`RegionLayout.hotLineSeparation`), so traffic on one never invalidates
/// another, adjacent-line prefetch included:
///
/// | offset | size | field              | who writes it, and why it sits there                              |
/// |-------:|-----:|--------------------|--------------------------------------------------------------------|
/// |    128 |    8 | lockWord           | futex word (u32, low half), tas/ttas flag (u32), ticket `next` (u64) |
/// |    136 |    8 | ownerPid           | pid of the holder, 0 when free (futex, spin, ticket, posix-sem)    |
/// |    256 |    8 | nowServing         | ticket lock only: the ticket allowed in; waiters spin on this line |
/// |    384 |    8 | protectedCounter   | the plain counter incremented under the lock (exclusion check)    |
/// |    512 |   64 | sharedData         | eight u64 words the critical section's work reads and writes       |
/// |    640 |    8 | victimHolding      | fault injection: 1 once the victim holds the lock and waits to die |
/// |    648 |    8 | victimAcquisitions | the victim's acquisitions, stored before `victimHolding`           |
/// |    656 |    8 | victimPid          | the victim's pid, stored before `victimHolding`                    |
/// |    768 |    n | nativeLock         | `pthread_mutex_t` or `sem_t`, n = max(sizeof) rounded up to 128     |
///
/// `ownerPid` shares the lock word's line on purpose: the holder has just
/// written that line (CAS, exchange, fetch-add), so the store costs no extra
/// cache miss, and waiters read it only on their slow path.
public enum LockArenaLayout {
    public static let lockWordOffset = RegionLayout.headerSize
    public static let ownerPidOffset = lockWordOffset + 8
    public static let nowServingOffset = lockWordOffset + RegionLayout.hotLineSeparation
    public static let protectedCounterOffset = nowServingOffset + RegionLayout.hotLineSeparation
    public static let sharedDataOffset = protectedCounterOffset + RegionLayout.hotLineSeparation
    public static let sharedDataWords = 8
    public static let victimHoldingOffset = sharedDataOffset + RegionLayout.hotLineSeparation
    public static let victimAcquisitionsOffset = victimHoldingOffset + 8
    public static let victimPidOffset = victimHoldingOffset + 16
    public static let nativeLockOffset = victimHoldingOffset + RegionLayout.hotLineSeparation

    /// Bytes reserved for the C library's lock object (from C's sizeof).
    public static var nativeLockSize: Int {
        let largest = max(Int(cshim_sizeof_pthread_mutex), Int(cshim_sizeof_sem))
        let line = RegionLayout.hotLineSeparation
        return (largest + line - 1) / line * line
    }

    public static var regionSize: Int { nativeLockOffset + nativeLockSize }
}
