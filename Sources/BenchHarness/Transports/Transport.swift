/// The seam every message-passing mechanism plugs into. One generic loop
/// (`MessageLoops`) drives every transport, specialised per concrete type,
/// so no existential or unspecialised generic sits on the hot path.
///
/// Life cycle, for one repetition:
/// 1. The parent calls `init(scenario:cleanup:)` before forking. It creates
///    every kernel or shared-memory object the children need and registers
///    each one's removal with `cleanup` immediately after creating it.
/// 2. Each forked child calls `withPort(role:_:)`, which builds the child's
///    end and hands it, by `inout`, to the measurement loop. (Ports are
///    non-copyable, so two processes can never share one end by accident, and
///    a visitor rather than an associated type carries them.) Throughput
///    runs use producer ports only to send and consumer ports only to
///    receive; roundtrip runs send and receive on both (producer 0 pings,
///    consumer 0 echoes).
/// 3. The parent runs `cleanup` when the children are gone, however the
///    repetition ended.
public protocol Transport {

    /// The name on the command line (`--transport NAME`).
    static var name: String { get }
    /// What the transport can do; checked before anything is created.
    static var capabilities: TransportCapabilities { get }

    init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError)

    func withPort<Visitor: PortVisitor>(role: Role, _ visitor: Visitor) throws(HarnessError) -> Visitor.Output

    /// The shared memory this transport created, as mapped in the parent:
    /// the placement check asks the kernel where its pages are. Kernel
    /// transports have none (the default).
    var sharedMemory: [UnsafeRawBufferPointer] { get }
}

extension Transport {
    public var sharedMemory: [UnsafeRawBufferPointer] { [] }
}

/// Code that runs with one concrete port (the measurement loop).
public protocol PortVisitor {
    associatedtype Output
    func visit<Port: MessagePort & ~Copyable>(_ port: inout Port) throws(HarnessError) -> Output
}

/// One process's end of a transport.
public protocol MessagePort: ~Copyable {
    /// Sends `count` messages (1 up to the scenario's batch). `fill(i, bytes)`
    /// writes message i in place into `messageSize` bytes. Returns when all
    /// `count` are handed to the transport, blocking (spinning or sleeping)
    /// while it is full.
    mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError)

    /// Blocks until at least one message is available, then passes up to
    /// `maxCount` of them to `body(i, bytes)` (valid only during the call).
    /// Returns how many it passed.
    mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int

    /// Messages the transport itself said were lost (a broadcast consumer's
    /// overruns), or nil for transports that never report losses. The loop
    /// checks it against the gaps in the sequence numbers it saw.
    var reportedLost: UInt64? { get }
}

extension MessagePort where Self: ~Copyable {
    public var reportedLost: UInt64? { nil }
}

/// What a transport supports. The harness rejects other scenarios with a
/// one-line error before forking.
public struct TransportCapabilities: Sendable {
    public var modes: Set<Scenario.Mode>
    /// Largest message in bytes, or nil for no limit but the harness's own.
    public var maximumMessageSize: Int?
    /// Why the limit exists, for the error message ("msgmax", ...).
    public var limitReason: String
    /// Whether several producers or consumers may share it.
    public var multiProcess: Bool
    /// Whether `--backing` applies.
    public var usesBacking: Bool
    /// Whether runs must be bounded by `--messages` (no `--duration`).
    public var needsMessageCount: Bool
    /// Whether `--capacity` applies.
    public var usesCapacity: Bool
    /// Whether messages may vary in length (`--record-sizes`).
    public var variableLengths = false
    /// Whether `--wait spin|yield|park|backoff` applies (the library's ring endpoints).
    public var waitStrategies = false
    /// Whether every consumer receives every message (a broadcast ring):
    /// each consumer then checks the whole stream for losses, the run owes
    /// every consumer every message, and there is exactly one producer.
    public var broadcast = false
    /// Whether `--policy`, `--evict-after` and `--stalled-consumers` apply
    /// (the broadcast ring's slow-consumer policies).
    public var policies = false
    /// Whether the default suite runs it (`ringbench suite` without
    /// `--transports`). False for a comparator that means something only
    /// with several consumers: the suite runs 1 -> 1.
    public var inSuite = true

    public init(modes: Set<Scenario.Mode> = Set(Scenario.Mode.allCases), maximumMessageSize: Int? = nil,
                limitReason: String = "", multiProcess: Bool = false, usesBacking: Bool = false, usesCapacity: Bool = false,
                needsMessageCount: Bool = false, variableLengths: Bool = false, waitStrategies: Bool = false,
                broadcast: Bool = false, policies: Bool = false, inSuite: Bool = true) {
        self.broadcast = broadcast
        self.inSuite = inSuite
        self.policies = policies
        self.needsMessageCount = needsMessageCount
        self.variableLengths = variableLengths
        self.waitStrategies = waitStrategies
        self.modes = modes
        self.maximumMessageSize = maximumMessageSize
        self.limitReason = limitReason
        self.multiProcess = multiProcess
        self.usesBacking = usesBacking
        self.usesCapacity = usesCapacity
    }
}
