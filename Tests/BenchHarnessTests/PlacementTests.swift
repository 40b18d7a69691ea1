import XCTest
@testable import BenchHarness

final class PlacementTests: XCTestCase {
    let twoNodes = FakeTopology(nodes: [[0, 1, 2, 3], [4, 5, 6, 7]])

    func testAutoSpreadsAcrossNodesFirst() throws {
        let p = try Placement.resolve(.auto, count: 2, topology: twoNodes)
        XCTAssertEqual(p.cpus, [0, 4])
        XCTAssertEqual(p.cpus.map { twoNodes.node(ofCPU: $0!) }, [0, 1])
        XCTAssertFalse(p.oversubscribed)
    }

    func testAutoUsesDistinctCPUsThenWraps() throws {
        let p = try Placement.resolve(.auto, count: 8, topology: twoNodes)
        XCTAssertEqual(Set(p.cpus.compactMap { $0 }).count, 8)
        let over = try Placement.resolve(.auto, count: 10, topology: twoNodes)
        XCTAssertTrue(over.oversubscribed)
        XCTAssertEqual(over.cpus.count, 10)
    }

    func testSingleNodeMachine() throws {
        let machine = FakeTopology(nodes: [[0, 1]])
        XCTAssertEqual(try Placement.resolve(.auto, count: 2, topology: machine).cpus, [0, 1])
        XCTAssertEqual(try Placement.resolve(.auto, count: 3, topology: machine).oversubscribed, true)
    }

    func testExplicitListAndNone() throws {
        let p = try Placement.resolve(.cpus([5, 1]), count: 3, topology: twoNodes)
        XCTAssertEqual(p.cpus, [5, 1, 5])
        XCTAssertTrue(p.oversubscribed)
        XCTAssertEqual(try Placement.resolve(.none, count: 2, topology: twoNodes).cpus, [nil, nil])
        XCTAssertThrowsError(try Placement.resolve(.cpus([9]), count: 2, topology: twoNodes))
    }

    func testPinParsing() throws {
        XCTAssertEqual(try PinPolicy(parsing: "auto"), .auto)
        XCTAssertEqual(try PinPolicy(parsing: "none"), PinPolicy.none)
        XCTAssertEqual(try PinPolicy(parsing: "0,1"), .cpus([0, 1]))
        for bad in ["", "x", "0,,1", "-1", "1;2"] { XCTAssertThrowsError(try PinPolicy(parsing: bad), bad) }
    }
}
