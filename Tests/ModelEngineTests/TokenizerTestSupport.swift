import Foundation
import XCTest
import TensorFormats
@testable import ModelEngine

/// Locates the SmolLM2 GGUF and the reference data, and loads the tokenizer once.
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

    /// `shared/refdata/smollm2`, searched from the package root upwards (the package root
    /// is three levels above this file; `../shared/refdata` in the usual layout).
    static let refdataDirectory: String? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for _ in 0 ..< 4 {
            let candidate = dir.appendingPathComponent("shared/refdata/smollm2").path
            if FileManager.default.fileExists(atPath: candidate + "/tokenization.json") { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    private static let loaded: Result<Tokenizer, any Error>? = {
        guard FileManager.default.fileExists(atPath: modelPath) else { return nil }
        return Result { try Tokenizer(gguf: GGUFFile(path: modelPath)) }
    }()

    /// The SmolLM2 tokenizer, or an XCTSkip when the model has not been fetched.
    static func tokenizer() throws -> Tokenizer {
        guard let loaded else { throw XCTSkip("model not fetched (\(modelPath)); run `featurescope model fetch`") }
        return try loaded.get()
    }

    /// A decoded reference JSON file, or an XCTSkip when the refdata is absent.
    /// (JSONDecoder, not JSONSerialization: the latter drops a leading U+FEFF inside strings.)
    static func refdata<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        guard let dir = refdataDirectory else { throw XCTSkip("shared/refdata/smollm2 not found") }
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
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
