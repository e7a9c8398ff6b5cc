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

/// A tokenizer that reproduces llama.cpp's token ids for byte-level BPE vocabularies
/// (GGUF `gpt2`: SmolLM2, Qwen2, Llama 3, GPT-2) and SentencePiece vocabularies (GGUF
/// `llama`: Gemma), and the `tokenizers` library's ids for Hugging Face `tokenizer.json`.
///
/// Encoding: special tokens (control, user-defined, unknown) are cut out of the text
/// first; the remaining text is pre-tokenized into words (`PreTokenizer`) and each
/// word merged: byte-level BPE maps its UTF-8 bytes to the byte-level alphabet and
/// merges by rank, SentencePiece merges characters by score (`SentencePieceMerger`).
/// Immutable and safe to share between threads.
public final class Tokenizer: Sendable {
    /// Pre-tokenizer names (`tokenizer.ggml.pre`) that isolate numeric characters first.
    static let numberIsolatingPreTokenizers: Set<String> = [
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva",
    ]
    /// Pre-tokenizer names that use the GPT-2 pattern alone.
    static let plainGPT2PreTokenizers: Set<String> = ["gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion"]
    /// Pre-tokenizer names that use the Llama 3 pattern with single digits.
    static let qwen2PreTokenizers: Set<String> = ["qwen2", "deepseek-r1-qwen"]
    /// Pre-tokenizer names that use the Llama 3 pattern (digits in threes) and ignore merges.
    static let llama3PreTokenizers: Set<String> = ["llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"]
    /// Names whose words found whole in the vocabulary skip merging (llama.cpp's `ignore_merges`).
    static let ignoreMergesPreTokenizers: Set<String> = llama3PreTokenizers
    /// Every supported `tokenizer.ggml.pre` for byte-level BPE.
    public static var supportedPreTokenizers: Set<String> {
        numberIsolatingPreTokenizers.union(plainGPT2PreTokenizers).union(qwen2PreTokenizers).union(llama3PreTokenizers)
    }

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
    /// How words become tokens.
    let algorithm: Algorithm
    let options: Options
    /// Token ids by the bytes they stand for (byte-level) or by their text (others).
    let pieces: PieceTable
    /// SentencePiece scores (empty for BPE).
    let scores: [Float]
    /// The `<0xXX>` token of each byte, -1 where there is none (byte-level: all -1).
    let byteTokens: [Int32]
    /// Initial BPE symbol of each byte (an id ≥ `vocabSize` when the byte's character is not a token).
    let byteSymbol: [Int32]
    /// For symbol ids ≥ `vocabSize`: the tokens llama.cpp emits instead (often none).
    let fallbackIds: [[Int32]]
    /// Special tokens matched before BPE, longest first.
    let specialTokens: [SpecialToken]
    /// Indices into `specialTokens` by first byte (longest first).
    let specialIndexByFirstByte: [[Int]]
    /// Decoded bytes of every token, flattened; token i is `pieceBytes[pieceStart[i] ..< pieceStart[i+1]]`.
    let pieceBytes: [UInt8]
    let pieceStart: [Int]
    /// Token ids of words already merged (shared by all callers).
    let wordCache = WordCache()

    /// Builds a byte-level BPE tokenizer from a vocabulary (strings in the byte-level
    /// alphabet), token types (nil: all normal), merges ("left right", rank = index) and
    /// options; `preTokenizer` is a `tokenizer.ggml.pre` name.
    public convenience init(tokens: [String], tokenTypes: [Int]?, merges: [String], preTokenizer: String,
                            bosId: Int? = nil, eosId: Int? = nil, unknownId: Int? = nil, paddingId: Int? = nil,
                            addBosToken: Bool = false, chatTemplate: String? = nil, source: String = "tokenizer") throws {
        var spec = Spec(tokens: tokens, algorithm: .byteLevelBPE, source: source)
        spec.types = tokenTypes
        spec.merges = try Self.splitMerges(merges, source: source)
        spec.preTokenizer = try Self.preTokenizer(named: preTokenizer, source: source)
        spec.preTokenizerName = preTokenizer
        spec.ignoreMerges = Self.ignoreMergesPreTokenizers.contains(preTokenizer)
        (spec.bosId, spec.eosId, spec.unknownId, spec.paddingId) = (bosId, eosId, unknownId, paddingId)
        spec.addBosToken = addBosToken
        spec.chatTemplate = chatTemplate
        try self.init(spec: spec)
    }

    /// The pre-tokenizer of a `tokenizer.ggml.pre` name.
    static func preTokenizer(named name: String, source: String) throws -> PreTokenizer {
        if numberIsolatingPreTokenizers.contains(name) { return PreTokenizer(isolateNumbers: true) }
        if plainGPT2PreTokenizers.contains(name) { return PreTokenizer(isolateNumbers: false) }
        if qwen2PreTokenizers.contains(name) { return PreTokenizer(pattern: .llama3(maxDigits: 1)) }
        if llama3PreTokenizers.contains(name) { return PreTokenizer(pattern: .llama3(maxDigits: 3)) }
        throw TokenizerError.unsupportedPreTokenizer(found: name, source: source)
    }

    /// Merges written "left right" (llama.cpp splits at the first space after the first byte).
    static func splitMerges(_ merges: [String], source: String) throws -> [(String, String)] {
        var out: [(String, String)] = []
        out.reserveCapacity(merges.count)
        for (rank, text) in merges.enumerated() {
            let utf8 = Array(text.utf8)
            guard utf8.count >= 3, let cut = utf8[1...].firstIndex(of: 0x20), cut + 1 < utf8.count else {
                throw TokenizerError.invalidMerge(rank: rank, text: text, source: source)
            }
            out.append((String(decoding: utf8[..<cut], as: UTF8.self), String(decoding: utf8[(cut + 1)...], as: UTF8.self)))
        }
        return out
    }

    /// Builds the tokenizer from a complete description.
    init(spec: Spec) throws {
        let source = spec.source
        let tokens = spec.tokens
        let n = tokens.count
        guard n > 0, n < Int(Int32.max) / 2 else {
            throw TokenizerError.lengthMismatch(what: "tokenizer.ggml.tokens", count: n, expected: 1, source: source)
        }
        if let t = spec.types, t.count != n {
            throw TokenizerError.lengthMismatch(what: "tokenizer.ggml.token_type", count: t.count, expected: n, source: source)
        }
        if let s = spec.scores, s.count != n {
            throw TokenizerError.lengthMismatch(what: "tokenizer.ggml.scores", count: s.count, expected: n, source: source)
        }
        self.preTokenizer = spec.preTokenizer
        self.algorithm = spec.algorithm
        self.options = Options(ignoreMerges: spec.ignoreMerges, addSpacePrefix: spec.addSpacePrefix,
                               normalizer: spec.normalizer, prependScheme: spec.prependScheme,
                               huggingFaceAddedTokens: spec.huggingFaceAddedTokens, unknownFallback: spec.unknownFallback)
        func checkedId(_ key: String, _ v: Int?) throws -> Int32? {
            guard let v else { return nil }
            guard v >= 0, v < n else { throw TokenizerError.invalidTokenId(key: key, id: v, vocabSize: n, source: source) }
            return Int32(v)
        }
        self.bosId = try checkedId("tokenizer.ggml.bos_token_id", spec.bosId)
        self.eosId = try checkedId("tokenizer.ggml.eos_token_id", spec.eosId)
        self.unknownId = try checkedId("tokenizer.ggml.unknown_token_id", spec.unknownId)
        self.paddingId = try checkedId("tokenizer.ggml.padding_token_id", spec.paddingId)
        self.addBosToken = spec.addBosToken && self.bosId != nil
        self.preTokenizerName = spec.preTokenizerName
        self.chatTemplate = spec.chatTemplate
        self.vocabSize = n
        self.tokens = tokens
        self.scores = spec.scores ?? []

        var types: [TokenType] = []
        types.reserveCapacity(n)
        for i in 0 ..< n {
            let raw = spec.types?[i] ?? 1
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

        let byteLevel = spec.algorithm == .byteLevelBPE
        // Byte-level vocabularies are looked up by the bytes a token's characters stand for.
        self.pieces = PieceTable(pieces: tokens.map { byteLevel ? ByteLevelAlphabet.bytes(of: $0) : Array($0.utf8) })
        var byteTokens = [Int32](repeating: -1, count: 256)
        if !byteLevel {
            for b in 0 ..< 256 {
                let hex = String(b, radix: 16, uppercase: true)
                if let id = idByString["<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"] {
                    byteTokens[b] = id
                } else if spec.algorithm == .sentencePiece, b < 0x80, let id = idByString[String(UnicodeScalar(UInt8(b)))] {
                    byteTokens[b] = id  // llama.cpp's fallback: the byte as a one-character piece
                }
            }
        }
        self.byteTokens = byteTokens

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
        if byteLevel {
            for b in 0 ..< 256 {
                let scalar = Unicode.Scalar(ByteLevelAlphabet.scalarForByte[b]) ?? "?"
                byteSymbol.append(symbolId(String(scalar)))
            }
        }
        self.byteSymbol = byteSymbol

        var mergeTriples: [(left: Int32, right: Int32, merged: Int32)] = []
        mergeTriples.reserveCapacity(spec.merges.count)
        for (rank, (left, right)) in spec.merges.enumerated() {
            if !byteLevel && (idByString[left] == nil || idByString[right] == nil || idByString[left + right] == nil) {
                throw TokenizerError.invalidMerge(rank: rank, text: left + " " + right, source: source)
            }
            mergeTriples.append((symbolId(left), symbolId(right), symbolId(left + right)))
        }
        self.merges = MergeTable(merges: mergeTriples)

        // A symbol that is no token is replaced by the tokens of its single bytes that exist.
        self.fallbackIds = syntheticStrings.map { s in
            s.utf8.compactMap { b in b < 0x80 ? idByString[String(UnicodeScalar(b))] : nil }
        }

        var specials: [SpecialToken] = []
        for i in 0 ..< n where types[i] == .control || types[i] == .userDefined || types[i] == .unknown {
            let bytes = Array(tokens[i].utf8)
            if !bytes.isEmpty && !spec.unmatchedSpecials.contains(i) {
                specials.append(SpecialToken(id: Int32(i), bytes: bytes, isUserDefined: types[i] == .userDefined,
                                             normalized: spec.normalizedSpecials.contains(i),
                                             leftStrip: spec.leftStripped.contains(i), rightStrip: spec.rightStripped.contains(i)))
            }
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.specialTokens = specials
        var byFirst = [[Int]](repeating: [], count: 256)
        for (i, sp) in specials.enumerated() { byFirst[Int(sp.bytes[0])].append(i) }
        self.specialIndexByFirstByte = byFirst

        var pieceBytes: [UInt8] = []
        var pieceStart: [Int] = [0]
        pieceStart.reserveCapacity(n + 1)
        for i in 0 ..< n {
            if byteLevel {
                pieceBytes.append(contentsOf: Self.decodedBytes(of: tokens[i], type: types[i]))
            } else {
                pieceBytes.append(contentsOf: Self.sentencePieceBytes(of: tokens[i], type: types[i]))
            }
            pieceStart.append(pieceBytes.count)
        }
        self.pieceBytes = pieceBytes
        self.pieceStart = pieceStart
    }

    /// The byte a `<0xXX>` byte token stands for, or nil when `text` is not of that form.
    static func byteTokenValue(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3 ..< 5], as: UTF8.self), radix: 16)
    }

    /// The bytes of a SentencePiece-style token when detokenized: `▁` as a space in normal
    /// tokens, `<0xXX>` byte tokens as their byte, special tokens as their text.
    static func sentencePieceBytes(of text: String, type: TokenType) -> [UInt8] {
        switch type {
        case .control, .userDefined, .unknown:
            return Array(text.utf8)
        case .unused:
            return []
        case .byte:
            return byteTokenValue(text).map { [$0] } ?? Array(text.utf8)
        case .normal:
            var out: [UInt8] = []
            for b in text.utf8 { out.append(b) }
            var i = 0, w = 0
            while i < out.count {
                if i + 2 < out.count && out[i] == 0xE2 && out[i + 1] == 0x96 && out[i + 2] == 0x81 {
                    out[w] = 0x20; i += 3
                } else {
                    out[w] = out[i]; i += 1
                }
                w += 1
            }
            out.removeLast(out.count - w)
            return out
        }
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
            if let v = byteTokenValue(text) { return [v] }
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
