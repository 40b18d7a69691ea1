import XCTest
@testable import BenchHarness

/// Exact cross-consumer accounting, in one process: the consumers' books are
/// filled by hand, then settled as the parent would.
final class DeliveryLedgerTests: XCTestCase {
    func scenario(producers: Int = 2, consumers: Int = 2, messages: Int? = 100, duration: Double? = nil) -> Scenario {
        Scenario(transport: "mpmc-lockfree", backing: "anon", producers: producers, consumers: consumers, messageSize: 8,
                 messages: messages, durationSeconds: duration, capacity: 64, batch: 1, mode: .throughput)
    }

    func stamp(_ producer: Int, _ sequence: UInt64) -> UInt64 { MessageCodec.stamp(producer: producer, sequence: sequence) }

    func testSplitDeliveryIsExactlyOnce() throws {
        let ledger = try XCTUnwrap(DeliveryLedger.make(for: scenario()))
        let a = ledger.book(consumer: 0), b = ledger.book(consumer: 1)
        for p in 0..<2 {
            for s in 0..<100 as Range<UInt64> { XCTAssertEqual((s % 3 == 0 ? a : b).mark(stamp: stamp(p, s)), .first) }
        }
        let settled = ledger.settle(sentPerProducer: [100, 100])
        XCTAssertEqual(settled.lost, 0)
        XCTAssertEqual(settled.duplicated, 0)
    }

    func testLossesAndDuplicatesAcrossAndWithinConsumers() throws {
        let ledger = try XCTUnwrap(DeliveryLedger.make(for: scenario()))
        let a = ledger.book(consumer: 0), b = ledger.book(consumer: 1)
        for s in 0..<100 as Range<UInt64> where s != 7 && s != 64 { _ = a.mark(stamp: stamp(0, s)) }
        for s in 0..<100 as Range<UInt64> where s != 99 { _ = b.mark(stamp: stamp(1, s)) }
        // Message (0, 5) reaches both consumers; (1, 3) reaches b twice.
        XCTAssertEqual(b.mark(stamp: stamp(0, 5)), .first)
        XCTAssertEqual(b.mark(stamp: stamp(1, 3)), .again)
        // A stamp no producer sends.
        XCTAssertEqual(a.mark(stamp: stamp(0, 100)), .unknown)
        XCTAssertEqual(a.mark(stamp: stamp(2, 0)), .unknown)
        let settled = ledger.settle(sentPerProducer: [100, 100])
        XCTAssertEqual(settled.lost, 3, "(0,7), (0,64), (1,99)")
        XCTAssertEqual(settled.duplicated, 1, "(0,5) across consumers; b's own duplicate it counts itself")
    }

    func testOnlyBoundedMultiConsumerThroughputRunsGetALedger() throws {
        XCTAssertTrue(DeliveryLedger.isExact(for: scenario()))
        XCTAssertFalse(DeliveryLedger.isExact(for: scenario(consumers: 1)))
        XCTAssertFalse(DeliveryLedger.isExact(for: scenario(messages: nil, duration: 1)))
        XCTAssertFalse(DeliveryLedger.isExact(for: scenario(producers: 512, consumers: 512, messages: 1 << 40)))
        XCTAssertNil(try DeliveryLedger.make(for: scenario(messages: nil, duration: 1)))
    }

    func testSummariseUsesTheLedger() throws {
        let s = scenario()
        let ledger = try XCTUnwrap(DeliveryLedger.make(for: s))
        for c in 0..<2 {
            for p in 0..<2 { for q in stride(from: UInt64(c), to: 100, by: 2) { _ = ledger.book(consumer: c).mark(stamp: stamp(p, q)) } }
        }
        // Consumer 1 received (0, 0) too, which consumer 0 also has; (1, 98) nobody received.
        _ = ledger.book(consumer: 1).mark(stamp: stamp(0, 0))
        var reports: [ChildReport] = []
        for p in 0..<2 {
            var r = ChildReport(role: .producer(p), cpu: nil)
            r.integrity.sent = 100
            reports.append(r)
        }
        for c in 0..<2 {
            var r = ChildReport(role: .consumer(c), cpu: nil)
            r.integrity.received = 100
            reports.append(r)
        }
        let result = RepetitionRunner.summarise(scenario: s, reports: reports, ledger: ledger)
        XCTAssertEqual(result.integrity.sent, 200)
        XCTAssertEqual(result.integrity.duplicated, 1)
        XCTAssertEqual(result.integrity.lost, 0, "every number was marked by someone")
        // Without a ledger (a --duration run) totals settle it: 200 received of 200 sent.
        XCTAssertEqual(RepetitionRunner.summarise(scenario: s, reports: reports).integrity.lost, 0)
    }
}
