@testable import BenchHarness
import Foundation
import XCTest

/// Verdicts of `compare` on made-up results.
final class ResultComparisonTests: XCTestCase {
    typealias F = CompareFixtures

    func compare(_ base: ResultDocument, _ new: ResultDocument, _ configure: (inout CompareOptions) -> Void = { _ in }) throws -> ComparisonReport {
        var options = CompareOptions()
        configure(&options)
        return ResultComparison.compare(try F.set(base), try F.set(new), options: options)
    }

    func verdict(_ report: ComparisonReport, _ metric: ComparedMetric, transport: String = "spsc") -> MetricComparison? {
        report.results.first { $0.metric == metric && $0.transport == transport }
    }

    func testSlowerThroughputWithEnoughRepetitionsIsARegressionByTheUTest() throws {
        let report = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(0.8e6))]))
        let r = try XCTUnwrap(verdict(report, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .regressed, r.reason)
        XCTAssertEqual(r.method, "mann-whitney-exact")
        XCTAssertEqual(r.ratio, 0.8, accuracy: 1e-9)
        XCTAssertEqual(report.status, .regressed)
        XCTAssertEqual(report.exitCode, 2)
        XCTAssertEqual(report.counts["regressed"], 1)
    }

    func testFasterIsImprovedAndExitsZero() throws {
        let report = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(1.3e6))]))
        XCTAssertEqual(verdict(report, .messagesPerSecond)?.verdict, .improved)
        XCTAssertEqual(report.exitCode, 0)
    }

    func testSmallSignificantChangeIsUnchangedBelowTheThreshold() throws {
        let report = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(0.97e6))]))
        let r = try XCTUnwrap(verdict(report, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .unchanged, r.reason)
        XCTAssertEqual(report.exitCode, 0)
        // The same change with a 1 % threshold is a regression.
        let strict = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(0.97e6))])) { $0.threshold = 0.01 }
        XCTAssertEqual(verdict(strict, .messagesPerSecond)?.verdict, .regressed)
    }

    func testOverlappingSamplesAreInconclusive() throws {
        let base = [1.0, 1.3, 0.7, 1.2, 0.8, 1.1].map { $0 * 1e6 }, new = [0.9, 1.2, 0.6, 1.0, 0.7, 0.95].map { $0 * 1e6 }
        let report = try compare(F.document([F.run(rates: base)]), F.document([F.run(rates: new)]))
        let r = try XCTUnwrap(verdict(report, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .inconclusive, r.reason)
        XCTAssertGreaterThan(try XCTUnwrap(r.p), 0.01)
        // Nothing judged: not "ok" but not enough evidence (issue 20).
        XCTAssertEqual(report.exitCode, 4)
    }

    func testLatencyPercentilesAreSmallerIsBetter() throws {
        let report = try compare(F.document([F.run(mode: .roundtrip, rates: F.rates(1e6))]),
                                 F.document([F.run(mode: .roundtrip, rates: F.rates(0.5e6))]))
        for metric in [ComparedMetric.latencyP50, .latencyP99, .latencyP999] {
            let r = try XCTUnwrap(verdict(report, metric))
            XCTAssertFalse(r.biggerIsBetter)
            XCTAssertEqual(r.verdict, .regressed, "\(metric): \(r.reason)")
            XCTAssertEqual(r.ratio, 2, accuracy: 0.01)
        }
        // Throughput runs have no latency metrics.
        let throughput = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(1e6))]))
        XCTAssertEqual(throughput.results.map(\.metric), [.messagesPerSecond])
    }

    func testFewRepetitionsUseTheNoiseBand() throws {
        let tight = try compare(F.document([F.run(rates: [1.0e6, 1.01e6, 0.99e6])]), F.document([F.run(rates: [0.7e6, 0.71e6, 0.69e6])]))
        let r = try XCTUnwrap(verdict(tight, .messagesPerSecond))
        XCTAssertEqual(r.method, "noise-band")
        XCTAssertEqual(r.verdict, .regressed, r.reason)
        // A spread as wide as the change: inside the band.
        let loose = try compare(F.document([F.run(rates: [1.0e6, 1.5e6, 0.6e6])]), F.document([F.run(rates: [0.7e6, 1.1e6, 0.5e6])]))
        XCTAssertEqual(verdict(loose, .messagesPerSecond)?.verdict, .inconclusive)
        // Two agreeing repetitions per side say nothing about the noise.
        let pairs = try compare(F.document([F.run(rates: [1e6, 1.001e6])]), F.document([F.run(rates: [0.8e6, 0.801e6])]))
        XCTAssertEqual(verdict(pairs, .messagesPerSecond)?.verdict, .inconclusive)
        // One repetition per side: no spread, no verdict.
        let single = try compare(F.document([F.run(rates: [1e6])]), F.document([F.run(rates: [0.5e6])]))
        let s = try XCTUnwrap(verdict(single, .messagesPerSecond))
        XCTAssertEqual(s.verdict, .inconclusive)
        XCTAssertTrue(s.reason.contains("too few to judge the noise"), s.reason)
    }

    func testDifferentMachinesAreNotComparedUnlessAllowed() throws {
        var other = F.machine
        other.cpus = 4
        other.kernel = "6.2.0"
        let base = F.document([F.run(rates: F.rates(1e6))]), new = F.document([F.run(rates: F.rates(0.5e6))], machine: other)
        let report = try compare(base, new)
        XCTAssertEqual(report.status, .notComparable)
        XCTAssertEqual(report.exitCode, 3)
        XCTAssertTrue(report.results.isEmpty)
        XCTAssertEqual(report.machineDifferences, ["CPUs 2 -> 4", "kernel 6.1.0 -> 6.2.0"])
        let allowed = try compare(base, new) { $0.allowDifferentMachines = true }
        XCTAssertEqual(allowed.exitCode, 2)
        XCTAssertTrue(allowed.notes.contains { $0.contains("different machines compared") })
    }

    func testHostnameAloneDoesNotMakeAnotherMachine() throws {
        var renamed = F.machine
        renamed.hostname = "runner-2"
        XCTAssertTrue(MachineIdentity.differences(F.machine, renamed).isEmpty)
        XCTAssertEqual(MachineIdentity.id(F.machine), "test-cpu-2cpu-1node-6.1")
        XCTAssertEqual(MachineIdentity.id(MachineInfo(cpuModel: "AMD EPYC", cpus: 2, numaNodes: 1, kernel: "6.18.44-fc-v669")),
                       "amd-epyc-2cpu-1node-6.18")
    }

    func testAnotherCacheLineStateIsFlaggedAndMasksRegressions() throws {
        let base = F.document([F.run(rates: F.rates(1e6))], cacheLineNs: 70)
        let new = F.document([F.run(rates: F.rates(0.35e6))], cacheLineNs: 300)
        let report = try compare(base, new)
        let flagged = try XCTUnwrap(report.probes.first { $0.probe == "cacheLineRoundTripNs" })
        XCTAssertTrue(flagged.flagged)
        XCTAssertEqual(flagged.change, 300.0 / 70 - 1, accuracy: 1e-9)
        XCTAssertEqual(verdict(report, .messagesPerSecond)?.verdict, .inconclusive)
        XCTAssertEqual(report.status, .notComparable)
        XCTAssertEqual(report.exitCode, 3)
    }

    func testARowsOwnHostStateMasksItsRegressionWhenTheDocumentsProbesAgree() throws {
        // Both documents' start/end probes say 70 ns, but the host moved the
        // vCPUs during the new run: its own probes say 300 ns.
        var slowRow = F.run(rates: F.rates(0.35e6))
        slowRow.hostState = HostState(cpus: [0, 1], cacheLineBeforeNs: 300, cacheLineAfterNs: 310)
        var fastRow = F.run(rates: F.rates(1e6))
        fastRow.hostState = HostState(cpus: [0, 1], cacheLineBeforeNs: 70, cacheLineAfterNs: 72)
        let masked = try compare(F.document([fastRow]), F.document([slowRow]))
        XCTAssertEqual(verdict(masked, .messagesPerSecond)?.verdict, .inconclusive)
        XCTAssertTrue(verdict(masked, .messagesPerSecond)?.reason.contains("300 ns") ?? false)
        XCTAssertEqual(masked.exitCode, 3)
        // The same slowdown measured in one host state is a regression.
        var sameState = slowRow
        sameState.hostState = HostState(cpus: [0, 1], cacheLineBeforeNs: 71, cacheLineAfterNs: 69)
        XCTAssertEqual(verdict(try compare(F.document([fastRow]), F.document([sameState])), .messagesPerSecond)?.verdict, .regressed)
    }

    func testHostStateAgreesWithinOnePlacementAndProbesOnlyDistinctPinnedCPUs() {
        XCTAssertTrue(HostState(cpus: [0, 1], cacheLineBeforeNs: 70, cacheLineAfterNs: 80).steady)
        XCTAssertFalse(HostState(cpus: [0, 1], cacheLineBeforeNs: 70, cacheLineAfterNs: 300).steady)
        XCTAssertFalse(HostState.agree(35, 70))
        XCTAssertEqual(HostState.probedCPUs([0, 1], producers: 1), [0, 1])
        XCTAssertEqual(HostState.probedCPUs([0, 1, 2, 3], producers: 2), [0, 2]) // first producer, first consumer
        XCTAssertNil(HostState.probedCPUs([0, 1, 0, 1], producers: 2)) // they share CPU 0: no line crosses
        XCTAssertNil(HostState.probedCPUs([nil, nil], producers: 1))
        XCTAssertNil(HostState.probedCPUs([0, 0], producers: 1))
    }

    func testNormalizeComparesFiguresAgainstTheLimits() throws {
        // Roundtrip p50 scales with the cache line: the same efficiency in both states.
        let base = F.document([F.run(mode: .roundtrip, rates: F.rates(1e9 / 700))], cacheLineNs: 70)
        let new = F.document([F.run(mode: .roundtrip, rates: F.rates(1e9 / 3000))], cacheLineNs: 300)
        let normalized = try compare(base, new) { $0.normalize = true }
        let r = try XCTUnwrap(verdict(normalized, .latencyP50))
        XCTAssertEqual(r.unit, "x cache-line RTT")
        XCTAssertEqual(r.verdict, .unchanged, r.reason)
        XCTAssertEqual(normalized.exitCode, 0)
        // Without probes there is nothing to normalise by.
        let bare = try compare(F.document([F.run(rates: F.rates(1e6))], cacheLineNs: nil),
                               F.document([F.run(rates: F.rates(1e6))], cacheLineNs: nil)) { $0.normalize = true }
        XCTAssertEqual(verdict(bare, .messagesPerSecond)?.verdict, .inconclusive)
    }

    func testRunsAreMatchedByScenarioAndTheRestListed() throws {
        let base = F.document([F.run("spsc", rates: F.rates(1e6)), F.run("pipe", rates: F.rates(1e5))])
        let new = F.document([F.run("spsc", rates: F.rates(1e6)), F.run("fifo", rates: F.rates(1e5))])
        let report = try compare(base, new)
        XCTAssertEqual(report.results.map(\.transport), ["spsc"])
        XCTAssertEqual(report.onlyInBase.count, 1)
        XCTAssertTrue(report.onlyInBase[0].hasPrefix("pipe "))
        XCTAssertTrue(report.onlyInNew[0].hasPrefix("fifo "))
        let nothing = try compare(F.document([F.run("pipe", rates: F.rates(1e5))]), F.document([F.run("fifo", rates: F.rates(1e5))]))
        XCTAssertEqual(nothing.exitCode, 3)
    }

    func testUnknownScenarioFieldsSeparateScenariosAndExtraFieldsAreIgnored() throws {
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ResultRenderer.json(F.document([F.run(rates: [1e6])])).utf8)) as? [String: Any])
        var runs = try XCTUnwrap(json["runs"] as? [[String: Any]])
        var scenario = try XCTUnwrap(runs[0]["scenario"] as? [String: Any])
        scenario["rate"] = 5000
        runs[0]["scenario"] = scenario
        runs[0]["futureField"] = ["x": 1]
        json["runs"] = runs
        json["somethingNew"] = true
        let (_, keys) = try ResultSet.decode(try JSONSerialization.data(withJSONObject: json), name: "x.json")
        XCTAssertTrue(keys[0].description.hasSuffix("rate=5000"), keys[0].description)
        XCTAssertFalse(keys[0].description.contains("messages"))
    }

    func testMalformedDocumentsGiveOneLineErrors() {
        func message(_ text: String) -> String {
            do { _ = try ResultSet.decode(Data(text.utf8), name: "f.json"); return "" } catch { return error.description }
        }
        XCTAssertEqual(message("not json"), "f.json is not a ringbench results file (not JSON; expected ringbench/result-v1)")
        XCTAssertEqual(message("{}"), "f.json is not a ringbench results file: no \"schema\" field")
        XCTAssertEqual(message(#"{"schema":"ringbench/probes-v1"}"#), "f.json has schema 'ringbench/probes-v1'; this ringbench reads ringbench/result-v1")
        XCTAssertEqual(message(#"{"schema":"ringbench/result-v1","tool":{"version":"1","commit":"x"}}"#),
                       "f.json is not a valid ringbench/result-v1 document: missing field machine")
    }

    func testDirectoriesPoolRepetitionsPerScenario() throws {
        let a = try F.set(F.document([F.run(rates: [1e6, 1.1e6])])), b = try F.set(F.document([F.run(rates: [0.9e6])]))
        let pooled = ResultSet(label: "dir", documents: a.documents + b.documents,
                               scenarioKeys: [a.runs.map(\.key), b.runs.map(\.key)])
        XCTAssertEqual(pooled.runs.count, 1)
        XCTAssertEqual(pooled.runs[0].runs.count, 2)
        let report = ResultComparison.compare(pooled, pooled, options: CompareOptions())
        XCTAssertEqual(report.results.first?.base.n, 3)
    }

    func testRenderersCarryTheVerdicts() throws {
        let report = try compare(F.document([F.run(rates: F.rates(1e6))]), F.document([F.run(rates: F.rates(0.8e6))]))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ComparisonRenderer.json(report).utf8)) as? [String: Any])
        XCTAssertEqual(json["schema"] as? String, "ringbench/compare-v1")
        XCTAssertEqual(json["status"] as? String, "regressed")
        let result = try XCTUnwrap((json["results"] as? [[String: Any]])?.first)
        for key in ["scenario", "metric", "unit", "biggerIsBetter", "base", "new", "ratio", "change", "verdict", "reason", "method", "p"] {
            XCTAssertNotNil(result[key], key)
        }
        let markdown = ComparisonRenderer.markdown(report)
        XCTAssertTrue(markdown.hasPrefix("### ringbench compare: REGRESSION"), markdown)
        XCTAssertTrue(markdown.contains("| scenario | metric | base | new | ratio | verdict | why |"))
        XCTAssertTrue(ComparisonRenderer.table(report).contains("regressed"))
    }
}

extension ResultComparisonTests {
    func testBimodalLatencyIsComparedWithinMachineStates() throws {
        // p50 per repetition = 1e9 / rate: fast state ~130 ns, slow ~500 ns;
        // the new side is 70 ns slower in both but saw the fast state more often.
        let base = [130.0, 131, 132, 133, 134, 135, 490, 495, 500, 505, 510, 515].map { 1e9 / $0 }
        let new = [200.0, 201, 202, 203, 204, 205, 206, 207, 570, 575, 580, 585].map { 1e9 / $0 }
        let report = try compare(F.document([F.run(mode: .roundtrip, rates: base)]), F.document([F.run(mode: .roundtrip, rates: new)]))
        let r = try XCTUnwrap(verdict(report, .latencyP50))
        XCTAssertEqual(r.method, "mann-whitney-stratified")
        XCTAssertEqual(r.verdict, .regressed, r.reason)
        XCTAssertGreaterThan(r.ratio, 1.2)
    }
}

extension ResultComparisonTests {
    func testProbesOfABRoundsAreFlaggedOnlyWhenTheSidesNeverSharedAState() {
        let fast = F.probes(cacheLineNs: 70), slow = F.probes(cacheLineNs: 300)
        let mixed = MachineState.differences(base: [slow, slow, fast], new: [fast, fast, slow], tolerance: 0.5)
        XCTAssertEqual(mixed.first { $0.probe == "cacheLineRoundTripNs" }?.flagged, false)
        let apart = MachineState.differences(base: [slow, slow], new: [fast, fast], tolerance: 0.5)
        XCTAssertEqual(apart.first { $0.probe == "cacheLineRoundTripNs" }?.flagged, true)
        let close = MachineState.differences(base: [F.probes(cacheLineNs: 70)], new: [F.probes(cacheLineNs: 100)], tolerance: 0.5)
        XCTAssertEqual(close.first { $0.probe == "cacheLineRoundTripNs" }?.flagged, false)
    }
}

/// Issue 20's defects of the gate, each on fixtures with known host states.
extension ResultComparisonTests {
    func compareRounds(_ base: [RunRecord], _ new: [RunRecord], _ configure: (inout CompareOptions) -> Void = { _ in }) throws -> ComparisonReport {
        var options = CompareOptions()
        configure(&options)
        return ResultComparison.compare(try F.rounds(base), try F.rounds(new), options: options)
    }

    /// One repetition per round, as `bench/ab.sh ... --quick` writes.
    func round(_ rate: Double, _ before: Double, _ after: Double? = nil) -> RunRecord {
        F.run(rates: [rate], line: before, after)
    }

    // Defect 1: a run whose own probes disagree (51 ns before, 307 ns after)
    // is left out, not judged as a -75 % "regression".
    func testUnsteadyRunIsLeftOutAndCounted() throws {
        let base = (0..<6).map { i in round(100e6 * (1 + 0.002 * Double(i)), 51) }
        var new = (0..<5).map { i in round(100e6 * (1 + 0.002 * Double(i)), 52) }
        new.append(round(25e6, 51, 307))
        let report = try compareRounds(base, new)
        let r = try XCTUnwrap(verdict(report, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .unchanged, r.reason)
        XCTAssertEqual(r.new.n, 5)
        XCTAssertEqual(report.excluded.unsteady, 1)
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertTrue(report.notes.contains { $0.contains("1 unsteady") }, "\(report.notes)")
        // Every round unsteady on one side: nothing of it is judged as a regression.
        let allUnsteady = try compareRounds(base, (0..<6).map { _ in round(25e6, 51, 307) })
        XCTAssertNotEqual(allUnsteady.exitCode, 2)
    }

    // Defect 2: one slow run per side does not hide a clear regression in
    // the fast state (fast runs 98-105 M against 79-81 M).
    func testFastStateIsJudgedWithOneSlowRunPerSide() throws {
        let base = [98e6, 100e6, 101e6, 103e6, 105e6].map { round($0, 70) } + [round(33e6, 300)]
        let new = [79e6, 79.5e6, 80e6, 80.5e6, 81e6].map { round($0, 71) } + [round(30e6, 305)]
        let report = try compareRounds(base, new)
        let r = try XCTUnwrap(verdict(report, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .regressed, r.reason)
        XCTAssertEqual(try XCTUnwrap(r.judgedStateNs), 70, accuracy: 1)
        XCTAssertEqual(report.excluded.otherState, 2)
        XCTAssertEqual(report.exitCode, 2)
        // The same values without per-run probes: the value clusters still
        // leave the lone slow value of each side out.
        let bare = try compare(F.document([F.run(rates: [98e6, 100e6, 101e6, 103e6, 105e6, 33e6])]),
                               F.document([F.run(rates: [79e6, 79.5e6, 80e6, 80.5e6, 81e6, 30e6])]))
        XCTAssertEqual(verdict(bare, .messagesPerSecond)?.verdict, .regressed, verdict(bare, .messagesPerSecond)?.reason ?? "")
        // And identical code with one slow run per side is not a regression.
        let same = try compareRounds(base, [98.5e6, 100e6, 101e6, 102e6, 104e6].map { round($0, 72) } + [round(31e6, 298)])
        XCTAssertNotEqual(same.exitCode, 2)
    }

    // Two placements 1.2x apart (cache line ~50 and ~60 ns on the
    // development VM, 2026-12-07): the injected fence cost -25 % in the
    // first and nothing in the second. With the default tolerance they are
    // one state; with --state-tolerance 10 only the 50 ns runs are judged
    // (the 60 ns ones and a run whose probes straddle both are left out).
    func testAFinerStateToleranceSeparatesNearbyPlacements() throws {
        let base = [80e6, 81e6, 79e6, 80.5e6, 79.5e6, 80e6].map { round($0, 50) } + [80e6, 79e6, 81e6].map { round($0, 60) }
        let new = [60e6, 61e6, 59e6, 60.5e6, 59.5e6, 60e6].map { round($0, 51) } + [80e6, 79e6, 81e6].map { round($0, 60) }
            + [round(70e6, 52, 59)]
        let fine = try compareRounds(base, new) { $0.stateTolerance = 1.1 }
        let r = try XCTUnwrap(verdict(fine, .messagesPerSecond))
        XCTAssertEqual(r.verdict, .regressed, r.reason)
        XCTAssertEqual(try XCTUnwrap(r.judgedStateNs), 50, accuracy: 1)
        XCTAssertEqual(fine.excluded.otherState, 6)
        XCTAssertEqual(fine.excluded.unsteady, 1)
        // By default the straddling run is steady and every run is one state.
        let coarse = try compareRounds(base, new)
        XCTAssertEqual(coarse.excluded.total, 0)
    }

    // Defect 3: a round-trip file with one long stall (trips per second x0.31)
    // and identical percentiles is no regression: round trips are gated on
    // their percentiles.
    func testRoundTripsAreGatedOnPercentilesNotTripsPerSecond() throws {
        var stalled = F.run(mode: .roundtrip, rates: F.rates(1e6).map { $0 * 0.31 })
        // Same percentiles as the base: the stall is one trip.
        stalled.repetitions = stalled.repetitions.map { r in
            var r = r
            r.latencyNs = RepetitionLatency(p50: 1000, p99: 2000, p999: 3000)
            return r
        }
        var base = F.run(mode: .roundtrip, rates: F.rates(1e6))
        base.repetitions = base.repetitions.map { r in
            var r = r
            r.latencyNs = RepetitionLatency(p50: 1000, p99: 2000, p999: 3000)
            return r
        }
        let report = try compare(F.document([base]), F.document([stalled]))
        XCTAssertNil(verdict(report, .messagesPerSecond))
        XCTAssertEqual(verdict(report, .latencyP50)?.verdict, .unchanged)
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertTrue(report.notes.contains { $0.contains("not gated") })
    }

    // Defect 5: almost nothing judged is not "ok"; one-repetition files say
    // they cannot fail.
    func testTooLittleJudgedIsNotEnoughEvidence() throws {
        let noisyBase = [1.0, 1.3, 0.7, 1.2, 0.8, 1.1].map { $0 * 1e6 }, noisyNew = [0.9, 1.2, 0.6, 1.0, 0.7, 0.95].map { $0 * 1e6 }
        let report = try compare(F.document([F.run(rates: noisyBase), F.run("pipe", rates: noisyBase)]),
                                 F.document([F.run(rates: noisyNew), F.run("pipe", rates: noisyNew)]))
        XCTAssertEqual(report.counts["inconclusive"], 2)
        XCTAssertEqual(report.status, .notEnoughEvidence)
        XCTAssertEqual(report.exitCode, 4)
        XCTAssertEqual(report.judgedShare, 0)
        XCTAssertTrue(ComparisonRenderer.table(report).contains("NOT ENOUGH EVIDENCE"))
        let single = try compare(F.document([F.run(rates: [1e6])]), F.document([F.run(rates: [0.6e6])]))
        XCTAssertEqual(single.exitCode, 4)
        XCTAssertTrue(single.notes.contains { $0.contains("cannot fail") }, "\(single.notes)")
        // Asking for no minimum keeps the old "ok".
        let lenient = try compare(F.document([F.run(rates: noisyBase)]), F.document([F.run(rates: noisyNew)])) { $0.minimumJudgedShare = 0 }
        XCTAssertEqual(lenient.exitCode, 0)
    }

    // Defect 6: every change beyond the threshold is in the headline, judged or not.
    func testHeadlineListsEveryChangeBeyondTheThreshold() throws {
        let noisyBase = [1.0, 1.3, 0.7, 1.2, 0.8, 1.1].map { $0 * 1e6 }, noisyNew = noisyBase.map { $0 * 0.8 }
        let report = try compare(F.document([F.run(rates: noisyBase), F.run("pipe", rates: F.rates(1e6))]),
                                 F.document([F.run(rates: noisyNew), F.run("pipe", rates: F.rates(1e6))]))
        XCTAssertEqual(verdict(report, .messagesPerSecond)?.verdict, .inconclusive)
        XCTAssertEqual(report.beyondThreshold.count, 1)
        let headline = ComparisonRenderer.headline(report)
        XCTAssertTrue(headline.contains("-20.0% (inconclusive)"), headline)
        let markdown = ComparisonRenderer.markdown(report)
        let fold = try XCTUnwrap(markdown.range(of: "<details>"))
        let listed = try XCTUnwrap(markdown.range(of: "-20.0% (inconclusive)"))
        XCTAssertLessThan(listed.lowerBound, fold.lowerBound)
    }

    // Defect 9: the machine id keeps the kernel's major.minor only.
    func testMachineIdKeepsTheKernelSeriesOnly() {
        let a = MachineInfo(cpuModel: "AMD EPYC", cpus: 2, numaNodes: 1, kernel: "6.18.44-fc-v669")
        let b = MachineInfo(cpuModel: "AMD EPYC", cpus: 2, numaNodes: 1, kernel: "6.18.51-fc-v1272")
        XCTAssertEqual(MachineIdentity.id(a), "amd-epyc-2cpu-1node-6.18")
        XCTAssertEqual(MachineIdentity.id(a), MachineIdentity.id(b))
        XCTAssertTrue(MachineIdentity.differences(a, b).isEmpty)
        XCTAssertFalse(MachineIdentity.differences(a, MachineInfo(cpuModel: "AMD EPYC", cpus: 2, numaNodes: 1, kernel: "6.19.1")).isEmpty)
        XCTAssertEqual(MachineIdentity.kernelSeries("garbage"), "unknown-kernel")
    }

    // Defect 4: a baseline taken mostly in the slow placement is refused.
    func testBaselineMostlyInTheSlowStateIsNotUsable() throws {
        let slow = (0..<25).map { F.run("t\($0)", rates: [33e6], line: 300) }
        let fast = (0..<7).map { F.run("f\($0)", rates: [100e6], line: 51) }
        var document = F.document(slow + fast, cacheLineNs: 51)
        let (doc, keys) = try ResultSet.decode(Data(ResultRenderer.json(document).utf8), name: "b.json")
        let quality = BaselineQuality(doc, keys: keys)
        XCTAssertEqual(quality.usable, 7)
        XCTAssertNotNil(quality.problem)
        XCTAssertTrue(quality.listing.contains("slow-state"))
        document = F.document(fast + [F.run("u", rates: [1e6], line: 51, 307)], cacheLineNs: 51)
        let (good, goodKeys) = try ResultSet.decode(Data(ResultRenderer.json(document).utf8), name: "g.json")
        let ok = BaselineQuality(good, keys: goodKeys)
        XCTAssertNil(ok.problem)
        XCTAssertEqual(ok.runs.filter { $0.verdict == .unsteady }.count, 1)
    }
}
