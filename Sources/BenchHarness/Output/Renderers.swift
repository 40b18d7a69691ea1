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
                             "latency_max_ns", "sent", "received", "lost", "duplicated", "reordered", "corrupt",
                             "versus_pipe", "efficiency", "efficiency_limit", "efficiency_limit_value"]

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
                run.versusPipe.map(g) ?? "", run.efficiency.map { g($0.fraction) } ?? "",
                run.efficiency?.limit.rawValue ?? "", run.efficiency.map { g($0.limitValue) } ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let tableHeader = ["transport", "backing", "mode", "size", "batch", "msgs/s (median)", "cv", "bandwidth",
                              "p50 RTT", "p99 RTT", "vs pipe", "efficiency", "integrity"]

    /// The machine line and its limits; message runs in one section per
    /// mode, fastest first (throughput rows by msgs/s, roundtrip rows by p50);
    /// footnotes; then lock runs.
    public static func table(_ document: ResultDocument) -> String {
        var text = machineLine(document)
        if let probes = document.probes { text += "limits: " + ProbeRenderer.summary(probes) + "\n" }
        let sections: [(title: String, mode: Scenario.Mode, before: (RunRecord, RunRecord) -> Bool)] = [
            ("throughput (fastest first)", .throughput,
             { $0.summary.messagesPerSecond.median > $1.summary.messagesPerSecond.median }),
            ("roundtrip (lowest p50 first)", .roundtrip,
             { ($0.summary.latencyNs?.p50 ?? .max) < ($1.summary.latencyNs?.p50 ?? .max) }),
        ]
        for section in sections {
            let runs = document.runs.filter { $0.scenario.mode == section.mode }.sorted(by: section.before)
            guard !runs.isEmpty else { continue }
            text += "\n\(section.title)\n" + align([tableHeader] + runs.map(tableRow))
        }
        text += footnotes(document)
        if let lockRuns = document.lockRuns, !lockRuns.isEmpty {
            text += (document.runs.isEmpty ? "" : "\n") + lockTable(lockRuns)
        }
        return text
    }

    static func machineLine(_ document: ResultDocument) -> String {
        "ringbench \(document.tool.version) on \(document.machine.cpuModel), \(document.machine.cpus) CPUs, "
            + "\(document.machine.numaNodes) NUMA node\(document.machine.numaNodes == 1 ? "" : "s"), kernel \(document.machine.kernel)\n"
    }

    static func tableRow(_ run: RunRecord) -> [String] {
        let s = run.scenario, l = run.summary.latencyNs
        return [
            s.transport + (s.producers > 1 || s.consumers > 1 ? " \(s.producers)P/\(s.consumers)C" : "")
                + (s.rate.map { " @\(rate($0))/s" } ?? "")
                + (s.wait.map { " \($0)" } ?? "") + (s.policy.map { " \($0)" } ?? "") + (s.recordSizes.map { $0 == "fixed" ? "" : " \($0)" } ?? "")
                + (s.tripsPerSample.map { " /\($0) trips" } ?? ""),
            s.backing ?? "-", s.mode.rawValue, bytes(Double(s.messageSize)), "\(s.batch)",
            rate(run.summary.messagesPerSecond.median), String(format: "%.1f%%", run.summary.messagesPerSecond.cv * 100),
            bytes(run.summary.bytesPerSecond.median) + "/s",
            l.map { nanos($0.p50) } ?? "-", l.map { nanos($0.p99) } ?? "-",
            run.versusPipe.map(ratio) ?? "-", run.efficiency.map { percent($0.fraction) } ?? "-",
            run.integrityHolds ? "ok (\(run.integrity.received)\(run.integrity.lost > 0 ? ", lost \(run.integrity.lost)" : ""))"
                : integrityText(run.integrity),
        ]
    }

    static func footnotes(_ document: ResultDocument) -> String {
        var text = ""
        if document.runs.contains(where: { $0.efficiency != nil }) {
            text += "efficiency: throughput = bandwidth / one core's memcpy bandwidth at the probed size nearest the working set"
                + " (size x capacity for rings); roundtrip = cache-line round trip between the run's CPUs / p50\n"
        }
        if document.runs.contains(where: { $0.versusPipe != nil }) {
            text += "vs pipe: msgs/s (throughput) or p50 (roundtrip) relative to pipe at the same size; >1x is faster\n"
        }
        if let overhead = Comparisons.harnessOverhead(in: document.runs) {
            var parts: [String] = []
            if let n = overhead.nsPerMessage { parts.append(String(format: "%.1f ns per message", n)) }
            if let n = overhead.nsPerRoundTrip { parts.append(String(format: "%.0f ns per round trip", n)) }
            text += "harness overhead: " + parts.joined(separator: ", ") + " (the '\(Comparisons.harnessOverheadTransport)' transport)\n"
        }
        text += missingSizes(document)
        if document.runs.contains(where: { $0.scenario.tripsPerSample != nil }) {
            text += "/K trips: timed K round trips per clock read (--trips-per-sample), as the cache-line probe times its batches;"
                + " p50 and p99 are of K-trip means, not of single trips\n"
        }
        if document.runs.contains(where: { $0.scenario.rate != nil }) {
            text += "@R/s: paced at R messages/s per producer (--rate); its p50/p99 are one-way latency from each message's intended send time\n"
        }
        let states = document.runs.compactMap(\.hostState)
        if let low = states.map({ min($0.cacheLineBeforeNs, $0.cacheLineAfterNs) }).min(),
           let high = states.map({ max($0.cacheLineBeforeNs, $0.cacheLineAfterNs) }).max(), !HostState.agree(low, high) {
            text += String(format: "host state: the runs' cache-line probes range from %.0f to %.0f ns (the host moved the vCPUs "
                           + "during this document): compare rows only within one state (runs[].hostState)\n", low, high)
        }
        if let floor = document.floor {
            let batch = document.runs.first { $0.scenario.transport == RingFloor.name }?.scenario.batch ?? 1
            let (floorName, harnessed) = floor.transport.map { (document.runs.first?.scenario.transport ?? "floor", $0) }
                ?? (RingFloor.name, "spsc")
            let ratio = floor.metric == "roundTripP50Ns" ? "\(floorName) p50 / \(harnessed) p50 round trip"
                : "\(harnessed) / \(floorName)"
            text += "\(floor.transport == nil ? "ring" : harnessed) floor\(batch > 1 ? " (batch \(batch))" : ""): \(ratio) = "
                + String(format: "%.2f", floor.medianRatio)
                + " (median of \(floor.rounds.count) back-to-back pairs: "
                + floor.rounds.map { String(format: "%.2f", $0.ratio) }.joined(separator: ", ") + ")\n"
        }
        for run in document.runs {
            let s = run.scenario
            let which = "\(s.transport)\(s.wait.map { " " + $0 } ?? "") \(s.backing ?? "-") \(s.mode.rawValue) "
                + Self.bytes(Double(s.messageSize))
            for note in run.notes ?? [] { text += "note: \(which): \(note)\n" }
            if let producer = run.summary.producerMessagesPerSecond {
                let stalled = s.stalledConsumers.map { ", \($0) of \(s.consumers) consumers stalled" } ?? ""
                text += "producer: \(which): \(rate(producer.median)) msgs/s sent over the producer's own time\(stalled)"
                    + " (msgs/s above counts deliveries to all \(s.consumers) consumers)\n"
            }
        }
        return text.isEmpty ? "" : "\n" + text
    }

    /// Says which transports have no row at a size other rows have, because
    /// they cannot carry it (so a missing rival row is never silent).
    static func missingSizes(_ document: ResultDocument) -> String {
        let sizes = Set(document.runs.map(\.scenario.messageSize))
        var seen = Set<String>(), text = ""
        for name in document.runs.map(\.scenario.transport) where seen.insert(name).inserted {
            guard let c = try? TransportCatalog.named(name).capabilities, let limit = c.maximumMessageSize else { continue }
            let missing = sizes.filter { $0 > limit }.sorted()
            if !missing.isEmpty {
                text += "\(name): no \(missing.map { bytes(Double($0)) }.joined(separator: ", ")) rows: it carries at most \(bytes(Double(limit))) (\(c.limitReason))\n"
            }
        }
        return text
    }

    public static func ratio(_ x: Double) -> String {
        x >= 10 ? String(format: "%.0fx", x) : String(format: "%.2fx", x)
    }

    public static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        return p >= 10 ? String(format: "%.0f%%", p) : p >= 1 ? String(format: "%.1f%%", p) : String(format: "%.2f%%", p)
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
