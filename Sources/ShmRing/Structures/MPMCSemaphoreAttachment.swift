import CShim
#if canImport(Glibc)
import Glibc
#endif

extension MPMCSemaphoreQueue {
    /// One process's attachment to a semaphore queue: it counts the process in
    /// the set's users semaphore and, when the last queue value of this
    /// process goes, uncounts it and removes the set if nobody else is left
    /// and the region's name is gone (see "Naming and removal" on the queue).
    ///
    /// Attach, detach and retire take the queue's mutex, so that "the last
    /// user removes the set" cannot race with a new opener's count.
    final class Attachment: @unchecked Sendable {
        let region: SharedRegion
        let semaphores: SemaphoreSet
        /// The process that counted itself; forked children never detach.
        private let pid: pid_t
        private let creator: Bool
        /// IPC_PRIVATE set (unnamed or anonymous region): there is no name to
        /// wait for, so the last user removes the set whenever it leaves.
        private let unnamed: Bool

        /// Mutex waits at attach, detach and retire: set-up, not the hot path.
        static let mutexTimeoutSeconds: Double = 5

        init(region: SharedRegion, semaphores: SemaphoreSet, creator: Bool, unnamed: Bool) throws(ShmError) {
            self.region = region
            self.semaphores = semaphores
            self.pid = getpid()
            self.creator = creator
            self.unnamed = unnamed
            let deadline = try Deadline(seconds: Self.mutexTimeoutSeconds)
            // users +1 with SEM_UNDO: the kernel uncounts us if we die.
            let lock = SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: -1, undo: true)
            let count = SemaphoreOperation(index: MPMCSemaphoreLayout.usersSemaphore, delta: 1, undo: true)
            guard try semaphores.apply(lock, count, deadlineNs: deadline.end) == .done else {
                throw .timedOut(operation: "attaching to the semaphore queue '\(region.name)' (its mutex holder is stopped)",
                                seconds: Self.mutexTimeoutSeconds)
            }
            try unlock()
        }

        deinit {
            guard getpid() == pid else { return }
            leave(retiring: creator && region.removesNameOnDeinit, detaching: true)
        }

        /// `removeName()`: removes the region's name and retires the set.
        func retire() { leave(retiring: true, detaching: false) }

        /// Under the mutex: retiring marks the name removed (in the region,
        /// for every process); detaching uncounts this process. Then the set
        /// goes if the name is gone and no other user is counted. Never
        /// throws: it runs in deinit; a set already removed is simply done.
        private func leave(retiring: Bool, detaching: Bool) {
            if retiring { region.removeName() }
            let retired = word(MPMCSemaphoreLayout.nameRetiredOffset)
            guard let deadline = try? Deadline(seconds: Self.mutexTimeoutSeconds),
                  (try? semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: -1, undo: true),
                                         deadlineNs: deadline.end)) == .done else {
                // The mutex holder is stopped: uncount ourselves anyway and
                // leave removal to the next user who leaves.
                if retiring { cshim_store_relaxed(retired, 1) } // relaxed: a flag read under the mutex later
                if detaching {
                    _ = try? semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.usersSemaphore, delta: -1,
                                                                 noWait: true, undo: true))
                }
                return
            }
            // Relaxed: read and written under the mutex (its semops order them).
            if retiring { cshim_store_relaxed(retired, 1) }
            if detaching {
                _ = try? semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.usersSemaphore, delta: -1,
                                                             noWait: true, undo: true))
            }
            let nameGone = unnamed || cshim_load_relaxed(retired) == 1
            // Still counted ourselves when only retiring (we may still use it).
            let ours = detaching || getpid() != pid ? 0 : 1
            if nameGone, let users = try? semaphores.value(MPMCSemaphoreLayout.usersSemaphore), users <= ours {
                semaphores.removeNow()
            } else {
                try? unlock()
            }
        }

        private func unlock() throws(ShmError) {
            _ = try semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: 1, undo: true))
        }

        private func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
            (region.base + offset).assumingMemoryBound(to: UInt64.self)
        }
    }
}
