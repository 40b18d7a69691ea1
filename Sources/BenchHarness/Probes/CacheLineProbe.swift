import CShim

/// Core-to-core latency, as c2clat measures it: two processes pinned to CPUs
/// a and b ping-pong a counter on one shared cache line. The pinger writes an
/// odd n and spins until it reads n + 1, which the echoer writes as soon as
/// it sees n; every round trip moves the line to b and back. The pinger times
/// batches of `roundTripsPerSample` round trips (one clock read per batch
/// keeps the clock's own ~20-50 ns out of the figure) and reports every
/// batch's average; the pair's figure is the minimum (and median) of those.
///
/// Both sides spin without `pause`: the figure is the hardware's limit, and
/// `pause` (up to ~140 cycles on recent x86) would add to it. Each unordered
/// pair is measured once and mirrored: the protocol is symmetric.
///
/// The same ping-pong over two lines, each written by one side only (the
/// pinger writes the first, the echoer the second), is the limit of a round
/// trip through any pair of one-way channels, two rings among them: on one
/// line a side's read of the echo also makes it the line's owner for its next
/// write, on two lines each write must first take the line back from the
/// reader. Here it is about 1.5x the one-line figure (docs/design.md).
public enum CacheLineProbe {
    public static let samples = 200
    public static let roundTripsPerSample = 100

    /// Tells the echoer to leave; the counter never gets there.
    static let stopValue = UInt64.max

    /// Measures every pair of `cpus`, on one line and on two. One CPU gives
    /// 1x1 matrices whose only cell (same CPU) is nil.
    public static func measure(cpus: [Int]) throws(HarnessError) -> CacheLineLatency {
        let n = cpus.count
        var minimum = [[Double?]](repeating: [Double?](repeating: nil, count: n), count: n)
        var median = minimum, twoLines = minimum
        for i in 0..<n {
            for j in (i + 1)..<n {
                let (best, typical) = try measurePair(cpus[i], cpus[j])
                minimum[i][j] = best; minimum[j][i] = best
                median[i][j] = typical; median[j][i] = typical
                let pair = try measurePair(cpus[i], cpus[j], lines: 2).min
                twoLines[i][j] = pair; twoLines[j][i] = pair
            }
        }
        var latency = CacheLineLatency(cpus: cpus, statistic: "min", samples: samples, roundTripsPerSample: roundTripsPerSample,
                                       roundTripNs: minimum, medianRoundTripNs: median,
                                       oneWayNs: minimum.map { row in row.map { $0.map { $0 / 2 } } })
        latency.twoLineRoundTripNs = twoLines
        return latency
    }

    /// The pair's figures on one line (`lines` 1) or two (2): the pinger
    /// writes the first and waits on `back`, the echoer the other way round.
    static func measurePair(_ a: Int, _ b: Int, samples: Int = samples,
                            lines: Int = 1) throws(HarnessError) -> (min: Double, median: Double) {
        let figures = try ProbeProcesses.run(cpus: [a, b]) { child throws(HarnessError) in
            let out = child.page.assumingMemoryBound(to: UInt64.self)
            // 512 bytes on: outside the first line's adjacent-line prefetch pair.
            let back = lines == 1 ? out : (child.page + 512).assumingMemoryBound(to: UInt64.self)
            child.control.arriveAndWait()
            return child.index == 0 ? ping(out, back: back, samples: samples) : echo(out, back: back)
        }
        guard let best = figures.first?["minNs"], let typical = figures.first?["medianNs"] else {
            throw .protocolViolation("cache-line probe on CPUs \(a) and \(b) reported no figures")
        }
        return (best, typical)
    }

    /// Release on the ping and acquire on the echo's load: the orders a ring
    /// uses to publish and consume (free on x86, real fences on ARM), so the
    /// limit is the one a ring could reach. The counter itself is the data.
    static func ping(_ out: UnsafeMutablePointer<UInt64>, back: UnsafeMutablePointer<UInt64>,
                     samples: Int) -> [String: Double] {
        var perRoundTrip = [Double](repeating: 0, count: samples)
        var value: UInt64 = 0
        for sample in 0..<samples {
            let start = cshim_monotonic_ns()
            for _ in 0..<roundTripsPerSample {
                value &+= 1
                cshim_store_release(out, value)
                value &+= 1
                while cshim_load_acquire(back) != value {}
            }
            perRoundTrip[sample] = Double(cshim_monotonic_ns() &- start) / Double(roundTripsPerSample)
        }
        // Release: ordered after our last read of the echo, so the echoer sees it next.
        cshim_store_release(out, stopValue)
        let (median, best) = ProbeProcesses.medianAndMin(&perRoundTrip)
        return ["minNs": best, "medianNs": median]
    }

    /// Waits for each odd value on `out` and answers with the next even one
    /// on `back` (the same line in the one-line probe).
    static func echo(_ out: UnsafeMutablePointer<UInt64>, back: UnsafeMutablePointer<UInt64>) -> [String: Double] {
        var expected: UInt64 = 1
        while true {
            // Acquire pairs with the pinger's release store of the ping.
            var seen = cshim_load_acquire(out)
            while seen != expected && seen != stopValue { seen = cshim_load_acquire(out) }
            if seen == stopValue { return [:] }
            // Release: the echo is published after we read the ping.
            cshim_store_release(back, expected &+ 1)
            expected &+= 2
        }
    }
}
