import Foundation
import XCTest
@testable import Corpus

/// A temporary folder removed when the test ends.
final class TempFolder {
    let path: String
    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("corpus-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }
    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }
}

/// A toy word-level encoder: every whitespace-separated word gets a stable id in
/// 1..<vocab (0 is reserved for EOS), decodable through `words`.
final class ToyEncoder: @unchecked Sendable {
    static let eos: Int32 = 0
    let vocab = 1000
    private var ids: [String: Int32] = [:]
    private(set) var words: [Int32: String] = [:]
    private let lock = NSLock()

    func encode(_ text: String) -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        return text.split(whereSeparator: { $0.isWhitespace }).map { word in
            let w = String(word)
            if let id = ids[w] { return id }
            let id = Int32(ids.count + 1)
            ids[w] = id
            words[id] = w
            return id
        }
    }

    func decode(_ tokens: some Sequence<Int32>) -> [String] {
        lock.lock(); defer { lock.unlock() }
        return tokens.map { $0 == ToyEncoder.eos ? "<eos>" : (words[$0] ?? "?") }
    }
}

func assertThrowsCorpusError(_ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line,
                             _ check: (CorpusError) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
    } catch let error as CorpusError {
        XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}
