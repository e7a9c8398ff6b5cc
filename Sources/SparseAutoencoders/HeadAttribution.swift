/// Heads of an attention layer as a `hook_z` SAE sees them: d_in = headCount · headDim,
/// heads concatenated head-major (input index h·headDim + j).
public struct AttentionHeadLayout: Sendable, Equatable {
    public let headCount: Int
    public let headDim: Int
    /// Key/value heads; query head h reads KV head h / (headCount / kvHeadCount).
    public let kvHeadCount: Int

    public init(headCount: Int, headDim: Int, kvHeadCount: Int) throws {
        guard headCount > 0, headDim > 0, kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw SAEError.invalidArgument("head layout \(headCount) heads × \(headDim), \(kvHeadCount) KV heads: heads must be a positive multiple of KV heads")
        }
        self.headCount = headCount
        self.headDim = headDim
        self.kvHeadCount = kvHeadCount
    }

    /// The KV head that query head `h` reads (grouped-query attention).
    public func kvHead(forQueryHead h: Int) -> Int { h / (headCount / kvHeadCount) }

    /// headCount · headDim.
    public var width: Int { headCount * headDim }
}

/// A latent's share of one head (from decoder weights).
public struct HeadLatent: Sendable, Equatable {
    public let latent: Int
    /// ‖W_dec[latent, block h]‖ / Σ_h' ‖W_dec[latent, block h']‖.
    public let fraction: Float
}

/// A latent's encoder pre-activation at one position, split into per-head terms.
public struct PreActivationSplit: Sendable, Equatable {
    /// [heads] (z_h − b_dec,h)·W_enc[block h, f] (b_dec only when the SAE subtracts it).
    public let perHead: [Float]
    /// b_enc[f] (gated: b_gate[f]).
    public let bias: Float
    /// Σ perHead + bias = pre_f.
    public var total: Float { perHead.reduce(0, +) + bias }
}

/// Direct feature attribution of latent f at destination d by source position and head.
public struct DirectFeatureAttribution: Sendable, Equatable {
    public let latent: Int
    public let destination: Int
    public let headCount: Int
    public let sourceCount: Int
    /// [sourceCount, headCount]: A_h[d, s] · (v_kv(h)[s] · W_enc[block h, f]).
    public let values: [Float]
    /// b_enc[f] − b_dec·W_enc[:, f] (without the b_dec part when the SAE does not subtract it).
    public let biasTerm: Float

    /// DFA[d, s, h].
    public func value(source s: Int, head h: Int) -> Float { values[s * headCount + h] }
    /// Σ_h DFA[d, s, h] per source position ("top DFA by source position").
    public var perSource: [Float] {
        (0 ..< sourceCount).map { s in (0 ..< headCount).reduce(0) { $0 + values[s * headCount + $1] } }
    }
    /// Σ_s DFA[d, s, h] per head.
    public var perHead: [Float] {
        (0 ..< headCount).map { h in (0 ..< sourceCount).reduce(0) { $0 + values[$1 * headCount + h] } }
    }
    /// Σ_s Σ_h DFA + biasTerm, which equals the pre-activation pre_f[d] when z = A·v.
    public var total: Float { values.reduce(0, +) + biasTerm }
}

extension SparseAutoencoder {
    // MARK: - Weights-based head attribution

    func checkLayout(_ layout: AttentionHeadLayout) throws {
        guard layout.width == dIn else {
            throw SAEError.invalidArgument("head layout \(layout.headCount) × \(layout.headDim) = \(layout.width) does not match the SAE's d_in \(dIn)")
        }
    }

    func checkLatent(_ f: Int) throws {
        guard f >= 0, f < dSAE else { throw SAEError.invalidArgument("latent \(f) is out of range 0..<\(dSAE)") }
    }

    /// attr[h] = ‖W_dec[f, block h]‖₂ / Σ_h' ‖W_dec[f, block h']‖₂ (all zeros for an all-zero decoder row).
    public func headAttribution(latent f: Int, layout: AttentionHeadLayout) throws -> [Float] {
        try checkLayout(layout)
        try checkLatent(f)
        var norms = [Float](repeating: 0, count: layout.headCount)
        let row = f * dIn
        for h in 0 ..< layout.headCount {
            var s: Float = 0
            for j in 0 ..< layout.headDim { let w = decoderWeight[row + h * layout.headDim + j]; s += w * w }
            norms[h] = s.squareRoot()
        }
        let total = norms.reduce(0, +)
        return total > 0 ? norms.map { $0 / total } : norms
    }

    /// Head attribution of every latent: [d_sae, heads] row-major.
    public func headAttributionMatrix(layout: AttentionHeadLayout) throws -> [Float] {
        try checkLayout(layout)
        var out = [Float](repeating: 0, count: dSAE * layout.headCount)
        for f in 0 ..< dSAE {
            let a = try headAttribution(latent: f, layout: layout)
            for h in 0 ..< layout.headCount { out[f * layout.headCount + h] = a[h] }
        }
        return out
    }

    /// For each head, the `count` latents with the largest attribution fraction to it, strongest first
    /// (ties: lower latent index first). Latents with an all-zero decoder row are skipped.
    public func topLatentsPerHead(layout: AttentionHeadLayout, count: Int) throws -> [[HeadLatent]] {
        let matrix = try headAttributionMatrix(layout: layout)
        let keep = max(1, min(count, dSAE))
        var result: [[HeadLatent]] = []
        var selector = TopKSelector(capacity: keep)
        var idx = [Int32](), val = [Float]()
        for h in 0 ..< layout.headCount {
            for f in 0 ..< dSAE {
                let v = matrix[f * layout.headCount + h]
                if v > 0 { selector.offer(v, Int32(f)) }
            }
            idx.removeAll(keepingCapacity: true)
            val.removeAll(keepingCapacity: true)
            selector.drain(indices: &idx, values: &val)
            result.append(zip(idx, val).map { HeadLatent(latent: Int($0), fraction: $1) })
        }
        return result
    }

    // MARK: - Per-token attribution

    func requireLinearInput(_ what: String) throws {
        switch config.normalizeActivations {
        case .none, .expectedAverageOnlyIn: break
        case .constantNormRescale, .layerNorm:
            throw SAEError.unsupported(path: weightsPath ?? "(in memory)", feature: what,
                                       reason: "the pre-activation is not linear in z under \(config.normalizeActivations.rawValue) normalisation")
        }
    }

    /// Splits latent f's pre-activation at one position into per-head terms; `z` is that position's
    /// [d_in] hook_z row (heads concatenated).
    public func preActivationByHead(latent f: Int, z: [Float], layout: AttentionHeadLayout) throws -> PreActivationSplit {
        try checkLayout(layout)
        try checkLatent(f)
        try requireLinearInput("per-head pre-activation split")
        guard z.count == dIn else { throw SAEError.inputShape(what: "z row", expected: dIn, found: z.count) }
        var perHead = [Float](repeating: 0, count: layout.headCount)
        for h in 0 ..< layout.headCount {
            var s: Float = 0
            for j in 0 ..< layout.headDim {
                let i = h * layout.headDim + j
                let x = config.applyBDecToInput ? z[i] - decoderBias[i] : z[i]
                s += x * encoderWeight[i * dSAE + f]
            }
            perHead[h] = s
        }
        return PreActivationSplit(perHead: perHead, bias: encoderBias[f])
    }

    /// DFA of latent f at destination `destination`:
    /// DFA[d, s, h] = A_h[d, s] · (v_kv(h)[s] · W_enc[block h, f]).
    ///
    /// - Parameters:
    ///   - pattern: attention probabilities [heads, destinationCount, sourceCount] (`hook_pattern`).
    ///   - values: value vectors [sourceCount, kvHeads, headDim] (`hook_v`).
    public func directFeatureAttribution(latent f: Int, destination d: Int, pattern: [Float], destinationCount: Int,
                                         values v: [Float], layout: AttentionHeadLayout) throws -> DirectFeatureAttribution {
        try checkLayout(layout)
        try checkLatent(f)
        try requireLinearInput("direct feature attribution")
        let kvWidth = layout.kvHeadCount * layout.headDim
        guard v.count % kvWidth == 0 else {
            throw SAEError.inputShape(what: "values [positions, \(layout.kvHeadCount), \(layout.headDim)]",
                                      expected: (v.count / kvWidth + 1) * kvWidth, found: v.count)
        }
        let sources = v.count / kvWidth
        guard destinationCount > 0, d >= 0, d < destinationCount else {
            throw SAEError.invalidArgument("destination \(d) is out of range 0..<\(destinationCount)")
        }
        let expected = layout.headCount * destinationCount * sources
        guard pattern.count == expected else {
            throw SAEError.inputShape(what: "pattern [\(layout.headCount), \(destinationCount), \(sources)]", expected: expected, found: pattern.count)
        }
        var out = [Float](repeating: 0, count: sources * layout.headCount)
        for h in 0 ..< layout.headCount {
            let kv = layout.kvHead(forQueryHead: h)
            for s in 0 ..< sources {
                let a = pattern[(h * destinationCount + d) * sources + s]
                if a == 0 { continue }
                var dot: Float = 0
                for j in 0 ..< layout.headDim {
                    dot += v[s * kvWidth + kv * layout.headDim + j] * encoderWeight[(h * layout.headDim + j) * dSAE + f]
                }
                out[s * layout.headCount + h] = a * dot
            }
        }
        var biasTerm = encoderBias[f]
        if config.applyBDecToInput {
            for i in 0 ..< dIn { biasTerm -= decoderBias[i] * encoderWeight[i * dSAE + f] }
        }
        return DirectFeatureAttribution(latent: f, destination: d, headCount: layout.headCount, sourceCount: sources,
                                        values: out, biasTerm: biasTerm)
    }
}
