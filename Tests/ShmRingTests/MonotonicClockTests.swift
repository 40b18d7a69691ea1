import CShim
import XCTest

/// The probes and every loop time themselves with `cshim_monotonic_ns`;
/// they rely on it never going backwards within a process.
final class MonotonicClockTests: XCTestCase {
    func testClockNeverGoesBackwards() {
        var previous = cshim_monotonic_ns()
        for _ in 0..<100_000 {
            let now = cshim_monotonic_ns()
            XCTAssertGreaterThanOrEqual(now, previous)
            previous = now
        }
        XCTAssertGreaterThan(previous, 0)
    }
}
