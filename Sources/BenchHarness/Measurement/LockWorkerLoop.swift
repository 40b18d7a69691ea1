import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The one loop of the lock engine, generic over the lock and specialised
/// for each kind: acquire (timed), critical section, release, until the
/// duration is over. The critical section increments the arena's protected
/// counter with a plain read and a separate write, so a second process
/// inside the section at the same time loses updates, which the parent
/// detects by comparing the counter with the acquisitions.
public enum LockWorkerLoop {
    /// What every worker shares.
    public struct Context: @unchecked Sendable {
        public let scenario: LockScenario
        public let control: ControlBlock
        public let arena: LockArena
        public let work: CriticalSectionWork
        /// The worker the fault injection kills, if any.
        public let victim: Int?
        /// Times sampled acquisitions (see `CycleClock`).
        public let clock: CycleClock

        public init(scenario: LockScenario, control: ControlBlock, arena: LockArena,
                    work: CriticalSectionWork, victim: Int?, clock: CycleClock) {
            self.scenario = scenario
            self.control = control
            self.arena = arena
            self.work = work
            self.victim = victim
            self.clock = clock
        }
    }

    public struct Visitor: LockVisitor {
        let index: Int
        let cpu: Int?
        let context: Context

        public init(index: Int, cpu: Int?, context: Context) {
            self.index = index
            self.cpu = cpu
            self.context = context
        }

        public func visit<Lock: ProcessLock>(_ lock: inout Lock) throws(HarnessError) -> ChildReport {
            try LockWorkerLoop.run(&lock, index: index, cpu: cpu, context: context)
        }
    }

    /// Specialised per lock type by the optimiser (same module): no existential.
    public static func run<Lock: ProcessLock>(_ lock: inout Lock, index: Int, cpu: Int?,
                                              context: Context) throws(HarnessError) -> ChildReport {
        var report = ChildReport(role: .worker(index), cpu: cpu)
        var histogram = LatencyHistogram.make()
        let counter = context.arena.protectedCounterWord
        let data = context.arena.sharedData
        let work = context.work
        let sampleEvery = context.scenario.latencySampleEvery
        let clock = context.clock
        context.control.arriveAndWait()
        let start = cshim_monotonic_ns()
        let deadline = start &+ UInt64(context.scenario.durationSeconds * 1e9)
        let killAt = context.victim == index
            ? start &+ UInt64((context.scenario.killHolderAfterSeconds ?? 0) * 1e9) : UInt64.max
        var acquisitions: UInt64 = 0
        var untilSample = 0
        var now = start
        while true {
            // The wall clock is read every 64 acquisitions, for the deadline
            // and the fault injection; sampled acquisitions are timed with
            // the cheaper cycle counter.
            if acquisitions & 63 == 0 {
                now = cshim_monotonic_ns()
                if now >= deadline { break }
            }
            let timed = untilSample == 0
            let t0 = timed ? clock.now() : 0
            try lock.acquire()
            if timed {
                _ = histogram.record(clock.nanoseconds(clock.now() &- t0))
                untilSample = sampleEvery
            }
            untilSample &-= 1
            // Critical section: a plain read, then a separate write.
            let value = cshim_load_relaxed(counter)
            cshim_store_relaxed(counter, value &+ 1)
            work.run(on: data)
            acquisitions &+= 1
            if now >= killAt { holdUntilKilled(acquisitions: acquisitions, arena: context.arena) }
            lock.release()
        }
        report.startNs = start
        report.endNs = cshim_monotonic_ns()
        report.latencyBuckets = LatencyHistogram.buckets(histogram)
        report.figures = ["acquisitions": Double(acquisitions),
                          "ownerDeathsRecovered": Double(lock.ownerDeathsRecovered)]
        return report
    }

    /// Fault injection: the victim, holding the lock with its critical
    /// section complete, tells the parent and waits for its SIGKILL.
    static func holdUntilKilled(acquisitions: UInt64, arena: LockArena) -> Never {
        arena.announceVictimHolding(acquisitions: acquisitions)
        while true { usleep(1000) }
    }
}
