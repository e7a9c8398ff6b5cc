import TensorFormats

/// Shape and hyper-parameters of a Llama-family model, read from GGUF metadata.
public struct LlamaConfig: Sendable, Equatable, Codable {
    /// Width of the residual stream (`llama.embedding_length`).
    public var dim: Int
    /// Width of the SwiGLU hidden layer (`llama.feed_forward_length`).
    public var hiddenDim: Int
    /// Number of transformer blocks (`llama.block_count`).
    public var layerCount: Int
    /// Query heads (`llama.attention.head_count`).
    public var headCount: Int
    /// Key/value heads (`llama.attention.head_count_kv`); query head h reads KV head h / (headCount / kvHeadCount).
    public var kvHeadCount: Int
    /// Vocabulary size (`llama.vocab_size`, else the token list length, else the embedding rows).
    public var vocabSize: Int
    /// Trained context length (`llama.context_length`).
    public var contextLength: Int
    /// RoPE base frequency (`llama.rope.freq_base`).
    public var ropeBase: Float
    /// RMSNorm epsilon (`llama.attention.layer_norm_rms_epsilon`).
    public var normEpsilon: Float

    public init(dim: Int, hiddenDim: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, vocabSize: Int,
                contextLength: Int, ropeBase: Float, normEpsilon: Float) {
        self.dim = dim
        self.hiddenDim = hiddenDim
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.normEpsilon = normEpsilon
    }

    /// Width of one attention head.
    public var headDim: Int { dim / headCount }
    /// Width of the key (and value) projection: kvHeadCount · headDim.
    public var kvDim: Int { kvHeadCount * headDim }
    /// Query heads per KV head.
    public var groupSize: Int { headCount / kvHeadCount }

    /// Reads the `llama.*` metadata of `gguf` and checks that the numbers fit together.
    public init(gguf: GGUFFile) throws {
        let arch = (try? gguf.string("general.architecture")) ?? "llama"
        guard arch == "llama" else {
            throw EngineError.invalidModel(path: gguf.path, reason: "general.architecture is '\(arch)', expected 'llama'")
        }
        func int(_ key: String) throws -> Int {
            do { return try gguf.int(key) } catch {
                throw EngineError.invalidModel(path: gguf.path, reason: "metadata \(key): \(error)")
            }
        }
        dim = try int("llama.embedding_length")
        hiddenDim = try int("llama.feed_forward_length")
        layerCount = try int("llama.block_count")
        headCount = try int("llama.attention.head_count")
        kvHeadCount = (try? gguf.int("llama.attention.head_count_kv")) ?? headCount
        contextLength = (try? gguf.int("llama.context_length")) ?? 2048
        ropeBase = Float((try? gguf.double("llama.rope.freq_base")) ?? 10000)
        normEpsilon = Float((try? gguf.double("llama.attention.layer_norm_rms_epsilon")) ?? 1e-5)
        if let v = try? gguf.int("llama.vocab_size") {
            vocabSize = v
        } else if let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue {
            vocabSize = tokens.count
        } else {
            vocabSize = (try? gguf.info("token_embd.weight").dims.last) ?? 0
        }
        try validate(path: gguf.path)
    }

    /// Checks ranges and divisibility so later size arithmetic cannot overflow or trap.
    public func validate(path: String) throws {
        func fail(_ r: String) -> EngineError { .invalidModel(path: path, reason: r) }
        let limit = 1 << 20
        for (name, v) in [("embedding_length", dim), ("feed_forward_length", hiddenDim), ("block_count", layerCount),
                          ("head_count", headCount), ("head_count_kv", kvHeadCount), ("vocab_size", vocabSize),
                          ("context_length", contextLength)] {
            guard v > 0, v <= limit else { throw fail("\(name) = \(v) is outside 1…\(limit)") }
        }
        guard dim % headCount == 0 else { throw fail("embedding_length \(dim) is not a multiple of head_count \(headCount)") }
        guard headCount % kvHeadCount == 0 else { throw fail("head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)") }
        guard headDim % 2 == 0 else { throw fail("head dimension \(headDim) is odd; RoPE needs pairs") }
        guard dim % 32 == 0, hiddenDim % 32 == 0 else { throw fail("widths \(dim), \(hiddenDim) must be multiples of 32") }
        guard ropeBase.isFinite, ropeBase > 1 else { throw fail("rope.freq_base \(ropeBase) must be > 1") }
        guard normEpsilon.isFinite, normEpsilon >= 0 else { throw fail("layer_norm_rms_epsilon \(normEpsilon) must be ≥ 0") }
    }
}
