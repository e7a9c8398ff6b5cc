import Foundation
import TensorFormats

/// A Hugging Face model folder (`config.json` with `model.safetensors`, or shards listed in
/// `model.safetensors.index.json`) as a weight source under GGUF names. Tensors are memory-mapped; F32/F16/BF16
/// matrices that need no change are served in place, the rest (GPT-2's transposed `Conv1D` weights, GPT-NeoX's
/// per-head fused QKV, Gemma's `1 + w` norms) as Float copies. Rows stay in Hugging Face order.
struct HFFolderWeightSource: WeightSource {
    let path: String
    let config: ModelConfig
    /// Where each Hugging Face tensor lives.
    let files: [String: SafetensorsFile]
    /// `tie_word_embeddings`: true: `output.weight` is absent even if `lm_head` is stored; false: `lm_head` /
    /// `embed_out` must be stored; nil (not in config.json): `output.weight` is there when they are.
    let tied: Bool?

    var permutedQK: Bool { false }

    /// Opens the safetensors file(s) of `folder` for a model described by `config`.
    init(folder: String, config: ModelConfig, tied: Bool?) throws {
        path = folder
        self.config = config
        self.tied = tied
        let single = folder + "/model.safetensors"
        let index = folder + "/model.safetensors.index.json"
        var files: [String: SafetensorsFile] = [:]
        if FileManager.default.fileExists(atPath: single) {
            let file = try Self.open(single)
            for name in file.tensors.keys { files[name] = file }
        } else if FileManager.default.fileExists(atPath: index) {
            let json = try HFConfigJSON(path: index)
            guard let map = json.values["weight_map"] as? [String: String] else {
                throw json.fail("weight_map", "is missing or not an object of tensor → file name")
            }
            var opened: [String: SafetensorsFile] = [:]
            for (tensor, shard) in map {
                guard !shard.contains("/"), !shard.hasPrefix(".") else { throw json.fail("weight_map", "names a file outside the folder: '\(shard)'") }
                if opened[shard] == nil {
                    let shardPath = folder + "/" + shard
                    guard FileManager.default.fileExists(atPath: shardPath) else {
                        throw EngineError.invalidModel(path: index, reason: "shard '\(shard)' (holding \(tensor)) is missing from the folder")
                    }
                    opened[shard] = try Self.open(shardPath)
                }
                guard let file = opened[shard], file.tensors[tensor] != nil else {
                    throw EngineError.invalidModel(path: index, reason: "tensor \(tensor) is not in its shard '\(shard)'")
                }
                files[tensor] = file
            }
        } else {
            throw EngineError.invalidModel(path: folder, reason: "no model.safetensors or model.safetensors.index.json in the folder")
        }
        self.files = files
        // Every block tensor must belong to a block config.json declares.
        for name in files.keys {
            let parts = name.split(separator: ".")
            for (i, part) in parts.enumerated().dropLast() where part == "layers" || part == "h" {
                if let l = Int(parts[i + 1]), l >= config.layerCount {
                    throw EngineError.invalidModel(path: folder, reason: "tensor \(name) belongs to block \(l), but config.json declares \(config.layerCount) layers")
                }
            }
        }
        if tied == false, !has("output.weight") {
            let names = hfNames("output.weight")?.0.joined(separator: " or ") ?? "lm_head.weight"
            throw EngineError.invalidModel(path: folder, reason: "config.json has tie_word_embeddings false, but \(names) is missing")
        }
    }

    private static func open(_ path: String) throws -> SafetensorsFile {
        do { return try SafetensorsFile(path: path) } catch {
            throw EngineError.invalidModel(path: path, reason: "\(error)")
        }
    }

    // MARK: - Names

    /// How a Hugging Face tensor becomes the GGUF one.
    enum Transform: Equatable {
        case none
        /// Conv1D [in, out] → [out, in].
        case transpose
        /// GPT-NeoX rows [head][q|k|v][d_head] → [Q; K; V] (weights and biases).
        case regroupQKV
        /// Gemma RMSNorm gain w → 1 + w.
        case plusOne
    }

    /// The Hugging Face tensor (the first stored of the candidate names) behind GGUF `name`, or nil.
    func resolve(_ name: String) -> (hf: String, file: SafetensorsFile, transform: Transform)? {
        guard let (candidates, transform) = hfNames(name) else { return nil }
        for c in candidates { if let f = files[c] { return (c, f, transform) } }
        return nil
    }

    /// Candidate Hugging Face names of GGUF `name` for this family (with and without the model prefix).
    func hfNames(_ name: String) -> ([String], Transform)? {
        let arch = config.architecture
        let isGemma = arch == .gemma2 || arch == .gemma3
        let prefixes: [String]
        let outputNames: [String]
        switch arch {
        case .gpt2: prefixes = ["", "transformer."]; outputNames = ["lm_head.weight"]
        case .gptNeoX: prefixes = ["gpt_neox."]; outputNames = ["embed_out.weight"]
        default:
            prefixes = ["model.", "model.language_model.", "language_model.model."]
            outputNames = ["lm_head.weight", "language_model.lm_head.weight"]
        }
        let suffix = name.hasSuffix(".bias") ? "bias" : "weight"
        let base = String(name.dropLast(suffix.count + 1))
        let normTransform: Transform = isGemma && suffix == "weight" ? .plusOne : .none
        if base == "output" {
            return tied == true ? nil : (outputNames, .none)
        }
        let local: String
        var transform = Transform.none
        if base.hasPrefix("blk.") {
            let parts = base.split(separator: ".", maxSplits: 2).map(String.init)
            guard parts.count == 3, let l = Int(parts[1]) else { return nil }
            guard let (part, t) = layerPart(parts[2], arch: arch, normTransform: normTransform, suffix: suffix) else { return nil }
            transform = t
            switch arch {
            case .gpt2: local = "h.\(l).\(part)"
            default: local = "layers.\(l).\(part)"
            }
        } else {
            switch (arch, base) {
            case (.gpt2, "token_embd"): local = "wte"
            case (.gpt2, "position_embd"): local = "wpe"
            case (.gpt2, "output_norm"): local = "ln_f"
            case (.gptNeoX, "token_embd"): local = "embed_in"
            case (.gptNeoX, "output_norm"): local = "final_layer_norm"
            case (.gpt2, _), (.gptNeoX, _): return nil
            case (_, "token_embd"): local = "embed_tokens"
            case (_, "output_norm"): local = "norm"; transform = normTransform
            default: return nil
            }
        }
        return (prefixes.map { $0 + local + "." + suffix }, transform)
    }

    /// The Hugging Face name of a block tensor (`attn_q` → `self_attn.q_proj`) and its transform.
    private func layerPart(_ part: String, arch: ModelArchitecture, normTransform: Transform,
                           suffix: String) -> (String, Transform)? {
        switch arch {
        case .gpt2:
            let conv: Transform = suffix == "weight" ? .transpose : .none
            switch part {
            case "attn_norm": return ("ln_1", .none)
            case "ffn_norm": return ("ln_2", .none)
            case "attn_qkv": return ("attn.c_attn", conv)
            case "attn_output": return ("attn.c_proj", conv)
            case "ffn_up": return ("mlp.c_fc", conv)
            case "ffn_down": return ("mlp.c_proj", conv)
            default: return nil
            }
        case .gptNeoX:
            switch part {
            case "attn_norm": return ("input_layernorm", .none)
            case "ffn_norm": return ("post_attention_layernorm", .none)
            case "attn_qkv": return ("attention.query_key_value", .regroupQKV)
            case "attn_output": return ("attention.dense", .none)
            case "ffn_up": return ("mlp.dense_h_to_4h", .none)
            case "ffn_down": return ("mlp.dense_4h_to_h", .none)
            default: return nil
            }
        default:
            let gemma = arch == .gemma2 || arch == .gemma3
            switch part {
            case "attn_norm": return ("input_layernorm", normTransform)
            case "ffn_norm": return (gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm", normTransform)
            case "post_attention_norm": return gemma ? ("post_attention_layernorm", normTransform) : nil
            case "post_ffw_norm": return gemma ? ("post_feedforward_layernorm", normTransform) : nil
            case "attn_q_norm": return ("self_attn.q_norm", normTransform)
            case "attn_k_norm": return ("self_attn.k_norm", normTransform)
            case "attn_q": return ("self_attn.q_proj", .none)
            case "attn_k": return ("self_attn.k_proj", .none)
            case "attn_v": return ("self_attn.v_proj", .none)
            case "attn_output": return ("self_attn.o_proj", .none)
            case "ffn_gate": return ("mlp.gate_proj", .none)
            case "ffn_up": return ("mlp.up_proj", .none)
            case "ffn_down": return ("mlp.down_proj", .none)
            default: return nil
            }
        }
    }

    // MARK: - WeightSource

    func has(_ name: String) -> Bool { resolve(name) != nil }

    private func find(_ name: String) throws -> (hf: String, file: SafetensorsFile, transform: Transform, info: SafetensorsTensorInfo) {
        guard let (hf, file, transform) = resolve(name), let info = file.tensors[hf] else {
            let expected = hfNames(name)?.0.first.map { " (Hugging Face \($0))" } ?? ""
            throw EngineError.invalidModel(path: path, reason: "missing tensor \(name)\(expected)")
        }
        guard [.F32, .F16, .BF16].contains(info.dtype) else {
            throw EngineError.invalidModel(path: file.path, reason: "tensor \(hf) has dtype \(info.dtype.rawValue); expected F32, F16 or BF16")
        }
        guard info.shape.count == 1 || info.shape.count == 2 else {
            throw EngineError.invalidModel(path: file.path, reason: "tensor \(hf) has shape \(info.shape); expected a vector or a matrix")
        }
        return (hf, file, transform, info)
    }

    func dims(_ name: String) throws -> [Int] {
        let t = try find(name)
        // GGUF order is input width first: the reverse of a PyTorch shape, except Conv1D which is [in, out] already.
        return t.transform == .transpose ? t.info.shape : t.info.shape.reversed()
    }

    func floats(_ name: String) throws -> [Float] {
        let t = try find(name)
        let values = try t.file.floats(t.hf)
        switch t.transform {
        case .none: return values
        case .plusOne: return values.map { 1 + $0 }
        case .transpose:
            guard t.info.shape.count == 2 else { return values }
            let (rows, cols) = (t.info.shape[0], t.info.shape[1])
            var out = [Float](repeating: 0, count: values.count)
            for r in 0 ..< rows { for c in 0 ..< cols { out[c * rows + r] = values[r * cols + c] } }
            return out
        case .regroupQKV:
            let cols = t.info.shape.count == 2 ? t.info.shape[1] : 1
            let rows = t.info.shape[0]
            let hd = config.headDim, heads = config.headCount
            guard rows == 3 * heads * hd, config.kvHeadCount == heads else {
                throw EngineError.invalidModel(path: t.file.path, reason: "tensor \(t.hf) has \(rows) rows, expected 3 · \(heads) heads · \(hd)")
            }
            var out = [Float](repeating: 0, count: values.count)
            for h in 0 ..< heads {
                for p in 0 ..< 3 {
                    for i in 0 ..< hd {
                        let src = (h * 3 + p) * hd + i, dst = (p * heads + h) * hd + i
                        for c in 0 ..< cols { out[dst * cols + c] = values[src * cols + c] }
                    }
                }
            }
            return out
        }
    }

    func matrix(_ name: String) throws -> WeightMatrix {
        let t = try find(name)
        guard t.info.shape.count == 2 else {
            throw EngineError.invalidModel(path: t.file.path, reason: "tensor \(t.hf) has shape \(t.info.shape), expected a matrix")
        }
        let d = try dims(name)
        if t.transform != .none {
            return WeightMatrix(floats: try floats(name), rows: d[1], cols: d[0])
        }
        let raw = try t.file.rawBytes(t.hf)
        guard let base = raw.baseAddress else { throw EngineError.invalidModel(path: t.file.path, reason: "tensor \(t.hf) is empty") }
        let type: GGMLType = t.info.dtype == .F32 ? .f32 : (t.info.dtype == .F16 ? .f16 : .bf16)
        return WeightMatrix(type: type, rows: d[1], cols: d[0], base: base, owner: t.file.file)
    }
}
