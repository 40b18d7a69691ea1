import ArgumentParser
import BenchHarness

struct LocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locks",
        abstract: "Measure a lock shared by processes: throughput, acquire latency, fairness, verified mutual exclusion.",
        discussion: """
            Each process loops: acquire (timed), about --critical-ns of work on shared data and an increment of a
            plain protected counter, release. The run fails if the counter differs from the total acquisitions.
            Locks: \(LockKind.allCases.map(\.rawValue).joined(separator: ", ")); 'all' runs every lock but 'none'
            ('none' is the unprotected control: with 2 or more processes it must fail the exclusion check).
            --kill-holder-after injects a fault: worker 0 is killed with SIGKILL while it holds the lock. sysv-sem,
            fcntl, flock and pthread-mutex recover and the run succeeds with a note; futex, tas, ttas, ticket and
            posix-sem cannot, and a waiter fails the run with "lock owner PID <pid> died while holding the lock".
            Examples:
              ringbench locks --lock futex --processes 2 --critical-ns 100 --duration 1
              ringbench locks --lock all --processes 1 --latency-sample 1024 --repeat 3
              ringbench locks --lock pthread-mutex --processes 3 --duration 1 --kill-holder-after 0.3
            """)

    @Option(help: ArgumentHelp("The lock: \(LockKind.allCases.map(\.rawValue).joined(separator: ", ")), or all.", valueName: "KIND"))
    var lock: String

    @Option(parsing: .unconditional,
            help: OptionRules.lockProcesses.help("Worker processes (more than CPUs is allowed and noted).", valueName: "N", default: 2),
            transform: OptionRules.lockProcesses.transform)
    var processes: Int = 2

    @Option(name: .customLong("critical-ns"), parsing: .unconditional,
            help: OptionRules.criticalNs.help("Nanoseconds of calibrated work on shared data inside the critical section (0: the counter increment only).", valueName: "NS", default: 0),
            transform: OptionRules.criticalNs.transform)
    var criticalNs: Int = 0

    @Option(parsing: .unconditional,
            help: OptionRules.duration.help("Seconds each repetition runs.", valueName: "SECONDS", default: 1),
            transform: OptionRules.duration.transform)
    var duration: Double = 1

    @Option(name: .customLong("latency-sample"), parsing: .unconditional,
            help: OptionRules.latencySample.help("Time one acquisition in N (1: every one; larger N keeps the clock out of the throughput).", valueName: "N", default: 1),
            transform: OptionRules.latencySample.transform)
    var latencySample: Int = 1

    @Option(name: .customLong("kill-holder-after"), parsing: .unconditional,
            help: OptionRules.killHolderAfter.help("Fault injection: SIGKILL worker 0 while it holds the lock, this many seconds into each repetition.", valueName: "SECONDS"),
            transform: OptionRules.killHolderAfter.transform)
    var killHolderAfter: Double?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let kinds = lock == "all" ? LockKind.measured : [try LockKind.named(lock)]
        if lock == "all", killHolderAfter != nil {
            throw CommandFailure(message: "--kill-holder-after applies to one lock at a time, not 'all'", code: 2)
        }
        let options = try output.runOptions()
        let scenarios = kinds.map {
            LockScenario(lock: $0, processes: processes, criticalNs: criticalNs, durationSeconds: duration,
                         latencySampleEvery: latencySample, killHolderAfterSeconds: killHolderAfter)
        }
        // Check every scenario before the first one runs.
        for scenario in scenarios { try LockRunner.validate(scenario, options: options) }
        var records: [LockRunRecord] = []
        for scenario in scenarios { records.append(try LockRunner.run(scenario, options: options)) }
        try output.emit(ResultDocument(tool: .current(), machine: .current(), runs: [], lockRuns: records))
    }
}
