import Foundation
import TestSupport
import XCTest

/// The MPMC transports across real processes: the tests launch the built
/// `ringbench` (which forks); they never fork themselves.
final class MPMCAcrossProcessesTests: XCTestCase {
    var ipcBefore = IPCSnapshot(entries: [])
    override func setUp() { ipcBefore = IPCSnapshot.take() }
    override func tearDown() { XCTAssertEqual(ipcBefore.leftovers(), [], "IPC objects left behind") }

    /// Exactly once overall, in order per producer, with two producers and
    /// two consumers: integrity all zero and received == sent.
    func testTwoProducersTwoConsumersExactlyOnceInOrder() throws {
        for transport in ["mpmc-sem", "mpmc-lockfree"] {
            for backing in ["sysv", "mmap"] {
                for batch in ["1", "7"] {
                    let run = try Ringbench.run(["run", "--transport", transport, "--backing", backing,
                                                     "--producers", "2", "--consumers", "2", "--batch", batch,
                                                     "--capacity", "64", "--message-size", "24", "--messages", "20k",
                                                     "--repeat", "1", "--warmup", "0", "--format", "json"])
                    let label = "\(transport) \(backing) batch \(batch)"
                    XCTAssertEqual(run.status, 0, "\(label): \(run.stderr)")
                    let integrity = try XCTUnwrap(run.integrity, label)
                    XCTAssertEqual(integrity["sent"], 40_000, label)
                    XCTAssertEqual(integrity["received"], 40_000, label)
                    for field in ["lost", "duplicated", "reordered", "corrupt"] {
                        XCTAssertEqual(integrity[field], 0, "\(label): \(field)")
                    }
                }
            }
        }
    }

    func testAnonBackingAndRoundtrip() throws {
        for transport in ["mpmc-sem", "mpmc-lockfree"] {
            let throughput = try Ringbench.run(["run", "--transport", transport, "--backing", "anon",
                                                    "--producers", "3", "--consumers", "2", "--batch", "4",
                                                    "--messages", "10k", "--repeat", "1", "--warmup", "0", "--format", "json"])
            XCTAssertEqual(throughput.status, 0, throughput.stderr)
            XCTAssertEqual(throughput.integrity?["received"], 30_000, transport)
            XCTAssertTrue(throughput.stdout.contains("oversubscribed"), "5 processes on this machine's CPUs are noted")
            let roundtrip = try Ringbench.run(["run", "--transport", transport, "--mode", "roundtrip",
                                                   "--messages", "2k", "--repeat", "1", "--warmup", "0", "--format", "json"])
            XCTAssertEqual(roundtrip.status, 0, roundtrip.stderr)
            XCTAssertEqual(roundtrip.integrity?["received"], 2_000, transport)
            XCTAssertEqual(roundtrip.integrity?["lost"], 0, transport)
        }
    }

    func testCapacityBeyondSemaphoreLimitIsRejectedInOneLine() throws {
        let run = try Ringbench.run(["run", "--transport", "mpmc-sem", "--capacity", "32768", "--messages", "10"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("mpmc-sem holds at most 16384 slots"), run.stderr)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1)
    }

    /// kill -9 of one consumer mid-run: the parent names the killed child,
    /// exits non-zero, and removes the queue, its semaphore set and its files.
    func testKilledConsumerFailsTheRunCleanly() throws {
        for backing in ["sysv", "mmap"] {
            let process = try Ringbench.start(["run", "--transport", "mpmc-sem", "--backing", backing,
                                                   "--producers", "2", "--consumers", "3", "--duration", "30",
                                                   "--repeat", "1", "--warmup", "0", "--format", "json"])
            // Children are forked producers first, so the newest is the last consumer.
            var children: [Int32] = []
            for _ in 0..<200 where children.count < 5 {
                usleep(50_000)
                children = Ringbench.children(of: process.process.processIdentifier)
            }
            XCTAssertEqual(children.count, 5, "\(backing): all children forked")
            usleep(300_000)
            let victim = try XCTUnwrap(children.max())
            XCTAssertEqual(kill(victim, SIGKILL), 0)
            let result = process.wait()
            XCTAssertNotEqual(result.status, 0, backing)
            XCTAssertTrue(result.stderr.contains("consumer 2 failed: killed by signal 9"), "\(backing): \(result.stderr)")
        }
    }
}
