@testable import BenchHarness
import XCTest

private typealias F = CompareFixtures

final class PairedRoundsTests: XCTestCase {
    func testStudentTMatchesTheTables() {
        // Two-sided critical values: t(0.975; 4) = 2.776, t(0.995; 4) = 4.604, t(0.995; 1) = 63.657, t(0.975; 30) = 2.042.
        XCTAssertEqual(StudentT.twoSidedP(2.776, degreesOfFreedom: 4), 0.05, accuracy: 2e-4)
        XCTAssertEqual(StudentT.twoSidedP(-4.604, degreesOfFreedom: 4), 0.01, accuracy: 1e-4)
        XCTAssertEqual(StudentT.twoSidedP(63.657, degreesOfFreedom: 1), 0.01, accuracy: 1e-4)
        XCTAssertEqual(StudentT.twoSidedP(2.042, degreesOfFreedom: 30), 0.05, accuracy: 2e-4)
        XCTAssertEqual(StudentT.twoSidedP(0, degreesOfFreedom: 5), 1, accuracy: 1e-12)
        XCTAssertEqual(StudentT.twoSidedP(.infinity, degreesOfFreedom: 5), 0)
    }

    func testRoundsPairByNameAndNeedFour() throws {
        let base: [(round: String?, value: Double)] = [("r1", 10), ("r2", 20), ("r3", 30), ("r4", 40), ("only-base", 50)]
        let new: [(round: String?, value: Double)] = [("r4", 36), ("r2", 18), ("r1", 9), ("r3", 27), (nil, 1)]
        let pairs = try XCTUnwrap(PairedRounds.pairs(base, new))
        XCTAssertEqual(pairs.map(\.0), [10, 20, 30, 40])
        XCTAssertEqual(pairs.map(\.1), [9, 18, 27, 36])
        XCTAssertNil(PairedRounds.pairs(Array(base.prefix(3)), new), "three rounds in common are too few")
        let result = try XCTUnwrap(PairedRounds.test(pairs))
        XCTAssertEqual(result.ratio, 0.9, accuracy: 1e-12)
        XCTAssertEqual(result.p, 0, "every round moved by the same factor")
    }

    /// The case the U test missed (issue 20): −25 % in every round, while the
    /// rounds themselves drift by a factor of two.
    func testADriftingMachineHidesNothingFromThePairedTest() throws {
        let drift = [10e6, 14e6, 20e6, 12e6, 18e6, 9e6]
        let wobble = [1.0, 1.03, 0.98, 1.02, 0.97, 1.01]
        let base = drift.map { F.run(size: 8, rates: [$0]) }
        let new = zip(drift, wobble).map { F.run(size: 8, rates: [$0 * 0.75 * $1]) }
        func verdict(paired: Bool) throws -> MetricComparison {
            var options = CompareOptions()
            options.paired = paired
            let report = ResultComparison.compare(try F.rounds(base, named: true), try F.rounds(new, named: true), options: options)
            return try XCTUnwrap(report.results.first { $0.metric == .messagesPerSecond })
        }
        let paired = try verdict(paired: true)
        XCTAssertEqual(paired.verdict, .regressed, paired.reason)
        XCTAssertEqual(paired.method, "paired-yuen")
        XCTAssertEqual(paired.change, -0.25, accuracy: 0.02)
        XCTAssertLessThan(try XCTUnwrap(paired.p), 0.01)
        let ranked = try verdict(paired: false)
        XCTAssertEqual(ranked.verdict, .inconclusive, "ranking all values counts the drift as noise: \(ranked.reason)")
    }

    func testIdenticalCodeOnADriftingMachineIsUnchanged() throws {
        let drift = [10e6, 14e6, 20e6, 12e6, 18e6, 9e6]
        let wobble = [1.02, 0.98, 1.01, 0.99, 1.03, 0.97]
        let base = drift.map { F.run(size: 8, rates: [$0]) }
        let new = zip(drift, wobble).map { F.run(size: 8, rates: [$0 * $1]) }
        let report = ResultComparison.compare(try F.rounds(base, named: true), try F.rounds(new, named: true), options: CompareOptions())
        XCTAssertEqual(report.status, .ok)
        XCTAssertEqual(report.results.first?.verdict, .unchanged)
    }

    func testARoundLeftOutByItsProbesLeavesItsPair() throws {
        // Round 3's base run saw the host move (probes 70 -> 300 ns): that round is not a pair.
        var base = (0..<6).map { _ -> RunRecord in F.run(size: 8, rates: [10e6], line: 70) }
        base[2] = F.run(size: 8, rates: [30e6], line: 70, 300)
        let new = (0..<6).map { _ -> RunRecord in F.run(size: 8, rates: [8e6], line: 70) }
        let report = ResultComparison.compare(try F.rounds(base, named: true), try F.rounds(new, named: true), options: CompareOptions())
        let result = try XCTUnwrap(report.results.first)
        XCTAssertEqual(result.method, "paired-yuen")
        XCTAssertEqual(result.verdict, .regressed, result.reason)
        XCTAssertTrue(result.reason.contains("over 5 rounds"), result.reason)
        XCTAssertEqual(report.excluded.unsteady, 1)
    }

    func testAPercentileWithAHandfulOfTripsBeyondItIsNotGated() throws {
        // 4 000 round trips in a repetition: p99 has 40 beyond it (gated), p99.9 has 4 (not gated).
        let base = F.run(mode: .roundtrip, size: 65536, rates: F.rates(50e3), samples: 4_000 * 6)
        let new = F.run(mode: .roundtrip, size: 65536, rates: F.rates(25e3), samples: 4_000 * 6)
        let report = ResultComparison.compare(try F.set(F.document([base])), try F.set(F.document([new])), options: CompareOptions())
        XCTAssertEqual(Set(report.results.map(\.metric)), [.latencyP50, .latencyP99])
        XCTAssertTrue(report.notes.contains { $0.contains("p99.9 10 000") }, "\(report.notes)")
    }

    func testTailPercentilesHaveTheirOwnThreshold() throws {
        // Every percentile 10 % slower in every round: beyond the 5 % for p50,
        // within the 15 % the tails are held to.
        let drift = [1e6, 1.4e6, 0.8e6, 1.2e6, 0.9e6, 1.1e6]
        let base = drift.map { F.run(mode: .roundtrip, size: 8, rates: [$0]) }
        let new = drift.map { F.run(mode: .roundtrip, size: 8, rates: [$0 / 1.10]) }
        let report = ResultComparison.compare(try F.rounds(base, named: true), try F.rounds(new, named: true), options: CompareOptions())
        func verdict(_ metric: ComparedMetric) -> Verdict? { report.results.first { $0.metric == metric }?.verdict }
        XCTAssertEqual(verdict(.latencyP50), .regressed)
        XCTAssertEqual(verdict(.latencyP99), .unchanged)
        XCTAssertEqual(verdict(.latencyP999), .unchanged)
        XCTAssertEqual(report.beyondThreshold.count, 1, "\(report.beyondThreshold)")
        var strict = CompareOptions()
        strict.tailThreshold = 0.05
        let strictReport = ResultComparison.compare(try F.rounds(base, named: true), try F.rounds(new, named: true), options: strict)
        XCTAssertEqual(strictReport.results.filter { $0.verdict == .regressed }.count, 3)
    }
}
