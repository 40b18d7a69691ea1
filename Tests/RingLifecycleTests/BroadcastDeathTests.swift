import CShim
import Foundation
import TestSupport
import XCTest
import ShmRing

/// Issue 16: a broadcast consumer that dies stops gating a `.block`
/// producer within 100 ms (its slot's witness lock is gone), and its slot
/// can be claimed again. The consumer is a `ring-peer` process (XCTest never forks).
final class BroadcastDeathTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }

    override func tearDownWithError() throws { scratch = nil }

    func testADeadConsumerStopsGatingTheProducerWithin100ms() throws {
        for (name, wait) in [("bcast-death", WaitStrategy.park), ("sysv-bcast-death", .spin)] {
            let backing: RegionBacking = name.hasPrefix("sysv-") ? .sysv : .mmap
            let options = RegionOptions(directory: scratch.path, openTimeoutSeconds: 5)
            let ring = try BroadcastRing.create(backing: backing, name: name, capacity: 4096, maximumRecordLength: 64, options: options)
            var producer = try ring.producer(wait: wait)
            let output = Pipe()
            let peer = Process()
            peer.executableURL = RingLifecycleTests.helper
            peer.arguments = ["join", "broadcast", name, scratch.path, "-", "park"]
            peer.standardOutput = output
            try peer.run()
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            XCTAssertEqual(line, "joined\n")
            XCTAssertEqual(try ring.consumers().count, 1)
            // Fill the ring: the peer reads nothing, so the producer is held.
            while try producer.tryReserve(48, { _ in }) {}
            XCTAssertThrowsError(try producer.reserve(48, timeoutSeconds: 0.05) { _ in }) { error in
                guard case ShmError.timedOut = error else { return XCTFail("\(error)") }
            }
            kill(peer.processIdentifier, SIGKILL)
            peer.waitUntilExit()
            let killed = cshim_monotonic_ns()
            try producer.reserve(48, timeoutSeconds: 2) { _ in }
            let released = Double(cshim_monotonic_ns() - killed) / 1e6
            XCTAssertLessThan(released, 100, "a dead consumer gated the producer for \(released) ms (\(name), \(wait))")
            XCTAssertEqual(try ring.consumers().count, 0)
            // The slot is free for a new consumer.
            producer.commit()
            var consumer = try ring.consumer(from: .latest, wait: .spin)
            try producer.reserve(8, timeoutSeconds: 1) { $0.storeBytes(of: 42, as: UInt64.self) }
            producer.commit()
            guard case .record(let value)? = try consumer.tryPeek({ $0.load(as: UInt64.self) }) else { return XCTFail("no record") }
            XCTAssertEqual(value, 42)
        }
    }
}
