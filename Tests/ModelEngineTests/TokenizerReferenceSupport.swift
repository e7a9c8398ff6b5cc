import Foundation
import TensorFormats
import XCTest
@testable import ModelEngine

/// The committed reference data of Tests/Fixtures/tokenizers (made by
/// scripts/make-tokenizer-reference.py) and the real models it was made from.
enum TokenizerReference {
    /// Tests/Fixtures/tokenizers, found from this file's location.
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizers").path
    }()

    struct Strings: Decodable { let strings: [String] }

    struct Ids: Decodable {
        let ids: [[Int32]]
        let roundtripFails: [Int]
    }

    /// Decodes a fixture; a missing or unreadable fixture fails the test (never skips).
    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let path = directory + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            XCTFail("missing fixture \(path); run scripts/make-tokenizer-reference.py")
            throw CocoaError(.fileNoSuchFile)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    /// The test strings.
    static func strings() throws -> [String] { try load("strings.json", as: Strings.self).strings }

    /// A registry model's GGUF: `$<envKey>` if set, else the first `*.gguf` in the model
    /// cache folder whose lowercased name contains every part of `nameParts`; nil if absent.
    static func modelPath(envKey: String, nameParts: [String]) -> String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env[envKey], !p.isEmpty { return FileManager.default.fileExists(atPath: p) ? p : nil }
        let dir = (TokenizerFixtures.modelPath as NSString).deletingLastPathComponent
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let match = files.sorted().first { f in
            let l = f.lowercased()
            return l.hasSuffix(".gguf") && nameParts.allSatisfy { l.contains($0) }
        }
        return match.map { dir + "/" + $0 }
    }

    /// The GGUF tokenizer of a registry model, or an XCTSkip when it has not been fetched.
    static func ggufTokenizer(envKey: String, nameParts: [String], fetchName: String) throws -> Tokenizer {
        guard let path = modelPath(envKey: envKey, nameParts: nameParts) else {
            throw XCTSkip("model not fetched; run `featurescope model fetch \(fetchName)` or set \(envKey)")
        }
        return try Tokenizer(gguf: GGUFFile(path: path))
    }

    /// Checks every reference string's ids and round trips; reports the first mismatches.
    static func check(_ tokenizer: Tokenizer, reference: Ids, strings: [String], label: String,
                      encode: (Tokenizer, String) -> [Int32], encodePlain: (Tokenizer, String) -> [Int32],
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(reference.ids.count, strings.count, "\(label): reference and strings differ in count", file: file, line: line)
        var matches = 0
        var reported = 0
        for (i, s) in strings.enumerated() where i < reference.ids.count {
            let got = encode(tokenizer, s)
            if got == reference.ids[i] {
                matches += 1
            } else if reported < 8 {
                reported += 1
                XCTFail("\(label) #\(i) \(s.debugDescription.prefix(120)): got \(got.prefix(40)), expected \(reference.ids[i].prefix(40))",
                        file: file, line: line)
            }
        }
        XCTAssertEqual(matches, strings.count, "\(label): \(matches)/\(strings.count) strings match the reference", file: file, line: line)
        let fails = Set(reference.roundtripFails)
        var roundTrips = 0, expected = 0
        for (i, s) in strings.enumerated() where !fails.contains(i) {
            expected += 1
            if tokenizer.decode(encodePlain(tokenizer, s)) == s { roundTrips += 1 } else if reported < 12 {
                reported += 1
                XCTFail("\(label) #\(i) \(s.debugDescription.prefix(80)) does not round-trip", file: file, line: line)
            }
        }
        XCTAssertEqual(roundTrips, expected, "\(label): round trips", file: file, line: line)
    }
}
