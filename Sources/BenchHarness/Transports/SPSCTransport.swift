import ShmRing

/// The lock-free SPSC ring (`ShmRing.SPSCRing`) as a transport: one ring
/// from producer to consumer, and one back for echoes in roundtrip mode.
///
/// The parent creates the rings; children of sysv and mmap runs open them by
/// name, exactly as unrelated processes would (header validation included),
/// while anon runs use the mapping inherited through fork.
public struct SPSCTransport: Transport {
    public static let name = "spsc"
    public static let capabilities = TransportCapabilities(
        maximumMessageSize: RegionLayout.maximumSlotSize, limitReason: "the ring's maximum slot size",
        usesBacking: true, usesCapacity: true, waitStrategies: true)

    let backing: RegionBacking
    let forward: SPSCRing
    let backward: SPSCRing
    let wait: (strategy: WaitStrategy, blocking: Bool)

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        wait = try RingWait.claimStrategy(scenario)
        do {
            forward = try SPSCRing.create(backing: backing, name: RegionNames.make(backing, "fwd", cleanup),
                                          capacity: scenario.capacity, messageSize: scenario.messageSize)
            cleanup.register("spsc forward ring \(forward.region.name)") { [forward] in forward.region.removeName() }
            RegionNames.releaseAfterAttach(forward.region, cleanup)
            // The way back carries echoes; a throughput run never uses it.
            backward = try SPSCRing.create(backing: backing, name: RegionNames.make(backing, "back", cleanup),
                                           capacity: scenario.mode == .roundtrip ? scenario.capacity : 1,
                                           messageSize: scenario.messageSize)
            cleanup.register("spsc backward ring \(backward.region.name)") { [backward] in backward.region.removeName() }
            RegionNames.releaseAfterAttach(backward.region, cleanup)
        } catch { throw .shm(error) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fwd: SPSCRing, back: SPSCRing
        do { fwd = try reopen(forward); back = try reopen(backward) } catch { throw .shm(error) }
        // Each child claims its ends with the `--wait` strategy (see `RingWait`).
        var port: Port
        let strategy = wait.strategy
        do {
            if case .producer = role {
                port = Port(outbound: try fwd.producer(wait: strategy), inbound: try back.consumer(wait: strategy), blocking: wait.blocking)
            } else {
                port = Port(outbound: try back.producer(wait: strategy), inbound: try fwd.consumer(wait: strategy), blocking: wait.blocking)
            }
        } catch { throw .shm(error) }
        return try visitor.visit(&port)
    }

    public var sharedMemory: [UnsafeRawBufferPointer] {
        [forward.region.bytes, backward.region.bytes]
    }

    private func reopen(_ ring: SPSCRing) throws(ShmError) -> SPSCRing {
        backing == .anon ? ring : try SPSCRing.open(backing: backing, name: ring.region.name)
    }

    public struct Port: MessagePort, ~Copyable {
        @usableFromInline var outbound: SPSCRing.Producer
        @usableFromInline var inbound: SPSCRing.Consumer
        /// Wait in the library's blocking calls (`--wait`) rather than spin here.
        @usableFromInline let blocking: Bool

        // Inlined into the loop, which calls it from one place (the call
        // would cost more than the ring). Not @inline(__always): that makes
        // the specialised loop call the protocol witness thunk instead.
        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            var spin = SpinWait()
            if count == 1, !blocking {
                // A batch of one is one `tryPush`, as a user of the ring
                // would write it: no batch arithmetic, no batch loop. With
                // `--wait` the batch path waits in the library instead.
                do {
                    while try !outbound.tryPush({ slot throws(ShmError) in fill(0, slot) }) { spin.wait() }
                } catch { throw .shm(error) }
                return
            }
            try sendBatch(count: count, fill)
        }

        /// Batches: one free-space check and one publication loop per batch
        /// (a call of its own, so that `send` stays small enough to inline).
        @inlinable
        mutating func sendBatch(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            var spin = SpinWait()
            var done = 0
            while done < count {
                let first = done
                let n: Int
                do { n = try outbound.tryPushBatch(maxCount: count &- done) { i, slot in fill(first &+ i, slot) } } catch { throw .shm(error) }
                if n > 0 {
                    done &+= n
                } else if blocking {
                    do { try outbound.push(timeoutSeconds: nil) { slot in fill(first, slot) } } catch { throw .shm(error) }
                    done &+= 1
                } else {
                    spin.wait()
                }
            }
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            var spin = SpinWait()
            if maxCount == 1, !blocking {
                do {
                    while try !inbound.tryPop({ bytes throws(ShmError) in body(0, bytes) }) { spin.wait() }
                } catch { throw .shm(error) }
                return 1
            }
            return try receiveBatch(maxCount: maxCount, body)
        }

        @inlinable
        mutating func receiveBatch(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            var spin = SpinWait()
            while true {
                let n: Int
                do { n = try inbound.tryPopBatch(maxCount: maxCount) { i, bytes in body(i, bytes) } } catch { throw .shm(error) }
                if n > 0 { return n }
                if blocking {
                    let got: Received
                    do { got = try inbound.pop(timeoutSeconds: nil) { bytes in body(0, bytes) } } catch { throw .shm(error) }
                    guard got == .message else { throw RingWait.unexpectedEnd }
                    return 1
                }
                spin.wait()
            }
        }
    }
}

/// Names for the regions a run creates: unique per process and call, under
/// the default directory, so concurrent runs never collide.
public enum RegionNames {
    nonisolated(unsafe) static var counter = 0

    public static func unique(_ backing: RegionBacking, _ purpose: String) -> String? {
        guard backing != .anon else { return nil }
        counter += 1
        return "ringbench-\(getpid())-\(counter)-\(purpose)"
    }

    /// A unique name for a region about to be created, recorded in the run's
    /// ledger first, so that a parent killed right after creating it leaves
    /// something the stale reclaim finds.
    public static func make(_ backing: RegionBacking, _ purpose: String, _ cleanup: CleanupRegistry) -> String? {
        let name = unique(backing, purpose)
        if let name {
            // ShmRing's file for a name under the default directory
            // (RegionOptions().directory): the mmap file, or the sysv key file.
            let file = "\(RegionOptions().directory)/\(name)" + (backing == .sysv ? ".sysv-key" : "")
            cleanup.ledger.record(.regionFile(file))
        }
        return name
    }

    /// Removes the region's name (file, key file, segment id) once every
    /// child has opened it: the mapping lives on until the last process goes.
    public static func releaseAfterAttach(_ region: SharedRegion, _ cleanup: CleanupRegistry) {
        guard region.backing != .anon else { return }
        cleanup.registerName("name of \(region.name)") { [region] in region.removeName() }
    }

    public static func backing(_ scenario: Scenario) throws(HarnessError) -> RegionBacking {
        let raw = scenario.backing ?? RegionBacking.sysv.rawValue
        guard let backing = RegionBacking(rawValue: raw) else {
            throw .invalidScenario("unknown backing '\(raw)'; choose one of: sysv, mmap, anon")
        }
        return backing
    }
}

#if canImport(Glibc)
import Glibc
#endif
