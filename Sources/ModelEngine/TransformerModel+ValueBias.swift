extension TransformerModel {
    /// What TransformerLens's `from_pretrained` (fold_ln + fold_value_biases) removes from `blocks.L.attn.hook_z`:
    /// per query head h, b_V[g(h)] + β_ln1·W_V[g(h)] ([qDim], heads concatenated head-major; g(h) the KV head h reads).
    ///
    /// Attention weights sum to 1, so a raw z_h = Σ_s A_h[s]·(LN(x_s)·W_V + b_V) carries b_V + β·W_V unchanged; TL folds
    /// that constant into b_O, so its hook_z = raw z − this. All zeros for models without value biases and without a
    /// norm bias (llama, gemma); nonzero for GPT-2, Qwen2 (b_V) and GPT-NeoX (LayerNorm β and b_V).
    public func foldedValueBias(layer: Int) throws -> [Float] {
        let c = config
        guard layer >= 0, layer < c.layerCount else {
            throw EngineError.invalidHook(name: "blocks.\(layer).attn.hook_z", reason: "the model has \(c.layerCount) layers")
        }
        let w = weights.layers[layer]
        let vStart = c.qDim + c.kvDim
        var perKV = [Float](repeating: 0, count: c.kvDim)
        if let b = w.qkvBias {
            for j in 0 ..< c.kvDim { perKV[j] = b[vStart + j] }
        }
        if let beta = w.attnNorm.bias, beta.contains(where: { $0 != 0 }) {
            // Rows vStart ..< vStart + kvDim of the concatenated q|k|v projection, each dotted with β.
            var offset = 0
            for part in w.qkv {
                let lo = max(vStart, offset), hi = min(vStart + c.kvDim, offset + part.rows)
                if lo < hi {
                    var rowValues = [Float](repeating: 0, count: (hi - lo) * part.cols)
                    rowValues.withUnsafeMutableBufferPointer { part.decodeRows((lo - offset) ..< (hi - offset), into: $0.baseAddress!) }
                    for r in lo ..< hi {
                        var s: Float = 0
                        let base = (r - lo) * part.cols
                        for k in 0 ..< part.cols { s += rowValues[base + k] * beta[k] }
                        perKV[r - vStart] += s
                    }
                }
                offset += part.rows
            }
        }
        let group = max(1, c.headCount / max(1, c.kvHeadCount))
        var out = [Float](repeating: 0, count: c.qDim)
        for h in 0 ..< c.headCount {
            let g = h / group
            for j in 0 ..< c.headDim { out[h * c.headDim + j] = perKV[g * c.headDim + j] }
        }
        return out
    }
}
