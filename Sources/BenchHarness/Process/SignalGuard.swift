#if canImport(Glibc)
import Glibc
#endif

/// The terminating signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) and SIGCHLD are
/// blocked for the whole life of the parent and taken synchronously with
/// sigtimedwait: no handler runs at an arbitrary point, so cleanup is
/// ordinary code on the main path (see `ChildProcessRunner`). Each
/// terminating signal ends the run the same way: children killed and
/// reaped, every IPC object removed, exit status 128 + signal. Children
/// unblock them right after fork.
public enum SignalGuard {
    /// The signals that end a run with cleanup: ^C, kill, a closed terminal, ^\.
    public static let terminating: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    static var watched: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in terminating { sigaddset(&set, signal) }
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

    /// The signals on which the Swift runtime's backtracer runs its handler.
    /// That handler starts a `swift-backtrace` helper process; in a forked
    /// child that crashes (or is sent one of these), the helper would outlive
    /// the child, asleep, as an orphan. Children take the default action
    /// instead: they die by the signal, which the parent reports by name.
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT]

    /// In a forked child, first thing: no backtracer helper (see `crashSignals`).
    static func disableBacktracerInChild() {
        for signal in crashSignals { _ = Glibc.signal(signal, SIG_DFL) }
    }

    /// A pending terminating signal, consumed, or nil. Does not wait.
    public static func takePendingTermination() -> Int32? {
        var pending = sigset_t()
        sigpending(&pending)
        for signal in terminating where sigismember(&pending, signal) == 1 {
            var one = sigset_t()
            sigemptyset(&one)
            sigaddset(&one, signal)
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&one, nil, &zero)
            return signal
        }
        return nil
    }

    /// Throws `.interrupted` if a terminating signal is pending.
    public static func checkInterrupted() throws(HarnessError) {
        if let signal = takePendingTermination() { throw .interrupted(signal: signal) }
    }

    /// "SIGINT", "SIGHUP", ... for messages.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        case SIGQUIT: "SIGQUIT"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGBUS: "SIGBUS"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGFPE: "SIGFPE"
        default: "signal \(signal)"
        }
    }
}
