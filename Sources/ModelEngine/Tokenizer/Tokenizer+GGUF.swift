import TensorFormats

extension Tokenizer {
    /// Token texts llama.cpp always treats as control tokens (its end-of-generation and
    /// fill-in-the-middle markers).
    static let llamaCppControlTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", "</s>",
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", "▁<MID>", "<|code_middle|>",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
        "<REPO>", "<reponame>", "<|file_sep|>",
    ]

    /// Builds the tokenizer from a GGUF file's `tokenizer.*` metadata: `tokenizer.ggml.model`
    /// `gpt2` (byte-level BPE; `tokenizer.ggml.pre` picks the pre-tokenizer) or `llama`
    /// (SentencePiece with scores and byte fallback).
    public convenience init(gguf: GGUFFile) throws {
        let source = gguf.path
        let meta = gguf.metadata
        func required(_ key: String) throws -> GGUFValue {
            guard let v = meta[key] else { throw TokenizerError.missingMetadata(key: key, source: source) }
            return v
        }
        guard let model = try required("tokenizer.ggml.model").stringValue else {
            throw TokenizerError.missingMetadata(key: "tokenizer.ggml.model (a string)", source: source)
        }
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        var spec: Spec
        switch model {
        case "gpt2":
            spec = Spec(tokens: tokens, algorithm: .byteLevelBPE, source: source)
            let merges = meta["tokenizer.ggml.merges"] == nil ? [] : try gguf.stringArray("tokenizer.ggml.merges")
            spec.merges = try Self.splitMerges(merges, source: source)
            let pre = meta["tokenizer.ggml.pre"]?.stringValue ?? "gpt-2"
            spec.preTokenizer = try Self.preTokenizer(named: pre, source: source)
            spec.preTokenizerName = pre
            spec.ignoreMerges = Self.ignoreMergesPreTokenizers.contains(pre)
            spec.addBosToken = Self.llama3PreTokenizers.contains(pre)
        case "llama":
            spec = Spec(tokens: tokens, algorithm: .sentencePiece, source: source)
            guard case let .array(values)? = meta["tokenizer.ggml.scores"] else {
                throw TokenizerError.missingMetadata(key: "tokenizer.ggml.scores (an array of numbers)", source: source)
            }
            spec.scores = try values.map { v in
                guard let d = v.doubleValue else {
                    throw TokenizerError.missingMetadata(key: "tokenizer.ggml.scores (an array of numbers)", source: source)
                }
                return Float(d)
            }
            spec.preTokenizerName = meta["tokenizer.ggml.pre"]?.stringValue ?? "default"
            spec.addSpacePrefix = meta["tokenizer.ggml.add_space_prefix"]?.boolValue ?? true
            spec.addBosToken = true
        default:
            throw TokenizerError.unsupportedModel(found: model, source: source)
        }
        var types = meta["tokenizer.ggml.token_type"] == nil ? nil : try gguf.intArray("tokenizer.ggml.token_type")
        // llama.cpp makes these end-of-generation and fill-in-the-middle texts control tokens
        // whatever their stored type (so Gemma's user-defined `</s>` is not matched as special).
        for (id, text) in tokens.enumerated() where Self.llamaCppControlTexts.contains(text) {
            if types == nil { types = [Int](repeating: TokenType.normal.rawValue, count: tokens.count) }
            if id < types!.count { types![id] = TokenType.control.rawValue }
        }
        spec.types = types
        spec.bosId = meta["tokenizer.ggml.bos_token_id"]?.intValue
        spec.eosId = meta["tokenizer.ggml.eos_token_id"]?.intValue
        spec.unknownId = meta["tokenizer.ggml.unknown_token_id"]?.intValue
        spec.paddingId = meta["tokenizer.ggml.padding_token_id"]?.intValue
        if let add = meta["tokenizer.ggml.add_bos_token"]?.boolValue { spec.addBosToken = add }
        spec.chatTemplate = meta["tokenizer.chat_template"]?.stringValue
        try self.init(spec: spec)
    }
}
