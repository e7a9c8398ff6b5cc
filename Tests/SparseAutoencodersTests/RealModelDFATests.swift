import FeaturescopeCore
import Foundation
import ModelEngine
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// The DFA identity on a real SmolLM2 forward pass with a random hook_z SAE (skipped without the model).
final class RealModelDFATests: XCTestCase {
    func testDFAIdentityOnSmolLM2() throws {
        let path = ModelLocator.resolve(explicit: nil)
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("model not fetched (featurescope model fetch)") }
        let gguf = try GGUFFile(path: path)
        let model = try TransformerModel(gguf: gguf)
        let tokenizer = try Tokenizer(gguf: gguf)
        let tokens = tokenizer.encode("The cat sat on the mat. The cat sat on the")
        XCTAssertGreaterThan(tokens.count, 8)
        let layer = 3
        let result = try model.forward(tokens: tokens, captures: [.z(layer), .pattern(layer), HookPoint(layer: layer, site: .v)], logits: .none)
        let z = try XCTUnwrap(result.activation(.z(layer)))
        let pattern = try XCTUnwrap(result.activation(.pattern(layer)))
        let v = try XCTUnwrap(result.activation(HookPoint(layer: layer, site: .v)))
        let cfg = model.config
        let t = tokens.count
        XCTAssertEqual(z.shape.reduce(1, *), t * cfg.headCount * cfg.headDim)
        XCTAssertEqual(pattern.data.count, cfg.headCount * t * t)
        XCTAssertEqual(v.data.count, t * cfg.kvHeadCount * cfg.headDim)

        let layout = try AttentionHeadLayout(headCount: cfg.headCount, headDim: cfg.headDim, kvHeadCount: cfg.kvHeadCount)
        var rng = SplitMix64(seed: 2024)
        let dIn = layout.width, dSAE = 32
        let saeConfig = SAEConfig(dIn: dIn, dSAE: dSAE, architecture: .standard, reshapeActivations: "hook_z",
                                  metadata: SAEMetadata(modelName: "SmolLM2-135M-Instruct", hookName: HookPoint.z(layer).description))
        let sae = try SparseAutoencoder(config: saeConfig, encoderWeight: rng.floats(dIn * dSAE, -0.1, 0.1),
                                        encoderBias: rng.floats(dSAE, -0.1, 0.1), decoderWeight: rng.floats(dSAE * dIn),
                                        decoderBias: rng.floats(dIn, -0.05, 0.05))
        let pre = try sae.preActivations(z.data, count: t)
        var worst: Float = 0
        for d in 0 ..< t {
            for f in 0 ..< dSAE {
                let dfa = try sae.directFeatureAttribution(latent: f, destination: d, pattern: pattern.data, destinationCount: t,
                                                           values: v.data, layout: layout)
                let target = pre[d * dSAE + f]
                worst = max(worst, abs(dfa.total - target) / (1 + abs(target)))
                for s in (d + 1) ..< t { XCTAssertEqual(dfa.perSource[s], 0, "causal: no attribution from later positions") }
            }
        }
        XCTAssertLessThan(worst, 1e-4, "Σ_s Σ_h DFA − b_dec·W_enc[:, f] + b_enc[f] = pre_f[d] on SmolLM2 layer \(layer) (worst relative error \(worst))")
    }
}
