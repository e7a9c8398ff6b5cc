import CBLAS

extension LlamaModel {
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
            // scores [nq, nk] = q_h · k_gᵀ · scale
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(nq), Int32(nk), Int32(hd),
                        scale, qh, Int32(dim), kg, Int32(kvDim), 0, scores, Int32(nk))
            for i in 0 ..< nq {
                softmaxMasked(scores + i * nk, valid: span.startPos + i + 1, count: nk)
            }
            if capturePattern {
                pattern.withUnsafeMutableBufferPointer { p in
                    p.baseAddress.map { ($0 + h * nq * nk).update(from: scores, count: nq * nk) }
                }
            }
            // z_h [nq, hd] = scores · v_g
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nq), Int32(hd), Int32(nk),
                        1, scores, Int32(nk), vg, Int32(kvDim), 0, s.z.pointer + span.row * dim + h * hd, Int32(dim))
        }
        return capturePattern ? HookTensor(shape: [c.headCount, nq, nk], data: pattern) : nil
    }
}
