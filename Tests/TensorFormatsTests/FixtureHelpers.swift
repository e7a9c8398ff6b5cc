import Foundation
import TensorFormats
import TestSupport
import XCTest

/// A per-test scratch folder.
final class ScratchFolder {
    let path: String
    private var counter = 0

    init() throws { path = try FixtureFiles.temporaryFolder("tf") }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `data` to a new file and returns its path.
    func file(_ data: Data, ext: String) throws -> String {
        counter += 1
        let p = "\(path)/f\(counter).\(ext)"
        try FixtureFiles.write(data, to: p)
        return p
    }
}

/// Asserts `body` throws a `FormatError` for which `matches` holds.
func assertFormatError<T>(_ body: @autoclosure () throws -> T, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                          _ matches: (FormatError) -> Bool) {
    do {
        _ = try body()
        XCTFail("\(what): expected an error, got a value", file: file, line: line)
    } catch let e as FormatError {
        XCTAssertTrue(matches(e), "\(what): wrong error: \(e)", file: file, line: line)
        XCTAssertFalse(e.description.isEmpty)
    } catch {
        XCTFail("\(what): not a FormatError: \(error)", file: file, line: line)
    }
}
