import Foundation

/// The Mann-Whitney U (Wilcoxon rank-sum) test: do two samples come from the
/// same distribution, or does one tend to be larger? It uses only ranks, so
/// one wild repetition moves it no more than any other, and it assumes no
/// shape (benchmark figures are skewed, not normal). asv and Google
/// Benchmark's compare.py use it for the same reason.
///
/// - exact: without ties and with at most `exactLimit` values in all, the
///   null distribution of U is counted exactly (each of the C(n1+n2, n1)
///   orderings equally likely);
/// - otherwise the normal approximation with the tie correction of the
///   variance and a continuity correction of 0.5, as scipy's
///   `mannwhitneyu(method="asymptotic")`.
///
/// p values are two-sided. Results match scipy.stats.mannwhitneyu
/// (MannWhitneyTests holds the reference values).
public enum MannWhitney {
    public struct Result: Sendable, Equatable {
        /// U of the first sample: pairs (x, y) with x > y, plus half the ties.
        public var u: Double
        /// Two-sided p value.
        public var p: Double
        public var exact: Bool
    }

    /// Above this many values in all, the exact count (O(n1 · n2 · n1·n2))
    /// gives way to the approximation, which is good there anyway.
    public static let exactLimit = 50

    /// nil when either sample is empty.
    public static func test(_ x: [Double], _ y: [Double]) -> Result? {
        let n1 = x.count, n2 = y.count
        guard n1 > 0, n2 > 0 else { return nil }
        let pooled = (x.map { ($0, 0) } + y.map { ($0, 1) }).sorted { $0.0 < $1.0 }
        // Mid-ranks: a run of equal values shares the mean of its ranks.
        var rankSumX = 0.0, hasTies = false
        var i = 0
        while i < pooled.count {
            var j = i
            while j + 1 < pooled.count, pooled[j + 1].0 == pooled[i].0 { j += 1 }
            let t = Double(j - i + 1)
            if t > 1 { hasTies = true }
            let midRank = Double(i + j) / 2 + 1
            for k in i...j where pooled[k].1 == 0 { rankSumX += midRank }
            i = j + 1
        }
        let u = rankSumX - Double(n1 * (n1 + 1)) / 2
        if !hasTies, n1 + n2 <= exactLimit {
            return Result(u: u, p: exactP(u: Int(u.rounded()), n1, n2), exact: true)
        }
        let mean = Double(n1) * Double(n2) / 2
        let variance = Self.variance(x, y)
        guard variance > 0 else { return Result(u: u, p: 1, exact: false) }
        let z = max(0, abs(u - mean) - 0.5) / variance.squareRoot()
        return Result(u: u, p: min(1, erfc(z / 2.0.squareRoot())), exact: false)
    }

    /// The null variance of U, with the tie correction.
    public static func variance(_ x: [Double], _ y: [Double]) -> Double {
        let n1 = Double(x.count), n2 = Double(y.count), n = n1 + n2
        guard n > 1 else { return 0 }
        var counts: [Double: Int] = [:]
        for v in x + y { counts[v, default: 0] += 1 }
        let tieTerm = counts.values.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
        return n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
    }

    /// Two-sided exact p: twice the smaller tail of U's null distribution.
    static func exactP(u: Int, _ n1: Int, _ n2: Int) -> Double {
        let counts = uDistribution(n1, n2)
        let total = counts.reduce(0, +)
        let lower = counts[0...min(u, counts.count - 1)].reduce(0, +)
        let upper = counts[max(0, u)...].reduce(0, +)
        return min(1, 2 * min(lower, upper) / total)
    }

    /// counts[u] = orderings of n1 x's among n2 y's with statistic u, from
    /// f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u): the largest value is
    /// either an x (beating all n y's) or a y.
    static func uDistribution(_ n1: Int, _ n2: Int) -> [Double] {
        // table[n][u] for the current m, built up from m = 0.
        var table = (0...n2).map { _ in [1.0] }
        if n1 == 0 { return table[n2] }
        for m in 1...n1 {
            var next: [[Double]] = [[1.0]]  // n = 0: only u = 0
            for n in 1...max(1, n2) where n <= n2 {
                var row = [Double](repeating: 0, count: m * n + 1)
                for (u, c) in table[n].enumerated() where u + n < row.count { row[u + n] += c }
                for (u, c) in next[n - 1].enumerated() { row[u] += c }
                next.append(row)
            }
            table = next
        }
        return table[n2]
    }
}
