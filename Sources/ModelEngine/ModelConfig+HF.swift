import Foundation

/// The keys of a Hugging Face `config.json`, with errors that name the file and the key.
struct HFConfigJSON {
    let path: String
    let values: [String: Any]

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.invalidModel(path: path, reason: "cannot read the file")
        }
        try self.init(data: data, path: path)
    }

    init(data: Data, path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw EngineError.invalidModel(path: path, reason: "not a JSON object")
        }
        self.init(path: path, values: dict)
    }

    init(path: String, values: [String: Any]) {
        self.path = path
        self.values = values
    }

    func fail(_ key: String, _ reason: String) -> EngineError {
        .invalidModel(path: path, reason: "key '\(key)' \(reason)")
    }

    /// Whether `key` is present and not null.
    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    func optInt(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard let n = values[key] as? NSNumber, n.doubleValue == n.doubleValue.rounded(),
              abs(n.doubleValue) < 1e15 else {
            throw fail(key, "is \(values[key]!), expected an integer")
        }
        return n.intValue
    }

    func int(_ key: String) throws -> Int {
        guard let v = try optInt(key) else { throw fail(key, "is missing") }
        return v
    }

    func optFloat(_ key: String) throws -> Float? {
        guard has(key) else { return nil }
        guard let n = values[key] as? NSNumber else { throw fail(key, "is \(values[key]!), expected a number") }
        return n.floatValue
    }

    func optBool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard let b = values[key] as? Bool else { throw fail(key, "is \(values[key]!), expected true or false") }
        return b
    }

    func optString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = values[key] as? String else { throw fail(key, "is \(values[key]!), expected a string") }
        return s
    }

    func optObject(_ key: String) throws -> HFConfigJSON? {
        guard has(key) else { return nil }
        guard let d = values[key] as? [String: Any] else { throw fail(key, "is \(values[key]!), expected an object") }
        return HFConfigJSON(path: path + " › " + key, values: d)
    }

    func optStrings(_ key: String) throws -> [String]? {
        guard has(key) else { return nil }
        guard let a = values[key] as? [String] else { throw fail(key, "is \(values[key]!), expected a list of strings") }
        return a
    }

    /// Token ids of `key`: one integer or a list of them.
    func tokenIDs(_ key: String) -> [Int] {
        if let n = values[key] as? NSNumber { return [n.intValue] }
        if let a = values[key] as? [NSNumber] { return a.map(\.intValue) }
        return []
    }
}

extension ModelConfig {
    /// Reads a Hugging Face `config.json` (`model_type` llama, mistral, qwen2, gemma2, gemma3_text (or gemma3 with
    /// a `text_config`), gpt2, gpt_neox), in the layout of transformers 4 (`rope_theta`, `rope_scaling`,
    /// `rotary_pct`) or 5 (`rope_parameters`). Unknown types, missing keys and unsupported RoPE variants throw
    /// errors naming the file and the key.
    public init(huggingFaceConfig path: String) throws {
        try self.init(hf: HFConfigJSON(path: path))
    }

    init(hf top: HFConfigJSON) throws {
        var j = top
        guard let type = try j.optString("model_type") else { throw j.fail("model_type", "is missing") }
        var modelType = type
        if type == "gemma3", let text = try j.optObject("text_config") {
            j = text
            modelType = "gemma3_text"
        }
        let arch: ModelArchitecture
        switch modelType {
        case "llama", "mistral": arch = .llama
        case "qwen2": arch = .qwen2
        case "gemma2": arch = .gemma2
        case "gemma3_text": arch = .gemma3
        case "gpt2": arch = .gpt2
        case "gpt_neox": arch = .gptNeoX
        default:
            throw j.fail("model_type", "is '\(type)'; supported: llama, mistral, qwen2, gemma2, gemma3_text, gpt2, gpt_neox")
        }
        let rope = try j.optObject("rope_parameters")
        if arch == .gpt2 {
            let dim = try j.int("n_embd")
            let heads = try j.int("n_head")
            self.init(dim: dim, hiddenDim: try j.optInt("n_inner") ?? 4 * dim, layerCount: try j.int("n_layer"),
                      headCount: heads, kvHeadCount: heads, vocabSize: try j.int("vocab_size"),
                      contextLength: try j.int("n_positions"), ropeBase: 10000,
                      normEpsilon: try j.optFloat("layer_norm_epsilon") ?? 1e-5, architecture: .gpt2)
            normKind = .layer
            mlpKind = try Self.gelu(j, key: "activation_function", default: "gelu_new")
            learnedPositions = true
            ropeDims = 0
            if try j.optBool("scale_attn_by_inverse_layer_idx") == true {
                throw j.fail("scale_attn_by_inverse_layer_idx", "is true, which the engine does not support")
            }
            if try j.optBool("scale_attn_weights") == false { attentionScale = 1 }
            try validate(path: j.path)
            return
        }
        let dim = try j.int("hidden_size")
        let heads = try j.int("num_attention_heads")
        let epsKey = arch == .gptNeoX ? "layer_norm_eps" : "rms_norm_eps"
        // Global RoPE: transformers 4 keys, then transformers 5 `rope_parameters` (per layer type for Gemma 3).
        let globalRope = try rope?.optObject("full_attention") ?? rope
        let base = try j.optFloat(arch == .gptNeoX ? "rotary_emb_base" : "rope_theta")
            ?? globalRope?.optFloat("rope_theta") ?? 10000
        guard let hidden = try j.optInt("intermediate_size") ?? (arch == .gptNeoX ? 4 * dim : nil) else {
            throw j.fail("intermediate_size", "is missing")
        }
        self.init(dim: dim, hiddenDim: hidden,
                  layerCount: try j.int("num_hidden_layers"), headCount: heads,
                  kvHeadCount: try j.optInt("num_key_value_heads") ?? heads, vocabSize: try j.int("vocab_size"),
                  contextLength: try j.int("max_position_embeddings"), ropeBase: base,
                  normEpsilon: try j.optFloat(epsKey) ?? (arch == .gptNeoX ? 1e-5 : 1e-6), architecture: arch,
                  headDim: try j.optInt("head_dim") ?? (heads > 0 ? dim / heads : 0))
        ropeScaling = try Self.ropeScaling(j.optObject("rope_scaling") ?? globalRope)
        let window = try j.optInt("sliding_window")
        let layerTypes = try j.optStrings("layer_types")
        if let layerTypes, layerTypes.count != layerCount {
            throw j.fail("layer_types", "has \(layerTypes.count) entries for \(layerCount) layers")
        }
        switch arch {
        case .llama, .qwen2:
            // Mistral slides every layer; Qwen2 only with use_sliding_window, on the layers `layer_types` names.
            let slides = try modelType == "mistral" || (arch == .qwen2 && j.optBool("use_sliding_window") == true)
            if let window, slides {
                slidingWindow = window
                slidingLayers = layerTypes?.map { $0 == "sliding_attention" } ?? Array(repeating: true, count: layerCount)
            }
        case .gemma2, .gemma3:
            mlpKind = .geglu
            embeddingScale = Float(dim).squareRoot()
            postNorms = true
            slidingWindow = window
            if let qpas = try j.optFloat("query_pre_attn_scalar") { attentionScale = 1 / qpas.squareRoot() }
            if arch == .gemma2 {
                attentionSoftcap = try j.optFloat("attn_logit_softcapping")
                finalSoftcap = try j.optFloat("final_logit_softcapping")
                slidingLayers = layerTypes?.map { $0 == "sliding_attention" } ?? (0 ..< layerCount).map { $0 % 2 == 0 }
            } else {
                qkNorm = true
                let localRope = try rope?.optObject("sliding_attention")
                ropeLocalBase = try j.optFloat("rope_local_base_freq") ?? localRope?.optFloat("rope_theta") ?? 10000
                if try Self.ropeScaling(localRope) != nil { throw j.fail("rope_parameters", "scales the local RoPE, which the engine does not support") }
                let pattern = try j.optInt("sliding_window_pattern") ?? j.optInt("_sliding_window_pattern") ?? 6
                guard pattern > 0 else { throw j.fail("sliding_window_pattern", "is \(pattern), expected > 0") }
                slidingLayers = layerTypes?.map { $0 == "sliding_attention" } ?? (0 ..< layerCount).map { ($0 + 1) % pattern != 0 }
            }
        case .gptNeoX:
            normKind = .layer
            mlpKind = try Self.gelu(j, key: "hidden_act", default: "gelu")
            parallelResidual = try j.optBool("use_parallel_residual") ?? true
            let pct = try j.optFloat("rotary_pct") ?? j.optFloat("partial_rotary_factor")
                ?? globalRope?.optFloat("partial_rotary_factor") ?? 1
            ropeDims = Int(pct * Float(headDim))
        case .gpt2:
            break
        }
        try validate(path: j.path)
    }

    /// The GELU form named by `key` ("gelu" is exact; the tanh approximations under their names).
    private static func gelu(_ j: HFConfigJSON, key: String, default d: String) throws -> MLPKind {
        switch try j.optString(key) ?? d {
        case "gelu": return .geluErf
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
        case let other: throw j.fail(key, "is '\(other)'; supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast")
        }
    }

    /// Llama 3.1 scaling from a `rope_scaling` / `rope_parameters` object; nil for the default RoPE.
    private static func ropeScaling(_ r: HFConfigJSON?) throws -> Llama3RopeScaling? {
        guard let r else { return nil }
        let type = try r.optString("rope_type") ?? r.optString("type") ?? "default"
        switch type {
        case "default":
            return nil
        case "llama3":
            func need(_ k: String) throws -> Float {
                guard let v = try r.optFloat(k) else { throw r.fail(k, "is missing (needed by rope_type llama3)") }
                return v
            }
            return Llama3RopeScaling(factor: try need("factor"), lowFreqFactor: try need("low_freq_factor"),
                                     highFreqFactor: try need("high_freq_factor"),
                                     originalContextLength: try r.int("original_max_position_embeddings"))
        default:
            throw r.fail("rope_type", "is '\(type)'; supported: default, llama3")
        }
    }
}
