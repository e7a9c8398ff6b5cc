import Dispatch
import FeaturescopeCore
import SparseAutoencoders

/// The SAE measurement of `featurescope bench`: the product's encoder, `SparseAutoencoder.encode`.
public enum SAEEncodeBenchmark {
    /// Tokens per second of `SparseAutoencoder.encode` on a `dIn`→`dSae` TopK (`k`) SAE with seeded random
    /// weights over `tokens` random activations: one warm-up, then `tokens / median(seconds of runs)`.
    public static func tokensPerSecond(dIn: Int = 576, dSae: Int = 4608, k: Int = 32, tokens n: Int = 512,
                                       runs: Int, seed: UInt64, median: ([Double]) -> Double) throws -> Double {
        var rng = SplitMix64(seed: seed)
        func random(_ count: Int, _ scale: Float) -> [Float] {
            (0 ..< count).map { _ in (Float(rng.nextUnitDouble()) * 2 - 1) * scale }
        }
        let config = SAEConfig(dIn: dIn, dSAE: dSae, architecture: .topk, k: k,
                               metadata: SAEMetadata(hookName: "blocks.0.hook_resid_post"))
        let sae = try SparseAutoencoder(config: config, encoderWeight: random(dIn * dSae, 0.05), encoderBias: random(dSae, 0.01),
                                        decoderWeight: random(dSae * dIn, 0.05), decoderBias: [Float](repeating: 0, count: dIn))
        let x = random(n * dIn, 1)
        _ = try sae.encode(x, count: n)
        var times: [Double] = []
        for _ in 0 ..< max(1, runs) {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try sae.encode(x, count: n)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(n) / median(times)
    }
}
