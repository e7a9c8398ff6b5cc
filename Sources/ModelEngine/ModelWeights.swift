import Foundation
import TensorFormats

/// A norm's gain and (LayerNorm only) bias.
struct NormWeights: Sendable {
    let weight: [Float]
    let bias: [Float]?
}

/// All weights of a model, loaded once, under one layout for every family.
///
/// Two copies of each matrix: Float (decoded exactly from the stored blocks) for the BLAS prompt path,
/// and 32-value blocks for the memory-bound single-token step. q/k rows of llama-architecture GGUFs are
/// un-permuted from llama.cpp's adjacent-pair order back to Hugging Face order at load, so RoPE always
/// rotates halves (i, i + r/2) and `hook_q`/`hook_k` match TransformerLens.
public final class ModelWeights: Sendable {
    /// One transformer block. Matrices are [out, in] row-major.
    struct Layer: Sendable {
        let attnNorm: NormWeights
        /// q, k and v stacked: [qDim + 2·kvDim, dim]; q and k rows in HF order
        let wqkv: [Float]
        /// [qDim + 2·kvDim] (Qwen2, GPT-2, NeoX)
        let qkvBias: [Float]?
        /// [headDim] per-head RMSNorm gains (Gemma 3)
        let qNorm: [Float]?
        let kNorm: [Float]?
        /// [dim, qDim]
        let wo: [Float]
        let woBias: [Float]?
        /// [dim] (Gemma 2/3)
        let postAttnNorm: [Float]?
        let ffnNorm: NormWeights
        /// gated: gate and up stacked [2·hidden, dim]; otherwise up [hidden, dim]
        let wGateUp: [Float]
        let upBias: [Float]?
        /// [dim, hidden]
        let wDown: [Float]
        let downBias: [Float]?
        let postFfnNorm: [Float]?
        let qkvQuant: QuantizedMatrix
        let woQuant: QuantizedMatrix
        let gateUpQuant: QuantizedMatrix
        let downQuant: QuantizedMatrix
    }

    let layers: [Layer]
    /// [vocab, dim] (also the output projection when the model ties them).
    let tokenEmbedding: [Float]
    /// [context, dim] learned positions (GPT-2).
    let positionEmbedding: [Float]?
    let outputNorm: NormWeights
    /// [vocab, dim] when the model has its own `output.weight`; nil when tied to the embedding.
    let output: [Float]?
    /// Output projection in blocks, [vocab, dim].
    let outputQuant: QuantizedMatrix
    /// Per rotary frequency divisor (llama.cpp's `rope_freqs`, Llama 3.1 scaling), [ropeDims / 2].
    let ropeFreqFactors: [Float]?

    /// Bytes held by the Float weights.
    public let floatBytes: Int
    /// Bytes held by the quantized copies.
    public let quantizedBytes: Int

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
        /// The Float copy of a matrix (prompt path), checked for non-finite values.
        func floats(_ m: WeightMatrix, _ name: String) throws -> [Float] {
            let values = m.decoded()
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw EngineError.invalidModel(path: source.path, reason: "tensor \(name) holds a non-finite value (\(values[bad])) at element \(bad)")
            }
            floatCount += values.count
            return values
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
        var quantBytes = 0
        for l in 0 ..< c.layerCount {
            let p = "blk.\(l)."
            let wqkv: [Float]
            let qkvBias: [Float]?
            let qkvQuant: QuantizedMatrix
            if source.has(p + "attn_qkv.weight") {
                let m = try matrix(p + "attn_qkv.weight", [c.dim, qkvWidth])
                wqkv = try floats(m, p + "attn_qkv.weight")
                qkvBias = try optional(p + "attn_qkv.bias", [qkvWidth])
                qkvQuant = try QuantizedMatrix(m)
            } else {
                let mq = try matrix(p + "attn_q.weight", [c.dim, c.qDim], order: qOrder)
                let mk = try matrix(p + "attn_k.weight", [c.dim, c.kvDim], order: kOrder)
                let mv = try matrix(p + "attn_v.weight", [c.dim, c.kvDim])
                var bq = try optional(p + "attn_q.bias", [c.qDim])
                var bk = try optional(p + "attn_k.bias", [c.kvDim])
                let bv = try optional(p + "attn_v.bias", [c.kvDim])
                if let qOrder, let kOrder {
                    bq = bq.map { ModelWeights.reorderRows($0, order: qOrder, cols: 1) }
                    bk = bk.map { ModelWeights.reorderRows($0, order: kOrder, cols: 1) }
                }
                wqkv = try floats(mq, p + "attn_q.weight") + floats(mk, p + "attn_k.weight") + floats(mv, p + "attn_v.weight")
                if bq != nil || bk != nil || bv != nil {
                    qkvBias = (bq ?? [Float](repeating: 0, count: c.qDim)) + (bk ?? [Float](repeating: 0, count: c.kvDim))
                        + (bv ?? [Float](repeating: 0, count: c.kvDim))
                } else {
                    qkvBias = nil
                }
                qkvQuant = try QuantizedMatrix.stacked([QuantizedMatrix(mq), QuantizedMatrix(mk), QuantizedMatrix(mv)])
            }
            let gated = c.gatedMLP
            let mUp = try matrix(p + "ffn_up.weight", [c.dim, c.hiddenDim])
            let mGate = gated ? try matrix(p + "ffn_gate.weight", [c.dim, c.hiddenDim]) : nil
            let wGateUp = try (mGate.map { try floats($0, p + "ffn_gate.weight") } ?? []) + floats(mUp, p + "ffn_up.weight")
            let gateUpQuant = try mGate.map { try QuantizedMatrix.stacked([QuantizedMatrix($0), QuantizedMatrix(mUp)]) }
                ?? QuantizedMatrix(mUp)
            let mo = try matrix(p + "attn_output.weight", [c.qDim, c.dim])
            let mDown = try matrix(p + "ffn_down.weight", [c.hiddenDim, c.dim])
            let layer = Layer(
                attnNorm: try norm(p + "attn_norm"), wqkv: wqkv, qkvBias: qkvBias,
                qNorm: c.qkNorm ? try load(p + "attn_q_norm.weight", [c.headDim]) : nil,
                kNorm: c.qkNorm ? try load(p + "attn_k_norm.weight", [c.headDim]) : nil,
                wo: try floats(mo, p + "attn_output.weight"),
                woBias: try optional(p + "attn_output.bias", [c.dim]),
                postAttnNorm: c.postNorms ? try load(p + "post_attention_norm.weight", [c.dim]) : nil,
                ffnNorm: try norm(p + "ffn_norm"), wGateUp: wGateUp,
                upBias: try optional(p + "ffn_up.bias", [c.hiddenDim]),
                wDown: try floats(mDown, p + "ffn_down.weight"),
                downBias: try optional(p + "ffn_down.bias", [c.dim]),
                postFfnNorm: c.postNorms ? try load(p + "post_ffw_norm.weight", [c.dim]) : nil,
                qkvQuant: qkvQuant, woQuant: try QuantizedMatrix(mo),
                gateUpQuant: gateUpQuant, downQuant: try QuantizedMatrix(mDown))
            quantBytes += qkvQuant.byteCount + layer.woQuant.byteCount + gateUpQuant.byteCount + layer.downQuant.byteCount
            layers.append(layer)
        }
        self.layers = layers
        let embedding = try matrix("token_embd.weight", [c.dim, c.vocabSize])
        tokenEmbedding = try floats(embedding, "token_embd.weight")
        positionEmbedding = c.learnedPositions ? try load("position_embd.weight", [c.dim, c.contextLength]) : nil
        outputNorm = try norm("output_norm")
        if source.has("output.weight") {
            let m = try matrix("output.weight", [c.dim, c.vocabSize])
            output = try floats(m, "output.weight")
            outputQuant = try QuantizedMatrix(m)
        } else {
            output = nil
            outputQuant = try QuantizedMatrix(embedding)
        }
        ropeFreqFactors = try optional("rope_freqs.weight", [c.ropeDims / 2])
        quantBytes += outputQuant.byteCount
        floatBytes = floatCount * 4
        quantizedBytes = quantBytes
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

extension QuantizedMatrix {
    /// Matrices of the same kind and width stacked by rows (q|k|v, gate|up) so one threaded call covers them.
    static func stacked(_ parts: [QuantizedMatrix]) throws -> QuantizedMatrix {
        guard let first = parts.first, parts.allSatisfy({ $0.kind == first.kind && $0.cols == first.cols }) else {
            // Mixed kinds: widen the 4-bit ones to the 8-bit form (exact: same scales and minimums).
            return QuantizedMatrix(kind: .bytes, rows: parts.reduce(0) { $0 + $1.rows }, cols: parts.first?.cols ?? 32,
                                   scales: parts.flatMap(\.scales), mins: parts.flatMap(\.mins),
                                   quants: parts.flatMap { $0.kind == .bytes ? $0.quants : $0.widenedQuants() })
        }
        return QuantizedMatrix(kind: first.kind, rows: parts.reduce(0) { $0 + $1.rows }, cols: first.cols,
                               scales: parts.flatMap(\.scales), mins: parts.flatMap(\.mins), quants: parts.flatMap(\.quants))
    }

    /// The 4-bit levels as one byte each, in element order ([rows, cols]).
    func widenedQuants() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows * cols)
        let nb = blocksPerRow
        for r in 0 ..< rows {
            for b in 0 ..< nb {
                for j in 0 ..< 16 {
                    let byte = quants[(r * nb + b) * 16 + j]
                    out[r * cols + b * 32 + j] = byte & 0x0F
                    out[r * cols + b * 32 + j + 16] = byte >> 4
                }
            }
        }
        return out
    }
}
