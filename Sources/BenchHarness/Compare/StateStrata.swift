import Foundation

/// Compare like with like when the machine flips between states.
///
/// On the development VM the host moves the vCPUs every few seconds between
/// two placements (a cache line crosses in ~70 ns or ~300 ns), so a
/// shared-memory figure is bimodal: a round trip is ~130 ns or ~490 ns, with
/// nothing in between. The suite's probes run before and after all scenarios
/// and cannot say which state each repetition saw, but the values do: pooled
/// over both sides they fall into two clusters separated by a factor of two
/// or more. The sides are compared within each cluster holding at least two
/// values of each side (a cluster that does not is left out, if each side
/// keeps two thirds of its values) (a stratified rank test, van
/// Elteren's: the per-stratum U statistics weighted by 1 / (N + 1)) and the
/// effect is the size-weighted geometric mean of the per-stratum median
/// ratios. A code change shifts both clusters; a different mixture of states
/// between the sides, which moves the pooled median by a factor of two, does
/// not count as a change.
public enum StateStrata {
    /// The smallest gap between clusters: a factor of two.
    public static let minimumGap = 2.0

    public struct Stratum: Sendable, Equatable {
        public var base: [Double]
        public var new: [Double]
    }

    /// The strata (of two, split at the widest gap of the pooled values) that
    /// hold two values of each side; nil when there is no such gap, or when
    /// the strata kept lose more than a third of either side's values.
    public static func split(_ base: [Double], _ new: [Double]) -> [Stratum]? {
        let pooled = (base + new).filter { $0 > 0 }.sorted()
        guard pooled.count >= 8 else { return nil }
        var widest = 0.0, cut = 0.0
        for (a, b) in zip(pooled, pooled.dropFirst()) where b / a > widest {
            widest = b / a
            cut = (a * b).squareRoot()
        }
        guard widest >= minimumGap else { return nil }
        let strata = [Stratum(base: base.filter { $0 < cut }, new: new.filter { $0 < cut }),
                      Stratum(base: base.filter { $0 >= cut }, new: new.filter { $0 >= cut })]
        // A stratum without two values of each side cannot be ranked: it is
        // dropped (one slow round per side must not hide the fast state),
        // as long as each side keeps two thirds of its values; otherwise
        // the gap is more likely the change itself than a state.
        let kept = strata.filter { $0.base.count >= 2 && $0.new.count >= 2 }
        guard !kept.isEmpty,
              3 * kept.map(\.base.count).reduce(0, +) >= 2 * base.count,
              3 * kept.map(\.new.count).reduce(0, +) >= 2 * new.count else { return nil }
        return kept
    }

    /// new / base: the geometric mean of the strata's median ratios, each
    /// weighted by its number of values.
    public static func ratio(_ strata: [Stratum]) -> Double {
        var logSum = 0.0, weight = 0.0
        for s in strata {
            let b = Spread(s.base).median, n = Spread(s.new).median
            guard b > 0, n > 0 else { continue }
            let w = Double(s.base.count + s.new.count)
            logSum += w * log(n / b)
            weight += w
        }
        return weight > 0 ? exp(logSum / weight) : 1
    }

    /// Two-sided p of van Elteren's stratified rank-sum test (normal
    /// approximation, tie-corrected variance per stratum).
    public static func p(_ strata: [Stratum]) -> Double {
        var statistic = 0.0, expected = 0.0, variance = 0.0
        for s in strata {
            guard let u = MannWhitney.test(s.base, s.new) else { continue }
            let n1 = Double(s.base.count), n2 = Double(s.new.count), n = n1 + n2
            let w = 1 / (n + 1)
            statistic += w * u.u
            expected += w * n1 * n2 / 2
            variance += w * w * MannWhitney.variance(s.base, s.new)
        }
        guard variance > 0 else { return 1 }
        let z = abs(statistic - expected) / variance.squareRoot()
        return min(1, erfc(z / 2.0.squareRoot()))
    }
}
