import Foundation
import XCTest
import TensorFormats
@testable import ModelEngine

/// Locates the SmolLM2 GGUF, reads the reference data (Tests/Fixtures/smollm2), and loads the tokenizer once.
enum TokenizerFixtures {
    static let modelFileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static var modelPath: String {
        let env = ProcessInfo.processInfo.environment
        let dir: String
        if let d = env["FEATURESCOPE_CACHE_DIR"], !d.isEmpty {
            dir = d
        } else if let x = env["XDG_CACHE_HOME"], !x.isEmpty {
            dir = x + "/featurescope"
        } else {
            dir = NSHomeDirectory() + "/.cache/featurescope"
        }
        return dir + "/" + modelFileName
    }

    private static let loaded: Result<Tokenizer, any Error>? = {
        guard FileManager.default.fileExists(atPath: modelPath) else { return nil }
        return Result { try Tokenizer(gguf: GGUFFile(path: modelPath)) }
    }()

    /// The SmolLM2 tokenizer, or an XCTSkip when the model has not been fetched.
    static func tokenizer() throws -> Tokenizer {
        guard let loaded else { throw XCTSkip("model not fetched (\(modelPath)); run `featurescope model fetch`") }
        return try loaded.get()
    }

    /// A decoded file of Tests/Fixtures/smollm2; a missing fixture fails the test (never skips).
    /// (JSONDecoder, not JSONSerialization: the latter drops a leading U+FEFF inside strings.)
    static func refdata<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let data = try EngineFixtures.refdataFile(name)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }
}

/// `tokenization.json`: strings with llama.cpp's ids.
struct TokenizationReference: Decodable {
    struct Entry: Decodable {
        let text: String
        let llamacppIds: [Int32]
        let llamacppIdsSpecialFalse: [Int32]?
    }
    let entries: [Entry]
    let fuzzEntries: [Entry]
}

/// The token fields of a per-prompt reference file.
struct PromptReference: Decodable {
    struct Tokens: Decodable {
        let llamacppIdsAddBosTrueSpecialTrue: [Int32]
        let llamacppIdsAddBosTrueSpecialFalse: [Int32]?
    }
    struct Message: Decodable {
        let role: String
        let content: String
    }
    let text: String
    let tokens: Tokens
    let chatMessages: [Message]?
}

/// A plain string-based BPE, written independently of `BytePairMerger`, to check it:
/// repeatedly merges the adjacent pair with the lowest rank (leftmost on ties).
struct ReferenceBPE {
    let ranks: [String: Int]

    init(merges: [String]) {
        var r: [String: Int] = [:]
        for (i, m) in merges.enumerated() where r[m] == nil { r[m] = i }
        ranks = r
    }

    func merge(_ symbols: [String]) -> [String] {
        var s = symbols
        while s.count > 1 {
            var best = Int.max, at = -1
            for i in 0 ..< s.count - 1 {
                if let r = ranks[s[i] + " " + s[i + 1]], r < best { best = r; at = i }
            }
            if at < 0 { break }
            s[at] += s[at + 1]
            s.remove(at: at + 1)
        }
        return s
    }
}
