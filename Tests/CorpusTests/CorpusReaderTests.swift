import Foundation
import XCTest
@testable import Corpus

final class CorpusReaderTests: XCTestCase {
    private func documents(_ path: String, field: String = "text") throws -> [CorpusDocument] {
        var out: [CorpusDocument] = []
        for file in try CorpusReader.inputFiles([path]) {
            try CorpusReader.forEachDocument(in: file, textField: field) { doc, _ in out.append(doc); return true }
        }
        return out
    }

    func testJSONLFieldsDefaultsAndBlankLines() throws {
        let dir = try TempFolder()
        let path = try dir.write("x.jsonl", "{\"body\": \"hello\", \"source\": \"s\"}\r\n\n  \n{\"body\": \"world\", \"title\": \"W\"}\n")
        let docs = try documents(path, field: "body")
        XCTAssertEqual(docs, [CorpusDocument(text: "hello", source: "s", title: "x.jsonl:1"),
                              CorpusDocument(text: "world", source: "x.jsonl", title: "W")])
    }

    func testBadJSONLineNamesFileAndLine() throws {
        let dir = try TempFolder()
        let path = try dir.write("bad.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"broken\"\n")
        assertThrowsCorpusError(try self.documents(path)) { error in
            guard case let .badJSONLine(p, line, _) = error else { return false }
            return p == path && line == 3 && error.description.hasPrefix("\(path):3:")
        }
        let notObject = try dir.write("array.jsonl", "[1, 2]\n")
        assertThrowsCorpusError(try self.documents(notObject)) {
            if case .badJSONLine(_, 1, _) = $0 { return true }; return false
        }
    }

    func testMissingOrNonStringTextField() throws {
        let dir = try TempFolder()
        let path = try dir.write("m.jsonl", "{\"text\": \"fine\"}\n{\"content\": \"x\"}\n")
        assertThrowsCorpusError(try self.documents(path)) { error in
            guard case let .missingTextField(_, line, field) = error else { return false }
            return line == 2 && field == "text" && error.description.contains("--text-field")
        }
        let numeric = try dir.write("n.jsonl", "{\"text\": 42}\n")
        assertThrowsCorpusError(try self.documents(numeric)) {
            if case .missingTextField(_, 1, "text") = $0 { return true }; return false
        }
    }

    func testFolderIsRecursiveSortedAndSkipsOtherFiles() throws {
        let dir = try TempFolder()
        _ = try dir.write("f/z.txt", "last")
        _ = try dir.write("f/m/inner.txt", "middle")
        _ = try dir.write("f/a.txt", "first")
        _ = try dir.write("f/skip.csv", "no")
        let files = try CorpusReader.inputFiles([dir.file("f")])
        XCTAssertEqual(files.map(\.displayName), ["a.txt", "m/inner.txt", "z.txt"])
        XCTAssertEqual(try documents(dir.file("f")).map(\.text), ["first", "middle", "last"])
        XCTAssertEqual(files.map(\.byteCount), [5, 6, 4])
    }

    func testMissingAndUnsupportedInputs() throws {
        let dir = try TempFolder()
        assertThrowsCorpusError(try CorpusReader.inputFiles([dir.file("nope.txt")])) {
            if case .cannotRead = $0 { return true }; return false
        }
        let csv = try dir.write("a.csv", "x")
        assertThrowsCorpusError(try CorpusReader.inputFiles([csv])) {
            if case .unsupportedInput = $0 { return true }; return false
        }
    }
}
