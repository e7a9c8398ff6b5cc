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

    /// The text an endpoint judge was asked about (one per request).
    static func judgedText(_ r: ChatRequest) -> String {
        let user = r.messages.last?.content ?? ""
        guard let a = user.range(of: "Text: "), let b = user.range(of: "\n\nBoosted (1)") else { return "" }
        return String(user[a.upperBound ..< b.lowerBound])
    }

    /// An endpoint judge answers one text per request. One that calls every text steered scores 0.5 (balanced
    /// accuracy); one told the truth scores 1 wherever the texts differ.
    func testBalancedAccuracyOfTheJudge() async throws {
        let always = ScriptedClient { _, _ in ChatResponse(text: "1") }
        let s = try scorer(judge: always)
        let record = try await s.score(sampled(), explanation: "anything")
        XCTAssertEqual(record.provenance.method, "intervention")
        XCTAssertEqual(record.provenance.promptVersion, InterventionScorer.singlePromptVersion)
        XCTAssertEqual(record.samples.filter(\.activating).count, 4)
        XCTAssertEqual(record.samples.filter { !$0.activating }.count, 4)
        XCTAssertEqual(always.requests.count, 8, "one request per text")
        XCTAssertEqual(always.requests.first?.maxTokens, 1)
        XCTAssertEqual(record.metrics.balancedAccuracy, 0.5, accuracy: 1e-12)
        XCTAssertTrue(always.requests.first?.messages.first?.content.contains("boosted") ?? false)

        // An oracle that knows the steered texts (those not among the defaults).
        let defaults = Set(try s.completions(latent: 2, maxActivation: 2).map { $0.defaultTokens.joined() })
        let oracle = ScriptedClient { r, _ in ChatResponse(text: defaults.contains(Self.judgedText(r)) ? "0" : "1") }
        let r2 = try await scorer(judge: oracle).score(sampled(), explanation: "anything")
        // Strength-0 pairs are identical to their defaults, so the oracle cannot tell them apart: 2 of 4 positives.
        XCTAssertEqual(r2.metrics.truePositives, 2)
        XCTAssertEqual(r2.metrics.trueNegatives, 4)
    }

    /// The answer is a constrained choice between "0" and "1" read from the first token's alternatives, whatever
    /// was sampled; a reply that is neither, without such alternatives, is no answer (never a guess).
    func testConstrainedAnswerFromLogprobs() async throws {
        let lp = { (token: String, alts: [(String, Double)]) in
            [TokenLogprob(token: token, logprob: alts.first?.1 ?? 0, topAlternatives: alts.map { TokenAlternative(token: $0.0, logprob: log($0.1)) })]
        }
        let a = try XCTUnwrap(InterventionScorer.constrainedAnswer(ChatResponse(text: "The", logprobs: lp("The", [("The", 0.5), (" 1", 0.3), ("0", 0.1)]))))
        XCTAssertTrue(a.prediction)
        XCTAssertEqual(a.probability ?? -1, 0.75, accuracy: 1e-9)
        let b = try XCTUnwrap(InterventionScorer.constrainedAnswer(ChatResponse(text: "0", logprobs: lp("0", [("0", 0.6), ("1", 0.2)]))))
        XCTAssertFalse(b.prediction)
        XCTAssertEqual(b.probability ?? -1, 0.25, accuracy: 1e-9)
        XCTAssertEqual(InterventionScorer.constrainedAnswer(ChatResponse(text: "[1]"))?.prediction, true)
        XCTAssertNil(InterventionScorer.constrainedAnswer(ChatResponse(text: "10")))
        XCTAssertNil(InterventionScorer.constrainedAnswer(ChatResponse(text: "Yes", logprobs: lp("Yes", [("Yes", 0.9), ("No", 0.1)]))))

        // Unanswered texts stay null and are named in batchFailures.
        let vague = ScriptedClient { _, _ in ChatResponse(text: "maybe") }
        let r = try await scorer(judge: vague).score(sampled(), explanation: "anything")
        XCTAssertTrue(r.samples.allSatisfy { $0.prediction == nil })
        XCTAssertEqual(r.batchFailures.count, 8)
    }

    /// A judge with next-token probabilities (the embedded model) is asked the same one-text prompt and answers
    /// by P("0") vs P("1"), never through a generated reply.
    func testNextTokenJudgeAnswersEachTextByProbability() async throws {
        final class ProbabilityJudge: NextTokenProbabilityClient, @unchecked Sendable {
            let modelName = "probability-model"
            let endpointName = "test://"
            let lock = NSLock()
            var prefixes: [String] = []
            func complete(_ request: ChatRequest) async throws -> ChatResponse { XCTFail("must not generate"); return ChatResponse(text: "") }
            func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String, candidates: [String]) async throws -> [Double] {
                lock.withLock { prefixes.append(assistantPrefix) }
                XCTAssertEqual(candidates, ["0", "1"])
                // "1" likelier for texts that begin with "hello".
                return InterventionScorerTests.judgedText(request).hasPrefix("hello") ? [0.2, 0.6] : [0.6, 0.2]
            }
        }
        let judge = ProbabilityJudge()
        let r = try await scorer(judge: judge).score(sampled(), explanation: "anything")
        XCTAssertEqual(judge.prefixes, Array(repeating: "", count: 8))
        XCTAssertEqual(r.provenance.model, "probability-model")
        for smp in r.samples {
            let hello = smp.shownText.hasPrefix("hello")
            XCTAssertEqual(smp.prediction, hello)
            XCTAssertEqual(smp.probability ?? -1, hello ? 0.75 : 0.25, accuracy: 1e-9)
        }
    }

    /// A batch run skips latents already scored by the same method and judge/simulator/embedder model, so the
    /// new scorers name their model (they were "unknown" before and every resumed run scored everything again).
    func testBatchRunnerKnowsTheNewScorersModels() throws {
        let judge = ScriptedClient { _, _ in ChatResponse(text: "1") }
        XCTAssertEqual(CacheAutoInterp.scorerModel(try scorer(judge: judge)), "scripted-model")
        XCTAssertEqual(CacheAutoInterp.scorerModel(SimulationScorer(client: judge)), "scripted-model")
        struct Embedder: TextEmbedder {
            let modelName = "embedder-model"
            let endpointName = "test://"
            func embed(_ texts: [String]) async throws -> [[Float]] { texts.map { _ in [1] } }
        }
        XCTAssertEqual(CacheAutoInterp.scorerModel(EmbeddingScorer(embedder: Embedder())), "embedder-model")
        XCTAssertTrue(CacheAutoInterp.usesEmbeddedModel(try scorer(judge: judge)), "the subject model runs in process")
        XCTAssertFalse(CacheAutoInterp.usesEmbeddedModel(SimulationScorer(client: judge)))
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
