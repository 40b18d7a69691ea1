@testable import BenchHarness
import XCTest

final class SuitePlanTests: XCTestCase {
    func testPlaceholderBuilds() { XCTAssertFalse(TransportCatalog.all.isEmpty) }
}
