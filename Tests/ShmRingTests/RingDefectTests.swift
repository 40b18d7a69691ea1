import CShim
import XCTest
@testable import ShmRing

/// Regression tests for the ring defects of issue 7 (7.1, 7.6, 7.13); each
/// fails on the code before its fix.
final class RingDefectTests: XCTestCase {
    struct FillFailed: Error {}

    /// 7.1: a `fill` that throws at the third slot of a batch must leave the
    /// two published slots counted: the next push goes to the third slot, and
    /// the consumer reads 0, 1, then the next message, in order.
    func testBatchWithThrowingFillKeepsPublishedSlots() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        XCTAssertThrowsError(try producer.tryPushBatch(maxCount: 5) { i, slot throws(ShmError) in
            if i == 2 { throw .invalidArgument("fill failed") }
            slot.storeBytes(of: UInt64(100 + i), as: UInt64.self)
        })
        XCTAssertTrue(try producer.tryPush(UInt64(102)))
        XCTAssertTrue(try producer.tryPush(UInt64(103)))
        var seen: [UInt64] = []
        while let v = try consumer.tryPop(as: UInt64.self) { seen.append(v) }
        XCTAssertEqual(seen, [100, 101, 102, 103])
    }

    /// 7.13: a message shorter than the slot reaches the consumer followed by
    /// zero bytes, not by the rest of the previous lap's message.
    func testShortMessageIsZeroPadded() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 1, messageSize: 16)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        let long = [UInt8](repeating: 0xAB, count: 16)
        XCTAssertTrue(try long.withUnsafeBytes { try producer.tryPush(bytes: $0) })
        var out = [UInt8](repeating: 0, count: 16)
        XCTAssertTrue(try out.withUnsafeMutableBytes { try consumer.tryPop(into: $0) })
        let short: [UInt8] = [1, 2, 3]
        XCTAssertTrue(try short.withUnsafeBytes { try producer.tryPush(bytes: $0) })
        XCTAssertTrue(try out.withUnsafeMutableBytes { try consumer.tryPop(into: $0) })
        XCTAssertEqual(out, [1, 2, 3] + [UInt8](repeating: 0, count: 13))
    }

    /// 7.6: infinity means no timeout, huge values never trap, NaN and
    /// negative values are a typed error.
    func testTimeoutsInfinityHugeNaNAndNegative() throws {
        let now = cshim_monotonic_ns()
        XCTAssertEqual(WaitDeadline.end(after: .infinity, now: now), .max)
        XCTAssertEqual(WaitDeadline.end(after: 1e30, now: now), .max)
        XCTAssertEqual(WaitDeadline.end(after: Double.greatestFiniteMagnitude, now: now), .max)
        XCTAssertEqual(WaitDeadline.end(after: nil, now: now), .max)
        XCTAssertEqual(WaitDeadline.end(after: 1, now: now), now + 1_000_000_000)
        XCTAssertFalse(try WaitDeadline(timeoutSeconds: .infinity).hasExpired)
        XCTAssertFalse(WaitDeadline(seconds: 1e300).hasExpired)
        for bad in [Double.nan, -1, -Double.infinity] {
            XCTAssertThrowsError(try WaitDeadline(timeoutSeconds: bad)) { error in
                guard case .invalidArgument? = error as? ShmError else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try SpinWait.until(timeoutSeconds: bad, operation: "test") { () throws(ShmError) in true }) { error in
                guard case .invalidArgument? = error as? ShmError else { return XCTFail("\(error)") }
            }
        }
        // An infinite or huge timeout on an operation that succeeds at once returns.
        try SpinWait.until(timeoutSeconds: .infinity, operation: "test") { () throws(ShmError) in true }
        try SpinWait.until(timeoutSeconds: 1e30, operation: "test") { () throws(ShmError) in true }
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 2, messageSize: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        try producer.push(timeoutSeconds: .infinity) { $0.storeBytes(of: UInt64(9), as: UInt64.self) }
        var got: UInt64 = 0
        _ = try consumer.pop(timeoutSeconds: 1e30) { got = $0.load(as: UInt64.self) }
        XCTAssertEqual(got, 9)
        XCTAssertThrowsError(try consumer.pop(timeoutSeconds: .nan) { _ in })
    }
}
