import Foundation
import XCTest
@testable import Corpus

final class TokenFileTests: XCTestCase {
    private func writeSample(_ dir: TempFolder, name: String = "s.tokens", context: Int = 4,
                             docs: [[Int32]] = [[1, 2, 3], [4, 5, 6, 7, 8]]) throws -> String {
        let path = dir.file(name)
        let writer = try TokenFileWriter(path: path, contextLength: context, vocabSize: 10, eosTokenId: 0, rowsPerFlush: 1)
        for (i, doc) in docs.enumerated() { try writer.append(doc, source: "src", title: "doc\(i)") }
        try writer.finish(provenance: TokenFileProvenance(tokenizer: "toy", command: "test", split: "train", inputs: ["x"]))
        return path
    }

    func testRowsCutAcrossDocumentsWithEOSAndPartialRowDropped() throws {
        let dir = try TempFolder()
        // stream: 1 2 3 EOS 4 5 6 7 8 EOS  -> rows [1 2 3 0] [4 5 6 7], dropped [8 0]
        let file = try TokenFile(path: try writeSample(dir), validateTokens: true)
        XCTAssertEqual(file.rowCount, 2)
        XCTAssertEqual(file.contextLength, 4)
        XCTAssertEqual(file.tokenCount, 8)
        XCTAssertEqual(file.eosTokenId, 0)
        XCTAssertEqual(file.vocabSize, 10)
        XCTAssertEqual(try file.rowArray(0), [1, 2, 3, 0])
        XCTAssertEqual(try file.rowArray(1), [4, 5, 6, 7])
        XCTAssertEqual(Array(file.tokens), [1, 2, 3, 0, 4, 5, 6, 7])
        XCTAssertEqual(file.provenance.droppedTokens, 2)
        XCTAssertEqual(file.provenance.documents.map(\.firstToken), [0, 4])
        XCTAssertEqual(file.provenance.documents.map(\.tokenCount), [4, 4])  // second one cut by the dropped row
        XCTAssertEqual(file.provenance.documents.map(\.title), ["doc0", "doc1"])
        XCTAssertEqual(file.provenance.sources, ["src"])
        XCTAssertEqual(file.provenance.tokenizer, "toy")

        var buffer = [Int32](repeating: -1, count: 6)
        try buffer.withUnsafeMutableBufferPointer { try file.copyRow(1, into: $0) }
        XCTAssertEqual(buffer, [4, 5, 6, 7, -1, -1])
        assertThrowsCorpusError(try file.row(2)) { if case .rowOutOfRange(2, 2) = $0 { return true }; return false }
        assertThrowsCorpusError(try file.row(-1)) { if case .rowOutOfRange = $0 { return true }; return false }
        // only the final file remains: the temporary one was renamed
        XCTAssertEqual(try dir.contents(), ["s.tokens"])
    }

    func testLongDocumentSpansRowsAndDocumentsInDroppedTailAreLeftOut() throws {
        let dir = try TempFolder()
        let long: [Int32] = (1...9).map { Int32($0) }
        // stream: 1..9 EOS | 2 EOS  -> ctx 3: rows [1 2 3][4 5 6][7 8 9][0 2 0]; nothing dropped
        let path = try writeSample(dir, context: 3, docs: [long, [2]])
        let file = try TokenFile(path: path)
        XCTAssertEqual(file.rowCount, 4)
        XCTAssertEqual(try file.rowArray(3), [0, 2, 0])
        XCTAssertEqual(file.provenance.droppedTokens, 0)
        XCTAssertEqual(file.provenance.documents.map(\.firstToken), [0, 10])

        // ctx 4: 1 2 3 4 | 5 6 7 8 | 9 0 2 0 -> 3 rows; then a third doc [5] is entirely in the dropped tail
        let path2 = try writeSample(dir, name: "t.tokens", context: 4, docs: [long, [2], [5]])
        let file2 = try TokenFile(path: path2)
        XCTAssertEqual(file2.rowCount, 3)
        XCTAssertEqual(file2.provenance.documents.count, 2)
        XCTAssertEqual(file2.provenance.droppedTokens, 2)
    }

    func testEmptyFileHasNoRows() throws {
        let dir = try TempFolder()
        let path = try writeSample(dir, context: 8, docs: [[1, 2]])
        let file = try TokenFile(path: path)
        XCTAssertEqual(file.rowCount, 0)
        XCTAssertEqual(file.tokens.count, 0)
        XCTAssertEqual(file.provenance.documents.count, 0)
        XCTAssertEqual(file.provenance.droppedTokens, 3)
    }

    func testWriterRejectsOutOfRangeTokensAndCancelLeavesNothing() throws {
        let dir = try TempFolder()
        let writer = try TokenFileWriter(path: dir.file("x.tokens"), contextLength: 2, vocabSize: 10, eosTokenId: 0)
        assertThrowsCorpusError(try writer.append([1, 10], source: "s", title: "t")) {
            if case .tokenOutOfRange(_, 1, 10, 10) = $0 { return true }; return false
        }
        assertThrowsCorpusError(try writer.append([-1], source: "s", title: "t")) {
            if case .tokenOutOfRange = $0 { return true }; return false
        }
        writer.cancel()
        XCTAssertEqual(try dir.contents(), [])
        assertThrowsCorpusError(try TokenFileWriter(path: dir.file("y.tokens"), contextLength: 0, vocabSize: 10, eosTokenId: 0)) {
            if case .invalidOption = $0 { return true }; return false
        }
        assertThrowsCorpusError(try TokenFileWriter(path: dir.file("y.tokens"), contextLength: 4, vocabSize: 10, eosTokenId: 10)) {
            if case .invalidOption = $0 { return true }; return false
        }
    }

    // MARK: - corrupt files

    private func corrupt(_ dir: TempFolder, _ edit: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try writeSample(dir))))
        edit(&bytes)
        let path = dir.file("corrupt.tokens")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testWrongMagic() throws {
        let dir = try TempFolder()
        let path = try corrupt(dir) { $0[0] = UInt8(ascii: "X") }
        assertThrowsCorpusError(try TokenFile(path: path)) { error in
            guard case let .badMagic(p, found) = error else { return false }
            return p == path && found.contains("XSTOKENS") && error.description.contains("FSTOKENS")
        }
    }

    func testBadVersion() throws {
        let dir = try TempFolder()
        let path = try corrupt(dir) { $0[8] = 7 }
        assertThrowsCorpusError(try TokenFile(path: path)) {
            if case .unsupportedVersion(_, 7, 1) = $0 { return true }; return false
        }
    }

    func testTruncatedNamesExpectedAndActualBytes() throws {
        let dir = try TempFolder()
        var fullSize = 0
        let path = try corrupt(dir) { fullSize = $0.count; $0.removeLast(30) }
        assertThrowsCorpusError(try TokenFile(path: path)) { error in
            guard case let .truncated(_, expected, actual) = error else { return false }
            return expected == UInt64(fullSize) && actual == UInt64(fullSize - 30)
                && error.description.contains("\(fullSize) bytes") && error.description.contains("\(fullSize - 30) bytes")
        }
        let tiny = try corrupt(dir) { $0.removeLast($0.count - 10) }
        assertThrowsCorpusError(try TokenFile(path: tiny)) {
            if case .truncated(_, 64, 10) = $0 { return true }; return false
        }
    }

    func testTrailingBytesHeaderFieldsAndProvenanceAreChecked() throws {
        let dir = try TempFolder()
        let longer = try corrupt(dir) { $0.append(contentsOf: [1, 2, 3]) }
        assertThrowsCorpusError(try TokenFile(path: longer)) { if case .trailingBytes = $0 { return true }; return false }
        let zeroContext = try corrupt(dir) { $0[16] = 0 }
        assertThrowsCorpusError(try TokenFile(path: zeroContext)) { if case .invalidHeader = $0 { return true }; return false }
        let badEOS = try corrupt(dir) { $0[24] = 200 }
        assertThrowsCorpusError(try TokenFile(path: badEOS)) { if case .invalidHeader = $0 { return true }; return false }
        let hugeRows = try corrupt(dir) { for i in 32..<40 { $0[i] = 0xFF } }
        assertThrowsCorpusError(try TokenFile(path: hugeRows)) { if case .invalidHeader = $0 { return true }; return false }
        let badJSON = try corrupt(dir) { $0[$0.count - 1] = UInt8(ascii: "#") }
        assertThrowsCorpusError(try TokenFile(path: badJSON)) { if case .badProvenance = $0 { return true }; return false }
        let badToken = try corrupt(dir) { $0[64] = 99 }  // first token becomes 99 >= vocab 10
        XCTAssertNoThrow(try TokenFile(path: badToken))
        assertThrowsCorpusError(try TokenFile(path: badToken, validateTokens: true)) {
            if case .tokenOutOfRange(_, 0, 99, 10) = $0 { return true }; return false
        }
        assertThrowsCorpusError(try TokenFile(path: dir.file("missing.tokens"))) {
            if case .cannotRead = $0 { return true }; return false
        }
    }

    func testHeaderEncodingIsLittleEndianAtDocumentedOffsets() {
        let h = TokenFileHeader(contextLength: 256, vocabSize: 49152, eosTokenId: 2, rowCount: 0x0102, provenanceLength: 77)
        let b = h.encoded()
        XCTAssertEqual(b.count, 64)
        XCTAssertEqual(Array(b[0..<8]), Array("FSTOKENS".utf8))
        XCTAssertEqual(Array(b[8..<12]), [1, 0, 0, 0])
        XCTAssertEqual(Array(b[12..<16]), [64, 0, 0, 0])
        XCTAssertEqual(Array(b[16..<20]), [0, 1, 0, 0])
        XCTAssertEqual(Array(b[20..<24]), [0, 0xC0, 0, 0])
        XCTAssertEqual(Array(b[24..<28]), [2, 0, 0, 0])
        XCTAssertEqual(Array(b[32..<40]), [2, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(b[40..<48]), [77, 0, 0, 0, 0, 0, 0, 0])
    }
}
