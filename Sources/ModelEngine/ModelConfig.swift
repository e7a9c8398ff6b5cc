import TensorFormats

/// The model families the engine runs. Each is a choice of shared blocks (see `ModelConfig`).
public enum ModelArchitecture: String, Sendable, Codable, CaseIterable {
    /// Llama 2/3/3.1, SmolLM2, Mistral-style: RMSNorm, RoPE, SwiGLU, no biases.
    case llama
    /// Qwen2/2.5: llama plus q/k/v biases.
    case qwen2
    /// Gemma 2: scaled embedding, pre+post norms, GeGLU, soft-capping, alternating sliding windows.
    case gemma2
    /// Gemma 3: gemma2 plus QK-norm, local/global RoPE bases, no soft-capping.
    case gemma3
    /// GPT-2: LayerNorm, learned positions, fused QKV with biases, tanh GELU MLP.
    case gpt2
    /// GPT-NeoX (Pythia): LayerNorm, partial rotary, parallel attention + MLP.
    case gptNeoX = "gptneox"
}

/// How a block normalises its input.
public enum NormKind: String, Sendable, Codable {
    /// x / √(mean x² + ε) · g (Gemma's 1 + w is folded into g at load).
    case rms
    /// (x − mean) / √(var + ε) · g + b.
    case layer
}

/// The feed-forward block.
public enum MLPKind: String, Sendable, Codable {
    /// down(silu(gate x) ⊙ up x)
    case swiglu
    /// down(gelu_tanh(gate x) ⊙ up x)
    case geglu
    /// down(gelu_tanh(up x + b) ) + b
    case geluTanh
    /// down(gelu_erf(up x + b)) + b (Pythia's exact GELU)
    case geluErf
}

/// Llama 3.1 RoPE frequency scaling (`rope_scaling.rope_type = llama3`).
public struct Llama3RopeScaling: Sendable, Equatable, Codable {
    public var factor: Float
    public var lowFreqFactor: Float
    public var highFreqFactor: Float
    public var originalContextLength: Int

    public init(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalContextLength: Int) {
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalContextLength = originalContextLength
    }
}

/// Shape and hyper-parameters of a decoder-only transformer, read from GGUF metadata or `config.json`.
public struct ModelConfig: Sendable, Equatable, Codable {
    public var architecture: ModelArchitecture
    /// Width of the residual stream (d_model).
    public var dim: Int
    /// Width of the MLP hidden layer.
    public var hiddenDim: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Query heads.
    public var headCount: Int
    /// Key/value heads; query head h reads KV head h / (headCount / kvHeadCount).
    public var kvHeadCount: Int
    /// Width of one attention head (Gemma 3 270M: 256 with d_model 640).
    public var headDim: Int
    /// Vocabulary size.
    public var vocabSize: Int
    /// Trained context length.
    public var contextLength: Int
    /// RoPE base frequency (global layers).
    public var ropeBase: Float
    /// RoPE base of sliding-window layers (Gemma 3); nil: `ropeBase`.
    public var ropeLocalBase: Float?
    /// Rotated dimensions per head (d_head for full rotary, fewer for Pythia, 0 for learned positions).
    public var ropeDims: Int
    /// Llama 3.1 frequency scaling, if any.
    public var ropeScaling: Llama3RopeScaling?
    /// Norm epsilon.
    public var normEpsilon: Float
    public var normKind: NormKind
    public var mlpKind: MLPKind
    /// Multiplier of the token embedding (Gemma: √d_model); nil: none.
    public var embeddingScale: Float?
    /// Learned absolute positions (GPT-2).
    public var learnedPositions: Bool
    /// Attention and MLP read the same residual and both add to it (GPT-NeoX).
    public var parallelResidual: Bool
    /// Norms after the attention and MLP outputs (Gemma 2/3).
    public var postNorms: Bool
    /// RMSNorm over each query and key head before RoPE (Gemma 3).
    public var qkNorm: Bool
    /// Attention score scale (1/√d_head, or 1/√query_pre_attn_scalar).
    public var attentionScale: Float
    /// Attention logit soft-cap c: s → c·tanh(s/c) (Gemma 2).
    public var attentionSoftcap: Float?
    /// Final logit soft-cap (Gemma 2).
    public var finalSoftcap: Float?
    /// Sliding window length of local layers.
    public var slidingWindow: Int?
    /// Per layer: whether it attends through the sliding window (empty: none does).
    public var slidingLayers: [Bool]

    /// A Llama-shaped config (RMSNorm, SwiGLU, full RoPE); other families set the remaining fields.
    public init(dim: Int, hiddenDim: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, vocabSize: Int,
                contextLength: Int, ropeBase: Float, normEpsilon: Float,
                architecture: ModelArchitecture = .llama, headDim: Int? = nil) {
        self.architecture = architecture
        self.dim = dim
        self.hiddenDim = hiddenDim
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        let hd = headDim ?? (headCount > 0 ? dim / headCount : 0)
        self.headDim = hd
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.ropeLocalBase = nil
        self.ropeDims = hd
        self.ropeScaling = nil
        self.normEpsilon = normEpsilon
        self.normKind = .rms
        self.mlpKind = .swiglu
        self.embeddingScale = nil
        self.learnedPositions = false
        self.parallelResidual = false
        self.postNorms = false
        self.qkNorm = false
        self.attentionScale = hd > 0 ? 1 / Float(hd).squareRoot() : 1
        self.attentionSoftcap = nil
        self.finalSoftcap = nil
        self.slidingWindow = nil
        self.slidingLayers = []
    }

    /// Width of all query heads: headCount · headDim (the input width of the output projection, hook_z).
    public var qDim: Int { headCount * headDim }
    /// Width of the key (and value) projection: kvHeadCount · headDim.
    public var kvDim: Int { kvHeadCount * headDim }
    /// Query heads per KV head.
    public var groupSize: Int { headCount / kvHeadCount }
    /// Whether the MLP has a gate projection.
    public var gatedMLP: Bool { mlpKind == .swiglu || mlpKind == .geglu }
    /// Whether layer `l` attends through the sliding window.
    public func isSliding(_ l: Int) -> Bool { l < slidingLayers.count && slidingLayers[l] && slidingWindow != nil }
    /// RoPE base of layer `l`.
    public func ropeBase(layer l: Int) -> Float { isSliding(l) ? (ropeLocalBase ?? ropeBase) : ropeBase }

    /// Checks ranges and divisibility so later size arithmetic cannot overflow or trap.
    public func validate(path: String) throws {
        func fail(_ r: String) -> EngineError { .invalidModel(path: path, reason: r) }
        let limit = 1 << 20
        for (name, v) in [("embedding_length", dim), ("feed_forward_length", hiddenDim), ("block_count", layerCount),
                          ("head_count", headCount), ("head_count_kv", kvHeadCount), ("head dimension", headDim),
                          ("vocab_size", vocabSize), ("context_length", contextLength)] {
            guard v > 0, v <= limit else { throw fail("\(name) = \(v) is outside 1…\(limit)") }
        }
        guard headCount % kvHeadCount == 0 else { throw fail("head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)") }
        guard ropeDims >= 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw fail("rotary dimensions \(ropeDims) must be even and at most the head dimension \(headDim)")
        }
        guard dim % 32 == 0, hiddenDim % 32 == 0, qDim % 32 == 0 else {
            throw fail("widths \(dim), \(hiddenDim), \(qDim) must be multiples of 32")
        }
        guard ropeBase.isFinite, ropeBase > 1 || ropeDims == 0 else { throw fail("rope.freq_base \(ropeBase) must be > 1") }
        guard normEpsilon.isFinite, normEpsilon >= 0 else { throw fail("norm epsilon \(normEpsilon) must be ≥ 0") }
        guard attentionScale.isFinite, attentionScale > 0 else { throw fail("attention scale \(attentionScale) must be > 0") }
        for (name, cap) in [("attention soft-cap", attentionSoftcap), ("final soft-cap", finalSoftcap)] {
            if let cap, !(cap.isFinite && cap > 0) { throw fail("\(name) \(cap) must be > 0") }
        }
        if let w = slidingWindow, w <= 0 { throw fail("sliding window \(w) must be > 0") }
        guard slidingLayers.isEmpty || slidingLayers.count == layerCount else {
            throw fail("\(slidingLayers.count) sliding-window flags for \(layerCount) layers")
        }
    }
}
