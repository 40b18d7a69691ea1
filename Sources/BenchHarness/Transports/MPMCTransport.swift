import ShmRing

/// An MPMC queue the harness can run, under its command-line name.
public protocol HarnessQueue: MPMCQueue {
    static var transportName: String { get }
}

extension MPMCSemaphoreQueue: HarnessQueue {
    /// Blocking waits sleep in semop; a batch of k claims k slots with one semop.
    public static var transportName: String { "mpmc-sem" }
}

extension MPMCLockFreeQueue: HarnessQueue {
    /// Blocking waits spin, then yield; a batch is k single claims.
    public static var transportName: String { "mpmc-lockfree" }
}

/// Either MPMC queue (`ShmRing.MPMCSemaphoreQueue`, `ShmRing.MPMCLockFreeQueue`)
/// as a transport: every producer pushes into one queue and every consumer
/// pops from it; in roundtrip mode a second queue carries the echoes back.
/// One generic type serves both queues, so the two transports differ in the
/// queue alone.
///
/// The parent creates the queues (and, for the semaphore queue, its set)
/// and registers their removal; children of sysv and mmap runs open them by
/// name, as unrelated processes would, while anon runs use what fork shared.
public struct MPMCTransport<Queue: HarnessQueue>: Transport {
    public static var name: String { Queue.transportName }
    public static var capabilities: TransportCapabilities {
        TransportCapabilities(maximumMessageSize: RegionLayout.maximumSlotSize, limitReason: "the queue's maximum slot size",
                              multiProcess: true, usesBacking: true, usesCapacity: true)
    }

    let backing: RegionBacking
    let forward: Queue
    let backward: Queue

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        guard scenario.capacity <= Queue.maximumCapacity else {
            throw .invalidScenario("\(Self.name) holds at most \(Queue.maximumCapacity) slots; --capacity \(scenario.capacity) is too large")
        }
        do {
            forward = try Queue.create(backing: backing, name: RegionNames.unique(backing, "fwd"), capacity: scenario.capacity,
                                       messageSize: scenario.messageSize, options: RegionOptions())
            cleanup.register("\(Self.name) forward queue \(forward.region.name)") { [forward] in forward.removeName() }
            // The way back carries echoes; a throughput run never uses it.
            backward = try Queue.create(backing: backing, name: RegionNames.unique(backing, "back"),
                                        capacity: scenario.mode == .roundtrip ? scenario.capacity : 1,
                                        messageSize: scenario.messageSize, options: RegionOptions())
            cleanup.register("\(Self.name) backward queue \(backward.region.name)") { [backward] in backward.removeName() }
        } catch { throw .shm(error) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fwd: Queue, back: Queue
        do { fwd = try reopen(forward); back = try reopen(backward) } catch { throw .shm(error) }
        if case .producer = role {
            var port = Port(outbound: fwd, inbound: back)
            return try visitor.visit(&port)
        }
        var port = Port(outbound: back, inbound: fwd)
        return try visitor.visit(&port)
    }

    private func reopen(_ queue: Queue) throws(ShmError) -> Queue {
        backing == .anon ? queue : try Queue.open(backing: backing, name: queue.region.name, options: RegionOptions())
    }

    public struct Port: MessagePort, ~Copyable {
        @usableFromInline let outbound: Queue
        @usableFromInline let inbound: Queue

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            do { try outbound.pushBatch(count: count, timeoutSeconds: nil, fill) } catch { throw .shm(error) }
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            do { return try inbound.popBatch(maxCount: maxCount, timeoutSeconds: nil, body) } catch { throw .shm(error) }
        }
    }
}
