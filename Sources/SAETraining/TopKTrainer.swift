import FeaturescopeCore
import Foundation
import CBLAS

/// What one optimiser step measured.
public struct TopKStepStats: Codable, Equatable, Sendable {
    /// Fraction of variance unexplained on this batch (the reconstruction loss).
    public var fvu: Float
    /// AuxK loss (0 when no latent is dead).
    public var auxKLoss: Float
    /// Mean number of latents with a positive activation per token.
    public var l0: Float
    /// Fraction of latents that were dead (not fired for the threshold) at this step.
    public var deadFraction: Float
    public var learningRate: Float
}

/// Wall-clock seconds spent in each phase of the training steps so far (for profiling).
public struct TrainingPhaseTimes: Codable, Equatable, Sendable {
    public var statistics: Double = 0
    public var encoder: Double = 0
    public var decoder: Double = 0
    public var auxK: Double = 0
    public var backward: Double = 0
    public var adam: Double = 0

    public var total: Double { statistics + encoder + decoder + auxK + backward + adam }
}

@inline(__always) func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
}

/// Trains a TopK SAE with Adam, a unit-norm decoder and the AuxK loss.
///
/// Per step, on a batch X (already scaled): x̂ = b_dec + Σ_topk relu(pre)·W_dec with
/// pre = (X − b_dec)·W_encᵀ + b_enc. The loss is FVU = ‖X − x̂‖² / ‖X − mean(X)‖² plus
/// `auxKCoefficient` × AuxK, where AuxK asks the top `auxK` dead latents to reconstruct the
/// residual X − x̂ (scaled by min(dead / auxK, 1), as in sparsify).
///
/// Only the encoder forward is dense (one sgemm). The TopK backward is sparse: gradients
/// reach the k active latents of each token only, so the encoder and decoder gradients are
/// scatters of k rows per token. The decoder gradient loses its component parallel to each
/// decoder row, and rows are renormalised after each Adam step.
public final class TopKTrainer: @unchecked Sendable {
    public let config: TopKTrainingConfig
    public let sae: TopKSAEWeights
    /// Adam steps taken so far.
    public internal(set) var step: Int = 0
    /// Training tokens since each latent last fired (drives the dead mask).
    public internal(set) var tokensSinceFired: [Int64]
    /// How often each latent fired since the counters were last reset (for sparsity.safetensors).
    public internal(set) var fireCounts: [Int64]
    /// Tokens seen since the fire counters were last reset.
    public internal(set) var fireCountTokens: Int64 = 0
    /// Time per phase, accumulated over the steps of this process.
    public internal(set) var phaseTimes = TrainingPhaseTimes()

    // Adam moments, in the same layout as the parameters.
    let mEnc, vEnc, mEncBias, vEncBias, mDec, vDec, mDecBias, vDecBias: FloatBuffer
    // Gradients.
    let gEnc, gEncBias, gDec, gDecBias: FloatBuffer
    // Per-batch scratch.
    let centered, pre, residual, auxResidual, mean: FloatBuffer
    let topValues, auxValues: FloatBuffer
    let topIndices, auxIndices: UnsafeMutablePointer<Int32>
    let deadList: UnsafeMutablePointer<Int32>
    /// Counting-sort scratch of the gradient scatter: bucket starts [dSAE + 1], cursors [dSAE],
    /// and (token, slot) pair order [batch × max(k, auxK)].
    let pairStarts, pairCursor: UnsafeMutablePointer<Int>
    let pairOrder: UnsafeMutablePointer<Int32>

    /// Creates a trainer around `sae` (taken over and updated in place).
    public init(config: TopKTrainingConfig, sae: TopKSAEWeights) throws {
        try config.validate()
        guard sae.dIn == config.dIn, sae.dSAE == config.dSAE, sae.k == config.k else {
            throw TrainingError.invalidConfig("SAE shape (\(sae.dIn), \(sae.dSAE), k \(sae.k)) differs from the configuration (\(config.dIn), \(config.dSAE), k \(config.k))")
        }
        self.config = config
        self.sae = sae
        let d = config.dIn, n = config.dSAE, b = config.batchSize
        mEnc = FloatBuffer(count: n * d); vEnc = FloatBuffer(count: n * d)
        mDec = FloatBuffer(count: n * d); vDec = FloatBuffer(count: n * d)
        mEncBias = FloatBuffer(count: n); vEncBias = FloatBuffer(count: n)
        mDecBias = FloatBuffer(count: d); vDecBias = FloatBuffer(count: d)
        gEnc = FloatBuffer(count: n * d); gDec = FloatBuffer(count: n * d)
        gEncBias = FloatBuffer(count: n); gDecBias = FloatBuffer(count: d)
        centered = FloatBuffer(count: b * d)
        pre = FloatBuffer(count: b * n)
        residual = FloatBuffer(count: b * d)
        auxResidual = FloatBuffer(count: b * d)
        mean = FloatBuffer(count: d)
        topValues = FloatBuffer(count: b * config.k)
        topIndices = .allocate(capacity: b * config.k)
        topIndices.initialize(repeating: 0, count: b * config.k)
        let ka = min(config.effectiveAuxK, n)
        auxValues = FloatBuffer(count: b * ka)
        auxIndices = .allocate(capacity: b * ka)
        auxIndices.initialize(repeating: 0, count: b * ka)
        deadList = .allocate(capacity: n)
        deadList.initialize(repeating: 0, count: n)
        pairStarts = .allocate(capacity: n + 1)
        pairStarts.initialize(repeating: 0, count: n + 1)
        pairCursor = .allocate(capacity: n)
        pairCursor.initialize(repeating: 0, count: n)
        let maxPairs = b * max(config.k, ka)
        pairOrder = .allocate(capacity: maxPairs)
        pairOrder.initialize(repeating: 0, count: maxPairs)
        tokensSinceFired = [Int64](repeating: 0, count: n)
        fireCounts = [Int64](repeating: 0, count: n)
    }

    deinit {
        topIndices.deallocate()
        auxIndices.deallocate()
        deadList.deallocate()
        pairStarts.deallocate()
        pairCursor.deallocate()
        pairOrder.deallocate()
    }

    /// Resets the per-latent fire counters (e.g. at the start of the last epoch).
    public func resetFireCounts() {
        for i in fireCounts.indices { fireCounts[i] = 0 }
        fireCountTokens = 0
    }

    /// One optimiser step on `x` (`[batchSize, dIn]`, already scaled), at the scheduled rate.
    @discardableResult
    public func trainStep(_ x: UnsafePointer<Float>) throws -> TopKStepStats {
        try trainStep(x, learningRate: config.learningRate(atStep: step))
    }

    /// One optimiser step on `x` (`[batchSize, dIn]`, already scaled) with learning rate `lr`.
    @discardableResult
    public func trainStep(_ x: UnsafePointer<Float>, learningRate lr: Float) throws -> TopKStepStats {
        let B = config.batchSize, n = config.dSAE, k = config.k
        var stats = try computeGradients(x)
        stats.learningRate = lr
        let t0 = monotonicSeconds()
        step += 1
        applyUpdate(lr: lr)

        // Fire bookkeeping.
        let vals = topValues.pointer, idx = topIndices
        for l in 0 ..< n { tokensSinceFired[l] += Int64(B) }
        for i in 0 ..< B * k where vals[i] > 0 {
            let l = Int(idx[i])
            tokensSinceFired[l] = 0
            fireCounts[l] += 1
        }
        fireCountTokens += Int64(B)
        phaseTimes.adam += monotonicSeconds() - t0
        return stats
    }

    /// Forward and backward on `x` (`[batchSize, dIn]`, scaled): fills the gradient buffers
    /// (dL/dθ of FVU + coefficient × AuxK, before the decoder-parallel projection) and
    /// returns the losses. Parameters are not changed.
    func computeGradients(_ x: UnsafePointer<Float>) throws -> TopKStepStats {
        let B = config.batchSize, d = config.dIn, n = config.dSAE, k = config.k
        let threads = config.threads

        var t0 = monotonicSeconds()
        func lap(_ field: WritableKeyPath<TrainingPhaseTimes, Double>) {
            let t = monotonicSeconds()
            phaseTimes[keyPath: field] += t - t0
            t0 = t
        }
        // Total variance of the batch (the FVU denominator).
        let mu = mean.pointer
        mu.update(repeating: 0, count: d)
        for b in 0 ..< B { cblas_saxpy(Int32(d), 1, x + b * d, 1, mu, 1) }
        cblas_sscal(Int32(d), 1 / Float(B), mu, 1)
        var totalVariance: Double = 0
        for b in 0 ..< B {
            var s: Float = 0
            let row = x + b * d
            for j in 0 ..< d { let t = row[j] - mu[j]; s += t * t }
            totalVariance += Double(s)
        }
        let tv = Float(max(totalVariance, 1e-12))

        lap(\.statistics)
        // Forward: encoder (dense), TopK, sparse decoder, residual = x̂ − x.
        sae.encode(x, rows: B, centered: centered.pointer, pre: pre.pointer, indices: topIndices,
                   values: topValues.pointer, threads: threads)
        lap(\.encoder)
        let res = residual.pointer, vals = topValues.pointer, idx = topIndices
        let dec = sae.decoder.pointer, bDec = sae.decoderBias.pointer
        var sqErr = [Double](repeating: 0, count: threads)
        var active = [Int](repeating: 0, count: threads)
        sqErr.withUnsafeMutableBufferPointer { sq in
            active.withUnsafeMutableBufferPointer { act in
                let sqp = sq.baseAddress!, actp = act.baseAddress!
                parallelFor(threads) { t in
                    let lo = B * t / threads, hi = B * (t + 1) / threads
                    var s: Double = 0, a = 0
                    for b in lo ..< hi {
                        let r = res + b * d, xb = x + b * d
                        for j in 0 ..< d { r[j] = bDec[j] - xb[j] }
                        for j in 0 ..< k {
                            let v = vals[b * k + j]
                            if v > 0 {
                                a += 1
                                cblas_saxpy(Int32(d), v, dec + Int(idx[b * k + j]) * d, 1, r, 1)
                            }
                        }
                        s += Double(cblas_sdot(Int32(d), r, 1, r, 1))
                    }
                    sqp[t] = s; actp[t] = a
                }
            }
        }
        let fvu = Float(sqErr.reduce(0, +) / Double(tv))
        lap(\.decoder)
        let l0 = Float(active.reduce(0, +)) / Float(B)

        // Dead latents (before this step's firing is counted).
        var deadCount = 0
        for l in 0 ..< n where tokensSinceFired[l] >= Int64(config.deadTokenThreshold) {
            deadList[deadCount] = Int32(l); deadCount += 1
        }

        // AuxK: the top dead latents reconstruct the residual x − x̂ = −res.
        var auxLoss: Float = 0
        let kAuxFull = min(config.effectiveAuxK, n)
        let kAux = min(kAuxFull, deadCount)
        let auxScale = min(Float(deadCount) / Float(kAuxFull), 1)
        if kAux > 0 && config.auxKCoefficient > 0 {
            auxLoss = auxForward(x: x, kAux: kAux, deadCount: deadCount, tv: tv) * auxScale
        }

        lap(\.auxK)
        // Backward. d(FVU)/d(x̂) = 2·res / tv; AuxK: coefficient · scale · 2·(ê − e) / tv.
        cblas_sscal(Int32(B * d), 2 / tv, res, 1)
        if kAux > 0 && config.auxKCoefficient > 0 {
            cblas_sscal(Int32(B * d), config.auxKCoefficient * auxScale * 2 / tv, auxResidual.pointer, 1)
        }
        gDecBias.zero()
        for b in 0 ..< B { cblas_saxpy(Int32(d), 1, res + b * d, 1, gDecBias.pointer, 1) }
        scatterGradients(grad: res, indices: idx, values: vals, perRow: k)
        if kAux > 0 && config.auxKCoefficient > 0 {
            scatterGradients(grad: auxResidual.pointer, indices: auxIndices, values: auxValues.pointer, perRow: kAux)
        }
        // b_dec also enters the encoder input: d pre / d b_dec = −W_encᵀ rows.
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(n), Int32(d), -1, sae.encoder.pointer, Int32(d),
                    gEncBias.pointer, 1, 1, gDecBias.pointer, 1)
        guard fvu.isFinite, auxLoss.isFinite else {
            throw TrainingError.diverged(step: step, what: fvu.isFinite ? "AuxK loss" : "FVU")
        }
        lap(\.backward)
        return TopKStepStats(fvu: fvu, auxKLoss: auxLoss, l0: l0, deadFraction: Float(deadCount) / Float(n),
                             learningRate: 0)
    }
}
