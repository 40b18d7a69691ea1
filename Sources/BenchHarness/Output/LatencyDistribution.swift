import Foundation
import Histogram

/// One repetition's round-trip percentiles (ns). `compare` ranks these
/// across repetitions; the run's `summary.latencyNs` merges all of them.
public struct RepetitionLatency: Codable, Sendable, Equatable {
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64

    public init(p50: UInt64, p99: UInt64, p999: UInt64) {
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
    }

    /// From a child's flattened histogram buckets; nil when it recorded nothing.
    public init?(buckets: [UInt64]) {
        var h = LatencyHistogram.make()
        LatencyHistogram.add(buckets, to: &h)
        guard h.totalCount > 0 else { return nil }
        self.init(p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99), p999: h.valueAtPercentile(99.9))
    }
}

/// A point of a percentile distribution: `percentile` (0-100) of the samples
/// took at most `ns`. Stored so a report can draw the HdrHistogram-style
/// plot (percentile on a log scale of 1/(1-p)) without the raw buckets.
public struct PercentilePoint: Codable, Sendable, Equatable {
    public var percentile: Double
    public var ns: UInt64

    public init(percentile: Double, ns: UInt64) {
        self.percentile = percentile
        self.ns = ns
    }

    /// 0, 50, then four points per decade of 1/(1-p) (68.4, 90, 94.4, 96.8,
    /// 99, ...) up to the last level the sample count resolves, then 100
    /// (the maximum): at most ~30 points whatever the sample count.
    public static func distribution(of h: Histogram<UInt64>) -> [PercentilePoint]? {
        guard h.totalCount > 0 else { return nil }
        var levels: [Double] = [0, 50]
        var step = 2
        while true {
            let tail = pow(10, -Double(step) / 4)
            // Beyond 1/count the level names a single sample: the maximum covers it.
            guard tail * Double(h.totalCount) >= 1 else { break }
            levels.append(100 * (1 - tail))
            step += 1
        }
        levels.append(100)
        return levels.map { PercentilePoint(percentile: $0, ns: $0 >= 100 ? h.max : h.valueAtPercentile($0)) }
    }
}
