import Foundation

/// Gated-architecture magnitude path: relu(x_c·(W_enc ∘ exp(r_mag)) + b_mag).
public struct GatedMagnitude: Sendable, Equatable {
    /// [d_sae]
    public let bMag: [Float]
    /// [d_sae]
    public let rMag: [Float]
    /// [d_sae] exp(r_mag), precomputed.
    public let expRMag: [Float]

    public init(bMag: [Float], rMag: [Float]) {
        self.bMag = bMag
        self.rMag = rMag
        self.expRMag = rMag.map { expf($0) }
    }
}

/// A loaded sparse autoencoder: config, weights in one canonical layout, and provenance.
///
/// Layouts are SAELens's whatever the source: `encoderWeight` is W_enc [d_in, d_sae] row-major,
/// `decoderWeight` is W_dec [d_sae, d_in] row-major (one decoder row per latent). Files in other
/// layouts (sparsify's `encoder.weight` [d_sae, d_in]) are transposed at load. Scalings that SAELens
/// applies at run time with a fixed factor (`rescale_acts_by_decoder_norm`, a given
/// `expected_average_only_in` factor) are folded into the weights, which leaves activations and
/// reconstructions unchanged. Immutable, so one instance can serve many threads.
public final class SparseAutoencoder: Sendable {
    public let config: SAEConfig
    /// W_enc [d_in, d_sae], row-major.
    public let encoderWeight: [Float]
    /// [d_sae]: b_enc (standard, topk, jumprelu) or b_gate (gated).
    public let encoderBias: [Float]
    /// W_dec [d_sae, d_out], row-major (d_out = d_in except for transcoders).
    public let decoderWeight: [Float]
    /// b_dec [d_out].
    public let decoderBias: [Float]
    /// Skip transcoders: W_skip [d_out, d_in] row-major as SAELens and sparsify store it; the
    /// reconstruction adds x·W_skipᵀ (`transcode(_:count:)`).
    public let skipWeight: [Float]?
    /// jumprelu threshold [d_sae].
    public let threshold: [Float]?
    /// gated magnitude path.
    public let gated: GatedMagnitude?
    /// SAELens `sparsity.safetensors`: log10(firing fraction + 1e-10) per latent, when present.
    public let logFeatureSparsity: [Float]?
    /// The weight tensors' dtype in the file (F32, F16, BF16, F64), or "F32" for in-memory SAEs.
    public let weightsDType: String
    /// The safetensors file the weights came from.
    public let weightsPath: String?
    /// Lowercase hex SHA-256 of the weights file (the same as `sha256sum`), for provenance.
    public let weightsSHA256: String?
    /// The `expected_average_only_in` factor folded into the weights, if any.
    public let foldedActivationScale: Float?

    /// Input width (stored, not read through `config`, because hot loops use it).
    public let dIn: Int
    /// Number of latents.
    public let dSAE: Int
    /// Output width of the decoder: d_in for an SAE, `config.dOut` for a transcoder.
    public let dOut: Int

    /// Builds an SAE from arrays in the canonical layout; sizes are checked against `config`.
    ///
    /// `rescale_acts_by_decoder_norm` in `config` is folded here (the returned config has it off).
    public init(config: SAEConfig, encoderWeight: [Float], encoderBias: [Float], decoderWeight: [Float],
                decoderBias: [Float], threshold: [Float]? = nil, gated: GatedMagnitude? = nil,
                logFeatureSparsity: [Float]? = nil, weightsDType: String = "F32", weightsPath: String? = nil,
                weightsSHA256: String? = nil, foldedActivationScale: Float? = nil, skipWeight: [Float]? = nil) throws {
        let path = weightsPath ?? "(in memory)"
        try config.validate(path: path)
        let dIn = config.dIn, dSAE = config.dSAE, dOut = config.dOut ?? config.dIn
        func check(_ name: String, _ a: [Float]?, _ n: Int) throws {
            guard let a else { return }
            guard a.count == n else { throw SAEError.inputShape(what: "\(path): \(name)", expected: n, found: a.count) }
        }
        try check("W_enc", encoderWeight, dIn * dSAE)
        try check("b_enc", encoderBias, dSAE)
        try check("W_dec", decoderWeight, dSAE * dOut)
        try check("b_dec", decoderBias, dOut)
        try check("W_skip", skipWeight, dOut * dIn)
        try check("threshold", threshold, dSAE)
        try check("sparsity", logFeatureSparsity, dSAE)
        if let g = gated {
            try check("b_mag", g.bMag, dSAE)
            try check("r_mag", g.rMag, dSAE)
        }
        switch config.architecture {
        case .jumprelu where threshold == nil:
            throw SAEError.missingTensor(path: path, tensor: "threshold")
        case .gated where gated == nil:
            throw SAEError.missingTensor(path: path, tensor: "b_mag")
        default: break
        }
        var cfg = config
        var wEnc = encoderWeight, bEnc = encoderBias, wDec = decoderWeight
        if cfg.rescaleActsByDecoderNorm {
            guard dOut == dIn else { throw SAEError.unsupported(path: path, feature: "rescale_acts_by_decoder_norm", reason: "not defined for transcoders") }
            SparseAutoencoder.foldDecoderNorms(wEnc: &wEnc, bEnc: &bEnc, wDec: &wDec, dIn: dIn, dSAE: dSAE)
            cfg.rescaleActsByDecoderNorm = false
        }
        self.config = cfg
        self.dIn = dIn
        self.dSAE = dSAE
        self.dOut = dOut
        self.skipWeight = skipWeight
        self.encoderWeight = wEnc
        self.encoderBias = bEnc
        self.decoderWeight = wDec
        self.decoderBias = decoderBias
        self.threshold = config.architecture == .jumprelu ? threshold : nil
        self.gated = config.architecture == .gated ? gated : nil
        self.logFeatureSparsity = logFeatureSparsity
        self.weightsDType = weightsDType
        self.weightsPath = weightsPath
        self.weightsSHA256 = weightsSHA256
        self.foldedActivationScale = foldedActivationScale
    }

    /// pre·‖W_dec[f]‖ followed by decoding with W_dec[f]/‖W_dec[f]‖ equals scaling column f of
    /// W_enc and b_enc[f] by the norm and dividing row f of W_dec by it.
    static func foldDecoderNorms(wEnc: inout [Float], bEnc: inout [Float], wDec: inout [Float], dIn: Int, dSAE: Int) {
        for f in 0 ..< dSAE {
            var s: Float = 0
            for j in 0 ..< dIn { let w = wDec[f * dIn + j]; s += w * w }
            let n = s.squareRoot()
            if n > 0 {
                for j in 0 ..< dIn { wDec[f * dIn + j] /= n }
            }
            for i in 0 ..< dIn { wEnc[i * dSAE + f] *= n }
            bEnc[f] *= n
        }
    }

    /// Folds a dataset-wide input scale s (SAELens `fold_activation_norm_scaling_factor`):
    /// W_enc·s, W_dec/s, b_dec/s.
    static func foldInputScale(_ s: Float, wEnc: inout [Float], wDec: inout [Float], bDec: inout [Float]) {
        for i in wEnc.indices { wEnc[i] *= s }
        for i in wDec.indices { wDec[i] /= s }
        for i in bDec.indices { bDec[i] /= s }
    }
}
