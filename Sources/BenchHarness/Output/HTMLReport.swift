import Foundation

/// `ringbench report --format html FILE...`: one self-contained page (inline
/// SVG and CSS, no script, nothing fetched). For the last file: a throughput
/// chart per message size (a bar per transport variant, min-max whiskers)
/// and a round-trip latency percentile distribution per size (percentile on
/// HdrHistogram's log scale of 1/(1-p)). Given several files (oldest first),
/// a trend chart per mode and size: a line per scenario across the files,
/// with a black ring where `compare` calls the step from the previous file a
/// regression of the charted metric. A series (a transport variant) has one
/// colour on the whole page; charts take the page's width.
public enum HTMLReport {
    public struct Input {
        public var label: String
        public var set: ResultSet
        public init(label: String, set: ResultSet) {
            self.label = label
            self.set = set
        }
    }

    public static func render(_ inputs: [Input], options: CompareOptions = CompareOptions()) -> String {
        guard let last = inputs.last else { return "" }
        let colors = SVGChart.ColorBook()
        let document = last.set.documents[0]
        var body = "<h1>ringbench report</h1>\n<p>" + SVGChart.escape(ResultRenderer.machineLine(document)) + "<br>"
        body += "files (#1 oldest): " + inputs.enumerated().map { i, input in "#\(i + 1) " + SVGChart.escape("\(input.label) (commit \(input.set.commits.map { String($0.prefix(10)) }.joined(separator: ",")))") }.joined(separator: ", ") + "</p>\n"
        if let probes = document.probes { body += "<p>limits: " + SVGChart.escape(ProbeRenderer.summary(probes)) + "</p>\n" }
        body += "<h2>Throughput (\(SVGChart.escape(last.label)))</h2>\n" + throughput(last.set, colors)
        body += "<h2>Round-trip latency distribution (\(SVGChart.escape(last.label)))</h2>\n" + latency(last.set, colors)
        if inputs.count > 1 { body += "<h2>Trend over \(inputs.count) results</h2>\n" + trend(inputs, options: options, colors) }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>ringbench report</title>
            <style>
            body{font-family:sans-serif;margin:16px;color:#222;max-width:1500px}
            h2{border-bottom:1px solid #ccc;margin-top:28px}
            svg.chart{background:#fff;border:1px solid #ddd;margin:6px 0;vertical-align:top;width:100%;height:auto}
            .grid{stroke:#e4e4e4;stroke-width:1}.whisker{stroke:#222;stroke-width:1.5}
            .series{fill:none;stroke-width:2}.legend{stroke-width:3;font-size:11px}
            text{font-size:11px;fill:#333}.title{font-size:13px;font-weight:bold}.value{font-size:10px}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}
            </style></head><body>
            \(body)</body></html>

            """
    }

    static func sizeLabel(_ size: Int) -> String { ResultRenderer.bytes(Double(size)) }

    /// Labels for one chart's scenarios: each key without the words every
    /// key of the chart shares (mode, size, usually capacity, batch, CPUs);
    /// those go to the title.
    static func labels(_ keys: [ScenarioKey]) -> (labels: [String], common: String) {
        let words = keys.map { $0.description.split(separator: " ").map(String.init) }
        guard let first = words.first else { return ([], "") }
        // Words shared at the same position by all keys (keys differ in
        // length only through optional parts, so compare by content).
        let shared = first.filter { w in words.allSatisfy { $0.contains(w) } }
        let labels = words.map { $0.filter { !shared.contains($0) }.joined(separator: " ") }
        return (labels.map { $0.isEmpty ? first[0] : $0 }, shared.joined(separator: " "))
    }

    static func throughput(_ set: ResultSet, _ colors: SVGChart.ColorBook) -> String {
        let runs = set.runs.filter { $0.key.mode == Scenario.Mode.throughput.rawValue }
        guard !runs.isEmpty else { return "<p>no throughput runs</p>\n" }
        var out = ""
        for size in Set(runs.map(\.key.messageSize)).sorted() {
            let group = runs.filter { $0.key.messageSize == size }
            let (names, common) = labels(group.map(\.key))
            let bars = zip(group, names).map { pooled, name -> SVGChart.Bar in
                let values = pooled.runs.flatMap { $0.repetitions.map(\.messagesPerSecond) }
                let median = values.isEmpty ? pooled.runs[0].summary.messagesPerSecond.median : Spread(values).median
                return SVGChart.Bar(label: name, value: median, low: values.min(), high: values.max(),
                                    text: ResultRenderer.rate(median) + "/s", color: colors.color(name).color)
            }.sorted { $0.value > $1.value }
            out += SVGChart.bars(kind: "throughput", title: "msgs/s (median, min-max): \(common)", unit: "msgs/s", bars)
        }
        return out
    }

    /// Where percentile p sits on the x axis: log10(1 / (1 - p)); the
    /// maximum half a decade after the last finite level.
    static func percentileX(_ p: Double, last: Double) -> Double {
        p >= 100 ? last + 0.5 : log10(1 / (1 - p / 100))
    }

    static func distribution(_ l: LatencySummary) -> [PercentilePoint] {
        l.distribution ?? [PercentilePoint(percentile: 0, ns: l.p50), PercentilePoint(percentile: 50, ns: l.p50),
                           PercentilePoint(percentile: 90, ns: l.p90), PercentilePoint(percentile: 99, ns: l.p99),
                           PercentilePoint(percentile: 99.9, ns: l.p999), PercentilePoint(percentile: 100, ns: l.max)]
    }

    static func latency(_ set: ResultSet, _ colors: SVGChart.ColorBook) -> String {
        let runs = set.runs.filter { $0.key.mode == Scenario.Mode.roundtrip.rawValue && $0.runs[0].summary.latencyNs != nil }
        guard !runs.isEmpty else { return "<p>no roundtrip runs</p>\n" }
        var out = ""
        for size in Set(runs.map(\.key.messageSize)).sorted() {
            let group = runs.filter { $0.key.messageSize == size }
            let finite = group.flatMap { distribution($0.runs[0].summary.latencyNs!).map(\.percentile) }.filter { $0 < 100 }
            let last = finite.map { percentileX($0, last: 0) }.max() ?? 3
            let (names, common) = labels(group.map(\.key))
            let series = zip(group, names).map { pooled, name in
                SVGChart.Series(name: name, points: distribution(pooled.runs[0].summary.latencyNs!).map {
                    (x: percentileX($0.percentile, last: last), y: Double($0.ns))
                }, style: colors.color(name))
            }
            var ticks: [(Double, String)] = [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")]
                .filter { $0.0 <= last + 0.01 }
            ticks.append((last + 0.5, "max"))
            out += SVGChart.lines(kind: "latency", title: "round-trip percentiles: \(common)",
                                  yUnit: "round trip (ns, log)", xTicks: ticks, xLabel: "percentile (log scale of 1/(1-p))",
                                  yFormat: { ResultRenderer.nanos(UInt64($0)) }, series)
        }
        return out
    }

    static func trend(_ inputs: [Input], options: CompareOptions, _ colors: SVGChart.ColorBook) -> String {
        // Verdicts of each step: file i against file i-1. Only the charted
        // metrics (throughput msgs/s, round-trip p50) are marked and listed;
        // the other regressions are counted (they are `compare`'s to show).
        var regressed: [String: Set<Int>] = [:]
        var rows = "", others = 0
        for i in 1..<inputs.count {
            let report = ResultComparison.compare(inputs[i - 1].set, inputs[i].set, options: options)
            for r in report.results where r.verdict == .regressed {
                guard r.metric == .messagesPerSecond && r.mode == "throughput" || r.metric == .latencyP50 else {
                    others += 1
                    continue
                }
                regressed[r.scenario, default: []].insert(i)
                rows += "<tr><td>\(SVGChart.escape(inputs[i].label))</td><td>\(SVGChart.escape(r.scenario))</td><td>\(r.metric.label)</td>"
                    + String(format: "<td>%.3f</td>", r.ratio) + "<td>\(SVGChart.escape(r.reason))</td></tr>\n"
            }
        }
        var keys: [ScenarioKey] = []
        for input in inputs { for r in input.set.runs where !keys.contains(r.key) { keys.append(r.key) } }
        var out = ""
        for mode in Scenario.Mode.allCases {
            let roundtrip = mode == .roundtrip
            for size in Set(keys.filter { $0.mode == mode.rawValue }.map(\.messageSize)).sorted() {
                let group = keys.filter { $0.mode == mode.rawValue && $0.messageSize == size }
                let (names, common) = labels(group)
                let series = zip(group, names).map { key, name -> SVGChart.Series in
                    var points: [(x: Double, y: Double)] = []
                    for (i, input) in inputs.enumerated() {
                        guard let pooled = input.set.runs.first(where: { $0.key == key }) else { continue }
                        let y: Double
                        if roundtrip { y = Double(pooled.runs[0].summary.latencyNs?.p50 ?? 0) } else {
                            y = Spread(pooled.runs.flatMap { $0.repetitions.map(\.messagesPerSecond) }).median
                        }
                        points.append((x: Double(i), y: y))
                    }
                    let marked = Set(points.indices.filter { regressed[key.description]?.contains(Int(points[$0].x)) == true })
                    return SVGChart.Series(name: name, points: points, marked: marked, style: colors.color(name))
                }.filter { $0.points.count > 1 }
                guard !series.isEmpty else { continue }
                // "#3 c054e3f": file order and commit; the files are listed at the top.
                let ticks = inputs.indices.map { (Double($0), "#\($0 + 1) " + (inputs[$0].set.commits.first.map { String($0.prefix(7)) } ?? "")) }
                out += SVGChart.lines(kind: "trend", title: "\(roundtrip ? "p50 round trip" : "msgs/s median") per result: \(common)",
                                      yUnit: roundtrip ? "p50 (ns, log)" : "msgs/s (log)", xTicks: ticks, xLabel: "result (oldest first); black ring: regression vs previous",
                                      yFormat: roundtrip ? { ResultRenderer.nanos(UInt64($0)) } : { ResultRenderer.rate($0) }, series)
            }
        }
        let count = rows.components(separatedBy: "<tr><td>").count - 1
        out += rows.isEmpty ? "<p>no regression of a charted metric between consecutive results</p>\n"
            : "<details><summary>\(count) regression(s) of a charted metric between consecutive results</summary>\n"
            + "<table><tr><th>result</th><th>scenario</th><th>metric</th><th>ratio</th><th>why</th></tr>\n\(rows)</table></details>\n"
        if others > 0 { out += "<p>\(others) regression(s) of metrics not charted (p99, p99.9): see <code>ringbench compare</code>.</p>\n" }
        return out
    }
}
