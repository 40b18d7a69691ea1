import CShim

/// A SysV semaphore set of one semaphore, initialised to 1. Both operations
/// carry SEM_UNDO, so the kernel keeps a per-process adjustment of -1 while
/// this process holds it and +1 - 1 = 0 after the release: a holder that
/// dies has its -1 undone and the lock frees itself.
public struct SysVSemaphoreLock: ProcessLock {
    let semid: Int32

    public mutating func acquire() throws(HarnessError) {
        try retryingInterrupts("semop(\(semid), -1, SEM_UNDO)") {
            cshim_semop1(semid, 0, -1, Int16(cshim_SEM_UNDO), 0)
        }
    }

    public mutating func release() {
        // +1 on a semaphore this process holds only fails if the set was
        // removed, and then the run is already being torn down.
        _ = try? retryingInterrupts("semop(\(semid), +1, SEM_UNDO)") {
            cshim_semop1(semid, 0, 1, Int16(cshim_SEM_UNDO), 0)
        }
    }
}
