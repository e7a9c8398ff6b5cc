import TensorFormats

extension ModelConfig {
    /// Reads `general.architecture` and that family's `<arch>.*` metadata from `gguf`, and checks that the
    /// numbers fit together. Families: llama, qwen2, gemma2, gemma3, gpt2, gptneox.
    public init(gguf: GGUFFile) throws {
        let archName = (try? gguf.string("general.architecture")) ?? "llama"
        guard let arch = ModelArchitecture(rawValue: archName) else {
            let known = ModelArchitecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError.invalidModel(path: gguf.path, reason: "general.architecture is '\(archName)'; supported: \(known)")
        }
        let p = archName + "."
        func int(_ key: String) throws -> Int {
            do { return try gguf.int(p + key) } catch {
                throw EngineError.invalidModel(path: gguf.path, reason: "metadata \(p + key): \(error)")
            }
        }
        func optInt(_ key: String) -> Int? { try? gguf.int(p + key) }
        func optFloat(_ key: String) -> Float? { (try? gguf.double(p + key)).map(Float.init) }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        let vocab: Int
        if let v = optInt("vocab_size") {
            vocab = v
        } else if let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue {
            vocab = tokens.count
        } else {
            vocab = (try? gguf.info("token_embd.weight").dims.last) ?? 0
        }
        let layerNorm = arch == .gpt2 || arch == .gptNeoX
        let eps = layerNorm ? (optFloat("attention.layer_norm_epsilon") ?? 1e-5)
                            : (optFloat("attention.layer_norm_rms_epsilon") ?? 1e-5)
        self.init(dim: dim, hiddenDim: try int("feed_forward_length"), layerCount: try int("block_count"),
                  headCount: heads, kvHeadCount: optInt("attention.head_count_kv") ?? heads, vocabSize: vocab,
                  contextLength: optInt("context_length") ?? 2048, ropeBase: optFloat("rope.freq_base") ?? 10000,
                  normEpsilon: eps, architecture: arch,
                  headDim: optInt("attention.key_length") ?? (heads > 0 ? dim / heads : 0))
        ropeDims = optInt("rope.dimension_count") ?? headDim
        switch arch {
        case .llama, .qwen2:
            break
        case .gemma2, .gemma3:
            mlpKind = .geglu
            embeddingScale = Float(dim).squareRoot()
            postNorms = true
            slidingWindow = optInt("attention.sliding_window")
            if arch == .gemma2 {
                attentionSoftcap = optFloat("attn_logit_softcapping")
                finalSoftcap = optFloat("final_logit_softcapping")
                slidingLayers = (0 ..< layerCount).map { $0 % 2 == 0 }
            } else {
                qkNorm = true
                ropeLocalBase = 10000
                slidingLayers = (0 ..< layerCount).map { ($0 + 1) % 6 != 0 }
            }
        case .gpt2:
            normKind = .layer
            mlpKind = .geluTanh
            learnedPositions = true
            ropeDims = 0
        case .gptNeoX:
            normKind = .layer
            mlpKind = .geluErf
            parallelResidual = gguf.metadata[p + "use_parallel_residual"]?.boolValue ?? true
        }
        try validate(path: gguf.path)
    }
}
