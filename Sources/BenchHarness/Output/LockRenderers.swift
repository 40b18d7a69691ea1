import Foundation

/// Table and CSV rows for lock runs (`ResultRenderer` places them).
extension ResultRenderer {
    static let lockCSVColumns = [
        "lock", "processes", "critical_ns", "duration_s", "repetitions", "acq_per_s_median", "acq_per_s_min",
        "acq_per_s_max", "acq_per_s_cv", "ns_per_acq", "fairness_median", "fairness_min", "acquire_p50_ns",
        "acquire_p90_ns", "acquire_p99_ns", "acquire_p999_ns", "acquire_max_ns", "acquisitions", "protected_counter",
        "per_process_acquisitions", "killed_holder_pid",
    ]

    static func lockCSV(_ runs: [LockRunRecord]) -> String {
        var lines = [lockCSVColumns.joined(separator: ",")]
        for run in runs {
            let s = run.scenario, a = run.summary.acquisitionsPerSecond, l = run.summary.acquireLatencyNs
            let fields: [String] = [
                s.lock.rawValue, "\(s.processes)", "\(s.criticalNs)", g(s.durationSeconds), "\(run.repetitions.count)",
                g(a.median), g(a.min), g(a.max), g(a.cv), a.median > 0 ? g(1e9 / a.median) : "",
                g(run.summary.fairness.median), g(run.summary.fairness.min),
                l.map { "\($0.p50)" } ?? "", l.map { "\($0.p90)" } ?? "", l.map { "\($0.p99)" } ?? "",
                l.map { "\($0.p999)" } ?? "", l.map { "\($0.max)" } ?? "",
                "\(run.mutualExclusion.acquisitions)", "\(run.mutualExclusion.protectedCounter)",
                perProcessTotals(run).map(String.init).joined(separator: ";"),
                run.repetitions.compactMap(\.killedHolder).last.map { "\($0.pid)" } ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func lockTable(_ runs: [LockRunRecord]) -> String {
        var rows: [[String]] = [["lock", "procs", "critical", "acq/s (median)", "cv", "ns/acq", "fairness",
                                 "p50 acquire", "p99 acquire", "p99.9 acquire", "exclusion"]]
        for run in runs {
            let s = run.scenario, a = run.summary.acquisitionsPerSecond, l = run.summary.acquireLatencyNs
            rows.append([
                s.lock.rawValue, "\(s.processes)", nanos(UInt64(s.criticalNs)), rate(a.median),
                String(format: "%.1f%%", a.cv * 100), a.median > 0 ? String(format: "%.1f", 1e9 / a.median) : "-",
                String(format: "%.3f", run.summary.fairness.median),
                l.map { nanos($0.p50) } ?? "-", l.map { nanos($0.p99) } ?? "-", l.map { nanos($0.p999) } ?? "-",
                "ok (\(run.mutualExclusion.protectedCounter))",
            ])
        }
        var text = align(rows)
        for run in runs { for note in run.notes ?? [] { text += "note: \(run.scenario.lock.rawValue): \(note)\n" } }
        return text
    }

    /// Each worker's acquisitions summed over the measured repetitions.
    static func perProcessTotals(_ run: LockRunRecord) -> [UInt64] {
        var totals = [UInt64](repeating: 0, count: run.scenario.processes)
        for repetition in run.repetitions {
            for (i, n) in repetition.perProcessAcquisitions.enumerated() where i < totals.count { totals[i] &+= n }
        }
        return totals
    }
}
