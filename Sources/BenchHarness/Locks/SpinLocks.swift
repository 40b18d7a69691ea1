import CShim

/// How a spinning waiter tries again; the only difference between the two
/// spinlocks.
public protocol SpinAttempt {
    /// One attempt to take `word` from 0 to 1; true if it did.
    static func attempt(_ word: UnsafeMutablePointer<UInt32>) -> Bool
}

/// Test-and-set: every retry is an atomic exchange, so waiters keep pulling
/// the lock's line away from the holder (backoff limits that traffic).
public enum TestAndSet: SpinAttempt {
    @inlinable
    public static func attempt(_ word: UnsafeMutablePointer<UInt32>) -> Bool {
        // Acquire: an old value 0 means we took it, after the last release.
        cshim_exchange32_acquire(word, 1) == 0
    }
}

/// Test-and-test-and-set: a waiter reads the word (its cached copy: no
/// traffic while it stays 1) and only tries the exchange once it reads 0.
public enum TestAndTestAndSet: SpinAttempt {
    @inlinable
    public static func attempt(_ word: UnsafeMutablePointer<UInt32>) -> Bool {
        // Relaxed: only a hint that an attempt may succeed; the acquire exchange decides.
        cshim_load32_relaxed(word) == 0 && cshim_exchange32_acquire(word, 1) == 0
    }
}

public typealias TASLock = SpinLock<TestAndSet>
public typealias TTASLock = SpinLock<TestAndTestAndSet>

/// A spinlock on the arena's 32-bit lock word (0 free, 1 held) with
/// exponential backoff between retries. The first attempt is an exchange for
/// both kinds (an uncontended lock is taken in one instruction).
public struct SpinLock<Attempt: SpinAttempt>: ProcessLock {
    @usableFromInline let word: UnsafeMutablePointer<UInt32>
    @usableFromInline let owner: LockOwner

    @inlinable
    public mutating func acquire() throws(HarnessError) {
        if !TestAndSet.attempt(word) { try spin() }
        owner.claim()
    }

    @usableFromInline
    mutating func spin() throws(HarnessError) {
        var backoff = ExponentialBackoff()
        var watch = DeadOwnerWatch()
        repeat {
            backoff.pause()
            try watch.check(owner)
        } while !Attempt.attempt(word)
    }

    @inlinable
    public mutating func release() {
        owner.clear()
        // Release: the critical section happens before the next acquirer's exchange.
        cshim_store32_release(word, 0)
    }
}
