import XCTest
@testable import ShmRing
#if canImport(Glibc)
import Glibc
#endif

final class ProcessIdentityTests: XCTestCase {
    func testCurrentProcessIsAliveAndRoundTripsThroughOneWord() throws {
        let me = try XCTUnwrap(ProcessIdentity.current())
        XCTAssertEqual(me.pid, getpid())
        XCTAssertTrue(me.isAlive)
        XCTAssertEqual(ProcessIdentity(packed: me.packed), me)
    }

    func testAReusedPidWithAnotherStartTimeIsNotAlive() throws {
        let me = try XCTUnwrap(ProcessIdentity.current())
        XCTAssertFalse(ProcessIdentity(pid: me.pid, startTime: me.startTime &+ 1).isAlive)
    }

    func testGarbageWordsAreRejectedOrDead() {
        XCTAssertNil(ProcessIdentity(packed: 0))
        XCTAssertNil(ProcessIdentity(packed: 0xFFFF_FFFF))      // pid -1
        XCTAssertNil(ProcessIdentity.of(pid: -5))
        XCTAssertNil(ProcessIdentity.of(pid: Int32.max))        // above pid_max
        XCTAssertFalse(ProcessIdentity(pid: Int32.max, startTime: 1).isAlive)
    }
}
