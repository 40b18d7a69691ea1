import CShim

/// The two halves of the parking hand-shake's store->load ordering, placed
/// where they cost least: the waker publishes on every message, the sleeper
/// parks rarely (after its spin window), so the sleeper pays for both.
///
/// Dekker's pattern (docs/design.md, "Parking") needs a full fence between
/// each side's store and its load. A `seq_cst` fence on the waker's side is
/// an `mfence` per publication; when the peer reads close behind the writer,
/// that fence waits for the cache line the peer just took (a cross-core
/// round trip per message). With `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`
/// the sleeper forces a full barrier on every CPU that runs a registered
/// process, so a registered waker needs only a compiler barrier: either its
/// publication was made visible by the forced barrier (the sleeper's re-check
/// sees it), or its load of the flag runs after that barrier and so after the
/// sleeper's store (the waker sees the flag). This is the asymmetric fence of
/// liburcu's membarrier flavour and folly's `asymmetricHeavyBarrier`.
///
/// Who may skip the fence is said in the sleeper's `parks` word, which the
/// waker already reads on every publication:
/// - 0: never parks (no wake-up needed);
/// - `parksFenced` (1): parks after a plain `seq_cst` fence: the waker fences;
/// - `parksAfterMembarrier` (2): parks after `membarrier`: a waker registered
///   for it (`registerWaker`) uses a compiler barrier, any other waker fences.
/// A waker that reads a stale value around the sleeper's claim can lose at
/// most one wake-up, which the sleeper's bounded slice covers (as before).
@usableFromInline
enum AsymmetricFence {
    @usableFromInline static let parksFenced: UInt32 = 1
    @usableFromInline static let parksAfterMembarrier: UInt32 = 2

    /// Whether this process can issue the heavy half: the kernel offers the
    /// command and one call of it succeeds (a seccomp filter may answer the
    /// query and refuse the call). Asked once: fork keeps both.
    static let heavyBarrierAvailable: Bool =
        cshim_membarrier_global_expedited_available() != 0 && cshim_membarrier_global_expedited() == 0

    /// The `parks` value a sleeper of this process announces.
    static var sleeperParks: UInt32 { heavyBarrierAvailable ? parksAfterMembarrier : parksFenced }

    /// Registers this process, so that sleepers' barriers reach its threads;
    /// returns the `parks` value whose sleepers it may wake without a fence
    /// (0, matching no parking sleeper, when registration failed). Called at
    /// every claim, in the claiming process (registration is per process and
    /// idempotent; a forked child claims, and so registers, for itself).
    static func registerWaker() -> UInt32 {
        guard heavyBarrierAvailable, cshim_membarrier_register_global_expedited() == 0 else { return 0 }
        return parksAfterMembarrier
    }

    /// The waker's half, between its publication and its load of the
    /// sleeper's flag: a compiler barrier when the sleeper pays with a
    /// membarrier and this process is registered, a full fence otherwise.
    @inlinable @inline(__always)
    static func wakerBarrier(fenced: Bool) {
        if fenced { cshim_fence_seq_cst() } else { cshim_compiler_barrier() }
    }

    /// The sleeper's half, between raising its flag and re-checking: the
    /// heavy barrier when it announced `parksAfterMembarrier` (a full fence
    /// first: membarrier orders the caller too, the fence makes it explicit
    /// and covers a failed call), a full fence otherwise. The heavy call
    /// fails only where the query said it would not (ENOMEM at worst); a
    /// waker that skipped its fence may then go unseen for one slice, the
    /// bound every sleeper has.
    static func sleeperBarrier(parks: UInt32) {
        cshim_fence_seq_cst()
        if parks == parksAfterMembarrier { _ = cshim_membarrier_global_expedited() }
    }
}
