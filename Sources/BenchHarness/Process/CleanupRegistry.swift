/// The one cleanup mechanism of the harness: whatever creates an IPC object
/// (SysV segment or set, file, FIFO, socket path, message queue) registers
/// its removal here right after creating it. The parent runs the registry on
/// every way out: success, failure, timeout and every terminating signal. Actions run
/// newest first, at most once, and only in the process that registered them,
/// so a forked child that inherits the registry never removes anything.
///
/// Names are removed early: a name only the run's own children need (a
/// region's file or key, a FIFO, a socket path, a POSIX queue, a private
/// directory) is registered with `registerName`, and the runner calls
/// `releaseNames()` as soon as every child has opened what it needs, so a
/// SIGKILL of the parent after that leaks no name. What cannot be unnamed
/// while in use, and the names in the window before, go into `ledger` for
/// the stale reclaim (see `StaleLedger`).
public final class CleanupRegistry: @unchecked Sendable {
    private var actions: [(label: String, isName: Bool, run: () -> Void)] = []
    private let ownerPid = getpid()
    /// This registry's record of what a dead parent would leave behind.
    public let ledger = StaleLedger()

    public init() {}

    /// Registers `action` (which must not throw; it logs nothing) under `label`.
    public func register(_ label: String, _ action: @escaping () -> Void) {
        actions.append((label, false, action))
    }

    /// Registers the removal of a name that only this run's children need:
    /// it runs at `releaseNames()` (once every child has opened the object),
    /// or at cleanup if that never came.
    public func registerName(_ label: String, _ action: @escaping () -> Void) {
        actions.append((label, true, action))
    }

    /// Keeps `object` alive until cleanup, then drops it (its deinit removes it).
    public func retain(_ label: String, _ object: AnyObject) {
        var held: AnyObject? = object
        register(label) { held = nil; _ = held }
    }

    /// Runs the name removals now, newest first; everything else stays.
    public func releaseNames() {
        guard getpid() == ownerPid else { return }
        for action in actions.reversed() where action.isName { action.run() }
        actions.removeAll { $0.isName }
        ledger.dropNames()
    }

    /// Runs every registered action, newest first, then drops the ledger.
    /// Safe to call more than once.
    public func runAll() {
        guard getpid() == ownerPid else { return }
        while let last = actions.popLast() { last.run() }
        ledger.discard()
    }

    /// What is registered now, for diagnostics.
    public var labels: [String] { actions.map(\.label) }

    deinit { runAll() }
}

#if canImport(Glibc)
import Glibc
#endif
