@testable import BenchHarness
import Foundation
import XCTest

/// Efficiency, ratio to pipe and harness overhead, computed from made-up
/// probes and runs (no process is forked).
final class EfficiencyTests: XCTestCase {
    static let probes = ProbeResults(
        cacheLine: CacheLineLatency(cpus: [0, 1, 2], statistic: "min", samples: 1, roundTripsPerSample: 1,
                                    roundTripNs: [[nil, 100, 300], [100, nil, 200], [300, 200, nil]],
                                    medianRoundTripNs: [[nil, 110, 310], [110, nil, 210], [310, 210, nil]],
                                    oneWayNs: [[nil, 50, 150], [50, nil, 100], [150, 100, nil]]),
        memcpy: MemcpyProbe.sizes.map { MemcpyBandwidth(bytes: $0, bytesPerSecond: 1e12 / Double($0).squareRoot(), cpu: 0) },
        wakeup: WakeupLatency(statistic: "median", sameCPU: nil, crossCPU: nil), clockReadNs: 20, seconds: 0.5)

    static func run(_ transport: String = "spsc", mode: Scenario.Mode, size: Int = 8, capacity: Int = 4096,
                    cpus: [Int?] = [0, 1], msgsPerSecond: Double = 1e6, p50: UInt64 = 400) -> RunRecord {
        var scenario = Scenario(transport: transport, backing: nil, messageSize: size, messages: 1, capacity: capacity,
                                batch: 1, mode: mode)
        scenario.placement = cpus.enumerated().map { PlacementEntry(role: $0 == 0 ? "producer" : "consumer", cpu: $1, node: 0) }
        let latency = mode == .roundtrip
            ? LatencySummary(kind: "roundtrip", p50: p50, p90: p50, p99: p50, p999: p50, max: p50, mean: Double(p50), samples: 1)
            : nil
        return RunRecord(scenario: scenario, repetitions: [], integrity: IntegrityCounts(),
                         summary: RunSummary(messagesPerSecond: Spread([msgsPerSecond]),
                                             bytesPerSecond: Spread([msgsPerSecond * Double(size)]), latencyNs: latency))
    }

    func testMemcpySizeClosestOnALogScaleTiesGoToTheSmaller() {
        let p = Self.probes
        XCTAssertEqual(p.memcpy(closestTo: 8)?.bytes, 4096)
        XCTAssertEqual(p.memcpy(closestTo: 32768)?.bytes, 65536)
        XCTAssertEqual(p.memcpy(closestTo: 16384)?.bytes, 4096)
        XCTAssertEqual(p.memcpy(closestTo: 4 << 20)?.bytes, 1 << 20)
        XCTAssertEqual(p.memcpy(closestTo: 1 << 30)?.bytes, 64 << 20)
    }

    func testRoundtripAgainstTheCacheLineOfItsCPUs() throws {
        let e = try XCTUnwrap(RunEfficiency.of(Self.run(mode: .roundtrip, cpus: [1, 2], p50: 400), probes: Self.probes, usesCapacity: true))
        XCTAssertEqual(e.limit, .cacheLineRoundTrip)
        XCTAssertEqual(e.limitValue, 200)
        XCTAssertEqual(e.cpus, [1, 2])
        XCTAssertEqual(e.fraction, 0.5, accuracy: 1e-12)
    }

    func testSameCPUHasNoLimitAndUnpinnedUsesTheFastestPair() throws {
        XCTAssertNil(RunEfficiency.of(Self.run(mode: .roundtrip, cpus: [1, 1]), probes: Self.probes, usesCapacity: true))
        XCTAssertNil(RunEfficiency.of(Self.run(mode: .roundtrip, cpus: [0, 7]), probes: Self.probes, usesCapacity: true))
        let e = try XCTUnwrap(RunEfficiency.of(Self.run(mode: .roundtrip, cpus: [nil, nil], p50: 1000), probes: Self.probes, usesCapacity: true))
        XCTAssertEqual(e.limitValue, 100)
        XCTAssertEqual(e.fraction, 0.1, accuracy: 1e-12)
    }

    func testThroughputAgainstMemcpyAtTheWorkingSet() throws {
        let ring = try XCTUnwrap(RunEfficiency.of(Self.run(mode: .throughput, size: 8, capacity: 4096), probes: Self.probes, usesCapacity: true))
        XCTAssertEqual(ring.workingSetBytes, 32768)
        XCTAssertEqual(ring.memcpyBytes, 65536)
        XCTAssertEqual(ring.fraction, 8e6 / (1e12 / 256), accuracy: 1e-12)
        let kernel = try XCTUnwrap(RunEfficiency.of(Self.run(mode: .throughput, size: 65536), probes: Self.probes, usesCapacity: false))
        XCTAssertEqual(kernel.workingSetBytes, 65536)
        XCTAssertEqual(kernel.memcpyBytes, 65536)
    }

    func testVersusPipeOnlyWithAMatchingPipeRun() {
        var document = ResultDocument(tool: ToolInfo(version: "t", commit: "c"), machine: MachineInfo(cpuModel: "m", cpus: 2, numaNodes: 1, kernel: "k"), runs: [
            Self.run("spsc", mode: .throughput, msgsPerSecond: 50e6),
            Self.run("pipe", mode: .throughput, msgsPerSecond: 1e6),
            Self.run("spsc", mode: .roundtrip, p50: 500),
            Self.run("pipe", mode: .roundtrip, p50: 20000),
            Self.run("spsc", mode: .throughput, size: 64, msgsPerSecond: 40e6),
        ], probes: Self.probes)
        document.annotate()
        XCTAssertEqual(document.runs[0].versusPipe ?? 0, 50, accuracy: 1e-9)
        XCTAssertEqual(document.runs[1].versusPipe ?? 0, 1, accuracy: 1e-9)
        XCTAssertEqual(document.runs[2].versusPipe ?? 0, 40, accuracy: 1e-9)
        XCTAssertNil(document.runs[4].versusPipe)
        XCTAssertNotNil(document.runs[0].efficiency)
        let table = ResultRenderer.table(document)
        XCTAssertTrue(table.contains("vs pipe") && table.contains("efficiency"), table)
        XCTAssertTrue(table.contains("50x"), table)
        XCTAssertTrue(table.contains("limits: cache-line round trip 100 ns"), table)
        // Throughput rows come fastest first, roundtrip rows lowest p50 first.
        let lines = table.split(separator: "\n")
        let spsc8 = lines.firstIndex { $0.hasPrefix("spsc") && $0.contains("throughput") && $0.contains(" 8 B") }!
        let pipe8 = lines.firstIndex { $0.hasPrefix("pipe") && $0.contains("throughput") }!
        let pipeRTT = lines.firstIndex { $0.hasPrefix("pipe") && $0.contains("roundtrip") }!
        let spscRTT = lines.firstIndex { $0.hasPrefix("spsc") && $0.contains("roundtrip") }!
        XCTAssertLessThan(spsc8, pipe8)
        XCTAssertLessThan(spscRTT, pipeRTT)
    }

    func testHarnessOverheadFootnoteFromTheEmptyTransport() {
        var document = ResultDocument(tool: ToolInfo(version: "t", commit: "c"), machine: MachineInfo(cpuModel: "m", cpus: 2, numaNodes: 1, kernel: "k"), runs: [
            Self.run("empty", mode: .throughput, size: 64, msgsPerSecond: 1e8),
            Self.run("empty", mode: .throughput, size: 8, msgsPerSecond: 2e8),
            Self.run("empty", mode: .roundtrip, p50: 60),
        ], probes: Self.probes)
        document.annotate()
        XCTAssertTrue(document.runs.allSatisfy { $0.efficiency == nil })
        let overhead = Comparisons.harnessOverhead(in: document.runs)
        XCTAssertEqual(overhead?.nsPerMessage ?? 0, 5, accuracy: 1e-9)
        XCTAssertEqual(overhead?.nsPerRoundTrip, 60)
        XCTAssertTrue(ResultRenderer.table(document).contains("harness overhead: 5.0 ns per message"))
    }

    func testDocumentsWithoutProbesStillDecode() throws {
        let old = ResultDocument(tool: ToolInfo(version: "t", commit: "c"), machine: MachineInfo(cpuModel: "m", cpus: 2, numaNodes: 1, kernel: "k"),
                                 runs: [Self.run(mode: .throughput)])
        var json = try JSONSerialization.jsonObject(with: Data(ResultRenderer.json(old).utf8)) as! [String: Any]
        XCTAssertNil(json["probes"])
        json["probes"] = nil
        let decoded = try JSONDecoder().decode(ResultDocument.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(decoded.probes)
        XCTAssertNil(decoded.runs[0].efficiency)
        let withProbes = ResultDocument(tool: old.tool, machine: old.machine, runs: old.runs, probes: Self.probes)
        let roundTripped = try JSONDecoder().decode(ResultDocument.self, from: Data(ResultRenderer.json(withProbes).utf8))
        XCTAssertEqual(roundTripped.probes, Self.probes)
    }

    func testProbeCSVAndTableShowTheMatrix() {
        let document = ProbeDocument(tool: ToolInfo(version: "t", commit: "c"), machine: MachineInfo(cpuModel: "m", cpus: 3, numaNodes: 1, kernel: "k"), probes: Self.probes)
        let csv = ProbeRenderer.csv(Self.probes)
        XCTAssertTrue(csv.hasPrefix("probe,cpu_a,cpu_b,bytes,statistic,value,unit\n"))
        XCTAssertTrue(csv.contains("cache_line_round_trip,1,2,,min,200,ns"))
        XCTAssertTrue(csv.contains("cache_line_round_trip,1,1,,min,,ns"))
        let table = ProbeRenderer.table(document)
        XCTAssertTrue(table.contains("CPU 2"), table)
        XCTAssertTrue(table.contains("n/a (one CPU)"), table)
    }
}
