@testable import BenchHarness
import XCTest

/// Reference values from scipy.stats.mannwhitneyu 1.17.1 (two-sided;
/// method="exact" without ties, "asymptotic" with use_continuity=True).
final class MannWhitneyTests: XCTestCase {
    func check(_ x: [Double], _ y: [Double], u: Double, p: Double, exact: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try XCTUnwrap(MannWhitney.test(x, y), file: file, line: line)
        XCTAssertEqual(r.u, u, accuracy: 1e-9, file: file, line: line)
        XCTAssertEqual(r.p, p, accuracy: 1e-9, file: file, line: line)
        XCTAssertEqual(r.exact, exact, file: file, line: line)
    }

    func testExactCompleteSeparation() throws {
        try check([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], u: 0, p: 0.007936507936507936, exact: true)
        try check([6, 7, 8, 9, 10], [1, 2, 3, 4, 5], u: 25, p: 0.007936507936507936, exact: true)
        try check([1, 2, 3], [4, 5, 6], u: 0, p: 0.1, exact: true)
    }

    func testExactWithOverlap() throws {
        try check([1.1, 2.2, 3.3, 4.4, 5.5, 6.6], [2.5, 7, 8, 9, 10, 11, 12], u: 4, p: 0.013986013986013986, exact: true)
    }

    func testNormalApproximationWithTies() throws {
        try check([1, 2, 2, 3, 3, 4], [2, 3, 4, 4, 5, 6], u: 7, p: 0.08583877982601507, exact: false)
    }

    func testNormalApproximationAboveTheExactLimit() throws {
        let x = (0..<30).map { Double($0) * 2 }, y = (0..<30).map { Double($0) * 2 + 1 }
        let r = try XCTUnwrap(MannWhitney.test(x, y))
        XCTAssertFalse(r.exact)
        XCTAssertGreaterThan(r.p, 0.5)
    }

    func testExactDistributionCountsEveryOrdering() {
        // C(8, 4) = 70 orderings, symmetric around n1 * n2 / 2 = 8.
        let counts = MannWhitney.uDistribution(4, 4)
        XCTAssertEqual(counts.reduce(0, +), 70)
        XCTAssertEqual(counts.count, 17)
        XCTAssertEqual(counts, counts.reversed())
        XCTAssertEqual(MannWhitney.uDistribution(3, 0), [1])
    }

    func testIdenticalSamplesAreNotSignificantAndEmptyIsNil() throws {
        let r = try XCTUnwrap(MannWhitney.test([5, 5, 5], [5, 5, 5]))
        XCTAssertEqual(r.p, 1)
        XCTAssertNil(MannWhitney.test([], [1]))
    }
}

/// Comparing within machine states when the values are bimodal.
final class StateStrataTests: XCTestCase {
    // Fast and slow host placement, base vs a build ~70 ns slower per round trip,
    // with more fast repetitions on the new side (as measured on the VM).
    let base: [Double] = [130, 130, 130, 140, 140, 140, 490, 490, 520, 520, 520, 530]
    let new: [Double] = [210, 210, 210, 210, 210, 210, 210, 220, 560, 570, 580, 590]

    func testSplitsAtTheGapBetweenStates() throws {
        let strata = try XCTUnwrap(StateStrata.split(base, new))
        XCTAssertEqual(strata.map(\.base.count), [6, 6])
        XCTAssertEqual(strata.map(\.new.count), [8, 4])
        // The pooled medians say "33 % faster"; within each state it is slower.
        XCTAssertGreaterThan(StateStrata.ratio(strata), 1.2)
        XCTAssertLessThan(StateStrata.p(strata), 0.001)
    }

    func testNoSplitWithoutAGapOrWithAOneSidedCluster() {
        XCTAssertNil(StateStrata.split([100, 101, 102, 103, 104, 105], [106, 107, 108, 109, 110, 111]))
        // A doubling moves all new values into their own cluster: not strata.
        XCTAssertNil(StateStrata.split([100, 101, 102, 103, 104, 105], [200, 201, 202, 203, 204, 205]))
    }

    func testSameMixtureIsNotSignificant() throws {
        let a: [Double] = [130, 131, 132, 133, 500, 501, 502, 503], b: [Double] = [130.5, 131.5, 132.5, 133.5, 500.5, 501.5, 502.5, 503.5]
        let strata = try XCTUnwrap(StateStrata.split(a, b))
        XCTAssertGreaterThan(StateStrata.p(strata), 0.1)
        XCTAssertEqual(StateStrata.ratio(strata), 1, accuracy: 0.01)
    }
}
