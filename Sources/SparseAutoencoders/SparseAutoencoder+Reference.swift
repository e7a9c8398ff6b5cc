/// Plain-loop encode/decode kept beside the BLAS path; tests compare the two.
extension SparseAutoencoder {
    /// Encodes like `encode(_:count:keepTop:)` with straightforward loops and a full sort per token.
    public func referenceEncode(_ x: [Float], count n: Int, keepTop: Int? = nil) throws -> SparseCodes {
        guard n >= 0, n <= x.count, x.count == n * dIn else {
            throw SAEError.inputShape(what: "referenceEncode input [\(n), \(dIn)]", expected: max(0, n).multipliedReportingOverflow(by: dIn).partialValue, found: x.count)
        }
        let limit = latentLimit(keepTop: keepTop)
        var offsets = [0], indices = [Int32](), values = [Float](), outScale = [Float](), outShift = [Float]()
        for t in 0 ..< n {
            var row = Array(x[t * dIn ..< (t + 1) * dIn])
            var scale: Float = 1, shift: Float = 0
            switch config.normalizeActivations {
            case .none, .expectedAverageOnlyIn: break
            case .constantNormRescale:
                let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let c: Float = norm > 0 ? Float(dIn).squareRoot() / norm : 1
                row = row.map { $0 * c }
                scale = 1 / c
                outScale.append(scale); outShift.append(shift)
            case .layerNorm:
                let mu = row.reduce(0, +) / Float(dIn)
                let variance = dIn > 1 ? row.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Float(dIn - 1) : 0
                let std = variance.squareRoot()
                row = row.map { ($0 - mu) / (std + 1e-5) }
                outScale.append(std); outShift.append(mu)
            }
            if config.applyBDecToInput { for j in 0 ..< dIn { row[j] -= decoderBias[j] } }
            var acts: [(Float, Int32)] = []
            for f in 0 ..< dSAE {
                var raw: Float = 0
                for j in 0 ..< dIn { raw += row[j] * encoderWeight[j * dSAE + f] }
                let pre = raw + encoderBias[f]
                let a: Float
                switch config.architecture {
                case .standard, .topk: a = max(pre, 0)
                case .jumprelu: a = pre > (threshold?[f] ?? 0) ? max(pre, 0) : 0
                case .gated:
                    let mag = raw * (gated?.expRMag[f] ?? 1) + (gated?.bMag[f] ?? 0)
                    a = pre > 0 ? max(mag, 0) : 0
                }
                if a > 0 { acts.append((a, Int32(f))) }
            }
            acts.sort { TopKSelector.better($0.0, $0.1, $1.0, $1.1) }
            for (v, i) in acts.prefix(limit) { values.append(v); indices.append(i) }
            offsets.append(values.count)
        }
        return SparseCodes(tokenCount: n, latentCount: dSAE, offsets: offsets, indices: indices, values: values,
                           outputScale: outScale, outputShift: outShift)
    }

    /// Decodes like `decode(_:)` with plain loops.
    public func referenceDecode(_ codes: SparseCodes) -> [Float] {
        var out = [Float](repeating: 0, count: codes.tokenCount * dOut)
        for t in 0 ..< codes.tokenCount {
            var o = decoderBias
            for e in codes.range(ofToken: t) {
                let f = Int(codes.indices[e])
                for j in 0 ..< dOut { o[j] += codes.values[e] * decoderWeight[f * dOut + j] }
            }
            if t < codes.outputScale.count {
                o = o.map { $0 * codes.outputScale[t] + codes.outputShift[t] }
            }
            for j in 0 ..< dOut { out[t * dOut + j] = o[j] }
        }
        return out
    }
}
