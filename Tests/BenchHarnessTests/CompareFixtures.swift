@testable import BenchHarness
import Foundation

/// Made-up results for compare, export and HTML tests (nothing is forked).
enum CompareFixtures {
    static let machine = MachineInfo(cpuModel: "Test CPU", cpus: 2, numaNodes: 1, kernel: "6.1.0", hostname: "test")

    static func probes(cacheLineNs: Double) -> ProbeResults {
        ProbeResults(
            cacheLine: CacheLineLatency(cpus: [0, 1], statistic: "min", samples: 1, roundTripsPerSample: 1,
                                        roundTripNs: [[nil, cacheLineNs], [cacheLineNs, nil]],
                                        medianRoundTripNs: [[nil, cacheLineNs], [cacheLineNs, nil]],
                                        oneWayNs: [[nil, cacheLineNs / 2], [cacheLineNs / 2, nil]]),
            memcpy: MemcpyProbe.sizes.map { MemcpyBandwidth(bytes: $0, bytesPerSecond: 1e10, cpu: 0) },
            wakeup: WakeupLatency(statistic: "median", sameCPU: nil, crossCPU: nil), clockReadNs: 20, seconds: 0.5)
    }

    /// A run whose repetitions have the given msgs/s (and, in roundtrip
    /// mode, p50 = 1e9 / msgs/s per repetition, from `samples` round trips).
    static func run(_ transport: String = "spsc", mode: Scenario.Mode = .throughput, size: Int = 64,
                    rates: [Double], samples: UInt64 = 100_000) -> RunRecord {
        var scenario = Scenario(transport: transport, backing: "sysv", messageSize: size, messages: 1000, capacity: 4096,
                                batch: 1, mode: mode)
        scenario.placement = [PlacementEntry(role: "producer", cpu: 0, node: 0), PlacementEntry(role: "consumer", cpu: 1, node: 0)]
        let reps = rates.map { rate in
            RepetitionRecord(seconds: 0.1, messagesPerSecond: rate, bytesPerSecond: rate * Double(size),
                             latencyNs: mode == .roundtrip ? RepetitionLatency(p50: UInt64(1e9 / rate), p99: UInt64(2e9 / rate), p999: UInt64(3e9 / rate)) : nil)
        }
        var latency: LatencySummary?
        if mode == .roundtrip {
            let p50 = UInt64(1e9 / Spread(rates).median)
            latency = LatencySummary(kind: "roundtrip", p50: p50, p90: p50, p99: 2 * p50, p999: 3 * p50, max: 4 * p50,
                                     mean: Double(p50), samples: samples)
        }
        return RunRecord(scenario: scenario, repetitions: reps, integrity: IntegrityCounts(),
                         summary: RunSummary(messagesPerSecond: Spread(rates), bytesPerSecond: Spread(rates.map { $0 * Double(size) }),
                                             latencyNs: latency))
    }

    static func document(_ runs: [RunRecord], machine: MachineInfo = machine, cacheLineNs: Double? = 70) -> ResultDocument {
        var d = ResultDocument(tool: ToolInfo(version: "0.1.0", commit: "abc"), machine: machine, runs: runs,
                               probes: cacheLineNs.map { probes(cacheLineNs: $0) })
        d.annotate()
        return d
    }

    /// Through JSON, as `compare` reads files.
    static func set(_ document: ResultDocument, label: String = "test.json") throws -> ResultSet {
        let (doc, keys) = try ResultSet.decode(Data(ResultRenderer.json(document).utf8), name: label)
        return ResultSet(label: label, documents: [doc], scenarioKeys: [keys])
    }

    /// `run` with its own host probes: `before` and `after` ns cache line.
    static func run(_ transport: String = "spsc", mode: Scenario.Mode = .throughput, size: Int = 64,
                    rates: [Double], line before: Double, _ after: Double? = nil) -> RunRecord {
        var r = run(transport, mode: mode, size: size, rates: rates)
        r.hostState = HostState(cpus: [0, 1], cacheLineBeforeNs: before, cacheLineAfterNs: after ?? before)
        return r
    }

    /// A side of A/B rounds: one document per run (as bench/ab.sh writes),
    /// pooled; `named`: the documents carry round names (round-1.json ...),
    /// as a directory of rounds does, so two such sides are paired.
    static func rounds(_ runs: [RunRecord], label: String = "rounds/", named: Bool = false) throws -> ResultSet {
        var documents: [ResultDocument] = [], keys: [[ScenarioKey]] = []
        for run in runs {
            let (doc, k) = try ResultSet.decode(Data(ResultRenderer.json(document([run])).utf8), name: label)
            documents.append(doc)
            keys.append(k)
        }
        return ResultSet(label: label, documents: documents, scenarioKeys: keys,
                         rounds: named ? documents.indices.map { "round-\($0 + 1).json" } : nil)
    }

    static func rates(_ center: Double, n: Int = 6, spread: Double = 0.01) -> [Double] {
        (0..<n).map { center * (1 + spread * (Double($0) - Double(n - 1) / 2) / Double(n)) }
    }
}
