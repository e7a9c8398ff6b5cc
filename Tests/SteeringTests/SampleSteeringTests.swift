import Foundation
import ModelEngine
import SparseAutoencoders
import Steering
import XCTest

/// Steering and ablation with the bundled sample's hook_z SAE (sample-data/saes/L3) on SmolLM2-135M-Instruct
/// (skipped when the model is not fetched, like the other real-model tests; the SAE is part of the repository).
final class SampleSteeringTests: XCTestCase {
    static var root: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url
    }

    func load() throws -> (Steerer, Tokenizer) {
        let path = ModelLocator.resolve(explicit: nil)
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("model not fetched (featurescope model fetch)") }
        let (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: path)
        let sae = try SparseAutoencoder.load(folder: Self.root.appendingPathComponent("sample-data/saes/L3").path)
        return (try Steerer(model: model, sae: sae), tokenizer)
    }

    func testSteeringOnSample() throws {
        let (steerer, tokenizer) = try load()
        XCTAssertEqual(steerer.hook, .z(3), "a hook_z SAE steers the per-head outputs before W_O")
        let prompt = tokenizer.encode("The cat sat on the mat")
        let zero = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 6, sampling: .temperature(0.8, seed: 5),
                                                   latents: [SteeringLatent(latent: 1349, strength: 0)]))
        XCTAssertEqual(zero.steered.generated, zero.defaultRun.generated)
        XCTAssertEqual(zero.steered.kl.max(), 0)
        let strong = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 6,
                                                     latents: [SteeringLatent(latent: 1349, strength: 40)]))
        XCTAssertNotEqual(strong.steered.generated, strong.defaultRun.generated)
        XCTAssertGreaterThan(strong.steered.kl.reduce(0, +) / Double(strong.steered.kl.count), 0.05)
    }

    /// Latent 1349 fires on " the" at position 4 of this prompt (`featurescope run --sae sample-data/saes/L3`);
    /// ablating it changes the prediction there and nothing before its first firing.
    func testAblationOnSample() throws {
        let (steerer, tokenizer) = try load()
        let prompt = tokenizer.encode("The cat sat on the mat")
        let effect = try steerer.ablationEffect(latent: 1349, tokens: prompt)
        XCTAssertEqual(effect.count, prompt.count)
        XCTAssertEqual(effect[4].activation, 1.67, accuracy: 0.01)
        XCTAssertGreaterThan(effect[4].kl, 0)
        XCTAssertNotEqual(effect[4].deltaLogProb ?? 0, 0)
    }
}
