import XCTest

final class ProbeCommandTests: XCTestCase {
    func testPlaceholderBuilds() { XCTAssertTrue(true) }
}
