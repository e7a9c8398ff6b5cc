import XCTest
@testable import BrowserAdapters
final class BrowserAdaptersPlaceholder: XCTestCase {
    func testTargetBuilds() { XCTAssertEqual(String(describing: BrowserAdaptersModule.self), "BrowserAdaptersModule") }
}
