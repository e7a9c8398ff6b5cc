import Foundation
import XCTest
@testable import LatentCache

/// Numbers and strings formatted as delphi's two JSON writers do: orjson (compact: score and explanation files)
/// and Python's json.dump (indented: config.json, run_config.json). Golden outputs in
/// Tests/Fixtures/delphi/json_formats.json come from orjson and json themselves (make-fixtures.py).
final class PythonJSONTests: XCTestCase {
    struct Formats: Decodable {
        struct Float: Decodable { var repr: String; var orjson: String; var json: String }
        struct Text: Decodable { var value: String; var orjson: String; var json: String }
        var floats: [Float]
        var strings: [Text]
    }

    func testFloatsAndStringsAsOrjsonAndJsonWriteThem() throws {
        let path = DelphiRoundTripTests.fixtures + "/json_formats.json"
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "missing golden file \(path)")
        let formats = try JSONDecoder().decode(Formats.self, from: data)
        XCTAssertGreaterThan(formats.floats.count, 20)
        for f in formats.floats {
            let v = try XCTUnwrap(Double(f.repr), f.repr)
            XCTAssertEqual(PythonJSON.double(v).compact, f.orjson, "orjson of \(f.repr)")
            XCTAssertEqual(PythonJSON.double(v).indented(4), f.json, "json of \(f.repr)")
        }
        for s in formats.strings {
            XCTAssertEqual(PythonJSON.string(s.value).compact, s.orjson, s.value)
            XCTAssertEqual(PythonJSON.string(s.value).indented(4), s.json, s.value)
        }
        XCTAssertEqual(PythonJSON.double(.nan).compact, "null")
        XCTAssertEqual(PythonJSON.object([("a", .array([.int(1), .null]))]).indented(4), "{\n    \"a\": [\n        1,\n        null\n    ]\n}")
    }
}
