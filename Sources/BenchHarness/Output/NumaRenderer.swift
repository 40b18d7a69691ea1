/// Tables for `ringbench numa`: the study (figures and ratios), or, with
/// `--placement-only`, requested against observed placement and no figures
/// (for emulated machines, whose timings mean nothing).
public enum NumaRenderer {
    typealias R = ResultRenderer

    public static func study(_ document: ResultDocument) -> String {
        guard let study = document.numaStudy else { return R.table(document) }
        var text = R.machineLine(document) + nodeTable(study.nodes)
        var rows = [["producer node", "consumer node", "memory node", "8 B msgs/s", "vs local", "64 KiB bandwidth", "vs local",
                     "8 B RTT p50", "vs local", "placement"]]
        for p in study.placements {
            rows.append(["\(p.producerNode)", "\(p.consumerNode)", "\(p.memoryNode)",
                         R.rate(p.messagesPerSecond8B), p.ratio8B.map(R.ratio) ?? "-",
                         R.bytes(p.bytesPerSecond64KiB) + "/s", p.ratio64KiB.map(R.ratio) ?? "-",
                         R.nanos(p.roundTripP50Ns), p.ratioRoundTrip.map(R.ratio) ?? "-",
                         p.placementMatches ? "ok" : "MISMATCH"])
        }
        text += "\nspsc (\(study.backing)) by placement; 'vs local': over the all-local placement on the producer's node"
            + " (throughput below 1x and RTT above 1x are slower)\n" + R.align(rows)
        if let cacheLine = study.cacheLine {
            var matrix = [["cache-line RTT"] + cacheLine.nodes.map { "node \($0)" }]
            for (i, node) in cacheLine.nodes.enumerated() {
                matrix.append(["node \(node)"] + cacheLine.roundTripNs[i].map { $0.map { String(format: "%.0f ns", $0) } ?? "-" })
            }
            text += "\ncache-line round trip between CPUs of two nodes (fastest pair; CPUs \(cacheLine.perCPU.cpus.map(String.init).joined(separator: ",")))\n"
                + R.align(matrix)
        }
        if let memcpy = study.memcpy {
            var table = [["CPU node", "memory node", "CPU", "memcpy 64 MiB", "vs local", "placement"]]
            for m in memcpy {
                table.append(["\(m.cpuNode)", "\(m.memoryNode)", "\(m.cpu)", R.bytes(m.bytesPerSecond) + "/s",
                              m.ratioToLocal.map(R.ratio) ?? "-", m.placementMatches ? "ok" : "MISMATCH"])
            }
            text += "\nmemcpy, one core, both buffers on the memory node\n" + R.align(table)
        }
        text += notes(document)
        return text
    }

    /// Requested against observed, per run and probe buffer; no timings.
    public static func placementOnly(_ document: ResultDocument) -> String {
        var text = R.machineLine(document) + nodeTable(document.machine.nodes ?? [])
        var rows = [["run", "requested P/C/M", "producer CPU (node)", "consumer CPU (node)", "pages by node", "result"]]
        for run in document.runs {
            guard let placement = run.placement else { continue }
            let s = run.scenario
            let requested = [placement.requested.producerNode, placement.requested.consumerNode]
                .map { $0.map(String.init) ?? "-" }.joined(separator: "/") + "/" + (placement.requested.memoryNode ?? "-")
            func ran(_ prefix: String) -> String {
                placement.processes.filter { $0.role.hasPrefix(prefix) }
                    .map { $0.ran.map { "\($0.cpu) (\($0.node))" } ?? "?" }.joined(separator: ", ")
            }
            let pages = placement.pages.map { pagesText($0.byNode, unknown: $0.unknown) } ?? "-"
            rows.append(["\(s.transport) \(s.mode.rawValue) \(R.bytes(Double(s.messageSize)))", requested, ran("producer"), ran("consumer"),
                         pages, placement.matches ? "ok" : "MISMATCH"])
        }
        text += "\nrequested (producer/consumer/memory node) and observed placement\n" + R.align(rows)
        if let memcpy = document.numaStudy?.memcpy {
            var table = [["memcpy probe", "CPU (node)", "memory node", "pages by node", "result"]]
            for m in memcpy {
                table.append(["64 MiB", "\(m.cpu) (\(m.cpuNode))", "\(m.memoryNode)", pagesText(m.pagesByNode, unknown: m.unknownPages),
                              m.placementMatches ? "ok" : "MISMATCH"])
            }
            text += "\n" + R.align(table)
        }
        for run in document.runs { for line in run.placement?.mismatches ?? [] { text += "mismatch: \(line)\n" } }
        return text
    }

    static func pagesText(_ byNode: [String: Int], unknown: Int) -> String {
        byNode.sorted { $0.key < $1.key }.map { "node \($0.key): \($0.value)" }.joined(separator: ", ")
            + (unknown > 0 ? ", unknown: \(unknown)" : "")
    }

    static func nodeTable(_ nodes: [NodeInfo]) -> String {
        var rows = [["node", "CPUs", "memory", "distances"]]
        for node in nodes {
            rows.append(["\(node.id)", node.cpus.map(String.init).joined(separator: ","), R.bytes(Double(node.memoryBytes)),
                         node.distances.map(String.init).joined(separator: " ")])
        }
        return R.align(rows)
    }

    static func notes(_ document: ResultDocument) -> String {
        var text = ""
        for run in document.runs { for note in run.notes ?? [] { text += "note: \(run.scenario.transport) \(run.scenario.mode.rawValue) \(run.scenario.messageSize) B: \(note)\n" } }
        return text.isEmpty ? "" : "\n" + text
    }
}
