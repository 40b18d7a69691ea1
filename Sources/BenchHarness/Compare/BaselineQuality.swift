import Foundation

/// Whether a results file is fit to be a baseline, run by run, from each
/// run's own host probes (`RunRecord.hostState`).
///
/// A baseline measured mostly while the host had the vCPUs in its slow
/// placement makes every later comparison wrong: a real regression measured
/// in the fast placement looks like a large improvement "in another machine
/// state". A run is usable when its probes agree with each other (steady)
/// and with the fastest state the document saw (its runs' probes and the
/// document's own cache-line probe).
public struct BaselineQuality: Sendable {
    public enum Verdict: String, Sendable {
        case usable, unsteady
        case slowState = "slow-state"
        case unprobed
    }

    public struct Run: Sendable {
        public var scenario: String
        public var verdict: Verdict
        /// The run's cache line (the faster of its probes), if probed.
        public var cacheLineNs: Double?
    }

    public var runs: [Run]
    /// The fastest host state seen (cache-line round trip, ns), if any probe.
    public var fastestNs: Double?

    /// Usable runs must be at least this share of the probed runs.
    public static let minimumUsableShare = 0.5

    public init(_ document: ResultDocument, keys: [ScenarioKey]) {
        let lines = document.runs.compactMap { $0.hostState.flatMap { $0.steady ? RunSelection.line($0) : nil } }
            + [document.probes?.cacheLine.bestRoundTrip?.ns].compactMap { $0 }
        let fastest = lines.filter { $0 > 0 }.min()
        fastestNs = fastest
        runs = zip(document.runs, keys).map { run, key in
            guard let h = run.hostState else { return Run(scenario: key.description, verdict: .unprobed, cacheLineNs: nil) }
            let line = RunSelection.line(h)
            let verdict: Verdict = !h.steady ? .unsteady
                : fastest.map { HostState.agree(line, $0) } ?? true ? .usable : .slowState
            return Run(scenario: key.description, verdict: verdict, cacheLineNs: line)
        }
    }

    public var usable: Int { runs.filter { $0.verdict == .usable }.count }
    public var probed: Int { runs.filter { $0.verdict != .unprobed }.count }

    /// Why the document should not be a baseline, or nil when it may be.
    public var problem: String? {
        guard probed > 0 else { return nil }
        guard Double(usable) < Self.minimumUsableShare * Double(probed) else { return nil }
        let slow = runs.filter { $0.verdict == .slowState }.count, unsteady = runs.filter { $0.verdict == .unsteady }.count
        return String(format: "only %d of %d probed runs are usable as a baseline (%d in a slower host state than the fastest seen, %.0f ns; %d unsteady): "
                      + "measure again (suite --settle 3), or store it anyway with --force", usable, probed, slow, fastestNs ?? 0, unsteady)
    }

    /// One line per run: "usable 71 ns  spsc sysv throughput 8B ...".
    public var listing: String {
        var text = "# baseline runs by their own host probes (fastest state seen: "
            + (fastestNs.map { String(format: "%.0f ns", $0) } ?? "none") + "); compare leaves out all but usable ones\n"
        for r in runs {
            text += "\(r.verdict.rawValue)\t" + (r.cacheLineNs.map { String(format: "%.0f ns", $0) } ?? "-") + "\t\(r.scenario)\n"
        }
        return text
    }
}
