import Foundation
import CBLAS

extension TopKTrainer {
    /// AuxK forward: per token, the top `kAux` dead latents (by pre-activation) reconstruct
    /// the residual. Writes `auxResidual = ê − e` with e = x − x̂ = −residual, fills
    /// `auxIndices`/`auxValues`, and returns Σ‖ê − e‖² / tv (unscaled).
    func auxForward(x: UnsafePointer<Float>, kAux: Int, deadCount: Int, tv: Float) -> Float {
        let B = config.batchSize, d = config.dIn, n = config.dSAE, threads = config.threads
        let pre = self.pre.pointer, bEnc = sae.encoderBias.pointer, dec = sae.decoder.pointer
        let res = residual.pointer, aux = auxResidual.pointer
        let aIdx = auxIndices, aVal = auxValues.pointer, dead = deadList
        var sums = [Double](repeating: 0, count: threads)
        sums.withUnsafeMutableBufferPointer { sb in
            let sp = sb.baseAddress!
            parallelFor(threads) { t in
                let lo = B * t / threads, hi = B * (t + 1) / threads
                var s: Double = 0
                for b in lo ..< hi {
                    let vOut = aVal + b * kAux, iOut = aIdx + b * kAux
                    TopKSelect.select(pre + b * n, bias: bEnc, candidates: dead, candidateCount: deadCount,
                                      k: kAux, values: vOut, indices: iOut)
                    let r = aux + b * d, e = res + b * d
                    // ê − e = ê + residual
                    r.update(from: e, count: d)
                    for j in 0 ..< kAux {
                        let v = vOut[j]
                        if v > 0 {
                            cblas_saxpy(Int32(d), v, dec + Int(iOut[j]) * d, 1, r, 1)
                        } else {
                            vOut[j] = 0
                        }
                    }
                    s += Double(cblas_sdot(Int32(d), r, 1, r, 1))
                }
                sp[t] = s
            }
        }
        return Float(sums.reduce(0, +) / Double(tv))
    }

    /// Accumulates the gradients of active latents, given dL/dx̂ per token (`grad`, `[B, dIn]`)
    /// and each token's `perRow` latents (indices, post-ReLU values; value 0 = inactive).
    ///
    /// For an active latent l of token b with activation a: dL/da = grad_b · W_dec[l];
    /// W_dec[l] += a·grad_b; b_enc[l] += dL/da; W_encᵀ[l] += dL/da · (x_b − b_dec).
    /// The (token, latent) pairs are first bucketed by latent (counting sort), so each latent's
    /// three rows stay in cache while its tokens are added, and threads take contiguous latent
    /// ranges holding about the same number of pairs: the scatters never collide.
    func scatterGradients(grad: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
                          values: UnsafePointer<Float>, perRow: Int) {
        let B = config.batchSize, d = config.dIn, n = config.dSAE, threads = config.threads
        let starts = pairStarts, order = pairOrder
        starts.update(repeating: 0, count: n + 1)
        for i in 0 ..< B * perRow where values[i] > 0 { starts[Int(indices[i]) + 1] += 1 }
        for l in 0 ..< n { starts[l + 1] += starts[l] }
        let total = starts[n]
        guard total > 0 else { return }
        // Fill buckets (using pairCursor as the running write position per latent).
        let cursor = pairCursor
        cursor.update(from: starts, count: n)
        for i in 0 ..< B * perRow where values[i] > 0 {
            let l = Int(indices[i])
            order[cursor[l]] = Int32(truncatingIfNeeded: i)
            cursor[l] += 1
        }
        // Split latents so each thread gets about total/threads pairs.
        var bounds = [0]
        var l = 0
        for t in 1 ..< threads {
            let target = total * t / threads
            while l < n && starts[l] < target { l += 1 }
            bounds.append(l)
        }
        bounds.append(n)
        let dec = sae.decoder.pointer, xc = centered.pointer
        let gEnc = self.gEnc.pointer, gDec = self.gDec.pointer, gEncBias = self.gEncBias.pointer
        parallelFor(threads) { t in
            for l in bounds[t] ..< bounds[t + 1] {
                let lo = starts[l], hi = starts[l + 1]
                if lo == hi { continue }
                let w = dec + l * d, gd = gDec + l * d, ge = gEnc + l * d
                var biasGrad: Float = 0
                for p in lo ..< hi {
                    let i = Int(order[p])
                    let b = i / perRow
                    let a = values[i]
                    let g = grad + b * d
                    let da = cblas_sdot(Int32(d), g, 1, w, 1)
                    cblas_saxpy(Int32(d), a, g, 1, gd, 1)
                    cblas_saxpy(Int32(d), da, xc + b * d, 1, ge, 1)
                    biasGrad += da
                }
                gEncBias[l] += biasGrad
            }
        }
    }

    /// The parameter update after `computeGradients`, fused per decoder row so each row's
    /// weights, gradient and moments stay in cache: remove the gradient component along the
    /// (unit) row, as sparsify does, so Adam does not fight the renormalisation; Adam step
    /// (PyTorch's formulation, no weight decay); renormalise the row. Encoder and biases get
    /// plain Adam. All gradients are zeroed.
    func applyUpdate(lr: Float) {
        let b1 = config.adamBeta1, b2 = config.adamBeta2, eps = config.adamEpsilon
        let bc1 = 1 - Float(pow(Double(b1), Double(step)))
        let bc2 = 1 - Float(pow(Double(b2), Double(step)))
        let adam = AdamStep(stepSize: lr / bc1, invSqrtBc2: 1 / bc2.squareRoot(), beta1: b1, beta2: b2, epsilon: eps)
        let d = config.dIn
        let dec = sae.decoder.pointer, gd = gDec.pointer, md = mDec.pointer, vd = vDec.pointer
        parallelRanges(count: config.dSAE, threads: config.threads) { lo, hi in
            for l in lo ..< hi {
                let w = dec + l * d, g = gd + l * d
                let c = cblas_sdot(Int32(d), g, 1, w, 1)
                if c != 0 { cblas_saxpy(Int32(d), -c, w, 1, g, 1) }
                adam.apply(w, g, md + l * d, vd + l * d, count: d)
                let norm = cblas_snrm2(Int32(d), w, 1)
                if norm > 0 { cblas_sscal(Int32(d), 1 / norm, w, 1) }
            }
        }
        let enc = sae.encoder.pointer, ge = gEnc.pointer, me = mEnc.pointer, ve = vEnc.pointer
        parallelRanges(count: config.dSAE, threads: config.threads) { lo, hi in
            adam.apply(enc + lo * d, ge + lo * d, me + lo * d, ve + lo * d, count: (hi - lo) * d)
        }
        adam.apply(sae.encoderBias.pointer, gEncBias.pointer, mEncBias.pointer, vEncBias.pointer, count: config.dSAE)
        adam.apply(sae.decoderBias.pointer, gDecBias.pointer, mDecBias.pointer, vDecBias.pointer, count: d)
    }
}

/// One Adam step's constants; `apply` updates a contiguous span and zeroes its gradient.
struct AdamStep {
    let stepSize: Float
    let invSqrtBc2: Float
    let beta1: Float
    let beta2: Float
    let epsilon: Float

    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
               _ v: UnsafeMutablePointer<Float>, count: Int) {
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2
        let s = stepSize, inv = invSqrtBc2, eps = epsilon
        for i in 0 ..< count {
            let gi = g[i]
            let mi = b1 * m[i] + c1 * gi
            let vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi; v[i] = vi
            p[i] -= s * mi / (vi.squareRoot() * inv + eps)
            g[i] = 0
        }
    }
}
