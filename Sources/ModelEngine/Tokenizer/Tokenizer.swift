import Foundation
import TensorFormats

/// The kind of a vocabulary entry (GGUF `tokenizer.ggml.token_type`).
public enum TokenType: Int, Sendable {
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}

/// A byte-level BPE tokenizer that reproduces llama.cpp's token ids for GPT-2-family
/// vocabularies (SmolLM2: pre-tokenizer `smollm`).
///
/// Encoding: special tokens (control, user-defined, unknown) are cut out of the text
/// first, longest first; the remaining text is pre-tokenized into words
/// (`PreTokenizer`), each word's UTF-8 bytes are mapped to the byte-level alphabet and
/// merged by rank. Immutable and safe to share between threads.
public final class Tokenizer: Sendable {
    /// Pre-tokenizer names (`tokenizer.ggml.pre`) that isolate numeric characters first.
    static let numberIsolatingPreTokenizers: Set<String> = [
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva",
    ]
    /// Pre-tokenizer names that use the GPT-2 pattern alone.
    static let plainGPT2PreTokenizers: Set<String> = ["gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion"]
    /// Every supported `tokenizer.ggml.pre`.
    public static var supportedPreTokenizers: Set<String> { numberIsolatingPreTokenizers.union(plainGPT2PreTokenizers) }

    /// Number of entries in the vocabulary.
    public let vocabSize: Int
    /// Beginning-of-sequence token (`tokenizer.ggml.bos_token_id`).
    public let bosId: Int32?
    /// End-of-sequence token (`tokenizer.ggml.eos_token_id`).
    public let eosId: Int32?
    /// Unknown token (`tokenizer.ggml.unknown_token_id`).
    public let unknownId: Int32?
    /// Padding token (`tokenizer.ggml.padding_token_id`).
    public let paddingId: Int32?
    /// Whether `encode` prepends BOS (`tokenizer.ggml.add_bos_token`; false for SmolLM2).
    public let addBosToken: Bool
    /// The pre-tokenizer name (`tokenizer.ggml.pre`).
    public let preTokenizerName: String
    /// The Jinja chat template stored with the model, if any.
    public let chatTemplate: String?

    let tokens: [String]
    let types: [TokenType]
    let idByString: [String: Int32]
    let merges: MergeTable
    let preTokenizer: PreTokenizer
    /// Initial BPE symbol of each byte (an id ≥ `vocabSize` when the byte's character is not a token).
    let byteSymbol: [Int32]
    /// For symbol ids ≥ `vocabSize`: the tokens llama.cpp emits instead (often none).
    let fallbackIds: [[Int32]]
    /// Special tokens matched before BPE, longest first.
    let specialTokens: [(id: Int32, bytes: [UInt8], isUserDefined: Bool)]
    /// Decoded bytes of every token, flattened; token i is `pieceBytes[pieceStart[i] ..< pieceStart[i+1]]`.
    let pieceBytes: [UInt8]
    let pieceStart: [Int]
    /// Token ids of words already merged (shared by all callers).
    let wordCache = WordCache()

    /// Builds the tokenizer from a GGUF file's `tokenizer.*` metadata.
    public convenience init(gguf: GGUFFile) throws {
        let source = gguf.path
        let meta = gguf.metadata
        func required(_ key: String) throws -> GGUFValue {
            guard let v = meta[key] else { throw TokenizerError.missingMetadata(key: key, source: source) }
            return v
        }
        func optionalId(_ key: String) -> Int? { meta[key]?.intValue }
        guard let model = try required("tokenizer.ggml.model").stringValue else {
            throw TokenizerError.missingMetadata(key: "tokenizer.ggml.model (a string)", source: source)
        }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(found: model, source: source) }
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        let merges = meta["tokenizer.ggml.merges"] == nil ? [] : try gguf.stringArray("tokenizer.ggml.merges")
        let types = meta["tokenizer.ggml.token_type"] == nil ? nil : try gguf.intArray("tokenizer.ggml.token_type")
        try self.init(tokens: tokens, tokenTypes: types, merges: merges,
                      preTokenizer: meta["tokenizer.ggml.pre"]?.stringValue ?? "gpt-2",
                      bosId: optionalId("tokenizer.ggml.bos_token_id"),
                      eosId: optionalId("tokenizer.ggml.eos_token_id"),
                      unknownId: optionalId("tokenizer.ggml.unknown_token_id"),
                      paddingId: optionalId("tokenizer.ggml.padding_token_id"),
                      addBosToken: meta["tokenizer.ggml.add_bos_token"]?.boolValue ?? false,
                      chatTemplate: meta["tokenizer.chat_template"]?.stringValue,
                      source: source)
    }

    /// Builds the tokenizer from a vocabulary (strings in the byte-level alphabet),
    /// token types (nil: all normal), merges ("left right", rank = index) and options.
    public init(tokens: [String], tokenTypes: [Int]?, merges: [String], preTokenizer: String,
                bosId: Int? = nil, eosId: Int? = nil, unknownId: Int? = nil, paddingId: Int? = nil,
                addBosToken: Bool = false, chatTemplate: String? = nil, source: String = "tokenizer") throws {
        let n = tokens.count
        guard n > 0, n < Int(Int32.max) / 2 else {
            throw TokenizerError.lengthMismatch(what: "tokenizer.ggml.tokens", count: n, expected: 1, source: source)
        }
        if let t = tokenTypes, t.count != n {
            throw TokenizerError.lengthMismatch(what: "tokenizer.ggml.token_type", count: t.count, expected: n, source: source)
        }
        if Self.numberIsolatingPreTokenizers.contains(preTokenizer) {
            self.preTokenizer = PreTokenizer(isolateNumbers: true)
        } else if Self.plainGPT2PreTokenizers.contains(preTokenizer) {
            self.preTokenizer = PreTokenizer(isolateNumbers: false)
        } else {
            throw TokenizerError.unsupportedPreTokenizer(found: preTokenizer, source: source)
        }
        func checkedId(_ key: String, _ v: Int?) throws -> Int32? {
            guard let v else { return nil }
            guard v >= 0, v < n else { throw TokenizerError.invalidTokenId(key: key, id: v, vocabSize: n, source: source) }
            return Int32(v)
        }
        self.bosId = try checkedId("tokenizer.ggml.bos_token_id", bosId)
        self.eosId = try checkedId("tokenizer.ggml.eos_token_id", eosId)
        self.unknownId = try checkedId("tokenizer.ggml.unknown_token_id", unknownId)
        self.paddingId = try checkedId("tokenizer.ggml.padding_token_id", paddingId)
        self.addBosToken = addBosToken && self.bosId != nil
        self.preTokenizerName = preTokenizer
        self.chatTemplate = chatTemplate
        self.vocabSize = n
        self.tokens = tokens

        var types: [TokenType] = []
        types.reserveCapacity(n)
        for i in 0 ..< n {
            let raw = tokenTypes?[i] ?? 1
            guard let t = TokenType(rawValue: raw) else {
                throw TokenizerError.invalidTokenType(id: i, type: raw, source: source)
            }
            types.append(t)
        }
        self.types = types

        var idByString: [String: Int32] = [:]
        idByString.reserveCapacity(n)
        for (i, t) in tokens.enumerated() { idByString[t] = Int32(i) }  // a repeated string keeps its last id, as in llama.cpp
        self.idByString = idByString

        // Symbols that are not tokens (bytes missing from the vocabulary, merge results
        // not in it) get ids from `n` up.
        var syntheticStrings: [String] = []
        var syntheticIds: [String: Int32] = [:]
        func symbolId(_ s: String) -> Int32 {
            if let id = idByString[s] { return id }
            if let id = syntheticIds[s] { return id }
            let id = Int32(n + syntheticStrings.count)
            syntheticStrings.append(s)
            syntheticIds[s] = id
            return id
        }
        var byteSymbol: [Int32] = []
        for b in 0 ..< 256 {
            let scalar = Unicode.Scalar(ByteLevelAlphabet.scalarForByte[b]) ?? "?"
            byteSymbol.append(symbolId(String(scalar)))
        }
        self.byteSymbol = byteSymbol

        var mergeTriples: [(left: Int32, right: Int32, merged: Int32)] = []
        mergeTriples.reserveCapacity(merges.count)
        for (rank, text) in merges.enumerated() {
            let utf8 = Array(text.utf8)
            // llama.cpp splits at the first space after the first byte.
            guard utf8.count >= 3, let cut = utf8[1...].firstIndex(of: 0x20), cut + 1 < utf8.count else {
                throw TokenizerError.invalidMerge(rank: rank, text: text, source: source)
            }
            let left = String(decoding: utf8[..<cut], as: UTF8.self)
            let right = String(decoding: utf8[(cut + 1)...], as: UTF8.self)
            mergeTriples.append((symbolId(left), symbolId(right), symbolId(left + right)))
        }
        self.merges = MergeTable(merges: mergeTriples)

        // A symbol that is no token is replaced by the tokens of its single bytes that exist.
        self.fallbackIds = syntheticStrings.map { s in
            s.utf8.compactMap { b in b < 0x80 ? idByString[String(UnicodeScalar(b))] : nil }
        }

        var specials: [(id: Int32, bytes: [UInt8], isUserDefined: Bool)] = []
        for i in 0 ..< n where types[i] == .control || types[i] == .userDefined || types[i] == .unknown {
            let bytes = Array(tokens[i].utf8)
            if !bytes.isEmpty { specials.append((Int32(i), bytes, types[i] == .userDefined)) }
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.specialTokens = specials

        var pieceBytes: [UInt8] = []
        var pieceStart: [Int] = [0]
        pieceStart.reserveCapacity(n + 1)
        for i in 0 ..< n {
            pieceBytes.append(contentsOf: Self.decodedBytes(of: tokens[i], type: types[i]))
            pieceStart.append(pieceBytes.count)
        }
        self.pieceBytes = pieceBytes
        self.pieceStart = pieceStart
    }

    /// The bytes a token stands for when detokenized (llama.cpp's `token_to_piece` with
    /// special tokens rendered): special tokens give their text, normal tokens the bytes
    /// of their byte-level characters, unused tokens nothing.
    static func decodedBytes(of text: String, type: TokenType) -> [UInt8] {
        switch type {
        case .control, .userDefined, .unknown:
            return Array(text.utf8)
        case .unused:
            return []
        case .byte:
            let u = Array(text.utf8)
            if u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E,
               let v = UInt8(String(decoding: u[3 ..< 5], as: UTF8.self), radix: 16) {
                return [v]
            }
            fallthrough
        case .normal:
            var out: [UInt8] = []
            for s in text.unicodeScalars {
                if let b = ByteLevelAlphabet.byte(for: s.value) {
                    out.append(b)
                } else {
                    // llama.cpp writes "[UNK_BYTE_0x<hex of the character><token text>]".
                    out.append(contentsOf: "[UNK_BYTE_0x".utf8)
                    for b in String(s).utf8 { out.append(contentsOf: String(format: "%02x", b).utf8) }
                    out.append(contentsOf: text.utf8)
                    out.append(contentsOf: "]".utf8)
                }
            }
            return out
        }
    }
}
