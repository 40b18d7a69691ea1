import Rivals
import ShmRing

/// Boost.Lockfree `spsc_queue<record, capacity<4096>>` in a shared mapping:
/// the rival users of Boost reach for first. Its storage is inline, so the
/// forked processes share it as is; its capacity is a compile-time 4096.
public struct BoostSPSCTransport: Transport {
    public static let name = "boost-spsc"
    public static let capabilities = TransportCapabilities(maximumMessageSize: 1024, limitReason: RivalRecordSizes.reason)

    public struct Queue: LockFreeRecordQueue {
        @usableFromInline let queue: UnsafeMutableRawPointer
        @usableFromInline let size: Int
        @inlinable public func tryPush(_ record: UnsafeRawPointer) -> Bool { rival_boost_spsc_push(queue, size, record) }
        @inlinable public func tryPop(_ record: UnsafeMutableRawPointer) -> Bool { rival_boost_spsc_pop(queue, size, record) }
    }

    let forward: Queue
    let backward: Queue
    let messageSize: Int
    /// Holds the mapping the queues live in for as long as the transport lives.
    let memory: RivalRegion

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        try RivalRecordSizes.check(scenario, Self.name)
        messageSize = scenario.messageSize
        let footprint = rival_boost_spsc_footprint(messageSize)
        let sizes = [footprint, footprint]
        let region = try RivalRegion(sizes: sizes)
        memory = region
        let ends = [region.part(0, of: sizes), region.part(1, of: sizes)]
        for end in ends where !rival_boost_spsc_init(end, messageSize) {
            throw .invalidScenario("\(Self.name) cannot carry \(messageSize)-byte records")
        }
        forward = Queue(queue: ends[0], size: messageSize)
        backward = Queue(queue: ends[1], size: messageSize)
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { [memory.region.bytes] }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        try RecordPort.visit(role, forward: forward, backward: backward, messageSize: messageSize, visitor)
    }
}

/// Concurrency Kit's `ck_ring` with typed records: the ring header and the
/// record array both in a shared mapping (ck_ring keeps the buffer outside
/// the ring, and every call takes the caller's buffer address). `ck-spsc`
/// uses the single-producer/single-consumer calls, `ck-mpmc` the
/// multi-producer/multi-consumer ones (CAS on both ends). A ck_ring of
/// capacity N holds N - 1 records.
public struct CKRingTransport<Kind: CKRingKind>: Transport {
    public static var name: String { Kind.name }
    public static var capabilities: TransportCapabilities {
        TransportCapabilities(maximumMessageSize: 1024, limitReason: RivalRecordSizes.reason, multiProcess: Kind.mpmc,
                              usesCapacity: true)
    }

    public struct Queue: LockFreeRecordQueue {
        @usableFromInline let ring: UnsafeMutablePointer<ck_ring_t>
        @usableFromInline let buffer: UnsafeMutableRawPointer
        @usableFromInline let size: Int
        @inlinable public func tryPush(_ record: UnsafeRawPointer) -> Bool {
            rival_ck_push(ring, buffer, size, Kind.mpmc, UnsafeMutableRawPointer(mutating: record))
        }
        @inlinable public func tryPop(_ record: UnsafeMutableRawPointer) -> Bool { rival_ck_pop(ring, buffer, size, Kind.mpmc, record) }
    }

    let forward: Queue
    let backward: Queue
    let messageSize: Int
    /// Holds the mapping the queues live in for as long as the transport lives.
    let memory: RivalRegion

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        try RivalRecordSizes.check(scenario, Self.name)
        guard scenario.capacity >= 2, scenario.capacity <= 1 << 20 else {
            throw .invalidScenario("\(Self.name) needs --capacity between 2 and 2^20 (it holds capacity - 1 records), got \(scenario.capacity)")
        }
        messageSize = scenario.messageSize
        let header = MemoryLayout<ck_ring_t>.size
        let array = scenario.capacity * messageSize
        let sizes = [header, header, array, array]
        let region = try RivalRegion(sizes: sizes)
        memory = region
        var queues: [Queue] = []
        for end in 0..<2 {
            let ring = region.part(end, of: sizes).bindMemory(to: ck_ring_t.self, capacity: 1)
            rival_ck_init(ring, UInt32(scenario.capacity))
            queues.append(Queue(ring: ring, buffer: region.part(2 + end, of: sizes), size: messageSize))
        }
        forward = queues[0]
        backward = queues[1]
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { [memory.region.bytes] }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        try RecordPort.visit(role, forward: forward, backward: backward, messageSize: messageSize, visitor)
    }
}

/// Which ck_ring calls a `CKRingTransport` makes.
public protocol CKRingKind {
    static var name: String { get }
    static var mpmc: Bool { get }
}

public enum CKSPSC: CKRingKind {
    public static let name = "ck-spsc"
    public static let mpmc = false
}

public enum CKMPMC: CKRingKind {
    public static let name = "ck-mpmc"
    public static let mpmc = true
}

/// A cached-index SPSC ring in the style of rigtorp's SPSCQueue
/// (Rivals/cached_ring.c): no per-slot word, each side caching the other's
/// index. The design the ring's per-slot sequence words are weighed against
/// (issue 19): it moves more messages per line and detects nothing.
public struct CachedRingTransport: Transport {
    public static let name = "cached-spsc"
    public static let capabilities = TransportCapabilities(maximumMessageSize: 1024, limitReason: RivalRecordSizes.reason,
                                                           usesCapacity: true)

    public struct Queue: LockFreeRecordQueue {
        @usableFromInline let ring: UnsafeMutableRawPointer
        @inlinable public func tryPush(_ record: UnsafeRawPointer) -> Bool { rival_cached_push(ring, record) }
        @inlinable public func tryPop(_ record: UnsafeMutableRawPointer) -> Bool { rival_cached_pop(ring, record) }
    }

    let forward: Queue
    let backward: Queue
    let messageSize: Int
    /// Holds the mapping the rings live in for as long as the transport lives.
    let memory: RivalRegion

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        try RivalRecordSizes.check(scenario, Self.name)
        guard scenario.capacity >= 1, scenario.capacity <= 1 << 20 else {
            throw .invalidScenario("\(Self.name) needs --capacity between 1 and 2^20, got \(scenario.capacity)")
        }
        messageSize = scenario.messageSize
        let footprint = rival_cached_footprint(scenario.capacity, messageSize)
        let sizes = [footprint, footprint]
        let region = try RivalRegion(sizes: sizes)
        memory = region
        let ends = [region.part(0, of: sizes), region.part(1, of: sizes)]
        for end in ends { rival_cached_init(end, scenario.capacity, messageSize) }
        forward = Queue(ring: ends[0])
        backward = Queue(ring: ends[1])
    }

    public var sharedMemory: [UnsafeRawBufferPointer] { [memory.region.bytes] }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        try RecordPort.visit(role, forward: forward, backward: backward, messageSize: messageSize, visitor)
    }
}
