@testable import BenchHarness
import XCTest

/// `--settle`: which host state a run waits for, and what it notes. Only the
/// paths that need no probe run here (the wait itself probes real CPUs, and
/// the host decides when it moves); `RingbenchCLITests` runs the flag.
final class HostSettleTests: XCTestCase {
    func testARunInTheReferenceStateOrAFasterOneDoesNotWait() throws {
        let settle = HostSettle(referenceNs: 50, seconds: 30)
        for first in [50.0, 70, 40, 20] {
            let (line, note, _) = try HostState.settle([0, 1], from: first, settle)
            XCTAssertEqual(line, first)
            XCTAssertNil(note, "\(first) ns is the reference state or faster")
        }
    }

    func testASlowerStateIsWaitedForAndTheNoteSaysHowItEnded() throws {
        // No time to wait: the loop never probes, and the note says so.
        let (line, note, _) = try HostState.settle([0, 1], from: 300, HostSettle(referenceNs: 50, seconds: 0))
        XCTAssertEqual(line, 300)
        let text = try XCTUnwrap(note)
        XCTAssertTrue(text.hasPrefix("settle: waited 0.0 s for the fastest host state seen (cache line 50 ns; 300 ns"), text)
        XCTAssertTrue(text.hasSuffix("it did not come back"), text)
    }

    func testTheReferenceFollowsTheFastestStateTheRunsSaw() {
        var settle = HostSettle(referenceNs: 300, seconds: 5)
        settle.saw(nil)
        XCTAssertEqual(settle.referenceNs, 300)
        settle.saw(HostState(cpus: [0, 1], cacheLineBeforeNs: 310, cacheLineAfterNs: 55))
        XCTAssertEqual(settle.referenceNs, 55)
        settle.saw(HostState(cpus: [0, 1], cacheLineBeforeNs: 60, cacheLineAfterNs: 75))
        XCTAssertEqual(settle.referenceNs, 55, "a run in the reference state keeps it")
        settle.saw(HostState(cpus: [0, 1], cacheLineBeforeNs: 290, cacheLineAfterNs: 305))
        XCTAssertEqual(settle.referenceNs, 290, "a run that never saw the reference state (its settle waited in vain): the state is gone, stop waiting for it")
        settle.saw(HostState(cpus: [0, 1], cacheLineBeforeNs: 300, cacheLineAfterNs: 110))
        XCTAssertEqual(settle.referenceNs, 110, "a faster state seen again is waited for again")
    }

    func testTheBudgetCapsEveryWaitAndRunsStartAtOnceOnceItIsSpent() throws {
        var settle = HostSettle(referenceNs: 50, seconds: 3, budgetSeconds: 5)
        XCTAssertEqual(settle.nextWaitSeconds, 3)
        // Runs report what they waited (HostState.settleWaitSeconds); the budget goes down by it.
        var waited = HostState(cpus: [0, 1], cacheLineBeforeNs: 52, cacheLineAfterNs: 51)
        waited.settleWaitSeconds = 3
        settle.saw(waited)
        XCTAssertEqual(settle.nextWaitSeconds, 2, accuracy: 1e-9, "only what is left of the budget")
        settle.saw(HostState(cpus: [0, 1], cacheLineBeforeNs: 50, cacheLineAfterNs: 50))
        XCTAssertEqual(settle.nextWaitSeconds, 2, accuracy: 1e-9, "a run that did not wait costs nothing")
        waited.settleWaitSeconds = 2.3
        settle.saw(waited)
        XCTAssertTrue(settle.isBudgetSpent)
        XCTAssertEqual(settle.nextWaitSeconds, 0)
        // Spent: a run due in a slower state starts at once (no probe, no sleep) and says why.
        let (line, note, seconds) = try HostState.settle([0, 1], from: 300, settle)
        XCTAssertEqual(line, 300)
        XCTAssertEqual(seconds, 0)
        let text = try XCTUnwrap(note)
        XCTAssertTrue(text.hasPrefix("settle: the command's --settle-budget of 5.0 s is spent; started at once in 300 ns"), text)
        // In the reference state there is nothing to say, budget or not.
        XCTAssertNil(try HostState.settle([0, 1], from: 50, settle).note)
    }

    func testWithoutABudgetEveryRunMayWaitTheFullTime() {
        var settle = HostSettle(referenceNs: 50, seconds: 3)
        var waited = HostState(cpus: [0, 1], cacheLineBeforeNs: 300, cacheLineAfterNs: 300)
        waited.settleWaitSeconds = 3
        for _ in 0..<100 { settle.saw(waited); settle.referenceNs = 50 }
        XCTAssertEqual(settle.nextWaitSeconds, 3)
        XCTAssertFalse(settle.isBudgetSpent)
    }
}
