#if canImport(Glibc)
import Glibc
#endif

/// The physical limits of the machine a result was measured on: what the
/// hardware and kernel can do at best, against which every run's efficiency
/// is stated. Encoded as the `probes` object of results and of
/// `ringbench probe` (docs/results-format.md documents every field).
public struct ProbeResults: Codable, Sendable, Equatable {
    public var cacheLine: CacheLineLatency
    /// Single-core memcpy bandwidth, one entry per size, ascending.
    public var memcpy: [MemcpyBandwidth]
    public var wakeup: WakeupLatency
    /// Cost of one `cshim_monotonic_ns` call (the harness's timestamp), in ns:
    /// the best of several batches of back-to-back calls.
    public var clockReadNs: Double
    /// Wall-clock seconds all probes took, forks included.
    public var seconds: Double

    public init(cacheLine: CacheLineLatency, memcpy: [MemcpyBandwidth], wakeup: WakeupLatency,
                clockReadNs: Double, seconds: Double) {
        self.cacheLine = cacheLine
        self.memcpy = memcpy
        self.wakeup = wakeup
        self.clockReadNs = clockReadNs
        self.seconds = seconds
    }

    /// The memcpy figure whose size is closest to `bytes` on a log scale;
    /// on a tie the smaller size (the faster copy: the stricter limit).
    public func memcpy(closestTo bytes: Int) -> MemcpyBandwidth? {
        func distance(_ m: MemcpyBandwidth) -> Double {
            abs(log2(Double(max(bytes, 1))) - log2(Double(m.bytes)))
        }
        return memcpy.min { a, b in
            let da = distance(a), db = distance(b)
            return da != db ? da < db : a.bytes < b.bytes
        }
    }
}

/// Core-to-core cache-line round trips, the way c2clat measures them: two
/// processes pinned to CPUs a and b ping-pong a counter on one cache line.
public struct CacheLineLatency: Codable, Sendable, Equatable {
    /// The CPUs of the matrix, in row and column order.
    public var cpus: [Int]
    /// "min": each cell is the fastest sample (the hardware's limit when
    /// nothing interferes); the median matrix shows the typical case.
    public var statistic: String
    /// Samples per pair, and round trips timed together in each sample.
    public var samples: Int
    public var roundTripsPerSample: Int
    /// roundTripNs[i][j]: one round trip between cpus[i] and cpus[j], in ns.
    /// nil on the diagonal: two spinning processes on one CPU measure the
    /// scheduler's time slice, not the cache (see docs/design.md).
    public var roundTripNs: [[Double?]]
    /// The median sample per pair, same layout.
    public var medianRoundTripNs: [[Double?]]
    /// Half the round trip: one cache-line transfer.
    public var oneWayNs: [[Double?]]
    /// The same ping-pong over two lines, each written by one side only:
    /// the limit of a round trip through two one-way channels (two rings, a
    /// pipe pair). Same layout; absent in older files.
    public var twoLineRoundTripNs: [[Double?]]?

    /// Keeps, per pair, the faster of this and `other` (same CPUs), adding up
    /// the samples. A long run probes again at its end: a host may move the
    /// virtual CPUs mid-run, and the limit is the best the machine showed.
    public mutating func keepFastest(_ other: CacheLineLatency) {
        guard other.cpus == cpus else { return }
        func fastest(_ a: [[Double?]], _ b: [[Double?]]) -> [[Double?]] {
            zip(a, b).map { rowA, rowB in
                zip(rowA, rowB).map { x, y in
                    switch (x, y) {
                    case let (x?, y?): min(x, y)
                    default: x ?? y
                    }
                }
            }
        }
        roundTripNs = fastest(roundTripNs, other.roundTripNs)
        medianRoundTripNs = fastest(medianRoundTripNs, other.medianRoundTripNs)
        if let mine = twoLineRoundTripNs, let theirs = other.twoLineRoundTripNs {
            twoLineRoundTripNs = fastest(mine, theirs)
        } else {
            twoLineRoundTripNs = twoLineRoundTripNs ?? other.twoLineRoundTripNs
        }
        oneWayNs = roundTripNs.map { $0.map { $0.map { $0 / 2 } } }
        samples += other.samples
    }

    /// The round trip between two CPUs, nil if either was not probed or they are the same.
    public func roundTrip(between a: Int, _ b: Int) -> Double? {
        guard let i = cpus.firstIndex(of: a), let j = cpus.firstIndex(of: b),
              i < roundTripNs.count, j < roundTripNs[i].count else { return nil }
        return roundTripNs[i][j]
    }

    /// The two-line round trip between two CPUs (see `twoLineRoundTripNs`).
    public func twoLineRoundTrip(between a: Int, _ b: Int) -> Double? {
        guard let matrix = twoLineRoundTripNs, let i = cpus.firstIndex(of: a), let j = cpus.firstIndex(of: b),
              i < matrix.count, j < matrix[i].count else { return nil }
        return matrix[i][j]
    }

    /// The fastest pair: the limit for runs that were not pinned.
    public var bestRoundTrip: (cpus: [Int], ns: Double)? {
        var best: (cpus: [Int], ns: Double)?
        for (i, row) in roundTripNs.enumerated() where i < cpus.count {
            for (j, cell) in row.enumerated() where j < cpus.count {
                if let ns = cell, ns < (best?.ns ?? .infinity) { best = ([cpus[i], cpus[j]], ns) }
            }
        }
        return best
    }
}

/// How fast one core copies memory with memcpy at one size.
public struct MemcpyBandwidth: Codable, Sendable, Equatable {
    public var bytes: Int
    /// Bytes copied per second (not read plus written): the best batch.
    public var bytesPerSecond: Double
    public var cpu: Int
}

/// The cost of waking a process blocked on a futex, from a futex ping-pong.
public struct WakeupLatency: Codable, Sendable, Equatable {
    /// "median" over individually timed round trips.
    public var statistic: String
    /// Both processes pinned to one CPU: a wake-up is a context switch.
    public var sameCPU: WakeupFigure?
    /// Pinned to two CPUs: the wake-up crosses CPUs (an IPI on bare metal,
    /// a virtual interrupt on a VM). nil with only one CPU.
    public var crossCPU: WakeupFigure?
}

public struct WakeupFigure: Codable, Sendable, Equatable {
    public var cpus: [Int]
    /// Median of one futex round trip (two wake-ups), ns.
    public var roundTripNs: Double
    /// Fastest round trip, ns.
    public var minRoundTripNs: Double
    /// Half the median round trip: one wake-up, syscalls included.
    public var wakeupNs: Double
    public var samples: Int
}
