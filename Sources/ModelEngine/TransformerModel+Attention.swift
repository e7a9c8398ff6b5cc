import FeaturescopeCore
import CBLAS

extension TransformerModel {
    /// Query rows per block of the causal attention products.
    static let attentionBlock = 64

    /// Scores per head (queries × keys) from which a quantized pass splits the heads over two threads.
    static let splitHeadsMinimumScores = 512

    /// Grouped-query causal attention of one sequence in block `layer`: per query head h (reading KV head
    /// h / groupSize) scores = q·kᵀ·scale (soft-capped where the family does), causal (and sliding-window)
    /// softmax, z = scores·v, written into `state.z` head-major. With a cache, this span's keys/values are
    /// appended first and the queries attend over the whole cache.
    /// Returns the pattern [heads, queries, keys] when asked to capture it.
    ///
    /// With `splitHeads` (quantized passes) and two or more decode threads, half the heads run on the shared
    /// `SpinWorker` (scratch `scoresSecond`) once the scores are large enough to pay for it; quantized passes also
    /// compute every query row with plain loops instead of BLAS (`useBLAS` false).
    func attention(layer: Int, span: SequenceSpan, state s: RunState, cache: KVCache?, capturePattern: Bool,
                   splitHeads: Bool = false, useBLAS: Bool = true) -> HookTensor? {
        let c = config
        let qDim = c.qDim, kvDim = c.kvDim, hd = c.headDim
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
        let scale = c.attentionScale
        let cap = c.attentionSoftcap
        let window = c.isSliding(layer) ? c.slidingWindow : nil
        /// First key visible from absolute position p.
        @inline(__always) func firstKey(_ p: Int) -> Int { window.map { max(0, p - $0 + 1) } ?? 0 }
        var pattern: [Float] = capturePattern ? [Float](repeating: 0, count: c.headCount * nq * nk) : []
        /// Heads `heads` with `scores` as scratch.
        func attend(_ heads: Range<Int>, _ scores: UnsafeMutablePointer<Float>) {
        for h in heads {
            let g = h / c.groupSize
            let qh = s.q.pointer + span.row * qDim + h * hd
            let kg = keys + g * hd
            let vg = values + g * hd
            let zh = s.z.pointer + span.row * qDim + h * hd
            if nq == 1 || !useBLAS {
                // Row by row: a generation step (plain loops beat two BLAS calls), and every quantized pass, which
                // calls no BLAS (its worker thread would spin beside the two that do the work; the heads are split
                // over those two instead).
                for i in 0 ..< nq {
                    let p = span.startPos + i
                    let lo = firstKey(p)
                    let qi = qh + i * qDim
                    for j in lo ... p { scores[j] = dotProduct(qi, kg + j * kvDim, hd) * scale }
                    if let cap { softcap(scores + lo, count: p + 1 - lo, cap: cap) }
                    softmaxMasked(scores + lo, valid: p + 1 - lo, count: p + 1 - lo)
                    weightedSum(zh + i * qDim, weights: scores + lo, rows: vg + lo * kvDim, stride: kvDim, count: p + 1 - lo, width: hd)
                    if capturePattern {
                        if lo > 0 { scores.update(repeating: 0, count: lo) }
                        if p + 1 < nk { (scores + p + 1).update(repeating: 0, count: nk - p - 1) }
                        pattern.withUnsafeMutableBufferPointer { pp in
                            pp.baseAddress.map { ($0 + (h * nq + i) * nk).update(from: scores, count: nk) }
                        }
                    }
                }
                continue
            }
            // Blocks of query rows attend only to the keys up to their last row (the causal triangle).
            var i0 = 0
            while i0 < nq {
                let i1 = min(nq, i0 + Self.attentionBlock)
                let keysNeeded = span.startPos + i1
                let block = scores + i0 * nk
                // scores[i0..<i1, 0..<keysNeeded] = q_h · k_gᵀ · scale
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(i1 - i0), Int32(keysNeeded), Int32(hd),
                            scale, qh + i0 * qDim, Int32(qDim), kg, Int32(kvDim), 0, block, Int32(nk))
                for i in i0 ..< i1 {
                    let row = scores + i * nk
                    let valid = span.startPos + i + 1
                    let lo = firstKey(valid - 1)
                    if let cap { softcap(row + lo, count: valid - lo, cap: cap) }
                    softmaxMasked(row + lo, valid: valid - lo, count: (capturePattern ? nk : keysNeeded) - lo)
                    if lo > 0 { row.update(repeating: 0, count: lo) }
                }
                // z_h[i0..<i1] = scores · v_g
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(i1 - i0), Int32(hd), Int32(keysNeeded),
                            1, block, Int32(nk), vg, Int32(kvDim), 0, zh + i0 * qDim, Int32(qDim))
                i0 = i1
            }
            if capturePattern {
                pattern.withUnsafeMutableBufferPointer { p in
                    p.baseAddress.map { ($0 + h * nq * nk).update(from: scores, count: nq * nk) }
                }
            }
        }
        }
        let heads = c.headCount
        if splitHeads, heads >= 2, !capturePattern, nq * nk >= Self.splitHeadsMinimumScores, #available(macOS 15.0, *) {
            // Half the heads on the shared worker (writes to z are disjoint; keys and values are only read).
            let half = heads / 2
            let first = s.scores.pointer, second = s.scoresSecond.pointer
            SpinWorker.shared.run(mine: { attend(0 ..< half, first) }, other: { attend(half ..< heads, second) })
        } else {
            attend(0 ..< heads, s.scores.pointer)
        }
        return capturePattern ? HookTensor(shape: [c.headCount, nq, nk], data: pattern) : nil
    }

    /// Attention of one sequence in block `layer` with given weights instead of computed ones: the query at
    /// absolute position p mixes the values of keys 0…p with `pattern[h, p, 0…p]` (a pattern [heads, T, T]
    /// captured from another run, T > every position here; checked by `run`). Keys and values are still
    /// computed and cached from this run, so only what is mixed changes, not where attention goes.
    func frozenAttention(layer: Int, span: SequenceSpan, state s: RunState, cache: KVCache?, pattern: HookTensor,
                         capturePattern: Bool) -> HookTensor? {
        let c = config
        let qDim = c.qDim, kvDim = c.kvDim, hd = c.headDim
        let values: UnsafeMutablePointer<Float>
        if let cache {
            (cache.keys[layer].pointer + span.startPos * kvDim).update(from: s.k.pointer + span.row * kvDim, count: span.count * kvDim)
            values = cache.values[layer].pointer
            (values + span.startPos * kvDim).update(from: s.v.pointer + span.row * kvDim, count: span.count * kvDim)
        } else {
            values = s.v.pointer + span.row * kvDim
        }
        let t = pattern.shape[1]
        let nq = span.count, nk = span.startPos + span.count
        var captured: [Float] = capturePattern ? [Float](repeating: 0, count: c.headCount * nq * nk) : []
        pattern.data.withUnsafeBufferPointer { pp in
            guard let base = pp.baseAddress else { return }
            for h in 0 ..< c.headCount {
                let vg = values + (h / c.groupSize) * hd
                for i in 0 ..< nq {
                    let p = span.startPos + i
                    let row = base + (h * t + p) * t
                    weightedSum(s.z.pointer + (span.row + i) * qDim + h * hd, weights: row, rows: vg, stride: kvDim,
                                count: p + 1, width: hd)
                    if capturePattern {
                        captured.withUnsafeMutableBufferPointer { cp in
                            cp.baseAddress.map { ($0 + (h * nq + i) * nk).update(from: row, count: p + 1) }
                        }
                    }
                }
            }
        }
        return capturePattern ? HookTensor(shape: [c.headCount, nq, nk], data: captured) : nil
    }
}
