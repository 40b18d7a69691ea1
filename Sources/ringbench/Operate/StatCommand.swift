import ArgumentParser
import Foundation

/// `ringbench stat NAME...`: one snapshot of rings' and queues' counters.
struct StatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "One snapshot of rings' and queues' counters: records and bytes in and out, waits, parks, wake-ups, takeovers, liveness.",
        discussion: """
            The counters live in each region (one block per endpoint, written only by that endpoint), so reading
            them costs the rings nothing. With no NAME, every ring and queue of this user in --directory.
            --format openmetrics prints the Prometheus text format (HELP, TYPE and UNIT lines, '# EOF'), e.g.
            for node_exporter's textfile collector:
              ringbench stat --format openmetrics > /var/lib/node_exporter/shmring.prom.tmp && mv ...
            """)

    @Argument(help: ArgumentHelp("Ring or queue names (as `ringbench ls` shows them); none: all.", valueName: "NAME"))
    var names: [String] = []

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    @Option(help: "Output format: table, json or openmetrics.")
    var format: String = "table"

    func validate() throws {
        guard ["table", "json", "openmetrics"].contains(format) else {
            throw CommandFailure(message: "--format must be table, json or openmetrics, got '\(format)'", code: 2)
        }
    }

    func run() throws {
        let stats = try RingStats.sample(directory: directory, names: names)
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(stats), as: UTF8.self))
        case "openmetrics":
            print(MetricsText.render(stats), terminator: "")
        default:
            print(Self.table(stats), terminator: "")
        }
    }

    static func table(_ stats: [RingStat]) -> String {
        let head = ["ring", "kind", "endpoint", "pid", "state", "records out", "bytes out", "records in", "bytes in",
                    "full waits", "empty waits", "parks", "wakes sent", "wakes got", "takeovers", "lost", "idle"]
        var rows: [[String]] = []
        for ring in stats {
            if ring.endpoints.isEmpty {
                rows.append([ring.name, ring.kind, "-", "-", ring.state + (ring.problem.map { ": \($0)" } ?? "")]
                            + Array(repeating: "-", count: head.count - 5))
            }
            for e in ring.endpoints {
                rows.append([ring.name, ring.kind, e.endpoint, e.pid.map(String.init) ?? "-", liveness(e),
                             String(e.recordsPublished), String(e.bytesPublished), String(e.recordsConsumed), String(e.bytesConsumed),
                             String(e.fullWaits), String(e.emptyWaits), String(e.parks), String(e.wakeupsIssued),
                             String(e.wakeupsReceived), String(e.takeovers), e.recordsLost.map(String.init) ?? "-", e.idleSeconds.map { String(format: "%.1fs", $0) } ?? "-"])
            }
        }
        return TextTable.render(head: head, rows: rows)
    }

    static func liveness(_ e: EndpointStat) -> String {
        switch e.alive {
        case true?: "alive"
        case false?: "DEAD"
        case nil: e.claims == 0 ? "unclaimed" : "released"
        }
    }
}

/// Left-aligned columns two spaces apart, the last one unpadded.
enum TextTable {
    static func render(head: [String], rows: [[String]]) -> String {
        let widths = head.indices.map { i in ([head[i]] + rows.map { i < $0.count ? $0[i] : "" }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ") + "\n"
        }
        return line(head) + rows.map(line).joined()
    }
}
