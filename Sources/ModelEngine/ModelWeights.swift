import Foundation
import TensorFormats

/// A norm's gain and (LayerNorm only) bias.
struct NormWeights: Sendable {
    let weight: [Float]
    let bias: [Float]?
}

/// All weights of a model, loaded once, under one layout for every family.
///
/// Matrices stay in their stored precision (GGUF blocks mapped from the file, F32/F16/BF16): prompt processing
/// decodes tiles into BLAS, the single-token step runs per-type kernels on the blocks. q/k rows of llama-architecture GGUFs are
/// un-permuted from llama.cpp's adjacent-pair order back to Hugging Face order at load, so RoPE always
/// rotates halves (i, i + r/2) and `hook_q`/`hook_k` match TransformerLens.
public final class ModelWeights: Sendable {
    /// One transformer block. Matrices [out, in] stay in their stored precision; a projection made of
    /// several stored tensors (q|k|v, gate|up) is a list whose outputs are concatenated.
    struct Layer: Sendable {
        let attnNorm: NormWeights
        /// q, k and v: one fused [qDim + 2·kvDim, dim] or three parts; q and k rows in HF order
        let qkv: [WeightMatrix]
        /// [qDim + 2·kvDim] (Qwen2, GPT-2, NeoX)
        let qkvBias: [Float]?
        /// [headDim] per-head RMSNorm gains (Gemma 3)
        let qNorm: [Float]?
        let kNorm: [Float]?
        /// [dim, qDim]
        let wo: [WeightMatrix]
        let woBias: [Float]?
        /// [dim] (Gemma 2/3)
        let postAttnNorm: [Float]?
        let ffnNorm: NormWeights
        /// gated: gate then up, each [hidden, dim]; otherwise up
        let gateUp: [WeightMatrix]
        let upBias: [Float]?
        /// [dim, hidden]
        let down: [WeightMatrix]
        let downBias: [Float]?
        let postFfnNorm: [Float]?
    }

    let layers: [Layer]
    /// [vocab, dim] (also the output projection when the model ties them).
    let tokenEmbedding: WeightMatrix
    /// [context, dim] learned positions (GPT-2).
    let positionEmbedding: [Float]?
    let outputNorm: NormWeights
    /// [vocab, dim]: `output.weight`, or the embedding when tied.
    let output: [WeightMatrix]
    /// Per rotary frequency divisor (llama.cpp's `rope_freqs`, Llama 3.1 scaling), [ropeDims / 2].
    let ropeFreqFactors: [Float]?

    /// Bytes of the matrices in their stored precision (mapped from the file where possible).
    public let storedBytes: Int
    /// Bytes of Float vectors (norms, biases, positions).
    public let floatBytes: Int
    /// Widest input of any matrix (the tile scratch of prompt processing holds tileRows of it).
    let widestInput: Int

    /// Loads and checks every tensor of `gguf` against `config`.
    public convenience init(gguf: GGUFFile, config: ModelConfig) throws {
        try self.init(source: GGUFWeightSource(gguf: gguf, architecture: config.architecture), config: config)
    }

    init(source: WeightSource, config c: ModelConfig) throws {
        var floatCount = 0
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard source.has(name) else { throw EngineError.invalidModel(path: source.path, reason: "missing tensor \(name)") }
            let dims = try source.dims(name)
            guard dims == shape else {
                throw EngineError.invalidModel(path: source.path, reason: "tensor \(name) has shape \(dims), expected \(shape) (GGUF order, fastest first)")
            }
            let values = try source.floats(name)
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw EngineError.invalidModel(path: source.path, reason: "tensor \(name) holds a non-finite value (\(values[bad])) at element \(bad)")
            }
            floatCount += values.count
            return values
        }
        /// A matrix in stored precision (rows reordered when asked), checked against `shape`.
        func matrix(_ name: String, _ shape: [Int], order: [Int]? = nil) throws -> WeightMatrix {
            guard source.has(name) else { throw EngineError.invalidModel(path: source.path, reason: "missing tensor \(name)") }
            let dims = try source.dims(name)
            guard dims == shape else {
                throw EngineError.invalidModel(path: source.path, reason: "tensor \(name) has shape \(dims), expected \(shape) (GGUF order, fastest first)")
            }
            let m = try source.matrix(name)
            return order.map { m.reorderedRows($0) } ?? m
        }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            source.has(name) ? try load(name, shape) : nil
        }
        func norm(_ prefix: String) throws -> NormWeights {
            NormWeights(weight: try load(prefix + ".weight", [c.dim]),
                        bias: c.normKind == .layer ? try load(prefix + ".bias", [c.dim]) : nil)
        }
        // Every blk.N tensor must belong to a block the metadata declares.
        if let gguf = (source as? GGUFWeightSource)?.gguf {
            for name in gguf.tensors.keys where name.hasPrefix("blk.") {
                let n = name.dropFirst(4).prefix { $0.isNumber }
                if let l = Int(n), l >= c.layerCount {
                    throw EngineError.invalidModel(path: source.path, reason: "tensor \(name) belongs to block \(l), but block_count is \(c.layerCount)")
                }
            }
        }
        let qkvWidth = c.qDim + 2 * c.kvDim
        let qOrder = source.permutedQK ? ModelWeights.hfRowOrder(heads: c.headCount, headDim: c.headDim) : nil
        let kOrder = source.permutedQK ? ModelWeights.hfRowOrder(heads: c.kvHeadCount, headDim: c.headDim) : nil
        var layers: [Layer] = []
        var stored = 0
        for l in 0 ..< c.layerCount {
            let p = "blk.\(l)."
            let qkv: [WeightMatrix]
            let qkvBias: [Float]?
            if source.has(p + "attn_qkv.weight") {
                qkv = [try matrix(p + "attn_qkv.weight", [c.dim, qkvWidth])]
                qkvBias = try optional(p + "attn_qkv.bias", [qkvWidth])
            } else {
                qkv = [try matrix(p + "attn_q.weight", [c.dim, c.qDim], order: qOrder),
                       try matrix(p + "attn_k.weight", [c.dim, c.kvDim], order: kOrder),
                       try matrix(p + "attn_v.weight", [c.dim, c.kvDim])]
                var bq = try optional(p + "attn_q.bias", [c.qDim])
                var bk = try optional(p + "attn_k.bias", [c.kvDim])
                let bv = try optional(p + "attn_v.bias", [c.kvDim])
                if let qOrder, let kOrder {
                    bq = bq.map { ModelWeights.reorderRows($0, order: qOrder, cols: 1) }
                    bk = bk.map { ModelWeights.reorderRows($0, order: kOrder, cols: 1) }
                }
                if bq != nil || bk != nil || bv != nil {
                    qkvBias = (bq ?? [Float](repeating: 0, count: c.qDim)) + (bk ?? [Float](repeating: 0, count: c.kvDim))
                        + (bv ?? [Float](repeating: 0, count: c.kvDim))
                } else {
                    qkvBias = nil
                }
            }
            let up = try matrix(p + "ffn_up.weight", [c.dim, c.hiddenDim])
            let gateUp = c.gatedMLP ? [try matrix(p + "ffn_gate.weight", [c.dim, c.hiddenDim]), up] : [up]
            let layer = Layer(
                attnNorm: try norm(p + "attn_norm"), qkv: qkv, qkvBias: qkvBias,
                qNorm: c.qkNorm ? try load(p + "attn_q_norm.weight", [c.headDim]) : nil,
                kNorm: c.qkNorm ? try load(p + "attn_k_norm.weight", [c.headDim]) : nil,
                wo: [try matrix(p + "attn_output.weight", [c.qDim, c.dim])],
                woBias: try optional(p + "attn_output.bias", [c.dim]),
                postAttnNorm: c.postNorms ? try load(p + "post_attention_norm.weight", [c.dim]) : nil,
                ffnNorm: try norm(p + "ffn_norm"), gateUp: gateUp,
                upBias: try optional(p + "ffn_up.bias", [c.hiddenDim]),
                down: [try matrix(p + "ffn_down.weight", [c.hiddenDim, c.dim])],
                downBias: try optional(p + "ffn_down.bias", [c.dim]),
                postFfnNorm: c.postNorms ? try load(p + "post_ffw_norm.weight", [c.dim]) : nil)
            stored += (layer.qkv + layer.wo + layer.gateUp + layer.down).reduce(0) { $0 + $1.byteCount }
            layers.append(layer)
        }
        self.layers = layers
        tokenEmbedding = try matrix("token_embd.weight", [c.dim, c.vocabSize])
        positionEmbedding = c.learnedPositions ? try load("position_embd.weight", [c.dim, c.contextLength]) : nil
        outputNorm = try norm("output_norm")
        if source.has("output.weight") {
            let m = try matrix("output.weight", [c.dim, c.vocabSize])
            output = [m]
            stored += m.byteCount
        } else {
            output = [tokenEmbedding]
        }
        stored += tokenEmbedding.byteCount
        ropeFreqFactors = try optional("rope_freqs.weight", [c.ropeDims / 2])
        storedBytes = stored
        floatBytes = floatCount * 4
        widestInput = max(c.dim, c.qDim, c.hiddenDim)
    }

    /// `order[r]` = GGUF row holding Hugging Face row r. llama.cpp's converter stores HF row (h, s·d/2 + i)
    /// at (h, 2i + s) so that RoPE can rotate adjacent pairs; this undoes it.
    static func hfRowOrder(heads: Int, headDim: Int) -> [Int] {
        let half = headDim / 2
        var order = [Int](repeating: 0, count: heads * headDim)
        for h in 0 ..< heads {
            for s in 0 ..< 2 {
                for i in 0 ..< half { order[h * headDim + s * half + i] = h * headDim + 2 * i + s }
            }
        }
        return order
    }

    /// The rows of `m` [rows, cols] taken in `order`.
    static func reorderRows(_ m: [Float], order: [Int], cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m.count)
        for (r, src) in order.enumerated() {
            for j in 0 ..< cols { out[r * cols + j] = m[src * cols + j] }
        }
        return out
    }
}
