import ArgumentParser
import BenchHarness
import CShim
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench top`: a live view of every ring and queue of this user.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live view of every ring and queue of this user: rates in and out, fill, consumer lag, waits and wake-ups, endpoint liveness.",
        discussion: """
            Samples the counters every --interval seconds and shows, per endpoint: records/s and MB/s in and
            out, fill, consumer lag (records, and seconds at its current rate), waits and wake-ups per second,
            takeovers, pid and liveness (rings: their kernel-held witness; queue slots: the process identity).
            Marks: 'SLOWEST' on the consumer with the largest lag, 'DEAD' on an endpoint whose holder is gone,
            'STALLED' on a live endpoint that made no progress for --stall seconds while there was work.
            On a terminal the screen is redrawn; otherwise each refresh prints a '# top' line and a table.
            """)

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    @Option(help: ArgumentHelp("Seconds between refreshes.", valueName: "S"))
    var interval: Double = 1

    @Option(help: ArgumentHelp("Seconds without progress, while there is work, that mark an endpoint stalled.", valueName: "S"))
    var stall: Double = 5

    @Option(help: ArgumentHelp("Refreshes to show, then exit (default: until interrupted).", valueName: "N"))
    var count: Int?

    func validate() throws {
        guard interval > 0, interval <= 3600 else { throw CommandFailure(message: "--interval must be in (0, 3600] seconds", code: 2) }
        guard stall > 0 else { throw CommandFailure(message: "--stall must be positive", code: 2) }
        if let count, count < 1 { throw CommandFailure(message: "--count must be at least 1", code: 2) }
    }

    func run() throws {
        let tty = isatty(STDOUT_FILENO) == 1
        var view = TopView(stallSeconds: stall)
        var previous = try RingStats.sample(directory: directory)
        var shown = 0
        while count.map({ shown < $0 }) ?? true {
            if let signal = Self.sleep(seconds: interval) { throw HarnessError.interrupted(signal: signal) }
            let current = try RingStats.sample(directory: directory)
            let rows = view.rows(previous: previous, current: current)
            let header = "# top \(ISO8601DateFormatter().string(from: Date())) \(directory): \(current.count) rings and queues, interval \(interval)s, stall \(stall)s\n"
            let text = header + TextTable.render(head: TopView.head, rows: rows)
            // On a terminal: home and clear, then the view; otherwise plain lines.
            print(tty ? "\u{1B}[H\u{1B}[2J" + text : text, terminator: "")
            fflush(nil)
            previous = current
            shown += 1
        }
    }

    /// Sleeps, returning early with a terminating signal (blocked by
    /// `SignalGuard`, so taken here synchronously).
    static func sleep(seconds: Double) -> Int32? {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in SignalGuard.terminating { sigaddset(&set, signal) }
        var timeout = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        let deadline = cshim_monotonic_ns() + UInt64(seconds * 1e9)
        while true {
            let signal = sigtimedwait(&set, nil, &timeout)
            if signal > 0 { return signal }
            let now = cshim_monotonic_ns()
            if errno != EINTR || now >= deadline { return nil }
            let left = deadline - now
            timeout = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
        }
    }
}

/// Turns two samples into `top`'s rows, remembering per endpoint when it
/// last made progress (for the stall mark).
struct TopView {
    static let head = ["ring", "kind", "endpoint", "pid", "state", "in/s", "out/s", "MB/s in", "MB/s out", "fill",
                       "lag", "lag s", "waits/s", "wakes/s", "takeovers", "mark"]
    var stallSeconds: Double
    /// Monotonic ns of each endpoint's last progress ("ring/endpoint").
    var lastProgress: [String: UInt64] = [:]

    mutating func rows(previous: [RingStat], current: [RingStat]) -> [[String]] {
        struct Row { var cells: [String]; var lagSeconds: Double?; var lag: Int }
        var rows: [Row] = []
        for ring in current {
            let before = previous.first { $0.name == ring.name && $0.kind == ring.kind }
            let seconds = before.map { Double(ring.sampledAtNs &- $0.sampledAtNs) / 1e9 } ?? 0
            if ring.endpoints.isEmpty {
                rows.append(Row(cells: [ring.name, ring.kind, "-", "-", ring.state + (ring.problem.map { ": \($0)" } ?? "")]
                                + Array(repeating: "-", count: Self.head.count - 5), lagSeconds: nil, lag: 0))
                continue
            }
            for e in ring.endpoints {
                let old = before?.endpoints.first { $0.endpoint == e.endpoint }
                func rate(_ value: (EndpointStat) -> UInt64) -> Double {
                    guard let old, seconds > 0, value(e) >= value(old) else { return 0 }
                    return Double(value(e) - value(old)) / seconds
                }
                let inRate = rate(\.recordsPublished), outRate = rate(\.recordsConsumed)
                let key = ring.name + "/" + e.endpoint
                let progressed = old == nil || e.recordsPublished != old!.recordsPublished || e.recordsConsumed != old!.recordsConsumed
                // First seen without progress: still since the previous sample at least.
                if progressed { lastProgress[key] = ring.sampledAtNs }
                else if lastProgress[key] == nil { lastProgress[key] = before?.sampledAtNs ?? ring.sampledAtNs }
                let isConsumer = e.endpoint.hasPrefix("consumer") || (!ring.kind.contains("ring") && e.recordsConsumed > 0)
                // A broadcast consumer's own lag; otherwise the ring's.
                let pending = e.pendingBytes ?? ring.pending ?? 0
                let inBytes = ring.kind == "record ring" || e.pendingBytes != nil
                // Work waits for a consumer when something is pending, for a
                // producer when the ring has room (a stopped producer with
                // nothing to send looks the same: only consumers are judged).
                let hasWork = isConsumer && pending > 0
                let still = Double(ring.sampledAtNs &- (lastProgress[key] ?? ring.sampledAtNs)) / 1e9
                var state = StatCommand.liveness(e)
                if e.alive == true, hasWork, still >= stallSeconds { state = "STALLED" }
                let lag = isConsumer && !inBytes ? pending : 0
                // A record ring's (and a broadcast consumer's) pending is in bytes: drained at the byte rate.
                let drain = inBytes ? rate(\.bytesConsumed) : outRate
                // Only a live holder can be the slowest (an unclaimed or dead end has its own state).
                let lagSeconds: Double? = isConsumer && pending > 0 && e.alive == true ? (drain > 0 ? Double(pending) / drain : .infinity) : nil
                rows.append(Row(cells: [ring.name, ring.kind, e.endpoint, e.pid.map(String.init) ?? "-", state,
                                        Self.format(inRate), Self.format(outRate),
                                        String(format: "%.2f", rate(\.bytesPublished) / 1e6), String(format: "%.2f", rate(\.bytesConsumed) / 1e6),
                                        ring.fillPercent.map { String(format: "%.1f%%", $0) } ?? "-",
                                        isConsumer ? (inBytes ? "\(pending) B" : String(pending)) : "-",
                                        (lagSeconds ?? (isConsumer && pending > 0 ? .infinity : nil)).map { $0.isInfinite ? "inf" : String(format: "%.3f", $0) } ?? "-",
                                        Self.format(rate { $0.fullWaits &+ $0.emptyWaits }),
                                        Self.format(rate { $0.wakeupsIssued &+ $0.wakeupsReceived }),
                                        String(e.takeovers), e.alive == false ? "DEAD" : (state == "STALLED" ? "STALLED" : "")],
                                lagSeconds: lagSeconds, lag: lag))
            }
        }
        // The slowest consumer: the largest lag in time (then in records).
        if let slowest = rows.indices.filter({ rows[$0].lagSeconds != nil })
            .max(by: { (rows[$0].lagSeconds!, rows[$0].lag) < (rows[$1].lagSeconds!, rows[$1].lag) }) {
            rows[slowest].cells[Self.head.count - 1] = ([rows[slowest].cells.last!, "SLOWEST"].filter { !$0.isEmpty }).joined(separator: ",")
        }
        return rows.map(\.cells)
    }

    static func format(_ rate: Double) -> String {
        rate >= 1e6 ? String(format: "%.1fM", rate / 1e6) : rate >= 1e3 ? String(format: "%.1fk", rate / 1e3) : String(format: "%.0f", rate)
    }
}
