/// Figures that compare runs of one document with reference runs: each run
/// against `pipe` (the classic baseline), and the harness's own cost from
/// the `empty` transport (which moves no data, so its per-message time is
/// the loop, the timestamps and the integrity checks alone).
public enum Comparisons {
    public static let baselineTransport = "pipe"
    public static let harnessOverheadTransport = "empty"

    /// The pipe run of the same mode and size, if the document has one.
    static func baseline(for run: RunRecord, in runs: [RunRecord]) -> RunRecord? {
        runs.first {
            $0.scenario.transport == baselineTransport && $0.scenario.mode == run.scenario.mode
                && $0.scenario.messageSize == run.scenario.messageSize
        }
    }

    /// >1 means faster than pipe: msgs/s over pipe's in throughput mode,
    /// pipe's p50 over this run's in roundtrip mode.
    public static func versusPipe(_ run: RunRecord, in runs: [RunRecord]) -> Double? {
        guard let pipe = baseline(for: run, in: runs) else { return nil }
        switch run.scenario.mode {
        case .throughput:
            let mine = run.summary.messagesPerSecond.median, theirs = pipe.summary.messagesPerSecond.median
            return theirs > 0 && mine > 0 ? mine / theirs : nil
        case .roundtrip:
            guard let mine = run.summary.latencyNs?.p50, let theirs = pipe.summary.latencyNs?.p50, mine > 0, theirs > 0 else { return nil }
            return Double(theirs) / Double(mine)
        }
    }

    /// The harness's cost per message and per round trip, from the smallest
    /// `empty` runs of each mode.
    public struct HarnessOverhead: Sendable, Equatable {
        public var nsPerMessage: Double?
        public var nsPerRoundTrip: Double?
    }

    public static func harnessOverhead(in runs: [RunRecord]) -> HarnessOverhead? {
        let empty = runs.filter { $0.scenario.transport == harnessOverheadTransport }
            .sorted { $0.scenario.messageSize < $1.scenario.messageSize }
        let streaming = empty.first { $0.scenario.mode == .throughput && $0.summary.messagesPerSecond.median > 0 }
        let pinging = empty.first { $0.scenario.mode == .roundtrip && $0.summary.latencyNs != nil }
        guard streaming != nil || pinging != nil else { return nil }
        return HarnessOverhead(nsPerMessage: streaming.map { 1e9 / $0.summary.messagesPerSecond.median },
                               nsPerRoundTrip: pinging?.summary.latencyNs.map { Double($0.p50) })
    }
}

extension ResultDocument {
    /// Fills every run's `efficiency` (when probes are present) and
    /// `versusPipe`. The `empty` transport gets no efficiency: it moves no
    /// data, so a limit on moving data says nothing about it.
    public mutating func annotate() {
        let all = runs
        for i in runs.indices {
            runs[i].versusPipe = Comparisons.versusPipe(all[i], in: all)
            if let probes, all[i].scenario.transport != Comparisons.harnessOverheadTransport {
                let usesCapacity = (try? TransportCatalog.named(all[i].scenario.transport))?.capabilities.usesCapacity ?? false
                runs[i].efficiency = RunEfficiency.of(all[i], probes: probes, usesCapacity: usesCapacity)
            }
        }
    }
}
