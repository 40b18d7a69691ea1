#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value guarded by a pthread mutex, for state shared by the threads of
/// one process (a region's "name removed" flag, a semaphore set's teardown
/// flag). Only set-up and teardown take it; no hot path does.
///
/// Why not `Synchronization.Mutex`: its lock word is driven by atomics
/// compiled into the standard library, which ThreadSanitizer does not
/// instrument, so TSan sees no happens-before between two holders and
/// reports the guarded state as a data race (it did, intermittently, in CI:
/// `removeName()` from `concurrentPerform`). TSan intercepts
/// `pthread_mutex_lock`, so with this lock the sanitizer checks the code
/// instead of crying wolf.
final class ThreadLock<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    init(_ initial: State) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        // Default attributes cannot fail to initialise (EINVAL only for bad attributes).
        pthread_mutex_init(mutex, nil)
        state = initial
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the state, holding the lock. `body` must not take
    /// this lock again (a default mutex is not recursive).
    func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
