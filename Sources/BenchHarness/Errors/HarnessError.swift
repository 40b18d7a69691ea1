import ShmRing
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Every failure of the harness, printed as one line.
public enum HarnessError: Error, CustomStringConvertible, Sendable {
    case shm(ShmError)
    case systemCall(call: String, errno: Errno)
    /// The scenario cannot run as asked (bad flags, a size beyond a kernel limit).
    case invalidScenario(String)
    /// A child exited non-zero or was killed.
    case childFailed(role: String, detail: String)
    /// Children overran the run's timeout and were killed.
    case timedOut(seconds: Double)
    /// SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived; children were killed and IPC objects removed.
    case interrupted(signal: Int32)
    /// The peer broke the protocol (closed early, sent a short datagram...).
    case protocolViolation(String)
    /// Two processes held a lock at once, or a similar correctness failure.
    case correctness(String)
    /// A lock's holder died while holding a lock that cannot be recovered
    /// (futex, spin, ticket, POSIX semaphore): waiting on would hang forever.
    case lockOwnerDied(pid: Int32)
    /// A rival library's call failed (its own one-line reason).
    case library(String)

    public var description: String {
        switch self {
        case let .shm(e): return e.description
        case let .systemCall(call, errno): return "\(call) failed: \(errno) (errno \(errno.rawValue))"
        case let .invalidScenario(text): return text
        case let .childFailed(role, detail): return "\(role) failed: \(detail)"
        case let .timedOut(seconds): return "run did not finish within \(seconds) s; children were killed"
        case let .interrupted(signal): return "interrupted by \(SignalGuard.name(of: signal)); children killed and IPC objects removed"
        case let .protocolViolation(text): return "protocol violation: \(text)"
        case let .correctness(text): return text
        case let .lockOwnerDied(pid): return "lock owner PID \(pid) died while holding the lock"
        case let .library(text): return text
        }
    }

    /// The errno of the call that just failed.
    static func lastErrno(_ call: @autoclosure () -> String) -> HarnessError {
        .systemCall(call: call(), errno: Errno(rawValue: errno))
    }
}
