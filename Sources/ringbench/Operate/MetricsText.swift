import Foundation

/// Renders ring statistics in the Prometheus text exposition format, with
/// OpenMetrics' UNIT lines and `# EOF` terminator.
///
/// Names: every counter's family is named with its `_total` suffix on the
/// HELP and TYPE lines too, which is what the classic text parser (promtool
/// check metrics, node_exporter's textfile collector, a plain-text scrape)
/// requires; to that parser the UNIT lines and `# EOF` are comments.
enum MetricsText {
    struct Family {
        var name: String
        var type: String
        var unit: String?
        var help: String
        var samples: [(labels: [(String, String)], value: String)]
    }

    static func render(_ stats: [RingStat]) -> String {
        func counter(_ name: String, unit: String? = nil, _ help: String, _ value: (EndpointStat) -> UInt64) -> Family {
            Family(name: name, type: "counter", unit: unit, help: help, samples: stats.flatMap { ring in
                ring.endpoints.map { e in ([("ring", ring.name), ("endpoint", e.endpoint)], String(value(e))) }
            })
        }
        let families = [
            counter("shmring_records_published_total", "Records (messages) the endpoint published.") { $0.recordsPublished },
            counter("shmring_records_consumed_total", "Records the endpoint consumed and handed back.") { $0.recordsConsumed },
            counter("shmring_published_bytes_total", unit: "bytes", "Payload bytes the endpoint published.") { $0.bytesPublished },
            counter("shmring_consumed_bytes_total", unit: "bytes", "Payload bytes the endpoint consumed.") { $0.bytesConsumed },
            counter("shmring_full_waits_total", "Blocking calls that found no room and waited.") { $0.fullWaits },
            counter("shmring_empty_waits_total", "Blocking calls that found nothing to read and waited.") { $0.emptyWaits },
            counter("shmring_parks_total", "Sleeps in the kernel (futex or semaphore).") { $0.parks },
            counter("shmring_wakeups_issued_total", "Futex wake-ups issued to a sleeping peer.") { $0.wakeupsIssued },
            counter("shmring_wakeups_received_total", "Sleeps ended by a wake-up rather than a timeout.") { $0.wakeupsReceived },
            counter("shmring_takeovers_total", "Claims that found the previous holder dead, or repairs after a death.") { $0.takeovers },
            counter("shmring_claims_total", "Times the endpoint's slot was claimed.") { $0.claims },
            Family(name: "shmring_records_lost_total", type: "counter", unit: nil,
                   help: "Records a broadcast consumer lost to overruns (overwrite policy; absent for other endpoints).",
                   samples: stats.flatMap { ring in
                       ring.endpoints.compactMap { e in e.recordsLost.map { ([("ring", ring.name), ("endpoint", e.endpoint)], String($0)) } }
                   }),
            Family(name: "shmring_endpoint_up", type: "gauge", unit: nil,
                   help: "1 while the endpoint's holder lives, 0 once it is dead (absent: not held).",
                   samples: stats.flatMap { ring in
                       ring.endpoints.compactMap { e in
                           e.alive.map { ([("ring", ring.name), ("endpoint", e.endpoint), ("pid", e.pid.map(String.init) ?? "")], $0 ? "1" : "0") }
                       }
                   }),
            Family(name: "shmring_endpoint_idle_seconds", type: "gauge", unit: "seconds",
                   help: "Seconds since the endpoint's last claim, wait, park or unpark.",
                   samples: stats.flatMap { ring in
                       ring.endpoints.compactMap { e in e.idleSeconds.map { ([("ring", ring.name), ("endpoint", e.endpoint)], number($0)) } }
                   }),
            Family(name: "shmring_pending", type: "gauge", unit: nil,
                   help: "Messages (record ring: bytes) waiting to be read.",
                   samples: stats.compactMap { r in r.pending.map { ([("ring", r.name), ("kind", r.kind)], String($0)) } }),
            Family(name: "shmring_fill_ratio", type: "gauge", unit: "ratio",
                   help: "Pending over capacity, 0 to 1.",
                   samples: stats.compactMap { r in r.fillPercent.map { ([("ring", r.name)], number($0 / 100)) } }),
        ]
        var out = ""
        for family in families where !family.samples.isEmpty {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            if let unit = family.unit { out += "# UNIT \(family.name) \(unit)\n" }
            for sample in family.samples {
                let labels = sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "\(family.name){\(labels)} \(sample.value)\n"
            }
        }
        return out + "# EOF\n"
    }

    /// A label value with backslash, quote and newline escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String { String(format: "%.6g", value) }
}
