import Foundation
import TensorFormats

/// All weights of a Llama model, loaded once.
///
/// Two copies of each matrix: Float (dequantized exactly from the GGUF blocks) for the BLAS prompt path,
/// and 4/8-bit blocks for the memory-bound single-token step. `attn_q`/`attn_k` rows are un-permuted
/// from llama.cpp's adjacent-pair order back to Hugging Face order at load, so RoPE rotates halves
/// (i, i + d_head/2) and `hook_q`/`hook_k` match TransformerLens.
public final class LlamaWeights: Sendable {
    /// One transformer block. Matrices are [out, in] row-major.
    public struct Layer: Sendable {
        /// [dim]
        let attnNorm: [Float]
        /// q, k and v stacked: [dim + 2·kvDim, dim]; q and k rows in HF order
        let wqkv: [Float]
        /// [dim, dim]
        let wo: [Float]
        /// [dim]
        let ffnNorm: [Float]
        /// gate and up stacked: [2·hidden, dim]
        let wGateUp: [Float]
        /// [dim, hidden]
        let wDown: [Float]
        /// q, k and v stacked: [dim + 2·kvDim, dim] (single-token step)
        let qkvQuant: QuantizedMatrix
        /// [dim, dim]
        let woQuant: QuantizedMatrix
        /// gate and up stacked: [2·hidden, dim]
        let gateUpQuant: QuantizedMatrix
        /// [dim, hidden]
        let downQuant: QuantizedMatrix
    }

    public let layers: [Layer]
    /// [vocab, dim] (also the output projection when the model ties them).
    let tokenEmbedding: [Float]
    /// [dim]
    let outputNorm: [Float]
    /// [vocab, dim] when the model has its own `output.weight`; nil when tied to the embedding.
    let output: [Float]?
    /// Output projection in blocks, [vocab, dim].
    let outputQuant: QuantizedMatrix

    /// Bytes held by the Float weights.
    public let floatBytes: Int
    /// Bytes held by the quantized copies.
    public let quantizedBytes: Int

    /// Loads and checks every tensor of `gguf` against `config`.
    public init(gguf: GGUFFile, config c: LlamaConfig) throws {
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            let info: GGUFTensorInfo
            do { info = try gguf.info(name) } catch {
                throw EngineError.invalidModel(path: gguf.path, reason: "missing tensor \(name)")
            }
            guard info.dims == shape else {
                throw EngineError.invalidModel(path: gguf.path, reason: "tensor \(name) has shape \(info.dims), expected \(shape) (GGUF order, fastest first)")
            }
            return try gguf.dequantize(name)
        }
        let qOrder = LlamaWeights.hfRowOrder(heads: c.headCount, headDim: c.headDim)
        let kOrder = LlamaWeights.hfRowOrder(heads: c.kvHeadCount, headDim: c.headDim)
        var layers: [Layer] = []
        var floatCount = 0
        var quantBytes = 0
        for l in 0 ..< c.layerCount {
            let p = "blk.\(l)."
            let wq = LlamaWeights.reorderRows(try load(p + "attn_q.weight", [c.dim, c.dim]), order: qOrder, cols: c.dim)
            let wk = LlamaWeights.reorderRows(try load(p + "attn_k.weight", [c.dim, c.kvDim]), order: kOrder, cols: c.dim)
            let wv = try load(p + "attn_v.weight", [c.dim, c.kvDim])
            let wo = try load(p + "attn_output.weight", [c.dim, c.dim])
            let wGate = try load(p + "ffn_gate.weight", [c.dim, c.hiddenDim])
            let wUp = try load(p + "ffn_up.weight", [c.dim, c.hiddenDim])
            let wDown = try load(p + "ffn_down.weight", [c.hiddenDim, c.dim])
            let qkv = try QuantizedMatrix.stacked([
                QuantizedMatrix(gguf: gguf, name: p + "attn_q.weight", rowOrder: qOrder),
                QuantizedMatrix(gguf: gguf, name: p + "attn_k.weight", rowOrder: kOrder),
                QuantizedMatrix(gguf: gguf, name: p + "attn_v.weight"),
            ])
            let gateUp = try QuantizedMatrix.stacked([
                QuantizedMatrix(gguf: gguf, name: p + "ffn_gate.weight"),
                QuantizedMatrix(gguf: gguf, name: p + "ffn_up.weight"),
            ])
            let layer = Layer(
                attnNorm: try load(p + "attn_norm.weight", [c.dim]), wqkv: wq + wk + wv, wo: wo,
                ffnNorm: try load(p + "ffn_norm.weight", [c.dim]), wGateUp: wGate + wUp, wDown: wDown,
                qkvQuant: qkv, woQuant: try QuantizedMatrix(gguf: gguf, name: p + "attn_output.weight"),
                gateUpQuant: gateUp, downQuant: try QuantizedMatrix(gguf: gguf, name: p + "ffn_down.weight"))
            floatCount += wq.count + wk.count + wv.count + wo.count + wGate.count + wUp.count + wDown.count + 2 * c.dim
            quantBytes += qkv.byteCount + layer.woQuant.byteCount + gateUp.byteCount + layer.downQuant.byteCount
            layers.append(layer)
        }
        self.layers = layers
        tokenEmbedding = try load("token_embd.weight", [c.dim, c.vocabSize])
        outputNorm = try load("output_norm.weight", [c.dim])
        if gguf.tensors["output.weight"] != nil {
            let out = try load("output.weight", [c.dim, c.vocabSize])
            output = out
            outputQuant = try QuantizedMatrix(gguf: gguf, name: "output.weight")
            floatCount += out.count
        } else {
            output = nil
            outputQuant = try QuantizedMatrix(gguf: gguf, name: "token_embd.weight")
        }
        floatCount += tokenEmbedding.count + outputNorm.count
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
            // Mixed kinds: fall back to 8-bit for all of them.
            let floats = parts.flatMap { m in (0 ..< m.rows).flatMap { m.dequantizedRow($0) } }
            let rows = parts.reduce(0) { $0 + $1.rows }
            return QuantizedMatrix(floats: floats, rows: rows, cols: parts.first?.cols ?? 32)
        }
        return QuantizedMatrix(kind: first.kind, rows: parts.reduce(0) { $0 + $1.rows }, cols: first.cols,
                               scales: parts.flatMap(\.scales), mins: parts.flatMap(\.mins), quants: parts.flatMap(\.quants))
    }
}
