/// The one cleanup mechanism of the harness: whatever creates an IPC object
/// (SysV segment or set, file, FIFO, socket path, message queue) registers
/// its removal here right after creating it. The parent runs the registry on
/// every way out: success, failure, timeout and every terminating signal. Actions run
/// newest first, at most once, and only in the process that registered them,
/// so a forked child that inherits the registry never removes anything.
public final class CleanupRegistry: @unchecked Sendable {
    private var actions: [(label: String, run: () -> Void)] = []
    private let ownerPid = getpid()

    public init() {}

    /// Registers `action` (which must not throw; it logs nothing) under `label`.
    public func register(_ label: String, _ action: @escaping () -> Void) {
        actions.append((label, action))
    }

    /// Keeps `object` alive until cleanup, then drops it (its deinit removes it).
    public func retain(_ label: String, _ object: AnyObject) {
        var held: AnyObject? = object
        register(label) { held = nil; _ = held }
    }

    /// Runs every registered action, newest first. Safe to call more than once.
    public func runAll() {
        guard getpid() == ownerPid else { return }
        while let last = actions.popLast() { last.run() }
    }

    /// What is registered now, for diagnostics.
    public var labels: [String] { actions.map(\.label) }

    deinit { runAll() }
}

#if canImport(Glibc)
import Glibc
#endif
