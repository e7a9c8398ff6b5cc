import Foundation
import ModelEngine
import SparseAutoencoders
import Steering
import TestSupport
import XCTest
@testable import AutoInterp

/// The intervention scorer on the tiny Qwen2 checkpoint with a random SAE and a scripted judge.
final class InterventionScorerTests: XCTestCase {
    func scorer(judge: any LLMClient) throws -> InterventionScorer {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 2 { url.deleteLastPathComponent() }
        let folder = url.appendingPathComponent("Fixtures/tiny-models/qwen2").path
        let (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: folder)
        let w = SAEFixtureWeights.random(dIn: model.config.dim, dSAE: 16, seed: 3)
        let cfg = SAEConfig(dIn: w.dIn, dSAE: 16, architecture: .topk, k: 4, metadata: SAEMetadata(hookName: "blocks.0.hook_resid_post"))
        let sae = try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec)
        var s = InterventionScorer(steerer: try Steerer(model: model, sae: sae), tokenizer: tokenizer, judge: judge)
        s.prompts = ["hello world", "the"]
        s.strengths = [0, 50]
        s.maxNewTokens = 6
        return s
    }

    func sampled() -> SampledExamples {
        SampledExamples(latent: 2, hook: "blocks.0.hook_resid_post", maxActivation: 2, train: [], test: [], nonActivating: [])
    }

    func testCompletionsPairDefaultAndSteered() throws {
        let s = try scorer(judge: ScriptedClient { _, _ in ChatResponse(text: "[]") })
        let pairs = try s.completions(latent: 2, maxActivation: 2)
        XCTAssertEqual(pairs.count, 4, "prompts × strengths")
        for p in pairs where p.strengthIndex == 0 {
            XCTAssertEqual(p.steeredTokens, p.defaultTokens, "strength 0 with the same seed reproduces the default")
        }
        XCTAssertTrue(pairs.contains { $0.strengthIndex == 1 && $0.steeredTokens != $0.defaultTokens }, "strength 50 × max changes text")
        XCTAssertThrowsError(try s.completions(latent: 2, maxActivation: 0))
    }

    /// A judge that calls every example steered scores 0.5 (balanced accuracy); one told the truth scores 1.
    func testBalancedAccuracyOfTheJudge() async throws {
        let always = ScriptedClient { r, _ in
            let n = (r.messages.last?.content ?? "").split(separator: "\n").filter { $0.hasPrefix("Example ") }.count
            return ChatResponse(text: "[" + Array(repeating: "1", count: n).joined(separator: ", ") + "]")
        }
        let s = try scorer(judge: always)
        let record = try await s.score(sampled(), explanation: "anything")
        XCTAssertEqual(record.provenance.method, "intervention")
        XCTAssertEqual(record.samples.filter(\.activating).count, 4)
        XCTAssertEqual(record.samples.filter { !$0.activating }.count, 4)
        XCTAssertEqual(record.metrics.balancedAccuracy, 0.5, accuracy: 1e-12)
        XCTAssertTrue(always.requests.first?.messages.first?.content.contains("boosted") ?? false)

        // An oracle that knows the steered texts (those not among the defaults).
        let defaults = Set(try s.completions(latent: 2, maxActivation: 2).map { $0.defaultTokens.joined() })
        let oracle = ScriptedClient { r, _ in
            let lines = (r.messages.last?.content ?? "").split(separator: "\n").filter { $0.hasPrefix("Example ") }
            let answers = lines.map { line -> String in
                let text = line.split(separator: ":", maxSplits: 1).last.map { String($0.dropFirst()) } ?? ""
                return defaults.contains(text) ? "0" : "1"
            }
            return ChatResponse(text: "[" + answers.joined(separator: ", ") + "]")
        }
        let r2 = try await scorer(judge: oracle).score(sampled(), explanation: "anything")
        // Strength-0 pairs are identical to their defaults, so the oracle cannot tell them apart: 2 of 4 positives.
        XCTAssertEqual(r2.metrics.truePositives, 2)
        XCTAssertEqual(r2.metrics.trueNegatives, 4)
    }

    func testRandomInitialisedSAEKeepsShapeAndRowNorms() throws {
        let w = SAEFixtureWeights.random(dIn: 4, dSAE: 3, seed: 1)
        let cfg = SAEConfig(dIn: 4, dSAE: 3, architecture: .standard, metadata: SAEMetadata(hookName: "blocks.0.hook_resid_post"))
        let sae = try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec)
        let r = try sae.randomInitialisedLike(seed: 9)
        XCTAssertEqual(r.dSAE, 3)
        XCTAssertNotEqual(r.decoderWeight, sae.decoderWeight)
        for f in 0 ..< 3 {
            let n = { (d: [Float]) in (0 ..< 4).reduce(Float(0)) { $0 + d[f * 4 + $1] * d[f * 4 + $1] }.squareRoot() }
            XCTAssertEqual(n(r.decoderWeight), n(sae.decoderWeight), accuracy: 1e-5)
        }
        XCTAssertEqual(try sae.randomInitialisedLike(seed: 9).decoderWeight, r.decoderWeight, "seeded")
    }
}
