import Histogram
#if canImport(Glibc)
import Glibc
#endif

/// Runs a lock scenario: checks it, places its workers, calibrates the
/// critical section, runs warm-up and measured repetitions (each with a fresh
/// arena, control block and cleanup registry), verifies mutual exclusion in
/// every one, and summarises them.
public enum LockRunner {
    /// Most workers a run may fork (each has a report slot in the control block).
    public static let maximumProcesses = 512

    public static func run(_ scenario: LockScenario, options: RunOptions) throws(HarnessError) -> LockRunRecord {
        try validate(scenario, options: options)
        var placed = scenario
        let placement = try Placement.resolve(options.pin, count: scenario.processes, topology: options.topology)
        placed.placement = placement.cpus.enumerated().map { index, cpu in
            PlacementEntry(role: Role.worker(index).name, cpu: cpu, node: cpu.map { options.topology.node(ofCPU: $0) })
        }
        let work = CriticalSectionWork.calibrated(targetNs: scenario.criticalNs)
        let clock = CycleClock.calibrate()
        let timeout = options.timeoutSeconds ?? scenario.durationSeconds * 3 + 30
        var measured: [LockRepetitionRecord] = []
        var latency = LatencyHistogram.make()
        for index in 0..<(options.warmup + options.repetitions) {
            let (repetition, buckets) = try runRepetition(placed, cpus: placement.cpus, work: work, clock: clock,
                                                             timeoutSeconds: timeout)
            if index >= options.warmup {
                measured.append(repetition)
                LatencyHistogram.add(buckets, to: &latency)
            }
        }
        var notes: [String] = []
        if placement.oversubscribed {
            notes.append("oversubscribed: \(scenario.processes) processes share \(Set(placement.cpus.compactMap { $0 }).count) CPUs")
        }
        if let killed = measured.compactMap(\.killedHolder).first {
            notes.append("fault injection: a holder was killed with SIGKILL in each repetition (last: worker \(killed.worker), pid \(killed.pid)) and the lock recovered (\(killed.recovery)); the survivors carried on")
        }
        if scenario.latencySampleEvery > 1 {
            notes.append("acquire latency sampled: one acquisition in \(scenario.latencySampleEvery) timed")
        }
        let acquisitions = measured.reduce(0) { $0 + $1.acquisitions }
        let counter = measured.reduce(0) { $0 + $1.protectedCounter }
        return LockRunRecord(
            scenario: placed,
            criticalSection: CriticalSectionRecord(targetNs: scenario.criticalNs, iterations: work.iterations,
                                                   nsPerIteration: work.nsPerIteration),
            repetitions: measured,
            mutualExclusion: MutualExclusionRecord(verified: true, acquisitions: acquisitions, protectedCounter: counter),
            summary: LockRunSummary(acquisitionsPerSecond: Spread(measured.map(\.acquisitionsPerSecond)),
                                    fairness: Spread(measured.map(\.fairness)),
                                    acquireLatencyNs: latency.totalCount > 0 ? LatencyHistogram.summary(latency, kind: "acquire") : nil),
            notes: notes.isEmpty ? nil : notes)
    }

    /// One repetition; returns its record and its acquire-latency buckets.
    static func runRepetition(_ scenario: LockScenario, cpus: [Int?], work: CriticalSectionWork, clock: CycleClock,
                              timeoutSeconds: Double) throws(HarnessError) -> (LockRepetitionRecord, [UInt64]) {
        let cleanup = CleanupRegistry()
        defer { cleanup.runAll() }
        let arena = try LockArena(kind: scenario.lock, cleanup: cleanup)
        let control = try ControlBlock(children: scenario.processes)
        let specs = (0..<scenario.processes).map { ChildSpec(role: .worker($0), cpu: cpus[$0]) }
        let victim: Int? = scenario.killHolderAfterSeconds == nil ? nil : 0
        let fault = victim.map { FaultInjection(child: $0) { arena.victimHolding } }
        let context = LockWorkerLoop.Context(scenario: scenario, control: control, arena: arena, work: work,
                                             victim: victim, clock: clock)

        let (reports, outcomes) = try ReportingChildren.run(specs, control: control, timeoutSeconds: timeoutSeconds,
                                                            faultInjection: fault,
                                                            afterAttach: { cleanup.releaseNames() }) { index, spec throws(HarnessError) in
            try arena.withLock(LockWorkerLoop.Visitor(index: index, cpu: spec.cpu, context: context))
        }
        var killed: KilledHolderRecord?
        if let victim, outcomes[victim] == .signaled(SIGKILL), let dead = arena.victim {
            let recoveries = reports.reduce(0) { $0 + Int($1.figures?["ownerDeathsRecovered"] ?? 0) }
            killed = KilledHolderRecord(worker: victim, pid: dead.pid, acquisitions: dead.acquisitions,
                                        recovery: scenario.lock.recovery ?? "none", ownerDeathsRecovered: recoveries)
        }
        return try summarise(scenario, reports: reports, killed: killed, counter: arena.protectedCounter)
    }

    /// Totals one repetition and checks mutual exclusion. Reports are child
    /// output: indices are bounds-checked and counts taken as given.
    static func summarise(_ scenario: LockScenario, reports: [ChildReport], killed: KilledHolderRecord?,
                          counter: UInt64) throws(HarnessError) -> (LockRepetitionRecord, [UInt64]) {
        var perProcess = [UInt64](repeating: 0, count: scenario.processes)
        var buckets: [UInt64] = []
        for report in reports where perProcess.indices.contains(report.index) {
            let count = report.figures?["acquisitions"] ?? 0
            perProcess[report.index] = count >= 0 && count < 1.8e19 ? UInt64(count) : 0
            buckets += report.latencyBuckets ?? []
        }
        if let killed, perProcess.indices.contains(killed.worker) { perProcess[killed.worker] = killed.acquisitions }
        let total = perProcess.reduce(0, &+)
        try MutualExclusion.verify(lock: scenario.lock, protectedCounter: counter, acquisitions: total)
        let start = reports.map(\.startNs).min() ?? 0
        let end = reports.map(\.endNs).max() ?? start
        let seconds = Double(end &- start) / 1e9
        let record = LockRepetitionRecord(seconds: seconds, acquisitions: total,
                                          acquisitionsPerSecond: seconds > 0 ? Double(total) / seconds : 0,
                                          perProcessAcquisitions: perProcess, fairness: JainFairness.index(perProcess),
                                          protectedCounter: counter, killedHolder: killed)
        return (record, buckets)
    }

    /// Rejects what cannot run, with one line, before anything is created.
    public static func validate(_ s: LockScenario, options: RunOptions) throws(HarnessError) {
        guard s.processes >= 1, s.processes <= maximumProcesses else {
            throw .invalidScenario("--processes must be between 1 and \(maximumProcesses), got \(s.processes)")
        }
        guard s.criticalNs >= 0, s.criticalNs <= 1_000_000_000 else {
            throw .invalidScenario("--critical-ns must be between 0 and 1000000000 (1 s), got \(s.criticalNs)")
        }
        guard s.durationSeconds > 0, s.durationSeconds.isFinite else {
            throw .invalidScenario("--duration must be a positive number of seconds")
        }
        guard s.latencySampleEvery >= 1 else {
            throw .invalidScenario("--latency-sample must be at least 1, got \(s.latencySampleEvery)")
        }
        if let after = s.killHolderAfterSeconds {
            guard after > 0, after < s.durationSeconds else {
                throw .invalidScenario("--kill-holder-after must be positive and below --duration (\(s.durationSeconds) s)")
            }
            guard s.processes >= 2 else {
                throw .invalidScenario("--kill-holder-after needs at least 2 processes: a survivor must take the lock over")
            }
            guard s.lock != .none else { throw .invalidScenario("--kill-holder-after needs a lock; 'none' has no holder") }
        }
        guard options.repetitions >= 1 else { throw .invalidScenario("--repeat must be at least 1") }
        guard options.warmup >= 0 else { throw .invalidScenario("--warmup must not be negative") }
    }
}

/// The exclusion check of the lock engine.
public enum MutualExclusion {
    /// Every acquisition incremented the protected counter once, under the
    /// lock. A lower counter means two processes were inside at once and one
    /// increment overwrote the other.
    public static func verify(lock: LockKind, protectedCounter: UInt64, acquisitions: UInt64) throws(HarnessError) {
        guard protectedCounter != acquisitions else { return }
        if protectedCounter < acquisitions {
            throw .correctness("mutual exclusion violated by lock '\(lock.rawValue)': the protected counter is \(protectedCounter) after \(acquisitions) acquisitions (\(acquisitions - protectedCounter) increments lost: two processes were in the critical section at once)")
        }
        throw .correctness("mutual exclusion check failed for lock '\(lock.rawValue)': the protected counter is \(protectedCounter) but the processes report only \(acquisitions) acquisitions")
    }
}
