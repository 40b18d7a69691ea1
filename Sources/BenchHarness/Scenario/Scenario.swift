/// What one benchmark run measures. Encoded into results as `scenario`
/// (docs/results-format.md).
public struct Scenario: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Producers stream to consumers as fast as they can.
        case throughput
        /// One message goes out, the peer echoes it, the round trip is timed.
        case roundtrip
    }

    public var transport: String
    /// Memory backing for shared-memory transports ("sysv", "mmap", "anon");
    /// nil for kernel transports.
    public var backing: String?
    public var producers: Int
    public var consumers: Int
    public var messageSize: Int
    /// Messages per repetition (round trips in roundtrip mode); nil with a duration.
    public var messages: Int?
    /// Seconds per repetition; nil with a message count.
    public var durationSeconds: Double?
    public var capacity: Int
    public var batch: Int
    public var mode: Mode
    /// Where each process ran; filled in when the run is placed.
    public var placement: [PlacementEntry]
    /// Paced throughput runs (`--rate`): messages per second per producer,
    /// each due at a fixed time; nil sends as fast as the transport takes them.
    public var rate: Double?
    /// How message lengths vary (`records` only; nil: every message is
    /// `messageSize`): "fixed", "uniform" or "log-uniform" (`MessageLengths`).
    public var recordSizes: String?
    /// The seed the lengths are drawn with (with `recordSizes`).
    public var seed: UInt64?
    /// How ring endpoints wait (`spsc`, `records`, `exchange`): "spin", "yield", "park" or "backoff"
    /// through the library's blocking calls; nil: the harness's own spin loop.
    public var wait: String?
    /// `broadcast` only: the slow-consumer policy, "block", "overwrite" or
    /// "evict" (nil: block).
    public var policy: String?
    /// With `policy` "evict": seconds a consumer may gate the producer
    /// before it is dropped.
    public var evictAfter: Double?
    /// `broadcast` under overwrite only (`--stalled-consumers K`): consumers
    /// 0..<K stop reading from the start until the producer has finished,
    /// so the producer's own rate shows what a stalled reader costs it
    /// (issue 16: within 10 % of no stalled reader). nil: none.
    public var stalledConsumers: Int?
    /// Roundtrip mode (`--trips-per-sample K`): the pinger reads the clock
    /// once per K round trips and records their mean, as the cache-line
    /// probe does (`TripTimer`); the latency percentiles are then of K-trip
    /// means. nil: every trip timed on its own.
    public var tripsPerSample: Int?

    public init(transport: String, backing: String?, producers: Int = 1, consumers: Int = 1, messageSize: Int,
                messages: Int?, durationSeconds: Double? = nil, capacity: Int, batch: Int, mode: Mode,
                placement: [PlacementEntry] = [], rate: Double? = nil) {
        self.transport = transport
        self.backing = backing
        self.producers = producers
        self.consumers = consumers
        self.messageSize = messageSize
        self.messages = messages
        self.durationSeconds = durationSeconds
        self.capacity = capacity
        self.batch = batch
        self.mode = mode
        self.placement = placement
        self.rate = rate
    }

    enum CodingKeys: String, CodingKey {
        case transport, backing, producers, consumers, messageSize, messages
        case durationSeconds = "duration", capacity, batch, mode, placement, rate
        case recordSizes, seed, wait, policy, evictAfter, stalledConsumers, tripsPerSample
    }

    /// The largest `tripsPerSample`: a million trips of ~100 ns is a tenth
    /// of a second per sample, already too few samples for a percentile.
    public static let maximumTripsPerSample = 1_000_000

    /// How many processes run: a roundtrip always has exactly one pinger and one echoer.
    public var processCount: Int { producers + consumers }
}

/// One process's role and where it ran.
public struct PlacementEntry: Codable, Sendable, Equatable {
    public var role: String
    public var cpu: Int?
    public var node: Int?
    public init(role: String, cpu: Int?, node: Int?) {
        self.role = role
        self.cpu = cpu
        self.node = node
    }
}

/// The role of a forked child.
public enum Role: Sendable, Equatable, CustomStringConvertible {
    case producer(Int)
    case consumer(Int)
    /// A process of the lock engine.
    case worker(Int)

    public var description: String {
        switch self {
        case let .producer(i): "producer \(i)"
        case let .consumer(i): "consumer \(i)"
        case let .worker(i): "worker \(i)"
        }
    }

    public var name: String {
        switch self {
        case .producer: "producer"
        case .consumer: "consumer"
        case .worker: "worker"
        }
    }
}
