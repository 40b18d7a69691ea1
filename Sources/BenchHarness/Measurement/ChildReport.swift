import Foundation
import Histogram

/// What a child tells the parent through the control block when it is done.
public struct ChildReport: Codable, Sendable {
    public var role: String
    public var index: Int
    public var cpu: Int?
    /// Monotonic-clock nanoseconds, comparable across processes.
    public var startNs: UInt64 = 0
    public var endNs: UInt64 = 0
    /// Messages this process sent (producers, pingers) and the integrity of
    /// what it received (consumers, and pingers checking echoes).
    public var integrity = IntegrityCounts()
    /// Round-trip latencies as (value, count) pairs of non-empty histogram buckets.
    public var latencyBuckets: [UInt64]?
    /// Lock-engine and other per-process figures, by name.
    public var figures: [String: Double]?
    /// Set when the child failed; printed by the parent.
    public var error: String?
    /// Where the child ran, asked of the kernel at the end (placement check).
    public var ranOn: ProcessLocation?

    public init(role: Role, cpu: Int?) {
        self.role = role.name
        self.index = switch role {
        case let .producer(i), let .consumer(i), let .worker(i): i
        }
        self.cpu = cpu
    }

    func encoded() -> [UInt8] {
        (try? Array(JSONEncoder().encode(self))) ?? Array(#"{"role":"?","index":0,"integrity":{"sent":0,"received":0,"lost":0,"duplicated":0,"reordered":0,"corrupt":0},"error":"report encoding failed"}"#.utf8)
    }

    static func decode(_ bytes: [UInt8]) -> ChildReport? {
        try? JSONDecoder().decode(ChildReport.self, from: Data(bytes))
    }
}

/// Latency histograms: nanoseconds, 1 ns to 60 s, three significant digits.
public enum LatencyHistogram {
    public static func make() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Flattens the non-empty buckets to [value, count, value, count, ...].
    public static func buckets(_ h: Histogram<UInt64>) -> [UInt64] {
        var flat: [UInt64] = []
        for v in h.recordedValues() { flat.append(v.value); flat.append(UInt64(v.count)) }
        return flat
    }

    /// Adds flattened buckets into `h`, ignoring malformed input.
    public static func add(_ flat: [UInt64], to h: inout Histogram<UInt64>) {
        var i = 0
        while i + 1 < flat.count {
            _ = h.record(min(flat[i], h.highestTrackableValue), count: flat[i + 1])
            i += 2
        }
    }
}
