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
        usesBacking: true, usesCapacity: true)

    let backing: RegionBacking
    let forward: SPSCRing
    let backward: SPSCRing

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        backing = try RegionNames.backing(scenario)
        do {
            forward = try SPSCRing.create(backing: backing, name: RegionNames.unique(backing, "fwd"),
                                          capacity: scenario.capacity, messageSize: scenario.messageSize)
            cleanup.register("spsc forward ring \(forward.region.name)") { [forward] in forward.region.removeName() }
            // The way back carries echoes; a throughput run never uses it.
            backward = try SPSCRing.create(backing: backing, name: RegionNames.unique(backing, "back"),
                                           capacity: scenario.mode == .roundtrip ? scenario.capacity : 1,
                                           messageSize: scenario.messageSize)
            cleanup.register("spsc backward ring \(backward.region.name)") { [backward] in backward.region.removeName() }
        } catch { throw .shm(error) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fwd: SPSCRing, back: SPSCRing
        do { fwd = try reopen(forward); back = try reopen(backward) } catch { throw .shm(error) }
        // Each child claims its ends; the harness's loops spin (`.spin` keeps
        // the wake-up check off the peer's hot path).
        var port: Port
        do {
            if case .producer = role {
                port = Port(outbound: try fwd.producer(wait: .spin), inbound: try back.consumer(wait: .spin))
            } else {
                port = Port(outbound: try back.producer(wait: .spin), inbound: try fwd.consumer(wait: .spin))
            }
        } catch { throw .shm(error) }
        return try visitor.visit(&port)
    }

    private func reopen(_ ring: SPSCRing) throws(ShmError) -> SPSCRing {
        backing == .anon ? ring : try SPSCRing.open(backing: backing, name: ring.region.name)
    }

    public struct Port: MessagePort, ~Copyable {
        @usableFromInline var outbound: SPSCRing.Producer
        @usableFromInline var inbound: SPSCRing.Consumer

        @inlinable
        public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
            var done = 0
            var spin = SpinWait()
            while done < count {
                let first = done
                let n: Int
                do { n = try outbound.tryPushBatch(maxCount: count - done) { i, slot in fill(first + i, slot) } } catch { throw .shm(error) }
                if n == 0 { spin.wait() } else { done += n }
            }
        }

        @inlinable
        public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
            var spin = SpinWait()
            while true {
                let n: Int
                do { n = try inbound.tryPopBatch(maxCount: maxCount) { i, bytes in body(i, bytes) } } catch { throw .shm(error) }
                if n > 0 { return n }
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
