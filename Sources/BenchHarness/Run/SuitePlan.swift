/// The one place that decides what the default suite runs: which transports,
/// sizes, modes and backings, and how long each repetition lasts.
///
/// Every transport of `TransportCatalog.suite` (the catalog less comparators
/// that need several consumers) takes part, in every mode it
/// supports and at every suite size it can carry; transports with a backing
/// (the ring) run once per backing in `ringBackings`. New transports join the
/// suite by joining the catalog.
///
/// Repetitions are bounded by time, not by message count: the kernel
/// transports move ~100k-1M messages/s and the ring ~100M, so no single count
/// suits both, while a fixed duration gives every scenario the same share of
/// the time budget and enough samples (0.08 s of a 30 us round trip is still
/// ~2,500 round trips). Durations and repetition counts are the `Profile`s.
public enum SuitePlan {
    /// How long the suite spends per scenario.
    public struct Profile: Sendable, Equatable {
        public var name: String
        public var secondsPerRepetition: Double
        public var repetitions: Int
        public var warmup: Int

        /// Seconds of measuring (forks and set-up come on top, ~10-20 ms per repetition here).
        public func estimatedSeconds(scenarios: Int) -> Double {
            Double(scenarios * (repetitions + warmup)) * (secondsPerRepetition + 0.02)
        }
    }

    /// `ringbench` / `ringbench suite`: 3 measured repetitions of 0.2 s after
    /// one warm-up, ~0.9 s per scenario: about two minutes for ~120 scenarios.
    public static let full = Profile(name: "full", secondsPerRepetition: 0.2, repetitions: 3, warmup: 1)
    /// `--quick`: one repetition of 0.08 s, no warm-up: ~0.1 s per scenario.
    public static let quick = Profile(name: "quick", secondsPerRepetition: 0.08, repetitions: 1, warmup: 0)

    public static let defaultSizes = [8, 64, 1024, 65536]
    public static let ringBackings = ["sysv", "mmap"]
    public static let modes: [Scenario.Mode] = [.throughput, .roundtrip]
    /// Transports with wait strategies (`spsc`, `records`) also run with
    /// `--wait park` on the first backing: the price of not spinning, beside
    /// the spinning rows (as the Disruptor's wait-strategy table).
    public static let waitRows: [String] = ["park"]

    /// Ring slots: 4096, but 64 for 64 KiB messages so a ring stays at 4 MiB.
    public static func capacity(messageSize: Int) -> Int {
        messageSize >= 65536 ? 64 : 4096
    }

    /// The suite's scenarios, in running order: transport by transport (the
    /// catalog's order), then backing, size and mode.
    public static func scenarios(transports: [TransportCatalog.Entry] = TransportCatalog.suite,
                                 sizes: [Int] = defaultSizes, modes: [Scenario.Mode] = modes,
                                 profile: Profile = full) -> [Scenario] {
        var plan: [Scenario] = []
        for entry in transports {
            let c = entry.capabilities
            for backing in c.usesBacking ? ringBackings.map(Optional.some) : [nil] {
                for size in sizes where size <= (c.maximumMessageSize ?? .max) {
                    for mode in modes where c.modes.contains(mode) {
                        let count = c.needsMessageCount ? messages(for: profile.secondsPerRepetition, size: size) : nil
                        let scenario = Scenario(transport: entry.name, backing: backing, messageSize: size, messages: count,
                                                durationSeconds: count == nil ? profile.secondsPerRepetition : nil,
                                                capacity: capacity(messageSize: size), batch: 1, mode: mode)
                        plan.append(scenario)
                        if c.waitStrategies, backing == ringBackings.first {
                            for wait in waitRows {
                                var waiting = scenario
                                waiting.wait = wait
                                plan.append(waiting)
                            }
                        }
                    }
                }
            }
        }
        return plan
    }

    /// A message count that takes about `seconds` for a transport that must be
    /// bounded by count (the harness-only `empty` transport: ~100 M messages/s
    /// at small sizes, bounded by filling and checking ~10 GB/s at large ones).
    static func messages(for seconds: Double, size: Int) -> Int {
        max(1000, Int(seconds * min(1e8, 1e10 / Double(size))))
    }

    /// The catalog entries named in `--transports`, in the order given.
    public static func transports(named names: [String]) throws(HarnessError) -> [TransportCatalog.Entry] {
        var entries: [TransportCatalog.Entry] = []
        for name in names where !entries.contains(where: { $0.name == name }) {
            entries.append(try TransportCatalog.named(name))
        }
        return entries
    }

    /// The modes named in `--modes`, in the suite's order.
    public static func modes(named names: [String]) throws(HarnessError) -> [Scenario.Mode] {
        for name in names where Scenario.Mode(rawValue: name) == nil {
            throw .invalidScenario("unknown mode '\(name)' (modes: \(modes.map(\.rawValue).joined(separator: ", ")))")
        }
        return modes.filter { names.contains($0.rawValue) }
    }

    /// A suite scenario's name, as `ringbench suite --scenarios` takes it
    /// and `ringbench compare --format json` reports it (`suiteName`):
    /// transport, backing (if any), size in bytes, mode and wait (if any),
    /// joined by "/", e.g. "spsc/sysv/8/throughput/park". bench/ab.sh's
    /// confirmation measures again exactly the scenarios it suspects, so its
    /// time grows with them, not with the cross product of their transports,
    /// sizes and modes (issue 20: a gate run over 3 minutes).
    public static func name(of s: Scenario) -> String {
        var parts = [s.transport]
        if let backing = s.backing { parts.append(backing) }
        parts.append(String(s.messageSize))
        parts.append(s.mode.rawValue)
        if let wait = s.wait { parts.append(wait) }
        return parts.joined(separator: "/")
    }

    /// `name(of:)` for a scenario shaped like the suite's (one producer, one
    /// consumer, batch 1, the suite's capacity, no pacing or policy), nil
    /// for one that `--scenarios` could never select.
    public static func suiteName(of s: Scenario) -> String? {
        let shaped = s.producers == 1 && s.consumers == 1 && s.batch == 1 && s.capacity == capacity(messageSize: s.messageSize)
            && s.rate == nil && s.recordSizes == nil && s.policy == nil && s.evictAfter == nil && s.stalledConsumers == nil
            && s.tripsPerSample == nil
            && (s.wait.map(waitRows.contains) ?? true)
        return shaped ? name(of: s) : nil
    }

    /// The scenarios of `plan` named in `--scenarios`, in the plan's order;
    /// a name that matches no planned scenario is a one-line error (a typo
    /// must not shrink a gate's confirmation to nothing).
    public static func only(_ names: [String], of plan: [Scenario]) throws(HarnessError) -> [Scenario] {
        let planned = Set(plan.map(name(of:)))
        for wanted in names where !planned.contains(wanted) {
            throw .invalidScenario("--scenarios: no suite scenario is named '\(wanted)' (names look like spsc/sysv/8/throughput or pipe/64/roundtrip)")
        }
        let chosen = Set(names)
        return plan.filter { chosen.contains(name(of: $0)) }
    }

    /// The full default suite.
    public static func defaultSuite() -> [Scenario] { scenarios() }
}
