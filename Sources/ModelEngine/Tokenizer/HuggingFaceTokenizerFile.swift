import FeaturescopeCore
/// The parts of a Hugging Face `tokenizer.json` the tokenizer reads. Keys are spelled out
/// (no key strategy: vocabulary strings must stay as they are).
struct HuggingFaceTokenizerFile: Decodable {
    struct Model: Decodable {
        var type: String?
        var vocab: [String: Int]?
        var merges: Merges?
        var byteFallback: Bool?
        var unkToken: String?
        var ignoreMerges: Bool?
        var continuingSubwordPrefix: String?
        var endOfWordSuffix: String?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges
            case byteFallback = "byte_fallback", unkToken = "unk_token", ignoreMerges = "ignore_merges"
            case continuingSubwordPrefix = "continuing_subword_prefix", endOfWordSuffix = "end_of_word_suffix"
        }
    }

    /// Merges written `"left right"` (older files) or `["left", "right"]`.
    struct Merges: Decodable {
        var strings: [String]?
        var lists: [[String]]?

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode([String].self) { strings = s } else { lists = try c.decode([[String]].self) }
        }

        func pairs(fail: (String) -> TokenizerError) throws -> [(String, String)] {
            var out: [(String, String)] = []
            if let strings {
                out.reserveCapacity(strings.count)
                for (rank, s) in strings.enumerated() {
                    guard let space = s.dropFirst().firstIndex(of: " ") else {
                        throw fail("model.merges[\(rank)] '\(s)' must be \"left right\"")
                    }
                    out.append((String(s[..<space]), String(s[s.index(after: space)...])))
                }
            } else if let lists {
                out.reserveCapacity(lists.count)
                for (rank, l) in lists.enumerated() {
                    guard l.count == 2 else { throw fail("model.merges[\(rank)] must be [left, right]") }
                    out.append((l[0], l[1]))
                }
            }
            return out
        }
    }

    struct AddedToken: Decodable {
        var id: Int
        var content: String
        var special: Bool?
        var normalized: Bool?
        var lstrip: Bool?
        var rstrip: Bool?
        var singleWord: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special, normalized, lstrip, rstrip
            case singleWord = "single_word"
        }
    }

    var model: Model
    var addedTokens: [AddedToken]?
    var normalizer: JSONValue?
    var preTokenizer: JSONValue?
    var postProcessor: JSONValue?

    enum CodingKeys: String, CodingKey {
        case model, normalizer
        case addedTokens = "added_tokens", preTokenizer = "pre_tokenizer", postProcessor = "post_processor"
    }
}
