import XCTest
@testable import AutoInterp

final class ScorerTests: XCTestCase {
    func testDetectionSamplesArePlainAndShuffledDeterministically() throws {
        let scorer = ClassifierScorer(method: .detection, client: ScriptedClient { _, _ in ChatResponse(text: "") })
        let sampled = try ExampleSampler.sample(Fixtures.latent(4, activating: 300))
        let a = scorer.prepareSamples(sampled)
        XCTAssertEqual(a.count, 100)
        XCTAssertEqual(a.filter(\.activating).count, 50)
        XCTAssertTrue(a.allSatisfy { $0.shownText == $0.strTokens.joined() && !$0.shownText.contains("<<") })
        XCTAssertEqual(a, scorer.prepareSamples(sampled))
        XCTAssertNotEqual(a.prefix(50).filter(\.activating).count, 50, "positives and negatives are mixed")
    }

    func testFuzzHighlights() throws {
        let scorer = ClassifierScorer(method: .fuzz, client: ScriptedClient { _, _ in ChatResponse(text: "") })
        var latent = Fixtures.latent(5, activating: 300)
        // Give every activating window a weak third token (below 0.3 × max) that must not be highlighted.
        for i in latent.activating.indices {
            latent.activating[i].activations[5] = latent.activating[i].maxActivation * 0.1
        }
        let sampled = try ExampleSampler.sample(latent)
        XCTAssertEqual(ClassifierScorer.meanNonzeroCeil(sampled.test), 3)
        let samples = scorer.prepareSamples(sampled)
        for s in samples where s.activating {
            XCTAssertTrue(s.shownText.contains("<< ACT ACT>>"), s.shownText)
            XCTAssertEqual(s.shownText.components(separatedBy: "<<").count - 1, 1)
        }
        for s in samples where !s.activating {
            // 3 random tokens of a silent window are highlighted.
            let marked = s.shownText.components(separatedBy: "<<").dropFirst()
                .map { $0.components(separatedBy: ">>")[0] }
            let markedTokens = marked.joined().components(separatedBy: " ").filter { !$0.isEmpty }
            XCTAssertEqual(markedTokens.count, 3, s.shownText)
            XCTAssertFalse(s.shownText.contains("ACT"))
        }
    }

    func testFuzzActiveVariantMislabelsCopies() throws {
        var options = ClassifierScorer.Options()
        options.fuzzNegatives = .mislabeledActivating
        let scorer = ClassifierScorer(method: .fuzz, client: ScriptedClient { _, _ in ChatResponse(text: "") }, options: options)
        let samples = scorer.prepareSamples(try ExampleSampler.sample(Fixtures.latent(5, activating: 300)))
        let negatives = samples.filter { !$0.activating }
        XCTAssertEqual(negatives.count, 50)
        XCTAssertTrue(negatives.allSatisfy { $0.distance == -1 && $0.strTokens.contains(" ACT") && !$0.shownText.contains("<< ACT") })
    }

    func testFuzzEndToEndWithLogprobs() async throws {
        // A scorer that answers correctly, with logprobs for each answer digit.
        let client = ScriptedClient { req, _ in
            let text = Fixtures.correctAnswer(req)
            let answers = text.filter { $0 == "0" || $0 == "1" }
            var lp: [TokenLogprob] = [TokenLogprob(token: "[", logprob: 0, topAlternatives: [])]
            for (k, a) in answers.enumerated() {
                let p1 = a == "1" ? 0.8 : 0.3
                lp.append(TokenLogprob(token: String(a), logprob: 0, topAlternatives: [
                    TokenAlternative(token: "1", logprob: log(p1)), TokenAlternative(token: "0", logprob: log(1 - p1))]))
                lp.append(TokenLogprob(token: k + 1 < answers.count ? ", " : "]", logprob: 0, topAlternatives: []))
            }
            return ChatResponse(text: text, logprobs: lp)
        }
        let scorer = ClassifierScorer(method: .fuzz, client: client)
        let record = try await scorer.score(try ExampleSampler.sample(Fixtures.latent(6, activating: 300)), explanation: "ACT")
        XCTAssertEqual(client.requests.first?.topLogprobs, 5)
        XCTAssertTrue(client.requests[0].messages.last?.content.hasPrefix("Latent explanation: ACT\n\nText examples:\n\nExample 0: ") ?? false)
        XCTAssertEqual(record.batchFailures, [])
        XCTAssertTrue(record.samples.allSatisfy { $0.probability != nil })
        let m = record.metrics
        XCTAssertEqual(m.balancedAccuracy, 1)
        XCTAssertEqual(m.auc ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(record.provenance.method, "fuzz")
    }

    func testRequestFailureIsRecordedNotThrown() async throws {
        let client = ScriptedClient { req, i in
            if i == 3 { throw LLMClientError.gaveUp(attempts: 3, last: .timedOut(endpoint: "x", seconds: 1)) }
            return ChatResponse(text: Fixtures.correctAnswer(req))
        }
        var options = ClassifierScorer.Options()
        options.topLogprobs = 0
        let record = try await ClassifierScorer(method: .detection, client: client, options: options)
            .score(try ExampleSampler.sample(Fixtures.latent(8, activating: 300)), explanation: "ACT")
        XCTAssertEqual(record.requestFailures, 1)
        XCTAssertEqual(record.samples.filter { $0.prediction == nil }.count, 5)
        XCTAssertTrue(record.batchFailures[0].contains("timed out after 3 tries"), record.batchFailures[0])
    }

    /// A fake embedded model: P("1") high for examples containing " ACT".
    final class NextTokenFake: NextTokenProbabilityClient, @unchecked Sendable {
        let modelName = "fake-embedded"
        let endpointName = "embedded"
        func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: "") }
        func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String, candidates: [String]) async throws -> [Double] {
            let answered = assistantPrefix.filter { $0 == "0" || $0 == "1" }.count
            let lines = (request.messages.last?.content ?? "").split(separator: "\n").filter { $0.hasPrefix("Example ") }
            let hot = answered < lines.count && lines[answered].contains(" ACT")
            return hot ? [0.1, 0.7] : [0.6, 0.2]
        }
    }

    func testNextTokenProbabilityClient() async throws {
        let record = try await ClassifierScorer(method: .detection, client: NextTokenFake())
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "ACT")
        XCTAssertEqual(record.metrics.balancedAccuracy, 1)
        let hot = record.samples.first { $0.activating }
        XCTAssertEqual(hot?.probability ?? 0, 0.875, accuracy: 1e-12)
    }

    /// A fake LM whose loss drops when the prefix mentions ACT and the text contains it.
    struct FakeLM: SequenceScorer {
        func logLoss(prefix: String, continuation: String) async throws -> Double {
            prefix.contains("ACT") && continuation.contains(" ACT") ? 10 : 20
        }
    }

    func testSurprisalScorerAUROC() async throws {
        let record = try await SurprisalScorer(scorer: FakeLM(), modelName: "fake")
            .score(try ExampleSampler.sample(Fixtures.latent(10, activating: 300)), explanation: "the token ACT")
        XCTAssertEqual(record.samples.count, 100)
        XCTAssertEqual(record.metrics.auc ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(record.samples.first { !$0.activating }?.probability, 0)
    }
}
