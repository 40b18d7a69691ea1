import Foundation
import TestSupport
import XCTest

/// The example under Examples/Pipeline (its own package, depending on
/// ShmRing only): built with `make examples` (which `make test` runs first)
/// or here if missing, then producer and aggregator run against each other
/// in both start orders.
final class ExamplePipelineTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let products = root.appendingPathComponent(".build-examples/debug")

    func executables() throws -> (producer: URL, aggregator: URL) {
        let producer = Self.products.appendingPathComponent("tick-producer")
        let aggregator = Self.products.appendingPathComponent("tick-aggregator")
        if !FileManager.default.isExecutableFile(atPath: producer.path) || !FileManager.default.isExecutableFile(atPath: aggregator.path) {
            let build = try Ringbench.run(["swift", "build", "--package-path", Self.root.appendingPathComponent("Examples/Pipeline").path,
                                           "--scratch-path", Self.root.appendingPathComponent(".build-examples").path],
                                          executable: URL(fileURLWithPath: "/usr/bin/env"))
            XCTAssertEqual(build.status, 0, build.stderr)
        }
        return (producer, aggregator)
    }

    func testProducerAndAggregatorAgreeInBothStartOrders() throws {
        let (producer, aggregator) = try executables()
        let name = "ringbench-test-ticks-\(getpid())"
        for producerFirst in [true, false] {
            let before = IPCSnapshot.take()
            let startProducer = { try Ringbench.start([name, "50000"], executable: producer) }
            let startAggregator = { try Ringbench.start([name], executable: aggregator) }
            let first = try producerFirst ? startProducer() : startAggregator()
            usleep(300_000)
            let second = try producerFirst ? startAggregator() : startProducer()
            let summary = (producerFirst ? second : first).wait()
            let sent = (producerFirst ? first : second).wait()
            XCTAssertEqual(sent.status, 0, sent.stderr)
            XCTAssertEqual(summary.status, 0, summary.stderr)
            let volume = sent.stdout.split(separator: " ").last.map { String($0.dropLast()) } ?? "?"
            XCTAssertTrue(summary.stdout.hasPrefix("received 50000 ticks, volume \(volume), malformed 0"), summary.stdout)
            let perSymbol = summary.stdout.split(separator: "\n").dropFirst()
            XCTAssertEqual(perSymbol.count, 8, summary.stdout)
            XCTAssertEqual(perSymbol.compactMap { Int($0.split(separator: " ")[2]) }.reduce(0, +), 50000)
            XCTAssertEqual(IPCSnapshot.take(), before, "producer first: \(producerFirst)")
        }
    }
}
