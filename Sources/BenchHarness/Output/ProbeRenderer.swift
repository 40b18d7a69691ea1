import Foundation

/// What `ringbench probe --format json` writes: the probes with the tool and
/// machine they were measured with (docs/results-format.md).
public struct ProbeDocument: Codable, Sendable {
    public static let schemaName = "ringbench/probes-v1"
    public var schema = ProbeDocument.schemaName
    public var tool: ToolInfo
    public var machine: MachineInfo
    public var probes: ProbeResults

    public init(tool: ToolInfo, machine: MachineInfo, probes: ProbeResults) {
        self.tool = tool
        self.machine = machine
        self.probes = probes
    }
}

/// Renders probe results: a matrix and list for people, JSON, and long-format CSV.
public enum ProbeRenderer {
    public static func render(_ document: ProbeDocument, as format: OutputFormat) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            guard let data = try? encoder.encode(document) else { return "{}" }
            return String(decoding: data, as: UTF8.self) + "\n"
        case .csv: return csv(document.probes)
        case .table: return table(document)
        }
    }

    /// One line for the header of a results table.
    public static func summary(_ p: ProbeResults) -> String {
        var parts: [String] = []
        if let best = p.cacheLine.bestRoundTrip {
            let twoLines = p.cacheLine.twoLineRoundTrip(between: best.cpus[0], best.cpus[1]).map { ", two lines \(nanos($0))" } ?? ""
            parts.append("cache-line round trip \(nanos(best.ns))\(twoLines) (CPU \(best.cpus[0])<->\(best.cpus[1]), min)")
        } else {
            parts.append("cache-line round trip n/a (one CPU)")
        }
        parts.append("memcpy " + p.memcpy.map { "\(ResultRenderer.bytes(Double($0.bytes))) \(ResultRenderer.bytes($0.bytesPerSecond))/s" }
            .joined(separator: ", "))
        var wake: [String] = []
        if let same = p.wakeup.sameCPU { wake.append("same CPU \(nanos(same.wakeupNs))") }
        if let cross = p.wakeup.crossCPU { wake.append("cross CPU \(nanos(cross.wakeupNs))") }
        parts.append("futex wake-up " + wake.joined(separator: ", "))
        parts.append("clock read \(nanos(p.clockReadNs))")
        return parts.joined(separator: "; ")
    }

    public static func table(_ document: ProbeDocument) -> String {
        let p = document.probes, c = p.cacheLine
        var text = "ringbench \(document.tool.version) probes on \(document.machine.cpuModel), \(document.machine.cpus) CPUs, kernel \(document.machine.kernel)\n\n"
        text += "cache-line round trip, ns (\(c.statistic) of \(c.samples) samples of \(c.roundTripsPerSample) round trips; '-': same CPU, not measured)\n"
        text += matrix(c.cpus, c.roundTripNs)
        text += "\none-way latency, ns (round trip / 2)\n" + matrix(c.cpus, c.oneWayNs)
        if let twoLines = c.twoLineRoundTripNs {
            text += "\nround trip over two lines, each written by one side (the limit of two one-way channels), ns (min)\n"
                + matrix(c.cpus, twoLines)
        }
        text += "\nmemcpy bandwidth, one core (CPU \(p.memcpy.first?.cpu ?? 0), best batch)\n"
        text += ResultRenderer.align([["size", "bandwidth"]] + p.memcpy.map {
            [ResultRenderer.bytes(Double($0.bytes)), ResultRenderer.bytes($0.bytesPerSecond) + "/s"]
        })
        text += "\nfutex wake-up (\(p.wakeup.statistic) of individually timed round trips; wake-up = round trip / 2)\n"
        var rows = [["placement", "CPUs", "wake-up", "round trip", "min round trip", "samples"]]
        for (name, figure) in [("same CPU", p.wakeup.sameCPU), ("cross CPU", p.wakeup.crossCPU)] {
            guard let f = figure else { rows.append([name, "-", "n/a (one CPU)", "-", "-", "-"]); continue }
            rows.append([name, f.cpus.map(String.init).joined(separator: ","), nanos(f.wakeupNs), nanos(f.roundTripNs),
                         nanos(f.minRoundTripNs), "\(f.samples)"])
        }
        text += ResultRenderer.align(rows)
        text += String(format: "\nclock read (cshim_monotonic_ns): %.1f ns\nprobes took %.2f s\n", p.clockReadNs, p.seconds)
        return text
    }

    static func matrix(_ cpus: [Int], _ cells: [[Double?]]) -> String {
        var rows = [[""] + cpus.map { "CPU \($0)" }]
        for (i, cpu) in cpus.enumerated() {
            let row = i < cells.count ? cells[i] : []
            rows.append(["CPU \(cpu)"] + cpus.indices.map { j in
                j < row.count ? row[j].map { String(format: "%.1f", $0) } ?? "-" : "-"
            })
        }
        return ResultRenderer.align(rows)
    }

    /// One row per figure: probe, cpu_a, cpu_b, bytes, statistic, value, unit.
    public static func csv(_ p: ProbeResults) -> String {
        var lines = ["probe,cpu_a,cpu_b,bytes,statistic,value,unit"]
        let c = p.cacheLine
        for (i, a) in c.cpus.enumerated() {
            for (j, b) in c.cpus.enumerated() {
                let best = i < c.roundTripNs.count && j < c.roundTripNs[i].count ? c.roundTripNs[i][j] : nil
                let typical = i < c.medianRoundTripNs.count && j < c.medianRoundTripNs[i].count ? c.medianRoundTripNs[i][j] : nil
                lines.append("cache_line_round_trip,\(a),\(b),,min,\(best.map(g) ?? ""),ns")
                lines.append("cache_line_round_trip,\(a),\(b),,median,\(typical.map(g) ?? ""),ns")
                if let twoLines = c.twoLineRoundTripNs {
                    let cell = i < twoLines.count && j < twoLines[i].count ? twoLines[i][j] : nil
                    lines.append("two_line_round_trip,\(a),\(b),,min,\(cell.map(g) ?? ""),ns")
                }
            }
        }
        for m in p.memcpy { lines.append("memcpy,\(m.cpu),,\(m.bytes),max,\(g(m.bytesPerSecond)),bytes_per_s") }
        for (name, figure) in [("futex_wakeup_same_cpu", p.wakeup.sameCPU), ("futex_wakeup_cross_cpu", p.wakeup.crossCPU)] {
            guard let f = figure else { continue }
            let a = f.cpus.first.map(String.init) ?? "", b = f.cpus.last.map(String.init) ?? ""
            lines.append("\(name),\(a),\(b),,median,\(g(f.wakeupNs)),ns")
            lines.append("\(name)_round_trip,\(a),\(b),,median,\(g(f.roundTripNs)),ns")
        }
        lines.append("clock_read,,,,min,\(g(p.clockReadNs)),ns")
        return lines.joined(separator: "\n") + "\n"
    }

    static func g(_ x: Double) -> String { String(format: "%.6g", x) }

    static func nanos(_ ns: Double) -> String {
        if ns >= 1_000_000 { return String(format: "%.2f ms", ns / 1e6) }
        if ns >= 1_000 { return String(format: "%.1f us", ns / 1e3) }
        return String(format: "%.0f ns", ns)
    }
}
