import FeaturescopeCore
import SparseAutoencoders

extension SparseAutoencoder {
    /// A random-initialised SAE of the same shape and hook, for sanity checks (intervention scores of a trained
    /// SAE should far exceed these): encoder and decoder entries drawn from N(0, 1) (xoshiro256**, `seed`),
    /// each decoder row then scaled to the norm of the trained row it replaces so steering strengths stay
    /// comparable; biases and the rest of the config kept.
    public func randomInitialisedLike(seed: UInt64) throws -> SparseAutoencoder {
        var rng = Xoshiro256StarStar(seed: seed)
        let encoder = (0 ..< encoderWeight.count).map { _ in rng.nextGaussian() }
        var decoder = (0 ..< decoderWeight.count).map { _ in rng.nextGaussian() }
        for f in 0 ..< dSAE {
            let row = f * dIn ..< (f + 1) * dIn
            let trained = row.reduce(Float(0)) { $0 + decoderWeight[$1] * decoderWeight[$1] }.squareRoot()
            let random = row.reduce(Float(0)) { $0 + decoder[$1] * decoder[$1] }.squareRoot()
            if random > 0 { for j in row { decoder[j] *= trained / random } }
        }
        return try SparseAutoencoder(config: config, encoderWeight: encoder, encoderBias: encoderBias, decoderWeight: decoder,
                                     decoderBias: decoderBias, threshold: threshold, gated: gated,
                                     weightsPath: (weightsPath ?? "SAE") + " (random-initialised, seed \(seed))")
    }
}
