import Foundation
import TestSupport
import XCTest

/// `ringbench run --transport broadcast`: one producer and two consumer
/// processes, each consumer checking every record of the whole stream.
/// Under block nothing may be lost; under overwrite losses are allowed but
/// counted exactly (the run fails if the ring's overrun counts and the
/// sequence numbers disagree), and nothing is ever duplicated, reordered or
/// corrupt. Nothing is left in ipcs or /dev/shm.
final class BroadcastTransportTests: XCTestCase {
    func testEveryConsumerChecksEveryRecordUnderBothPolicies() throws {
        let cases: [(policy: String, backing: String, wait: String?, sizes: String)] = [
            ("block", "sysv", "park", "uniform"),
            ("block", "anon", nil, "fixed"),
            ("overwrite", "mmap", "park", "fixed"),
            ("overwrite", "sysv", "yield", "uniform"),
            // Evict with a generous timeout: runs as block, nobody dropped.
            ("evict", "mmap", "park", "fixed"),
        ]
        let messages = 20_000, consumers = 2
        for c in cases {
            let before = IPCSnapshot.take()
            var arguments = ["run", "--transport", "broadcast", "--consumers", "\(consumers)", "--policy", c.policy,
                             "--backing", c.backing, "--record-sizes", c.sizes, "--message-size", "256",
                             "--messages", "\(messages)", "--capacity", "16", "--batch", "4",
                             "--repeat", "1", "--warmup", "0", "--no-probes", "--format", "json"]
            if let wait = c.wait { arguments += ["--wait", wait] }
            if c.policy == "evict" { arguments += ["--evict-after", "30"] }
            let r = try Ringbench.run(arguments)
            XCTAssertEqual(r.status, 0, "\(c): \(r.stderr)")
            let counts = try XCTUnwrap(r.integrity, "\(c): \(r.stderr)")
            // Every consumer is owed every message.
            XCTAssertEqual(counts["sent"], messages * consumers, "\(c)")
            XCTAssertEqual((counts["received"] ?? 0) + (counts["lost"] ?? -1), messages * consumers, "\(c)")
            if c.policy != "overwrite" { XCTAssertEqual(counts["lost"], 0, "\(c)") }
            for field in ["duplicated", "reordered", "corrupt"] {
                XCTAssertEqual(counts[field], 0, "\(c): \(field)")
            }
            let scenario = ((r.json?["runs"] as? [[String: Any]])?.first?["scenario"]) as? [String: Any]
            XCTAssertEqual(scenario?["policy"] as? String, c.policy)
            XCTAssertEqual(before.leftovers(), [], "\(c) left IPC objects behind")
        }
    }

    /// `--stalled-consumers 1`: consumer 0 reads nothing until the producer
    /// has finished. Under overwrite the producer goes on regardless, the
    /// stalled consumer is lapped and reports exactly what it lost (the run
    /// fails if its overrun counts and its sequence gaps disagree), the
    /// other consumer loses nothing it could keep up with, and the
    /// producer's own rate is recorded beside the delivered rate.
    func testAStalledConsumerIsLappedAndCountsItsLossesUnderOverwrite() throws {
        let before = IPCSnapshot.take()
        let messages = 50_000
        let r = try Ringbench.run(["run", "--transport", "broadcast", "--consumers", "2", "--policy", "overwrite",
                                   "--stalled-consumers", "1", "--wait", "park", "--message-size", "64",
                                   "--messages", "\(messages)", "--capacity", "16", "--repeat", "1", "--warmup", "0",
                                   "--no-probes", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let counts = try XCTUnwrap(r.integrity, r.stderr)
        XCTAssertEqual(counts["sent"], 2 * messages)
        XCTAssertGreaterThan(counts["lost"] ?? 0, 0, "the stalled consumer was never lapped")
        XCTAssertEqual((counts["received"] ?? 0) + (counts["lost"] ?? -1), 2 * messages)
        for field in ["duplicated", "reordered", "corrupt"] { XCTAssertEqual(counts[field], 0, field) }
        let run = try XCTUnwrap((r.json?["runs"] as? [[String: Any]])?.first)
        XCTAssertEqual((run["scenario"] as? [String: Any])?["stalledConsumers"] as? Int, 1)
        let repetition = try XCTUnwrap((run["repetitions"] as? [[String: Any]])?.first)
        XCTAssertGreaterThan(repetition["producerMessagesPerSecond"] as? Double ?? 0, 0)
        XCTAssertNotNil((run["summary"] as? [String: Any])?["producerMessagesPerSecond"])
        XCTAssertEqual(before.leftovers(), [], "left IPC objects behind")
    }

    /// `records-fanout` (what a broadcast ring replaces: one record ring
    /// per consumer, the producer copying each message into every one):
    /// every consumer checks the whole stream, nothing lost, with fixed and
    /// varying lengths, spinning and parked, and batches of several.
    func testRecordsFanoutDeliversEveryRecordToEveryConsumer() throws {
        let messages = 20_000, consumers = 3
        for (backing, wait, sizes, batch) in [("sysv", "park", "uniform", "4"), ("mmap", nil, "fixed", "1"), ("anon", "yield", "fixed", "8")] {
            let before = IPCSnapshot.take()
            var arguments = ["run", "--transport", "records-fanout", "--consumers", "\(consumers)", "--backing", backing,
                             "--record-sizes", sizes, "--message-size", "256", "--messages", "\(messages)",
                             "--capacity", "16", "--batch", batch, "--repeat", "1", "--warmup", "0", "--no-probes", "--format", "json"]
            if let wait { arguments += ["--wait", wait] }
            let r = try Ringbench.run(arguments)
            XCTAssertEqual(r.status, 0, "\(backing): \(r.stderr)")
            let counts = try XCTUnwrap(r.integrity, "\(backing): \(r.stderr)")
            XCTAssertEqual(counts["sent"], messages * consumers, backing)
            XCTAssertEqual(counts["received"], messages * consumers, backing)
            for field in ["lost", "duplicated", "reordered", "corrupt"] { XCTAssertEqual(counts[field], 0, "\(backing): \(field)") }
            let run = try XCTUnwrap((r.json?["runs"] as? [[String: Any]])?.first)
            XCTAssertNotNil((run["summary"] as? [String: Any])?["producerMessagesPerSecond"], backing)
            XCTAssertEqual(before.leftovers(), [], "\(backing) left IPC objects behind")
        }
    }

    func testBroadcastOptionsAreCheckedBeforeRunning() throws {
        for (arguments, expected) in [
            (["--transport", "broadcast", "--policy", "drop"], "drop"),
            (["--transport", "records", "--policy", "overwrite"], "broadcast"),
            (["--transport", "broadcast", "--producers", "2", "--consumers", "2"], "one producer"),
            (["--transport", "broadcast", "--mode", "roundtrip"], "throughput"),
            (["--transport", "broadcast", "--policy", "evict"], "--evict-after"),
            (["--transport", "broadcast", "--evict-after", "1"], "--policy evict"),
            (["--transport", "broadcast", "--consumers", "2", "--stalled-consumers", "1"], "--policy overwrite"),
            (["--transport", "broadcast", "--consumers", "2", "--policy", "overwrite", "--stalled-consumers", "2"], "leave one consumer"),
            (["--transport", "records-fanout", "--consumers", "2", "--policy", "overwrite"], "broadcast transport"),
            (["--transport", "records-fanout", "--producers", "2", "--consumers", "2"], "one producer"),
            (["--transport", "records-fanout", "--mode", "roundtrip"], "throughput"),
        ] {
            let r = try Ringbench.run(["run"] + arguments + ["--messages", "1k", "--no-probes"])
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }
}
