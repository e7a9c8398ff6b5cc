import Foundation
import ModelEngine
import SparseAutoencoders
import Steering
import TestSupport
import XCTest

/// Steering, frozen attention, KL and ablation on a tiny random-initialised Qwen2 checkpoint
/// (Tests/Fixtures/tiny-models/qwen2, a second family next to the SmolLM2 sample) with random SAEs.
final class SteeringTests: XCTestCase {
    static var fixtures: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures")
    }

    /// The tiny qwen2 checkpoint (a missing fixture fails).
    func tinyModel() throws -> TransformerModel {
        let folder = Self.fixtures.appendingPathComponent("tiny-models/qwen2").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/config.json"), "\(folder) is missing (scripts/make-tiny-models.py)")
        return try TransformerModel(path: folder)
    }

    /// A random topk SAE at `hook` whose input width fits the model there.
    func randomSAE(_ model: TransformerModel, hook: HookPoint, dSAE: Int = 32, seed: UInt64 = 7) throws -> SparseAutoencoder {
        let dIn = hook.site == .z ? model.config.qDim : model.config.dim
        let w = SAEFixtureWeights.random(dIn: dIn, dSAE: dSAE, seed: seed)
        let cfg = SAEConfig(dIn: dIn, dSAE: dSAE, architecture: .topk, k: 4,
                            reshapeActivations: hook.site == .z ? "hook_z" : "none",
                            metadata: SAEMetadata(hookName: hook.description))
        return try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec)
    }

    let prompt: [Int32] = [5, 17, 200, 33, 91, 7, 300, 12]

    func testStrengthZeroReproducesDefaultExactly() throws {
        let model = try tinyModel()
        for hook in [HookPoint.residPost(0), .z(1)] {
            let steerer = try Steerer(model: model, sae: randomSAE(model, hook: hook))
            for sampling in [Sampling.greedy, .temperature(1.0, seed: 11)] {
                let r = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 12, sampling: sampling, mode: .add,
                                                        latents: [SteeringLatent(latent: 3, strength: 0)], stopTokens: []))
                XCTAssertEqual(r.steered.generated, r.defaultRun.generated, "\(hook) \(sampling)")
                XCTAssertEqual(r.defaultRun.generated.count, 12)
                XCTAssertEqual(r.steered.kl.count, prompt.count + 12)
                XCTAssertEqual(r.steered.kl.max(), 0, "adding 0 × the decoder row leaves every distribution unchanged")
                XCTAssertNil(r.steered.firstDivergence(from: r.defaultRun))
            }
        }
    }

    func testLargeStrengthChangesOutput() throws {
        let model = try tinyModel()
        for hook in [HookPoint.residPost(0), .z(1)] {
            let steerer = try Steerer(model: model, sae: randomSAE(model, hook: hook))
            var tokens: [SteeringRun: [Int32]] = [:]
            let r = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 12, mode: .add,
                                                    latents: [SteeringLatent(latent: 3, strength: 200)], stopTokens: [])) { run, id in
                tokens[run, default: []].append(id)
                return true
            }
            XCTAssertNotEqual(r.steered.generated, r.defaultRun.generated, "\(hook)")
            XCTAssertNotNil(r.steered.firstDivergence(from: r.defaultRun))
            XCTAssertGreaterThan(r.steered.kl.min() ?? 0, 0.01, "steering at every position moves every next-token distribution")
            XCTAssertEqual(tokens[.default], r.defaultRun.generated, "streamed tokens are the result's")
            XCTAssertEqual(tokens[.steered], r.steered.generated)
        }
    }

    /// KL per position equals the KL of the two forward passes' logits rows, computed from log-softmax by hand.
    func testKLMatchesDefinition() throws {
        let model = try tinyModel()
        let steerer = try Steerer(model: model, sae: randomSAE(model, hook: .residPost(0)))
        let steer = try steerer.intervention(mode: .add, latents: [SteeringLatent(latent: 1, strength: 5)])
        let kl = try steerer.klPerPosition(prompt, intervention: steer)
        let p = try model.forward(tokens: prompt, logits: .all, interventions: [.residPost(0): steer])
        let q = try model.forward(tokens: prompt, logits: .all)
        for t in prompt.indices {
            let lp = Array(p.logitsRow(t)), lq = Array(q.logitsRow(t))
            let zp = Logits.logSumExp(lp), zq = Logits.logSumExp(lq)
            var expected = 0.0
            for i in lp.indices { let a = Double(lp[i]) - zp; expected += exp(a) * (a - (Double(lq[i]) - zq)) }
            XCTAssertEqual(kl[t], expected, accuracy: 1e-9 + 1e-6 * expected)
        }
    }

    /// Clamping a latent to its own activation changes nothing; clamping to 0 is the ablation.
    func testClampSplicesReconstructionDifference() throws {
        let model = try tinyModel()
        let hook = HookPoint.residPost(0)
        let sae = try randomSAE(model, hook: hook)
        let x = try XCTUnwrap(model.forward(tokens: prompt, captures: [hook], logits: .none).activation(hook))
        let codes = try sae.encode(x.data, count: prompt.count)
        let (latent, value) = try XCTUnwrap(codes.latents(ofToken: 0).first)
        var clamped = x
        try sae.clampIntervention(values: [latent: value + 2])(&clamped)
        for j in 0 ..< sae.dIn {
            XCTAssertEqual(clamped.data[j], x.data[j] + 2 * sae.decoderWeight[latent * sae.dIn + j], accuracy: 1e-4)
        }
        var ablated = x, zeroed = x
        try sae.ablationIntervention(latents: [latent])(&ablated)
        try sae.clampIntervention(values: [latent: 0])(&zeroed)
        XCTAssertEqual(ablated.data, zeroed.data)
    }

    /// Frozen patterns taken from the same tokens reproduce the normal pass; steering with frozen attention
    /// changes only what attention mixes, and a too-short pattern is refused.
    func testFrozenAttention() throws {
        let model = try tinyModel()
        let hooks = Set((0 ..< model.config.layerCount).map { HookPoint.pattern($0) })
        let captured = try model.forward(tokens: prompt, captures: hooks, logits: .all)
        var patterns: [Int: HookTensor] = [:]
        for l in 0 ..< model.config.layerCount { patterns[l] = captured.activation(.pattern(l)) }
        let frozen = try model.forward(tokens: prompt, captures: hooks, logits: .all, frozenPatterns: patterns)
        for (a, b) in zip(frozen.logits, captured.logits) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(frozen.activation(.pattern(1))?.data, patterns[1]?.data, "the frozen pattern is the one used")
        XCTAssertThrowsError(try model.forward(tokens: prompt + [1], logits: .last, frozenPatterns: patterns))

        let steerer = try Steerer(model: model, sae: randomSAE(model, hook: .residPost(0)))
        let r = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 8, mode: .add,
                                                latents: [SteeringLatent(latent: 3, strength: 200)], freezeAttention: true, stopTokens: []))
        let f = try XCTUnwrap(r.frozen)
        XCTAssertLessThanOrEqual(f.generated.count, r.defaultRun.generated.count)
        XCTAssertEqual(f.kl.count, prompt.count + f.generated.count)
        // Patterns fixed, steered values: different distributions from both the default and the free steered run.
        XCTAssertGreaterThan(f.kl.max() ?? 0, 0)
        let zero = try steerer.run(SteeringRequest(prompt: prompt, maxNewTokens: 8, mode: .add,
                                                   latents: [SteeringLatent(latent: 3, strength: 0)], freezeAttention: true, stopTokens: []))
        XCTAssertLessThan(try XCTUnwrap(zero.frozen).kl.max() ?? 1, 1e-6, "strength 0 with the default's own patterns ≈ default")
    }

    func testAblationEffect() throws {
        let model = try tinyModel()
        let hook = HookPoint.residPost(0)
        let sae = try randomSAE(model, hook: hook)
        let steerer = try Steerer(model: model, sae: sae)
        let x = try XCTUnwrap(model.forward(tokens: prompt, captures: [hook], logits: .none).activation(hook))
        let codes = try sae.encode(x.data, count: prompt.count)
        let (latent, value) = try XCTUnwrap(codes.latents(ofToken: 2).first)
        let effect = try steerer.ablationEffect(latent: latent, tokens: prompt, top: 3)
        XCTAssertEqual(effect.count, prompt.count)
        XCTAssertEqual(effect[2].activation, value)
        XCTAssertNil(effect.last?.deltaLogProb)
        // Δ log p(next) equals the change in cross-entropy of an independently ablated pass.
        let ceBase = try model.nextTokenCrossEntropy(tokens: prompt)
        let ceAblated = try model.nextTokenCrossEntropy(tokens: prompt, interventions: [hook: sae.ablationIntervention(latents: [latent])])
        for t in 0 ..< prompt.count - 1 {
            XCTAssertEqual(try XCTUnwrap(effect[t].deltaLogProb), Double(ceBase[t] - ceAblated[t]), accuracy: 1e-4)
            if effect[t].activation == 0 && (0 ... t).allSatisfy({ effect[$0].activation == 0 }) {
                XCTAssertEqual(effect[t].kl, 0, "nothing changes before the latent first fires (causal)")
                XCTAssertTrue(effect[t].promoted.isEmpty && effect[t].suppressed.isEmpty)
            } else {
                XCTAssertEqual(effect[t].promoted.count, 3)
                XCTAssertTrue(effect[t].promoted.allSatisfy { $0.delta > 0 } && effect[t].suppressed.allSatisfy { $0.delta < 0 })
                XCTAssertEqual(effect[t].promoted.map(\.delta), effect[t].promoted.map(\.delta).sorted(by: >))
            }
        }
        XCTAssertGreaterThan(effect[2].kl, 0, "the latent fires at position 2")
        XCTAssertThrowsError(try steerer.ablationEffect(latent: 99, tokens: prompt))
    }

    func testRejectsMismatchedSAE() throws {
        let model = try tinyModel()
        let cfg = SAEConfig(dIn: 3, dSAE: 2, architecture: .standard, metadata: SAEMetadata(hookName: "blocks.0.hook_resid_post"))
        let sae = try SparseAutoencoder(config: cfg, encoderWeight: [Float](repeating: 0.1, count: 6), encoderBias: [0, 0],
                                        decoderWeight: [Float](repeating: 0.1, count: 6), decoderBias: [0, 0, 0])
        XCTAssertThrowsError(try Steerer(model: model, sae: sae)) { XCTAssertTrue("\($0)".contains("64"), "\($0)") }
        let ok = try Steerer(model: model, sae: randomSAE(model, hook: .residPost(1)))
        XCTAssertThrowsError(try ok.intervention(mode: .add, latents: [SteeringLatent(latent: 32, strength: 1)]))
        XCTAssertThrowsError(try ok.intervention(mode: .add, latents: []))
    }
}
