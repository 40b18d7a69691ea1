import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The two ways to lock a whole file, for `FileLock`.
public protocol FileLockCall {
    static var name: String { get }
    static func lock(_ fd: Int32) -> Int32
    static func unlock(_ fd: Int32) -> Int32
}

/// fcntl(F_SETLKW) write locks (POSIX record locks, Beej's "File Locking").
/// They belong to the process: the kernel drops them when it exits.
public enum FcntlCall: FileLockCall {
    public static let name = "fcntl(F_SETLKW, F_WRLCK)"
    public static func lock(_ fd: Int32) -> Int32 { cshim_fcntl_lock_whole_file(fd, 1) }
    public static func unlock(_ fd: Int32) -> Int32 { cshim_fcntl_lock_whole_file(fd, 0) }
}

/// flock(LOCK_EX) locks. They belong to the open file description, which
/// fork shares, so every process opens the lock file itself
/// (`LockArena.withLock`); the kernel drops them when the last descriptor closes.
public enum FlockCall: FileLockCall {
    public static let name = "flock(LOCK_EX)"
    public static func lock(_ fd: Int32) -> Int32 { cshim_flock(fd, 1) }
    public static func unlock(_ fd: Int32) -> Int32 { cshim_flock(fd, 0) }
}

/// An exclusive lock on the run's lock file, through fcntl or flock. Both
/// are system calls on every acquire and release, contended or not.
public struct FileLock<Call: FileLockCall>: ProcessLock {
    let fd: Int32

    public mutating func acquire() throws(HarnessError) {
        try retryingInterrupts(Call.name) { Call.lock(fd) }
    }

    public mutating func release() {
        // Unlocking a lock we hold cannot block and fails only on a bad descriptor.
        _ = Call.unlock(fd)
    }
}
