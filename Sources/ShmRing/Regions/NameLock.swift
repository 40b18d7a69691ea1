import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Serialises everything that creates or removes one name (an mmap file, or
/// a SysV key file and its segment): `SharedRegion.create`, both
/// `removeName`s, and the stale reclaim's judge-then-remove
/// (`RingLifecycle.removeStale`). Without it two reclaimers that both judged
/// the same stale ring could each remove "the" name, the second one a ring
/// the first had just created in its place.
///
/// # The lock file
/// `DIR/.FILE.lock` beside the name's file (FILE is the mmap file's or the
/// key file's name), mode 0600, opened with O_NOFOLLOW, created on demand and
/// locked with `flock(LOCK_EX)`. Its name starts with '.', which no ring name
/// may (`RegionLocation`), so no ring can be created over it, and `ls` never
/// lists it.
///
/// It is removed together with the name: whoever holds the lock and sees, on
/// release, that the name's file no longer exists unlinks the lock file
/// before unlocking (also after a create that failed). This keeps /dev/shm as
/// clean as before, at the cost of the classic pitfall: a process that opened
/// the lock file and then waited may acquire a lock on a file that is no
/// longer at the path, while a newcomer creates and locks a fresh one. So a
/// lock only counts once, after acquiring it, the path still names the file
/// that was locked (same device and inode); otherwise the attempt starts over.
/// That check is sound because the lock file is only ever unlinked by a
/// holder: once a holder has seen the path name its file, nobody can unlink
/// or replace it until it unlocks. Attempts are bounded (a timeout), so a
/// holder that is stopped (SIGSTOP) cannot hang everyone else forever.
///
/// A name removed by hand (`rm /dev/shm/NAME`) leaves its lock file behind;
/// the next create or remove of that name uses it and removes it with the name.
struct NameLock: ~Copyable {
    private let fd: Int32
    private let path: String
    /// The name's own file: the lock file goes when this is gone.
    private let guarding: String

    /// How long a lock is waited for when the caller gives no timeout (the
    /// holders' critical sections last microseconds to milliseconds).
    static let defaultTimeoutSeconds: Double = 5

    /// `DIR/.FILE.lock` for the name's file `DIR/FILE`.
    static func lockPath(for file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." + file + ".lock" }
        return String(file[...slash]) + "." + file[file.index(after: slash)...] + ".lock"
    }

    /// Takes the lock of the name whose file is `file`, waiting up to
    /// `timeoutSeconds` (polling every millisecond: the holders' critical
    /// sections are short, and a poll, unlike a blocking flock, keeps the wait
    /// bounded).
    init(guarding file: String, name: String, timeoutSeconds: Double = NameLock.defaultTimeoutSeconds) throws(ShmError) {
        let path = Self.lockPath(for: file)
        let deadline = try Deadline(seconds: timeoutSeconds, what: "name lock timeout")
        while true {
            let fd = Glibc.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let e = Errno(rawValue: errnoValue())
                switch e {
                case .permissionDenied, .notPermitted: throw .permissionDenied(name: name)
                case .tooManySymbolicLinkLevels: throw .invalidArgument("refusing to lock '\(path)': it is a symbolic link")
                default: throw .systemCall(call: "open(\(path), O_CREAT)", errno: e)
                }
            }
            var locked = false
            while !locked {
                if cshim_flock_try_exclusive(fd) == 0 { locked = true; break }
                let e = Errno(rawValue: errnoValue())
                guard e == .wouldBlock || e == .interrupted else {
                    _ = Glibc.close(fd)
                    throw .systemCall(call: "flock(\(path), LOCK_EX)", errno: e)
                }
                if deadline.expired { break }
                Deadline.pause()
            }
            guard locked else {
                _ = Glibc.close(fd)
                throw .timedOut(operation: "waiting for the lock on name '\(name)' (\(path))", seconds: timeoutSeconds)
            }
            // The lock counts only if the path still names the file we locked.
            var held = stat(), current = stat()
            if fstat(fd, &held) == 0, lstat(path, &current) == 0,
               held.st_dev == current.st_dev, held.st_ino == current.st_ino {
                // Another user's file cannot be opened O_RDWR at mode 0600
                // (EACCES above); a wider mode is refused here.
                guard held.st_uid == geteuid(), held.st_mode & 0o022 == 0 else {
                    _ = Glibc.close(fd)
                    throw .unsafePermissions(name: name, mode: UInt32(held.st_mode) & 0o7777)
                }
                self.fd = fd
                self.path = path
                self.guarding = file
                return
            }
            // A holder removed it while we waited: start over on the new one.
            _ = Glibc.close(fd)
            if deadline.expired {
                throw .timedOut(operation: "waiting for the lock on name '\(name)' (\(path))", seconds: timeoutSeconds)
            }
        }
    }

    /// Whether a process holds the lock of the name whose file is `file`
    /// right now (a creator between its key file and its segment, a
    /// remover). No lock file: nobody. A lock file we cannot open or test:
    /// assume held (the caller's wait is bounded anyway).
    static func isHeld(guarding file: String) -> Bool {
        let fd = Glibc.open(lockPath(for: file), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return errnoValue() != ENOENT }
        defer { _ = Glibc.close(fd) } // also drops the lock if we got it
        return cshim_flock_try_exclusive(fd) != 0
    }

    /// Runs `body` holding the lock of `location`'s name.
    static func holding<R>(_ location: RegionLocation, timeoutSeconds: Double = NameLock.defaultTimeoutSeconds,
                           _ body: () throws(ShmError) -> R) throws(ShmError) -> R {
        let lock = try NameLock(guarding: location.path, name: location.name, timeoutSeconds: timeoutSeconds)
        // Consumed explicitly on both paths: released after `body`, never before.
        let result: R
        do throws(ShmError) { result = try body() } catch {
            _ = consume lock
            throw error
        }
        _ = consume lock
        return result
    }

    /// Unlocks; first removes the lock file if the name's file is gone (we
    /// hold the lock, so nobody can be creating the name right now).
    deinit {
        var st = stat()
        if lstat(guarding, &st) != 0, errnoValue() == ENOENT { _ = unlink(path) }
        _ = Glibc.close(fd) // closing the only descriptor releases the flock
    }
}
