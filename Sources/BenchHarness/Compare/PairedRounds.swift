import Foundation

/// Compare the rounds `bench/ab.sh` ran side by side, pair by pair.
///
/// ab.sh runs the two sides in turn and writes round I of each side to a
/// file of the same name (`base/round-I.json`, `head/round-I.json`). The two
/// runs of a round are seconds apart; runs of different rounds are minutes
/// apart, and in between the host may move the vCPUs, other tenants come and
/// go, and a shared-memory figure drifts by tens of percent. Ranking all of
/// one side's values against all of the other's (the U test) counts that
/// drift as noise: a −25 % change at 8 B stayed "not significant" (p
/// 0.015–0.065 with six rounds a side) although it showed in every round.
/// The ratio within a round cancels the drift both runs share, so the test is
/// on the rounds' log ratios.
///
/// Which test: a round whose two runs saw different host states gives a wild
/// ratio (×2.5 either way on the development VM, probes before and after
/// the run notwithstanding). The plain t test lets one such pair hide a
/// consistent −25 % (its spread swamps the rest) and the signed-rank test
/// lets it outvote a sign; neither can go below p = 0.01 with six rounds
/// anyway once one pair disagrees. Yuen's trimmed t test (20 % trimmed
/// mean, winsorized variance; Wilcox, "Introduction to Robust Estimation
/// and Hypothesis Testing") ignores the wildest fifth of the pairs on each
/// side and keeps its stated error rate on such heavy tails. The change is
/// the trimmed mean's ratio. A round in which either run was left out by its
/// own probes (`RunSelection`) is left out as a pair.
public enum PairedRounds {
    /// Fewest pairs the test is run on (3 degrees of freedom: a consistent
    /// −20 % change with a few percent of spread is still p < 0.01).
    public static let minimumPairs = 4

    public struct Result: Sendable, Equatable {
        /// The per-round ratios new / base, their 20 % trimmed geometric mean.
        public var ratio: Double
        /// Two-sided p of Yuen's test of the trimmed mean log ratio against 0.
        public var p: Double
        public var pairs: Int
    }

    /// The per-round (base, new) figures of two pooled runs: runs matched by
    /// the name of the file they came from, each run's figure the median of
    /// its values; nil when fewer than `minimumPairs` rounds match.
    public static func pairs(_ base: [(round: String?, value: Double)], _ new: [(round: String?, value: Double)]) -> [(Double, Double)]? {
        func byRound(_ side: [(round: String?, value: Double)]) -> [String: [Double]] {
            var out: [String: [Double]] = [:]
            for (round, value) in side { if let round, value > 0 { out[round, default: []].append(value) } }
            return out
        }
        let b = byRound(base), n = byRound(new)
        let rounds = Set(b.keys).intersection(n.keys).sorted()
        guard rounds.count >= minimumPairs else { return nil }
        return rounds.map { (Spread(b[$0]!).median, Spread(n[$0]!).median) }
    }

    /// Share of pairs trimmed from each end.
    public static let trim = 0.2

    /// Yuen's test on (base, new) figures; nil when the figures cannot be
    /// tested (too few pairs, or a non-positive figure).
    public static func test(_ pairs: [(Double, Double)]) -> Result? {
        guard pairs.count >= minimumPairs, pairs.allSatisfy({ $0.0 > 0 && $0.1 > 0 }) else { return nil }
        let logs = pairs.map { log($0.1 / $0.0) }.sorted()
        let n = logs.count, g = Int(trim * Double(n)), h = n - 2 * g
        let kept = logs[g..<(n - g)]
        let mean = kept.reduce(0, +) / Double(h)
        // Winsorized: the g lowest become the lowest kept, the g highest the highest kept.
        let winsorized = logs.map { min(max($0, kept.first!), kept.last!) }
        let wMean = winsorized.reduce(0, +) / Double(n)
        let wVariance = winsorized.map { ($0 - wMean) * ($0 - wMean) }.reduce(0, +) / Double(n - 1)
        let ratio = exp(mean)
        guard wVariance > 0 else {
            // Every kept round moved by exactly the same factor: decisive unless that factor is 1.
            return Result(ratio: ratio, p: mean == 0 ? 1 : 0, pairs: n)
        }
        let standardError = wVariance.squareRoot() / ((1 - 2 * Double(g) / Double(n)) * Double(n).squareRoot())
        return Result(ratio: ratio, p: StudentT.twoSidedP(mean / standardError, degreesOfFreedom: Double(h - 1)), pairs: n)
    }
}

/// Student's t distribution, through the regularized incomplete beta
/// function: P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²).
enum StudentT {
    static func twoSidedP(_ t: Double, degreesOfFreedom df: Double) -> Double {
        guard t.isFinite else { return 0 }
        return min(1, max(0, incompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)))
    }

    /// I_x(a, b), by the continued fraction (Lentz's method) on the side
    /// where it converges quickly.
    static func incompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a: a, b: b) / a }
        return 1 - front * continuedFraction(1 - x, a: b, b: a) / b
    }

    static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            // Even step, then odd step of the fraction.
            let even: Double = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            let odd: Double = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            for numerator in [even, odd] {
                d = 1 + numerator * d
                if abs(d) < tiny { d = tiny }
                c = 1 + numerator / c
                if abs(c) < tiny { c = tiny }
                d = 1 / d
                h *= d * c
            }
            if abs(d * c - 1) < 1e-12 { break }
        }
        return h
    }
}
