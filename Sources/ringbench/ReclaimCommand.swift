import ArgumentParser
import BenchHarness

/// Removes what killed runs left behind (see `StaleLedger`). `run`, `suite`
/// and `locks` do the same silently before they start.
struct ReclaimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reclaim",
        abstract: "Remove the IPC objects and files of ringbench runs whose parent was killed (SIGKILL).",
        discussion: """
            A run removes the names of its objects as soon as its children have opened them, so a killed
            parent leaves little: SysV semaphore sets and message queues (which cannot be removed while in
            use) and whatever was created in the few milliseconds before the children attached. Each run
            lists these in /dev/shm/.ringbench-PID-START-N.ledger (hidden, with a magic line and checksums); this removes what is listed by
            ledgers whose process is gone that still belongs to you and is still the object recorded, and prints one line per object.
            run, suite and locks reclaim the same way before they start.
            """)

    func run() throws {
        for line in StaleLedger.reclaim() { print("removed \(line)") }
    }
}
