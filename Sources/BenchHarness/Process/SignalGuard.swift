#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGCHLD are blocked for the whole life of the parent
/// and taken synchronously with sigtimedwait: no handler runs at an arbitrary
/// point, so cleanup is ordinary code on the main path (see
/// `ChildProcessRunner`). Children unblock them right after fork.
public enum SignalGuard {
    static var watched: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGCHLD)
        return set
    }

    /// Blocks the watched signals. Call once, first thing, before any IPC object exists.
    public static func install() {
        var set = watched
        sigprocmask(SIG_BLOCK, &set, nil)
    }

    /// In a forked child: restores default delivery so ^C and kill work.
    static func restoreInChild() {
        var set = watched
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }

    /// A pending SIGINT or SIGTERM, consumed, or nil. Does not wait.
    public static func takePendingTermination() -> Int32? {
        var pending = sigset_t()
        sigpending(&pending)
        for signal in [SIGINT, SIGTERM] where sigismember(&pending, signal) == 1 {
            var one = sigset_t()
            sigemptyset(&one)
            sigaddset(&one, signal)
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&one, nil, &zero)
            return signal
        }
        return nil
    }

    /// Throws `.interrupted` if SIGINT or SIGTERM is pending.
    public static func checkInterrupted() throws(HarnessError) {
        if let signal = takePendingTermination() { throw .interrupted(signal: signal) }
    }
}
