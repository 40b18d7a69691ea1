import CShim
#if canImport(Glibc)
import Glibc
#endif

/// What waking a blocked process costs: two pinned processes ping-pong a
/// 32-bit futex word, and neither ever spins. The pinger stores an odd n,
/// FUTEX_WAKEs, and sleeps in FUTEX_WAIT until the word becomes n + 1; the
/// echoer, asleep until the word leaves its last value, answers the same
/// way. Each round trip is two wake-ups, each with its FUTEX_WAKE and
/// FUTEX_WAIT system calls and a context switch; the pinger times every
/// round trip on its own. This decides whether a blocking transport (pipes,
/// sockets, semaphores, futex-based rings) can ever be fast: on this KVM
/// guest a cross-CPU wake-up costs tens of microseconds.
public enum FutexWakeProbe {
    /// At most this many round trips, or `budgetSeconds`, whichever comes first.
    public static let maximumRoundTrips = 5000
    public static let budgetSeconds = 0.15
    static let stopValue = UInt32.max

    /// Both processes on `cpus[0]`, then on `cpus[0]` and `cpus[1]` when there are two.
    public static func measure(cpus: [Int]) throws(HarnessError) -> WakeupLatency {
        guard let first = cpus.first else { throw .invalidScenario("the futex probe needs at least one CPU") }
        let same = try measure(first, first)
        let cross = cpus.count > 1 ? try measure(first, cpus[1]) : nil
        return WakeupLatency(statistic: "median", sameCPU: same, crossCPU: cross)
    }

    static func measure(_ a: Int, _ b: Int) throws(HarnessError) -> WakeupFigure {
        let figures = try ProbeProcesses.run(cpus: [a, b]) { child throws(HarnessError) in
            let word = child.page.assumingMemoryBound(to: UInt32.self)
            child.control.arriveAndWait()
            return child.index == 0 ? try ping(word) : try echo(word)
        }
        guard let f = figures.first, let median = f["medianNs"], let best = f["minNs"], let samples = f["samples"] else {
            throw .protocolViolation("futex probe on CPUs \(a) and \(b) reported no figures")
        }
        return WakeupFigure(cpus: [a, b], roundTripNs: median, minRoundTripNs: best, wakeupNs: median / 2,
                            samples: Int(samples))
    }

    static func ping(_ word: UnsafeMutablePointer<UInt32>) throws(HarnessError) -> [String: Double] {
        var roundTrips = [Double](repeating: 0, count: maximumRoundTrips)
        let deadline = cshim_monotonic_ns() &+ UInt64(budgetSeconds * 1e9)
        var value: UInt32 = 0
        var done = 0
        while done < maximumRoundTrips {
            let start = cshim_monotonic_ns()
            if start >= deadline && done > 0 { break }
            value &+= 1
            try post(word, value)
            value &+= 1
            try waitFor(word, value)
            roundTrips[done] = Double(cshim_monotonic_ns() &- start)
            done += 1
        }
        try post(word, stopValue)
        var measured = Array(roundTrips[0..<done])
        let (median, best) = ProbeProcesses.medianAndMin(&measured)
        return ["medianNs": median, "minNs": best, "samples": Double(done)]
    }

    static func echo(_ word: UnsafeMutablePointer<UInt32>) throws(HarnessError) -> [String: Double] {
        var expected: UInt32 = 1
        while true {
            if try waitFor(word, expected) == stopValue { return [:] }
            try post(word, expected &+ 1)
            expected &+= 2
        }
    }

    /// Stores `value` and wakes the peer. Release: pairs with the acquire
    /// load in `waitFor`, the way a blocking queue hands over its data.
    static func post(_ word: UnsafeMutablePointer<UInt32>, _ value: UInt32) throws(HarnessError) {
        cshim_store32_release(word, value)
        guard cshim_futex_wake(word, 1) >= 0 else { throw .lastErrno("futex(FUTEX_WAKE)") }
    }

    /// Sleeps until the word is `value` (or the stop value); returns what it read.
    @discardableResult
    static func waitFor(_ word: UnsafeMutablePointer<UInt32>, _ value: UInt32) throws(HarnessError) -> UInt32 {
        while true {
            // Acquire pairs with the peer's release store in `post`.
            let seen = cshim_load32_acquire(word)
            if seen == value || seen == stopValue { return seen }
            // Sleeps only while the word still holds `seen`: a post between
            // the load and the wait makes FUTEX_WAIT return EAGAIN at once.
            if cshim_futex_wait(word, seen, 0) != 0, errno != EAGAIN, errno != EINTR {
                throw .lastErrno("futex(FUTEX_WAIT)")
            }
        }
    }
}
