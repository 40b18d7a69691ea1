import Foundation

/// Results in the input formats of existing dashboards, rather than a
/// home-made one (docs/results-format.md, "Exports"):
///
/// - github-action-benchmark's `customBiggerIsBetter` (msgs/s of every run)
///   and `customSmallerIsBetter` (round-trip p50/p99/p99.9 ns): arrays of
///   `{name, unit, value, range, extra}`. The action takes one tool per
///   step, so each is its own format;
/// - Bencher Metric Format: `{benchmark: {measure: {value, lower_value, upper_value}}}`;
/// - a Markdown table.
public enum DashboardExports {
    public struct ActionBenchmarkEntry: Codable, Sendable, Equatable {
        public var name: String
        public var unit: String
        public var value: Double
        /// "± 1.2%": the coefficient of variation over repetitions.
        public var range: String?
        public var extra: String?
    }

    /// msgs/s per run, bigger is better.
    public static func actionBenchmarkBigger(_ document: ResultDocument, keys: [ScenarioKey]) -> [ActionBenchmarkEntry] {
        zip(document.runs, keys).map { run, key in
            let values = run.repetitions.map(\.messagesPerSecond)
            return ActionBenchmarkEntry(name: "\(key) msgs/s", unit: "msgs/s", value: run.summary.messagesPerSecond.median,
                                        range: range(values), extra: extra(run, document))
        }
    }

    /// Round-trip p50, p99, p99.9 per roundtrip run, smaller is better.
    public static func actionBenchmarkSmaller(_ document: ResultDocument, keys: [ScenarioKey]) -> [ActionBenchmarkEntry] {
        var out: [ActionBenchmarkEntry] = []
        for (run, key) in zip(document.runs, keys) {
            guard let l = run.summary.latencyNs else { continue }
            for (label, value, pick) in percentiles(l) {
                let perRep = run.repetitions.compactMap(\.latencyNs).map { Double(pick($0)) }
                out.append(ActionBenchmarkEntry(name: "\(key) \(label)", unit: "ns", value: Double(value),
                                                range: range(perRep), extra: extra(run, document)))
            }
        }
        return out
    }

    static func percentiles(_ l: LatencySummary) -> [(String, UInt64, (RepetitionLatency) -> UInt64)] {
        [("p50", l.p50, { $0.p50 }), ("p99", l.p99, { $0.p99 }), ("p99.9", l.p999, { $0.p999 })]
    }

    static func range(_ values: [Double]) -> String? {
        values.count > 1 ? String(format: "± %.1f%%", Spread(values).cv * 100) : nil
    }

    static func extra(_ run: RunRecord, _ document: ResultDocument) -> String {
        var parts = ["commit \(document.tool.commit.prefix(12))", "\(run.repetitions.count) repetitions"]
        if let ns = document.probes?.cacheLine.bestRoundTrip?.ns { parts.append(String(format: "cache-line RTT %.0f ns", ns)) }
        if let e = run.efficiency { parts.append("efficiency " + ResultRenderer.percent(e.fraction)) }
        return parts.joined(separator: "; ")
    }

    /// One Bencher metric: the median and the repetitions' extremes.
    public struct BencherMetric: Codable, Sendable, Equatable {
        public var value: Double
        public var lower_value: Double?
        public var upper_value: Double?
    }

    /// Bencher Metric Format: benchmark name -> measure -> metric. Measures:
    /// `throughput` (msgs/s), `latency` (round-trip p50 ns), `latency-p99`,
    /// `latency-p999`. Bounds are the repetitions' min and max (for latency:
    /// of the per-repetition percentiles; absent when not recorded).
    public static func bencher(_ document: ResultDocument, keys: [ScenarioKey]) -> [String: [String: BencherMetric]] {
        var out: [String: [String: BencherMetric]] = [:]
        for (run, key) in zip(document.runs, keys) {
            var measures: [String: BencherMetric] = [:]
            let m = run.summary.messagesPerSecond
            measures["throughput"] = BencherMetric(value: m.median, lower_value: m.min, upper_value: m.max)
            if let l = run.summary.latencyNs {
                for ((_, value, pick), measure) in zip(percentiles(l), ["latency", "latency-p99", "latency-p999"]) {
                    let perRep = run.repetitions.compactMap(\.latencyNs).map { Double(pick($0)) }
                    measures[measure] = BencherMetric(value: Double(value), lower_value: perRep.min(), upper_value: perRep.max())
                }
            }
            out[key.description, default: [:]].merge(measures) { a, _ in a }
        }
        return out
    }

    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(value) else { return "null\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The table format's columns as Markdown, one table per mode.
    public static func markdown(_ document: ResultDocument) -> String {
        var text = "### ringbench results\n\n" + ResultRenderer.machineLine(document)
        if let probes = document.probes { text += "\nlimits: " + ProbeRenderer.summary(probes) + "\n" }
        for mode in Scenario.Mode.allCases {
            let runs = document.runs.filter { $0.scenario.mode == mode }
            guard !runs.isEmpty else { continue }
            text += "\n#### \(mode.rawValue)\n\n| " + ResultRenderer.tableHeader.joined(separator: " | ") + " |\n|"
                + ResultRenderer.tableHeader.map { _ in "---" }.joined(separator: "|") + "|\n"
            for run in runs {
                text += "| " + ResultRenderer.tableRow(run).map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
            }
        }
        return text
    }
}
