extension Tokenizer {
    /// The tokenizer's kind in words: "byte-level BPE", "SentencePiece" or
    /// "BPE with byte fallback" (a `tokenizer.json` over SentencePiece-style pieces).
    public var kindDescription: String {
        switch algorithm {
        case .byteLevelBPE: return "byte-level BPE"
        case .sentencePiece: return "SentencePiece"
        case .characterBPE: return "BPE with byte fallback"
        }
    }

    /// How the words of plain text become tokens.
    enum Algorithm: Sendable, Equatable {
        /// Bytes mapped to the byte-level alphabet, merged by rank (GGUF `gpt2`, HF ByteLevel).
        case byteLevelBPE
        /// Characters merged by score, leftovers as `<0xXX>` tokens (GGUF `llama`).
        case sentencePiece
        /// Characters (or their `<0xXX>` tokens) merged by rank (HF BPE with `byte_fallback`).
        case characterBPE
    }

    /// Text rewriting before pre-tokenization (Hugging Face normalizers).
    enum Normalizer: Sendable, Equatable {
        case none
        /// Unicode canonical composition (NFC).
        case nfc
        /// Every space becomes `▁`.
        case spacesToMetaspace
    }

    /// When a Metaspace pre-tokenizer prepends `▁` (Hugging Face `prepend_scheme`).
    enum PrependScheme: Sendable, Equatable {
        case never, first, always
    }

    /// Encoding switches beyond the algorithm.
    struct Options: Sendable {
        /// A word found whole in the vocabulary is emitted without merging.
        var ignoreMerges = false
        /// SentencePiece: a space is prepended to text at the start or after a special token.
        var addSpacePrefix = false
        var normalizer = Normalizer.none
        /// Non-nil: the Metaspace pre-tokenizer (spaces to `▁`, then this prepending rule).
        var prependScheme: PrependScheme? = nil
        /// Added tokens matched leftmost-longest, `normalized` ones after normalizing.
        var huggingFaceAddedTokens = false
        /// Character BPE: the token for a character with no piece and no byte tokens.
        var unknownFallback: Int32? = nil
    }

    /// A token matched in raw text before tokenizing the rest.
    struct SpecialToken: Sendable {
        var id: Int32
        var bytes: [UInt8]
        /// Matched even when special-token parsing is off.
        var isUserDefined: Bool
        /// Hugging Face `normalized: true`: matched in the normalized text.
        var normalized: Bool
        /// Hugging Face `lstrip` / `rstrip`: white space before / after the match is part of it.
        var leftStrip = false
        var rightStrip = false
    }

    /// Everything a tokenizer is built from.
    struct Spec {
        var tokens: [String]
        var types: [Int]? = nil
        var scores: [Float]? = nil
        var merges: [(String, String)] = []
        var algorithm: Algorithm
        var preTokenizer = PreTokenizer(pattern: .whole)
        var preTokenizerName = "none"
        var ignoreMerges = false
        var addSpacePrefix = false
        var normalizer = Normalizer.none
        var prependScheme: PrependScheme? = nil
        var huggingFaceAddedTokens = false
        var unknownFallback: Int32? = nil
        var bosId: Int? = nil
        var eosId: Int? = nil
        var unknownId: Int? = nil
        var paddingId: Int? = nil
        var addBosToken = false
        var chatTemplate: String? = nil
        /// Added tokens matched after normalization (Hugging Face `normalized: true`).
        var normalizedSpecials: Set<Int> = []
        /// Added tokens with `lstrip` / `rstrip`.
        var leftStripped: Set<Int> = []
        var rightStripped: Set<Int> = []
        /// Special-typed tokens never matched in text.
        var unmatchedSpecials: Set<Int> = []
        var source: String

        init(tokens: [String], algorithm: Algorithm, source: String) {
            self.tokens = tokens
            self.algorithm = algorithm
            self.source = source
        }
    }
}

extension ByteLevelAlphabet {
    /// The bytes a byte-level vocabulary string stands for, or nil when a character is
    /// outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var out: [UInt8] = []
        for s in text.unicodeScalars {
            guard let b = byte(for: s.value) else { return nil }
            out.append(b)
        }
        return out
    }
}
