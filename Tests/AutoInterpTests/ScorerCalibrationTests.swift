import FeaturescopeCore
import LatentCache
import XCTest
@testable import AutoInterp

/// The embedded scorer's question prompt and contextual calibration (docs/explain-and-score.md, "The scorer check").
final class ScorerCalibrationTests: XCTestCase {
    /// A biased fake judge: P("1") is 0.8 for texts with " ACT", 0.7 for the content-free texts, 0.6 otherwise,
    /// so it says "1" to everything, but ranks the texts right.
    final class BiasedJudge: NextTokenProbabilityClient, @unchecked Sendable {
        let modelName = "biased"
        let endpointName = "embedded"
        let lock = NSLock()
        var seen: [(text: String, prefix: String)] = []
        var failContentFree = false
        func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: "") }
        func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String, candidates: [String]) async throws -> [Double] {
            XCTAssertEqual(candidates, ["0", "1"])
            let user = request.messages.last?.content ?? ""
            lock.withLock { seen.append((user, assistantPrefix)) }
            let contentFree = ScorerPrompts.contentFreeDetection.contains { user.contains("Text: \($0)\n\n") }
                || ScorerPrompts.contentFreeFuzz.contains { user.contains("): \($0)\n\n") }
            if contentFree {
                if failContentFree { throw LLMClientError.invalidConfiguration("down") }
                return [0.3, 0.7]
            }
            return user.contains(" ACT") ? [0.2, 0.8] : [0.4, 0.6]
        }
    }

    func options(_ calibration: ClassifierScorer.Calibration) -> ClassifierScorer.Options {
        var o = ClassifierScorer.Options()
        o.batchSize = 5  // ignored by the question prompt
        o.prompt = .question
        o.calibration = calibration
        return o
    }

    func testQuestionPromptLayout() {
        let s = ClassifierScorer(method: .detection, client: BiasedJudge(), options: options(.none))
        let m = s.messages(explanation: "The token \"ACT\"", batch: ["a text"])
        XCTAssertEqual(m.map(\.role), ["system"] + Array(repeating: ["user", "assistant"], count: 4).flatMap { $0 } + ["user"])
        XCTAssertEqual(m.filter { $0.role == "assistant" }.map(\.content), ["1", "0", "1", "0"])
        XCTAssertEqual(m.last?.content, "Feature: The token \"ACT\"\n\nText: a text\n\nDoes the text contain the feature? Answer 1 for yes or 0 for no.")
        XCTAssertEqual(s.effectiveBatchSize, 1)
        XCTAssertEqual(s.promptVersion, "featurescope-detection-question-v1")
        let fuzz = ClassifierScorer(method: .fuzz, client: BiasedJudge(), options: options(.contentFree))
        XCTAssertTrue(fuzz.messages(explanation: "x", batch: ["<<a>> b"]).last!.content.contains("Does every marked token fit"))
        XCTAssertEqual(fuzz.promptVersion, "featurescope-fuzz-question-v1+content-free")
        // delphi's list layout keeps its version and batch size.
        XCTAssertEqual(ClassifierScorer(method: .detection, client: BiasedJudge()).promptVersion, "featurescope-detection-v1")
        XCTAssertEqual(ClassifierScorer(method: .detection, client: BiasedJudge()).effectiveBatchSize, 5)
    }

    func testWithoutCalibrationABiasedJudgeSaysOneToEverything() async throws {
        let record = try await ClassifierScorer(method: .detection, client: BiasedJudge(), options: options(.none))
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "the hot token")
        XCTAssertTrue(record.samples.allSatisfy { $0.prediction == true })
        XCTAssertEqual(record.metrics.balancedAccuracy, 0.5)
        XCTAssertEqual(record.metrics.auc ?? 0, 1, accuracy: 1e-12)
        XCTAssertNil(record.calibration)
    }

    func testContentFreeCalibrationSetsTheThreshold() async throws {
        let judge = BiasedJudge()
        let record = try await ClassifierScorer(method: .detection, client: judge, options: options(.contentFree))
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "the hot token")
        let c = try XCTUnwrap(record.calibration)
        XCTAssertEqual(c.texts, ["N/A", "", "[MASK]"])
        XCTAssertEqual(c.threshold, 0.7, accuracy: 1e-12)
        XCTAssertEqual(record.metrics.balancedAccuracy, 1)
        XCTAssertEqual(record.samples.first { $0.activating }?.probability ?? 0, 0.8, accuracy: 1e-12)
        // Every request is one text answered by a bare digit: no list prefix.
        XCTAssertTrue(judge.seen.allSatisfy { $0.prefix.isEmpty })
        XCTAssertEqual(judge.seen.count, record.samples.count + 3)
        // Stored with the annotation.
        let raw = CacheBridge.annotation(record).raw
        guard case .object(let o)? = raw, case .object(let cal)? = o["calibration"], case .number(let t)? = cal["threshold"] else {
            return XCTFail("no calibration in \(String(describing: raw))")
        }
        XCTAssertEqual(t, 0.7, accuracy: 1e-12)
    }

    func testFuzzCalibrationUsesMarkedContentFreeTexts() async throws {
        let record = try await ClassifierScorer(method: .fuzz, client: BiasedJudge(), options: options(.contentFree))
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "the hot token")
        XCTAssertEqual(record.calibration?.texts, ["<<N/A>>", "<<>>", "<<[MASK]>>"])
        XCTAssertEqual(record.calibration?.threshold ?? 0, 0.7, accuracy: 1e-12)
    }

    func testPriorRuleAnswersOneForTheDesignShare() async throws {
        let sampled = try ExampleSampler.sample(Fixtures.latent(9, activating: 300))
        let judge = BiasedJudge()
        let scorer = ClassifierScorer(method: .detection, client: judge, options: options(.prior))
        XCTAssertEqual(scorer.promptVersion, "featurescope-detection-question-v1+prior")
        final class Box: @unchecked Sendable { var counts: [Int] = [] }
        let streamed = Box()
        let record = try await scorer.score(sampled, explanation: "the hot token") { done, _, samples in
            // The running predictions follow the same rule: 1 for the design share of the texts answered so far.
            let answered = samples.filter { $0.probability != nil }
            XCTAssertEqual(answered.count, done)
            streamed.counts.append(answered.filter { $0.prediction == true }.count)
        }
        let share = Double(sampled.test.count) / Double(sampled.test.count + sampled.nonActivating.count)
        let c = try XCTUnwrap(record.calibration)
        XCTAssertEqual(c.rule, "prior")
        XCTAssertEqual(c.positiveShare ?? 0, share, accuracy: 1e-12)
        XCTAssertEqual(c.threshold, 0.7, accuracy: 1e-12)  // between 0.8 (hot) and 0.6
        XCTAssertEqual(record.samples.filter { $0.prediction == true }.count, sampled.test.count)
        XCTAssertEqual(record.metrics.balancedAccuracy, 1)
        XCTAssertEqual(streamed.counts.last, sampled.test.count)
        XCTAssertEqual(judge.seen.count, record.samples.count)  // no content-free requests
    }

    func testPriorRuleBreaksTiesByOrder() {
        var samples = (0..<4).map { i in
            ScoredSample(strTokens: [], activations: [], distance: i < 2 ? 0 : -1, activating: i < 2, probability: 0.5, shownText: "\(i)")
        }
        let c = ClassifierScorer.applyPrior(&samples, positiveShare: 0.5)
        XCTAssertEqual(samples.map(\.prediction), [true, true, false, false])
        XCTAssertEqual(c?.threshold, 0.5)
    }

    func testFailedCalibrationFallsBackToTheLikelierAnswerAndSaysSo() async throws {
        let judge = BiasedJudge()
        judge.failContentFree = true
        let record = try await ClassifierScorer(method: .detection, client: judge, options: options(.contentFree))
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "the hot token")
        XCTAssertNil(record.calibration)
        XCTAssertTrue(record.samples.allSatisfy { $0.prediction == true })
        XCTAssertTrue(record.batchFailures.contains { $0.contains("no content-free probabilities") }, "\(record.batchFailures)")
    }

    func testQuestionPromptThroughAnEndpoint() async throws {
        // Without logprobs the reply itself must be 0 or 1; anything else leaves that sample without a prediction.
        let client = ScriptedClient { req, _ in
            let user = req.messages.last?.content ?? ""
            XCTAssertEqual(req.maxTokens, 1)
            if user.contains("Text: \n") { return ChatResponse(text: "maybe") }
            return ChatResponse(text: user.contains(" ACT") ? "1" : "0")
        }
        var o = options(.contentFree)
        o.useNextTokenProbabilities = false
        let scorer = ClassifierScorer(method: .detection, client: client, options: o)
        XCTAssertFalse(scorer.calibrates)
        let record = try await scorer.score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "the hot token")
        XCTAssertEqual(record.metrics.balancedAccuracy, 1)
        XCTAssertNil(record.calibration)
        XCTAssertEqual(scorer.promptVersion, "featurescope-detection-question-v1")
    }
}
