import Foundation

/// `ringbench compare` output: an aligned table for a terminal, Markdown for
/// a pull-request comment or `$GITHUB_STEP_SUMMARY`, JSON for programs.
public enum ComparisonRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case table, markdown, json
    }

    public static func render(_ report: ComparisonReport, as format: Format) -> String {
        switch format {
        case .json: json(report)
        case .markdown: markdown(report)
        case .table: table(report)
        }
    }

    public static func json(_ report: ComparisonReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(report) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static let header = ["scenario", "metric", "base", "new", "ratio", "verdict", "why"]

    static func rows(_ report: ComparisonReport) -> [[String]] {
        report.results.map { r in
            [r.scenario, r.metric.label, figure(r.base.median, r), figure(r.new.median, r),
             r.ratio > 0 ? String(format: "%.3f", r.ratio) : "-", r.verdict.rawValue, r.reason]
        }
    }

    static func figure(_ x: Double, _ r: MetricComparison) -> String {
        guard x > 0 else { return "-" }
        if r.unit == "msgs/s" { return ResultRenderer.rate(x) }
        if r.unit == "ns" { return ResultRenderer.nanos(UInt64(x.rounded())) }
        return String(format: "%.4g", x)
    }

    static func headline(_ report: ComparisonReport, listingChanges: Bool = true) -> String {
        let c = report.counts
        let counts = Verdict.allCases.map { "\(c[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        let status: String
        switch report.status {
        case .ok: status = "no regression"
        case .regressed: status = "REGRESSION"
        case .notComparable: status = "NOT COMPARABLE"
        case .notEnoughEvidence: status = "NOT ENOUGH EVIDENCE"
        }
        var line = "\(status): \(counts)" + String(format: ", %.0f%% judged", report.judgedShare * 100)
            + " (threshold \(Int((report.options.threshold * 100).rounded()))%, p99/p99.9 \(Int((report.options.tailThreshold * 100).rounded()))%"
            + (report.options.normalize ? ", normalised by physical limits" : "") + ")"
        // Every change beyond the threshold, judged or not: an inconclusive
        // -30 % must not hide under "no regression".
        if listingChanges, !report.beyondThreshold.isEmpty {
            line += "; beyond the threshold: " + report.beyondThreshold.joined(separator: "; ")
        }
        return line
    }

    static func sideLine(_ name: String, _ s: ComparisonReport.SideInfo) -> String {
        "\(name): \(s.source), commit \(s.commits.map { String($0.prefix(12)) }.joined(separator: ",")), machine \(s.machineID)"
    }

    public static func table(_ report: ComparisonReport) -> String {
        var text = sideLine("base", report.base) + "\n" + sideLine("new ", report.new) + "\n"
        for p in report.probes {
            text += String(format: "probe %@: %.4g -> %.4g (%+.1f%%)%@\n", p.probe, p.base, p.new, p.change * 100, p.flagged ? " FLAGGED" : "")
        }
        if !report.results.isEmpty { text += "\n" + ResultRenderer.align([header] + rows(report)) }
        text += "\n" + headline(report) + "\n"
        for note in report.notes { text += "note: \(note)\n" }
        if !report.onlyInBase.isEmpty { text += "only in base (\(report.onlyInBase.count)): \(report.onlyInBase.joined(separator: "; "))\n" }
        if !report.onlyInNew.isEmpty { text += "only in new (\(report.onlyInNew.count)): \(report.onlyInNew.joined(separator: "; "))\n" }
        return text
    }

    static let verdictMark: [Verdict: String] = [.improved: "🟢 improved", .regressed: "🔴 regressed",
                                                 .unchanged: "⚪ unchanged", .inconclusive: "🟡 inconclusive"]

    /// Regressions first, then improvements, then the rest folded away.
    public static func markdown(_ report: ComparisonReport) -> String {
        var text = "### ringbench compare: \(headline(report, listingChanges: false))\n\n"
        // Every change beyond the threshold, judged or not, above the fold.
        if !report.beyondThreshold.isEmpty {
            text += "**Changes beyond the threshold (\(Int((report.options.threshold * 100).rounded()))%, p99/p99.9 \(Int((report.options.tailThreshold * 100).rounded()))%), judged or not:**\n"
                + report.beyondThreshold.map { "- \(escape($0))\n" }.joined() + "\n"
        }
        text += "- " + sideLine("base", report.base) + "\n- " + sideLine("new", report.new) + "\n"
        for note in report.notes { text += "- **note:** \(escape(note))\n" }
        if !report.probes.isEmpty {
            text += "- probes: " + report.probes.map {
                String(format: "%@ %+.1f%%%@", $0.probe, $0.change * 100, $0.flagged ? " ⚠️" : "")
            }.joined(separator: ", ") + "\n"
        }
        let order: [Verdict] = [.regressed, .improved, .inconclusive, .unchanged]
        let sorted = report.results.sorted { order.firstIndex(of: $0.verdict)! < order.firstIndex(of: $1.verdict)! }
        let notable = sorted.filter { $0.verdict == .regressed || $0.verdict == .improved }
        let rest = sorted.filter { $0.verdict != .regressed && $0.verdict != .improved }
        func tableText(_ results: [MetricComparison]) -> String {
            var t = "| scenario | metric | base | new | ratio | verdict | why |\n|---|---|---:|---:|---:|---|---|\n"
            for r in results {
                t += "| \(escape(r.scenario)) | \(r.metric.label) | \(figure(r.base.median, r)) | \(figure(r.new.median, r)) | "
                    + (r.ratio > 0 ? String(format: "%.3f", r.ratio) : "-") + " | \(verdictMark[r.verdict]!) | \(escape(r.reason)) |\n"
            }
            return t
        }
        if !notable.isEmpty { text += "\n" + tableText(notable) }
        if !rest.isEmpty {
            text += "\n<details><summary>\(rest.count) unchanged or inconclusive</summary>\n\n" + tableText(rest) + "\n</details>\n"
        }
        if !report.onlyInBase.isEmpty || !report.onlyInNew.isEmpty {
            text += "\n\(report.onlyInBase.count) scenario(s) only in base, \(report.onlyInNew.count) only in new.\n"
        }
        return text
    }

    static func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
}
