import CBLAS

extension LlamaModel {
    /// Query rows per block of the causal attention products.
    static let attentionBlock = 64

    /// Grouped-query causal attention of one sequence in block `layer`: per query head h (reading KV head
    /// h / groupSize) scores = q·kᵀ/√d_head, causal softmax, z = scores·v, written into `state.z` head-major.
    /// With a cache, this span's keys/values are appended first and the queries attend over the whole cache.
    /// Returns the pattern [heads, queries, keys] when asked to capture it.
    func attention(layer: Int, span: SequenceSpan, state s: RunState, cache: KVCache?, capturePattern: Bool) -> HookTensor? {
        let c = config
        let dim = c.dim, kvDim = c.kvDim, hd = c.headDim
        let keys: UnsafeMutablePointer<Float>
        let values: UnsafeMutablePointer<Float>
        if let cache {
            keys = cache.keys[layer].pointer
            values = cache.values[layer].pointer
            (keys + span.startPos * kvDim).update(from: s.k.pointer + span.row * kvDim, count: span.count * kvDim)
            (values + span.startPos * kvDim).update(from: s.v.pointer + span.row * kvDim, count: span.count * kvDim)
        } else {
            keys = s.k.pointer + span.row * kvDim
            values = s.v.pointer + span.row * kvDim
        }
        let nq = span.count
        let nk = span.startPos + span.count
        let scale = 1 / Float(hd).squareRoot()
        let scores = s.scores.pointer
        var pattern: [Float] = capturePattern ? [Float](repeating: 0, count: c.headCount * nq * nk) : []
        for h in 0 ..< c.headCount {
            let g = h / c.groupSize
            let qh = s.q.pointer + span.row * dim + h * hd
            let kg = keys + g * hd
            let vg = values + g * hd
            let zh = s.z.pointer + span.row * dim + h * hd
            if nq == 1 {
                // One query (a generation step): plain loops beat two BLAS calls.
                for j in 0 ..< nk { scores[j] = dotProduct(qh, kg + j * kvDim, count: hd) * scale }
                softmaxMasked(scores, valid: nk, count: nk)
                weightedSum(zh, weights: scores, rows: vg, stride: kvDim, count: nk, width: hd)
            } else {
                // Blocks of query rows attend only to the keys up to their last row (the causal triangle).
                var i0 = 0
                while i0 < nq {
                    let i1 = min(nq, i0 + Self.attentionBlock)
                    let keysNeeded = span.startPos + i1
                    let block = scores + i0 * nk
                    // scores[i0..<i1, 0..<keysNeeded] = q_h · k_gᵀ · scale
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(i1 - i0), Int32(keysNeeded), Int32(hd),
                                scale, qh + i0 * dim, Int32(dim), kg, Int32(kvDim), 0, block, Int32(nk))
                    for i in i0 ..< i1 {
                        softmaxMasked(scores + i * nk, valid: span.startPos + i + 1, count: capturePattern ? nk : keysNeeded)
                    }
                    // z_h[i0..<i1] = scores · v_g
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(i1 - i0), Int32(hd), Int32(keysNeeded),
                                1, block, Int32(nk), vg, Int32(kvDim), 0, zh + i0 * dim, Int32(dim))
                    i0 = i1
                }
            }
            if capturePattern {
                pattern.withUnsafeMutableBufferPointer { p in
                    p.baseAddress.map { ($0 + h * nq * nk).update(from: scores, count: nq * nk) }
                }
            }
        }
        return capturePattern ? HookTensor(shape: [c.headCount, nq, nk], data: pattern) : nil
    }
}
