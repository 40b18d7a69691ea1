/// Jain's fairness index of per-process shares: (Σx)² / (n · Σx²). 1 when
/// every process got the same share, 1/n when one got everything. 0 when
/// nobody got anything (no share to judge).
public enum JainFairness {
    public static func index(_ shares: [UInt64]) -> Double {
        guard !shares.isEmpty else { return 0 }
        let sum = shares.reduce(0.0) { $0 + Double($1) }
        let squares = shares.reduce(0.0) { $0 + Double($1) * Double($1) }
        guard squares > 0 else { return 0 }
        return sum * sum / (Double(shares.count) * squares)
    }
}
