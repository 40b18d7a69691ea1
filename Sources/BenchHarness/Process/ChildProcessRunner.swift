import CPlacement
import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// One child to fork: its role and the CPU it is pinned to (nil: unpinned).
public struct ChildSpec: Sendable {
    public var role: Role
    public var cpu: Int?
    public init(role: Role, cpu: Int?) {
        self.role = role
        self.cpu = cpu
    }
}

/// How a child ended.
public enum ChildOutcome: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// Killed by the runner because another child failed first: not a cause.
    case stopped

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case let .exited(code): return "exited with status \(code)"
        case let .signaled(signal): return "killed by signal \(signal) (\(SignalGuard.name(of: signal)))"
        case .stopped: return "killed by the harness after another child failed"
        }
    }
}

/// A deliberate SIGKILL of one child (`ringbench locks --kill-holder-after`):
/// the runner kills child `child` as soon as `isReady()` (polled every
/// millisecond while pending) returns true, and its death by SIGKILL then
/// counts as expected rather than as a failure that stops the others.
public struct FaultInjection {
    public var child: Int
    public var isReady: () -> Bool

    public init(child: Int, isReady: @escaping () -> Bool) {
        self.child = child
        self.isReady = isReady
    }
}

/// Something the parent does once, as soon as `isReady()` (polled every
/// millisecond while pending) returns true: the runner uses it to remove the
/// names of a run's objects once every child has opened them.
public struct ParentTrigger {
    public var isReady: () -> Bool
    public var action: () -> Void

    public init(isReady: @escaping () -> Bool, action: @escaping () -> Void) {
        self.isReady = isReady
        self.action = action
    }
}

/// Forks children, pins them, and waits for them. The parent only coordinates.
///
/// Fork safety: the parent must be single-threaded (checked through
/// /proc/self/task before every fork), stdio is flushed before forking so a
/// child never repeats the parent's buffered output, and children leave with
/// `_exit` so no atexit handler or stdio buffer of the parent runs twice.
/// Each child asks the kernel (PR_SET_PDEATHSIG) to kill it if the parent dies.
public enum ChildProcessRunner {
    /// Exit status a child uses when it could not be pinned.
    public static let pinFailedStatus: Int32 = 70

    /// Runs `body(index, spec)` in one child per spec and returns every outcome.
    /// On the first failed child, the rest are killed. On timeout or SIGINT,
    /// SIGTERM, SIGHUP or SIGQUIT all children are killed and reaped before this throws.
    /// `faultInjection` kills one child on purpose (see `FaultInjection`);
    /// `trigger` runs once when ready (see `ParentTrigger`).
    public static func run(_ specs: [ChildSpec], timeoutSeconds: Double, faultInjection: FaultInjection? = nil,
                           trigger: ParentTrigger? = nil, body: (Int, ChildSpec) -> Int32) throws(HarnessError) -> [ChildOutcome] {
        try SignalGuard.checkInterrupted()
        let threads = threadCount()
        guard threads == 1 else {
            throw .invalidScenario("refusing to fork: the parent has \(threads) threads (fork is only safe from a single-threaded process)")
        }
        let parent = getpid()
        var pids: [pid_t] = []
        var outcomes = [ChildOutcome?](repeating: nil, count: specs.count)
        for (index, spec) in specs.enumerated() {
            fflush(nil)
            let pid = fork()
            if pid == 0 {
                SignalGuard.disableBacktracerInChild()
                SignalGuard.restoreInChild()
                _ = cshim_die_with_parent()
                if getppid() != parent { _exit(1) } // parent died before prctl
                if let cpu = spec.cpu, cplacement_pin_to_cpu(Int32(cpu)) != 0 {
                    let message = "ringbench: \(spec.role): cannot pin to CPU \(cpu): \(String(cString: strerror(errno)))\n"
                    _ = message.withCString { write(2, $0, strlen($0)) }
                    _exit(pinFailedStatus)
                }
                let status = body(index, spec)
                fflush(nil)
                _exit(status)
            }
            if pid < 0 {
                let error = HarnessError.lastErrno("fork (child \(index + 1) of \(specs.count))")
                killAndReap(pids, &outcomes)
                throw error
            }
            pids.append(pid)
        }

        let deadline = cshim_monotonic_ns() &+ nanoseconds(timeoutSeconds)
        var set = SignalGuard.watched
        var faultPending = faultInjection.map { $0.child < pids.count } ?? false
        var triggerPending = trigger != nil
        while outcomes.contains(where: { $0 == nil }) {
            if triggerPending, let trigger, trigger.isReady() {
                trigger.action()
                triggerPending = false
            }
            if faultPending, let fault = faultInjection, outcomes[fault.child] == nil, fault.isReady() {
                kill(pids[fault.child], SIGKILL)
                faultPending = false
            }
            reap(pids, &outcomes, block: false)
            let failed = outcomes.indices.contains { i in
                guard let outcome = outcomes[i], !outcome.succeeded else { return false }
                return !(faultInjection?.child == i && !faultPending && outcome == .signaled(SIGKILL))
            }
            if failed {
                killAndReap(pids, &outcomes, as: .stopped)
                break
            }
            guard outcomes.contains(where: { $0 == nil }) else { break }
            let now = cshim_monotonic_ns()
            if now >= deadline {
                killAndReap(pids, &outcomes)
                throw .timedOut(seconds: timeoutSeconds)
            }
            // Wake at least every 200 ms, every 1 ms while a fault or trigger is pending.
            let left = min(deadline - now, faultPending || triggerPending ? 1_000_000 : 200_000_000)
            var ts = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
            let signal = sigtimedwait(&set, nil, &ts)
            if SignalGuard.terminating.contains(signal) {
                killAndReap(pids, &outcomes)
                throw .interrupted(signal: signal)
            }
        }
        return outcomes.map { $0! }
    }

    /// Seconds as nanoseconds, saturating: no timeout value can trap here
    /// (the CLI limits timeouts to a day; library callers may pass anything).
    static func nanoseconds(_ seconds: Double) -> UInt64 {
        guard seconds > 0 else { return 0 }
        return seconds < 1e9 ? UInt64(seconds * 1e9) : 1_000_000_000 * 1_000_000_000
    }

    private static func reap(_ pids: [pid_t], _ outcomes: inout [ChildOutcome?], block: Bool) {
        for (i, pid) in pids.enumerated() where outcomes[i] == nil {
            var status: Int32 = 0
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            guard r == pid else { continue }
            // WIFEXITED / WIFSIGNALED, spelled out: Swift does not import the macros.
            if status & 0x7f == 0 {
                outcomes[i] = .exited((status >> 8) & 0xff)
            } else {
                outcomes[i] = .signaled(status & 0x7f)
            }
        }
    }

    /// Kills every child still running; `stoppedOutcome`, when given, is what
    /// those the kill ended are recorded as (so a child that failed on its own
    /// stays distinguishable from the ones stopped because of it).
    private static func killAndReap(_ pids: [pid_t], _ outcomes: inout [ChildOutcome?], as stoppedOutcome: ChildOutcome? = nil) {
        let running = outcomes.indices.filter { outcomes[$0] == nil }
        for (i, pid) in pids.enumerated() where outcomes[i] == nil { kill(pid, SIGKILL) }
        reap(pids, &outcomes, block: true)
        if let stoppedOutcome {
            for i in running where outcomes[i] == .signaled(SIGKILL) { outcomes[i] = stoppedOutcome }
        }
        // A child that never forked (fork failed) has no outcome: call it killed.
        for i in outcomes.indices where outcomes[i] == nil { outcomes[i] = .signaled(SIGKILL) }
        // Drain SIGCHLDs so the next run starts clean.
        var chld = sigset_t()
        sigemptyset(&chld)
        sigaddset(&chld, SIGCHLD)
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&chld, nil, &zero) == SIGCHLD {}
    }

    /// Threads in this process, from /proc/self/task.
    static func threadCount() -> Int {
        guard let dir = opendir("/proc/self/task") else { return 1 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = directoryEntryName(entry)
            if name != "." && name != ".." { count += 1 }
        }
        return max(count, 1)
    }
}
