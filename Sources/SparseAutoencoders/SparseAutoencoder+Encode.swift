import CBLAS

extension SparseAutoencoder {
    /// Rows per matrix multiply; bounds scratch memory to rows × d_sae floats.
    static let encodeChunkRows = 128

    /// The most latents a token can keep: k for topk, else every latent; `keepTop` caps it.
    func latentLimit(keepTop: Int?) -> Int {
        var limit = config.architecture == .topk ? (config.k ?? dSAE) : dSAE
        if let keepTop { limit = min(limit, max(1, keepTop)) }
        return limit
    }

    // MARK: - Encode

    /// Encodes `count` positions of `x` ([count, d_in] row-major) into sparse codes.
    ///
    /// pre = (norm(x) − b_dec)·W_enc + b_enc with one `cblas_sgemm` per chunk of rows, the
    /// architecture's activation, then a heap-based top-k (no full sort). `keepTop` keeps at most
    /// that many latents per token (for non-topk SAEs whose L0 is large).
    public func encode(_ x: UnsafeBufferPointer<Float>, count n: Int, keepTop: Int? = nil) throws -> SparseCodes {
        guard n >= 0, n <= x.count, x.count == n * dIn else {
            throw SAEError.inputShape(what: "encode input [\(n), \(dIn)]", expected: max(0, n).multipliedReportingOverflow(by: dIn).partialValue, found: x.count)
        }
        guard n > 0, let xBase = x.baseAddress else {
            return SparseCodes(tokenCount: 0, latentCount: dSAE, offsets: [0], indices: [], values: [])
        }
        let limit = latentLimit(keepTop: keepTop)
        var offsets = [Int](); offsets.reserveCapacity(n + 1); offsets.append(0)
        var indices = [Int32](), values = [Float]()
        if limit < dSAE { indices.reserveCapacity(n * limit); values.reserveCapacity(n * limit) }
        let perToken = config.normalizeActivations == .constantNormRescale || config.normalizeActivations == .layerNorm
        var outScale = [Float](), outShift = [Float]()
        if perToken { outScale.reserveCapacity(n); outShift.reserveCapacity(n) }

        let chunk = min(n, SparseAutoencoder.encodeChunkRows)
        var selector = TopKSelector(capacity: limit)
        var xc = [Float](repeating: 0, count: chunk * dIn)
        var pre = [Float](repeating: 0, count: chunk * dSAE)
        var start = 0
        while start < n {
            let rows = min(chunk, n - start)
            xc.withUnsafeMutableBufferPointer { xcBuf in
                for r in 0 ..< rows {
                    let (s, t) = prepareInputRow(xBase + (start + r) * dIn, into: xcBuf.baseAddress! + r * dIn)
                    if perToken { outScale.append(s); outShift.append(t) }
                }
            }
            multiplyEncoder(xc, rows: rows, into: &pre)
            pre.withUnsafeMutableBufferPointer { preBuf in
                for r in 0 ..< rows {
                    let row = preBuf.baseAddress! + r * dSAE
                    activateRow(row)
                    for f in 0 ..< dSAE where row[f] > 0 { selector.offer(row[f], Int32(f)) }
                    selector.drain(indices: &indices, values: &values)
                    offsets.append(values.count)
                }
            }
            start += rows
        }
        return SparseCodes(tokenCount: n, latentCount: dSAE, offsets: offsets, indices: indices, values: values,
                           outputScale: outScale, outputShift: outShift)
    }

    /// Array convenience for `encode(_:count:keepTop:)`.
    public func encode(_ x: [Float], count n: Int, keepTop: Int? = nil) throws -> SparseCodes {
        try x.withUnsafeBufferPointer { try encode($0, count: n, keepTop: keepTop) }
    }

    /// Dense encoder pre-activations [count, d_sae]: (norm(x) − b_dec)·W_enc + b_enc (gated: + b_gate).
    ///
    /// For `rescale_acts_by_decoder_norm` SAEs this is the rescaled pre-activation (the value top-k ranks).
    public func preActivations(_ x: [Float], count n: Int) throws -> [Float] {
        guard n >= 0, n <= x.count, x.count == n * dIn else {
            throw SAEError.inputShape(what: "preActivations input [\(n), \(dIn)]", expected: max(0, n).multipliedReportingOverflow(by: dIn).partialValue, found: x.count)
        }
        if n == 0 { return [] }
        var xc = [Float](repeating: 0, count: n * dIn)
        x.withUnsafeBufferPointer { xb in
            xc.withUnsafeMutableBufferPointer { xcb in
                for r in 0 ..< n { _ = prepareInputRow(xb.baseAddress! + r * dIn, into: xcb.baseAddress! + r * dIn) }
            }
        }
        var pre = [Float](repeating: 0, count: n * dSAE)
        multiplyEncoder(xc, rows: n, into: &pre)
        for r in 0 ..< n {
            for f in 0 ..< dSAE { pre[r * dSAE + f] += encoderBias[f] }
        }
        return pre
    }

    /// Dense feature activations [count, d_sae] (zeros where inactive).
    public func encodeDense(_ x: [Float], count n: Int, keepTop: Int? = nil) throws -> [Float] {
        let codes = try encode(x, count: n, keepTop: keepTop)
        var out = [Float](repeating: 0, count: n * dSAE)
        for t in 0 ..< n {
            for e in codes.range(ofToken: t) { out[t * dSAE + Int(codes.indices[e])] = codes.values[e] }
        }
        return out
    }

    // MARK: - Decode

    /// Reconstructs [tokenCount, d_out] (d_out = d_in for an SAE): Σ value·W_dec[latent] + b_dec, then undoes per-token normalisation.
    public func decode(_ codes: SparseCodes) throws -> [Float] {
        guard codes.latentCount == dSAE else {
            throw SAEError.inputShape(what: "decode: codes' latent count", expected: dSAE, found: codes.latentCount)
        }
        guard codes.isWellFormed else {
            throw SAEError.invalidArgument("decode: sparse codes are inconsistent (offsets, indices and values disagree)")
        }
        let n = codes.tokenCount
        var out = [Float](repeating: 0, count: n * dOut)
        decoderWeight.withUnsafeBufferPointer { wd in
            out.withUnsafeMutableBufferPointer { ob in
                for t in 0 ..< n {
                    let o = ob.baseAddress! + t * dOut
                    for j in 0 ..< dOut { o[j] = decoderBias[j] }
                    for e in codes.range(ofToken: t) {
                        let f = Int(codes.indices[e])
                        cblas_saxpy(Int32(dOut), codes.values[e], wd.baseAddress! + f * dOut, 1, o, 1)
                    }
                    if t < codes.outputScale.count {
                        let s = codes.outputScale[t], sh = codes.outputShift[t]
                        for j in 0 ..< dOut { o[j] = o[j] * s + sh }
                    }
                }
            }
        }
        return out
    }

    /// Reconstructs [count, d_out] from dense activations f [count, d_sae]: f·W_dec + b_dec (one sgemm).
    /// Per-token normalisation is not undone here (there is no per-token state); use `decode(_:)` for that.
    public func decodeDense(_ f: [Float], count n: Int) throws -> [Float] {
        guard n >= 0, n <= f.count, f.count == n * dSAE else {
            throw SAEError.inputShape(what: "decodeDense input [\(n), \(dSAE)]", expected: max(0, n).multipliedReportingOverflow(by: dSAE).partialValue, found: f.count)
        }
        if n == 0 { return [] }
        var out = [Float](repeating: 0, count: n * dOut)
        for r in 0 ..< n { for j in 0 ..< dOut { out[r * dOut + j] = decoderBias[j] } }
        f.withUnsafeBufferPointer { fb in
            decoderWeight.withUnsafeBufferPointer { wd in
                out.withUnsafeMutableBufferPointer { ob in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(dOut), Int32(dSAE),
                                1, fb.baseAddress, Int32(dSAE), wd.baseAddress, Int32(dOut), 1, ob.baseAddress, Int32(dOut))
                }
            }
        }
        return out
    }

    // MARK: - Steps

    /// Writes norm(x) − b_dec into `dst`; returns the (scale, shift) that undo the normalisation.
    @inline(__always)
    func prepareInputRow(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) -> (Float, Float) {
        var scale: Float = 1, shift: Float = 0
        switch config.normalizeActivations {
        case .none, .expectedAverageOnlyIn:
            for j in 0 ..< dIn { dst[j] = src[j] }
        case .constantNormRescale:
            var ss: Float = 0
            for j in 0 ..< dIn { ss += src[j] * src[j] }
            let norm = ss.squareRoot()
            let c: Float = norm > 0 && norm.isFinite ? Float(dIn).squareRoot() / norm : 1
            for j in 0 ..< dIn { dst[j] = src[j] * c }
            scale = 1 / c
        case .layerNorm:
            var sum: Float = 0
            for j in 0 ..< dIn { sum += src[j] }
            let mu = sum / Float(dIn)
            var ss: Float = 0
            for j in 0 ..< dIn { let d = src[j] - mu; ss += d * d }
            let std = dIn > 1 ? (ss / Float(dIn - 1)).squareRoot() : 0
            let inv = 1 / (std + 1e-5)
            for j in 0 ..< dIn { dst[j] = (src[j] - mu) * inv }
            scale = std
            shift = mu
        }
        if config.applyBDecToInput {
            decoderBias.withUnsafeBufferPointer { b in for j in 0 ..< dIn { dst[j] -= b[j] } }
        }
        return (scale, shift)
    }

    /// pre[rows, d_sae] = xc[rows, d_in] · W_enc (no bias).
    func multiplyEncoder(_ xc: [Float], rows: Int, into pre: inout [Float]) {
        xc.withUnsafeBufferPointer { xb in
            encoderWeight.withUnsafeBufferPointer { wb in
                pre.withUnsafeMutableBufferPointer { pb in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(dSAE), Int32(dIn),
                                1, xb.baseAddress, Int32(dIn), wb.baseAddress, Int32(dSAE), 0, pb.baseAddress, Int32(dSAE))
                }
            }
        }
    }

    /// Turns one row of x_c·W_enc into activations in place (0 = inactive).
    @inline(__always)
    func activateRow(_ row: UnsafeMutablePointer<Float>) {
        encoderBias.withUnsafeBufferPointer { b in
            switch config.architecture {
            case .standard, .topk:
                // topk: selection then relu keeps the same positive entries as relu then selection.
                for f in 0 ..< dSAE { row[f] += b[f] }
            case .jumprelu:
                let t = threshold ?? []
                t.withUnsafeBufferPointer { t in
                    for f in 0 ..< dSAE {
                        let p = row[f] + b[f]
                        row[f] = p > t[f] && p > 0 ? p : 0
                    }
                }
            case .gated:
                guard let g = gated else { return }
                g.expRMag.withUnsafeBufferPointer { er in
                    g.bMag.withUnsafeBufferPointer { bm in
                        for f in 0 ..< dSAE {
                            let raw = row[f]
                            let mag = raw * er[f] + bm[f]
                            row[f] = raw + b[f] > 0 && mag > 0 ? mag : 0
                        }
                    }
                }
            }
        }
    }
}
