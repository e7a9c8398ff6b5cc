/// Errors raised while building a tokenizer from a model's vocabulary.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case missingMetadata(key: String, source: String)
    case unsupportedModel(found: String, source: String)
    case unsupportedPreTokenizer(found: String, source: String)
    case lengthMismatch(what: String, count: Int, expected: Int, source: String)
    case invalidMerge(rank: Int, text: String, source: String)
    case invalidTokenId(key: String, id: Int, vocabSize: Int, source: String)
    case invalidTokenType(id: Int, type: Int, source: String)
    /// A tokenizer.json part that is missing or not supported; `detail` names the key and what was expected.
    case unsupportedJSON(detail: String, source: String)

    public var description: String {
        switch self {
        case let .missingMetadata(key, source):
            return "\(source): tokenizer metadata '\(key)' is missing"
        case let .unsupportedModel(found, source):
            return "\(source): tokenizer model is '\(found)'; supported: byte-level BPE ('gpt2'), SentencePiece ('llama'), tokenizer.json model 'BPE'"
        case let .unsupportedPreTokenizer(found, source):
            return "\(source): tokenizer.ggml.pre is '\(found)'; supported: \(Tokenizer.supportedPreTokenizers.sorted().joined(separator: ", "))"
        case let .lengthMismatch(what, count, expected, source):
            return "\(source): \(what) has \(count) entries, expected \(expected) (one per token)"
        case let .invalidMerge(rank, text, source):
            return "\(source): merge #\(rank) '\(text)' is not two symbols separated by a space"
        case let .invalidTokenId(key, id, vocabSize, source):
            return "\(source): \(key) = \(id) is outside the vocabulary (0..<\(vocabSize))"
        case let .invalidTokenType(id, type, source):
            return "\(source): token \(id) has type \(type), expected 1…6"
        case let .unsupportedJSON(detail, source):
            return "\(source): \(detail)"
        }
    }
}
