import Foundation

/// Output formats of `--format`.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, csv
}

/// Turns a results document into text for people (table), CI (json) or
/// spreadsheets (csv).
public enum ResultRenderer {
    public static func render(_ document: ResultDocument, as format: OutputFormat) -> String {
        switch format {
        case .json: return json(document)
        case .csv: return csv(document)
        case .table: return table(document)
        }
    }

    public static func json(_ document: ResultDocument) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(document) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static let csvColumns = ["transport", "backing", "mode", "producers", "consumers", "message_size", "capacity", "batch",
                             "repetitions", "msgs_per_s_median", "msgs_per_s_min", "msgs_per_s_max", "msgs_per_s_cv",
                             "bytes_per_s_median", "latency_p50_ns", "latency_p90_ns", "latency_p99_ns", "latency_p999_ns",
                             "latency_max_ns", "sent", "received", "lost", "duplicated", "reordered", "corrupt"]

    /// Message runs, then (after a blank line, under their own header) lock
    /// runs. A document with only lock runs prints only the lock block.
    public static func csv(_ document: ResultDocument) -> String {
        let lockRuns = document.lockRuns ?? []
        guard !document.runs.isEmpty || lockRuns.isEmpty else { return lockCSV(lockRuns) }
        let messages = messageCSV(document)
        return lockRuns.isEmpty ? messages : messages + "\n" + lockCSV(lockRuns)
    }

    static func messageCSV(_ document: ResultDocument) -> String {
        var lines = [csvColumns.joined(separator: ",")]
        for run in document.runs {
            let s = run.scenario, m = run.summary.messagesPerSecond, l = run.summary.latencyNs, i = run.integrity
            let fields: [String] = [
                s.transport, s.backing ?? "", s.mode.rawValue, "\(s.producers)", "\(s.consumers)", "\(s.messageSize)",
                "\(s.capacity)", "\(s.batch)", "\(run.repetitions.count)", g(m.median), g(m.min), g(m.max), g(m.cv),
                g(run.summary.bytesPerSecond.median), l.map { "\($0.p50)" } ?? "", l.map { "\($0.p90)" } ?? "",
                l.map { "\($0.p99)" } ?? "", l.map { "\($0.p999)" } ?? "", l.map { "\($0.max)" } ?? "",
                "\(i.sent)", "\(i.received)", "\(i.lost)", "\(i.duplicated)", "\(i.reordered)", "\(i.corrupt)",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The machine line, then message runs and lock runs, each with their notes.
    public static func table(_ document: ResultDocument) -> String {
        let lockRuns = document.lockRuns ?? []
        guard !document.runs.isEmpty || lockRuns.isEmpty else { return machineLine(document) + lockTable(lockRuns) }
        let messages = messageTable(document)
        return lockRuns.isEmpty ? messages : messages + "\n" + lockTable(lockRuns)
    }

    static func machineLine(_ document: ResultDocument) -> String {
        "ringbench \(document.tool.version) on \(document.machine.cpuModel), \(document.machine.cpus) CPUs, "
            + "\(document.machine.numaNodes) NUMA node\(document.machine.numaNodes == 1 ? "" : "s"), kernel \(document.machine.kernel)\n"
    }

    static func messageTable(_ document: ResultDocument) -> String {
        var rows: [[String]] = [["transport", "backing", "mode", "size", "batch", "msgs/s (median)", "cv", "bandwidth",
                                 "p50 RTT", "p99 RTT", "integrity"]]
        for run in document.runs {
            let s = run.scenario, l = run.summary.latencyNs
            rows.append([
                s.transport + (s.producers > 1 || s.consumers > 1 ? " \(s.producers)P/\(s.consumers)C" : ""),
                s.backing ?? "-", s.mode.rawValue, bytes(Double(s.messageSize)), "\(s.batch)",
                rate(run.summary.messagesPerSecond.median), String(format: "%.1f%%", run.summary.messagesPerSecond.cv * 100),
                bytes(run.summary.bytesPerSecond.median) + "/s",
                l.map { nanos($0.p50) } ?? "-", l.map { nanos($0.p99) } ?? "-",
                run.integrity.clean ? "ok (\(run.integrity.received))" : integrityText(run.integrity),
            ])
        }
        var text = machineLine(document)
        text += align(rows)
        for run in document.runs { for note in run.notes ?? [] { text += "note: \(run.scenario.transport): \(note)\n" } }
        return text
    }

    static func integrityText(_ i: IntegrityCounts) -> String {
        "FAILED lost \(i.lost) dup \(i.duplicated) reord \(i.reordered) corrupt \(i.corrupt)"
    }

    /// Pads columns; numbers right-aligned, text left-aligned.
    public static func align(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for (r, row) in rows.enumerated() {
            let cells = row.enumerated().map { i, cell -> String in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                let numeric = r > 0 && (cell.first.map { $0.isNumber } ?? false)
                return numeric ? pad + cell : cell + pad
            }
            out += cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
        }
        return out
    }

    static func g(_ x: Double) -> String { String(format: "%.6g", x) }

    public static func rate(_ x: Double) -> String {
        if x >= 1e9 { return String(format: "%.2f G", x / 1e9) }
        if x >= 1e6 { return String(format: "%.2f M", x / 1e6) }
        if x >= 1e3 { return String(format: "%.2f k", x / 1e3) }
        return String(format: "%.0f", x)
    }

    public static func bytes(_ x: Double) -> String {
        if x >= 1_073_741_824 { return String(format: "%.2f GiB", x / 1_073_741_824) }
        if x >= 1_048_576 { return String(format: "%.2f MiB", x / 1_048_576) }
        if x >= 1024 { return String(format: x.truncatingRemainder(dividingBy: 1024) == 0 ? "%.0f KiB" : "%.1f KiB", x / 1024) }
        return String(format: "%.0f B", x)
    }

    public static func nanos(_ ns: UInt64) -> String {
        if ns >= 1_000_000 { return String(format: "%.2f ms", Double(ns) / 1e6) }
        if ns >= 10_000 { return String(format: "%.1f us", Double(ns) / 1e3) }
        return "\(ns) ns"
    }
}
