import Foundation
import TestSupport
import XCTest
@testable import AutoInterp

/// A fake embedder: texts mentioning " ACT" point one way, the others another, queries a third.
struct KeywordEmbedder: TextEmbedder {
    let modelName = "keyword-embedder"
    let endpointName = "test://embed"
    func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map { t in
            if t.hasPrefix(EmbeddingScorer.queryPrefix) { return [1, 0.2] }
            return t.contains(" ACT") ? [1, 0.1] : [0.1, 1]
        }
    }
}

final class NewScorerTests: XCTestCase {
    func sampled(_ n: Int = 60) throws -> SampledExamples {
        var o = SamplingOptions()
        o.minExamples = 10
        return try ExampleSampler.sample(Fixtures.latent(3, activating: n, negatives: 20), options: o)
    }

    func testCorrelation() {
        XCTAssertEqual(Correlation.pearson([1, 2, 3, 4], [2, 4, 6, 8]), 1, accuracy: 1e-12)
        XCTAssertEqual(Correlation.pearson([1, 2, 3], [3, 2, 1]), -1, accuracy: 1e-12)
        XCTAssertTrue(Correlation.pearson([1, 1, 1], [1, 2, 3]).isNaN, "constant series: undefined, as numpy")
        // numpy: corrcoef([1,2,3,4,5],[2,1,4,3,7])[0,1] = 0.8241633836921342
        XCTAssertEqual(Correlation.pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 7]), 0.8241633836921342, accuracy: 1e-12)
        XCTAssertEqual(Correlation.ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1])
        // scipy.stats.spearmanr([1,2,3,4,5],[5,6,7,8,7]).correlation = 0.8207826816681233
        XCTAssertEqual(Correlation.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, accuracy: 1e-12)
    }

    func testEmbeddingScoreIsAUROCOfSimilarities() async throws {
        let s = try sampled()
        let record = try await EmbeddingScorer(embedder: KeywordEmbedder()).score(s, explanation: "the word ACT")
        XCTAssertEqual(record.samples.count, s.test.count + s.nonActivating.count)
        XCTAssertEqual(record.provenance.method, "embedding")
        XCTAssertEqual(record.metrics.auc ?? 0, 1, accuracy: 1e-12, "every activating example is more similar than every other")
        let a = CacheBridge.annotation(record)
        XCTAssertEqual(a.metrics?.score ?? 0, 1, accuracy: 1e-12, "the stored headline is the AUROC")
        XCTAssertEqual(EmbeddingScorer.queryPrefix, "Instruct: Retrieve sentences that could be related to the explanation.\nQuery:")
        XCTAssertEqual(EmbeddingScorer.cosine([1, 0], [0, 1]), 0)
        XCTAssertEqual(EmbeddingScorer.cosine([3, 4], [6, 8]), 1, accuracy: 1e-12)
    }

    func testEmbeddingsEndpoint() async throws {
        let body = #"{"data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0.5]}],"model":"m"}"#
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: body),
                                                   .respond(status: 200, body: #"{"data":[{"embedding":[1]}]}"#),
                                                   .respond(status: 200, body: #"{"data":[{"embedding":[[1,2],[3,6]]}]}"#)])
        defer { server.stop() }
        let config = OpenAIClientConfiguration(baseURL: server.baseURL, model: "embed-model", requestTimeout: 5, maxAttempts: 1)
        let client = try OpenAIClient(configuration: config, environment: [:], onRetry: nil)
        let v = try await client.embed(["a", "b"])
        XCTAssertEqual(v, [[1, 0.5], [0, 1]], "ordered by index")
        let sent = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(sent.path, "/v1/embeddings")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
        XCTAssertEqual(json["input"] as? [String], ["a", "b"])
        XCTAssertEqual(json["model"] as? String, "embed-model")
        do {
            _ = try await client.embed(["a", "b"])
            XCTFail("one vector for two inputs must fail")
        } catch let e as LLMClientError {
            XCTAssertTrue(e.description.contains("1 embeddings for 2 inputs"), e.description)
        }
        let pooled = try await client.embed(["one text, one vector per token (llama-cpp-python)"])
        XCTAssertEqual(pooled, [[2, 4]], "per-token vectors are mean-pooled")
    }

    /// A simulator that predicts 10 on " ACT" and 0 elsewhere correlates perfectly overall.
    func testSimulationCorrelation() async throws {
        let s = try sampled(100)
        let client = ScriptedClient { request, _ in
            let user = request.messages.last?.content ?? ""
            let tokens = user.components(separatedBy: "Tokens:\n").last?.split(separator: "\n", omittingEmptySubsequences: false) ?? []
            return ChatResponse(text: tokens.map { "\($0)\t\($0 == " ACT" ? 10 : 0)" }.joined(separator: "\n"))
        }
        let record = try await SimulationScorer(client: client).score(s, explanation: "the word ACT")
        XCTAssertTrue(record.batchFailures.isEmpty, "\(record.batchFailures)")
        XCTAssertFalse(s.test.isEmpty)
        let sim = try XCTUnwrap(record.simulation)
        // delphi's definition by hand: all tokens concatenated, truth = ⌈10·a/max⌉ (0 for non-activating).
        var truth: [Double] = [], pred: [Double] = []
        for ex in s.test + s.nonActivating {
            truth += ex.distance >= 0 ? ex.activations.map { min(10, (10 * Double($0) / Double(s.maxActivation)).rounded(.up)) } : ex.activations.map { _ in 0 }
            pred += ex.tokens.map { $0 == " ACT" ? 10 : 0 }
        }
        let expected = Correlation.pearson(truth, pred)
        XCTAssertGreaterThan(expected, 0.5)
        XCTAssertEqual(try XCTUnwrap(sim.overall), expected, accuracy: 1e-12)
        XCTAssertEqual(sim.perQuantile.count, 10)
        let a = CacheBridge.annotation(record)
        XCTAssertEqual(a.metrics?.score ?? 0, expected, accuracy: 1e-12)
        XCTAssertNotNil(a.metrics?.values["correlation"])
        // A reply with the wrong number of lines makes that sample's prediction null, not a wrong number.
        let short = ScriptedClient { _, _ in ChatResponse(text: "x\t3") }
        let bad = try await SimulationScorer(client: short).score(s, explanation: "e")
        XCTAssertEqual(bad.batchFailures.count, bad.samples.count)
        XCTAssertNil(bad.simulation?.overall)
    }

    /// Expected values from logprobs: the number after each tab, weighted by its alternatives.
    func testSimulationExpectedValueFromLogprobs() throws {
        let lp = [TokenLogprob(token: "a", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "\t", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "4", logprob: log(0.5), topAlternatives: [TokenAlternative(token: "4", logprob: log(0.5)),
                                                                                 TokenAlternative(token: "8", logprob: log(0.5))]),
                  TokenLogprob(token: "\n", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "b\t", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "0", logprob: 0, topAlternatives: [TokenAlternative(token: "0", logprob: 0)])]
        let v = try SimulationScorer.parse(ChatResponse(text: "a\t4\nb\t0", logprobs: lp), count: 2)
        XCTAssertEqual(v, [6, 0])
        XCTAssertEqual(try SimulationScorer.parse(ChatResponse(text: "a\t4\nb\t0"), count: 2), [4, 0])
        XCTAssertThrowsError(try SimulationScorer.parse(ChatResponse(text: "a\t11\nb\t0"), count: 2))
    }

    /// Tolerated reply forms (`token n`, bare `n`, blank lines, trailing spaces) and what stays a failure: a line
    /// without a trailing 0…10 or a wrong line count fails the whole reply, never a partial or shifted list.
    func testSimulationParseIsTolerantButStrict() throws {
        XCTAssertEqual(try SimulationScorer.parse(ChatResponse(text: " the 3\n\ncat\t10 \n7\n"), count: 3), [3, 10, 7])
        XCTAssertEqual(try SimulationScorer.parse(ChatResponse(text: "a\tb\t2\n 5\t0"), count: 2), [2, 0], "the last tab wins")
        XCTAssertThrowsError(try SimulationScorer.parse(ChatResponse(text: "a\t2\nb"), count: 2), "a line without a score")
        XCTAssertThrowsError(try SimulationScorer.parse(ChatResponse(text: "a\t2\nb\t3\nc\t0"), count: 2), "too many lines")
        XCTAssertThrowsError(try SimulationScorer.parse(ChatResponse(text: "a\t-1\nb\t3"), count: 2))
        XCTAssertThrowsError(try SimulationScorer.parse(ChatResponse(text: "a\t2.5\nb\t3"), count: 2))
        // Per-digit tokens: "10" is "1" + "0"; the alternatives at its first digit give the expected value.
        let lp = [TokenLogprob(token: "x 1", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "0", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "\ny", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: " ", logprob: 0, topAlternatives: []),
                  TokenLogprob(token: "2", logprob: log(0.5), topAlternatives: [TokenAlternative(token: "2", logprob: log(0.5)),
                                                                                 TokenAlternative(token: " 6", logprob: log(0.5)),
                                                                                 TokenAlternative(token: "cat", logprob: log(0.5))])]
        // "x 1" holds text before the number: that position is not a read-out, so 10 keeps its written value.
        XCTAssertEqual(try SimulationScorer.parse(ChatResponse(text: "x 10\ny 2", logprobs: lp), count: 2), [10, 4])
    }

    /// The embedded model: one pass gives P(0…10) at every placeholder, and its embeddings are mean-pooled
    /// residuals (skipped without the model, like the other embedded-model tests).
    func testEmbeddedSimulationAndEmbedding() async throws {
        let config = EmbeddedModelConfiguration(threads: 2)
        guard FileManager.default.fileExists(atPath: config.path) else { throw XCTSkip("embedded model not installed at \(config.path)") }
        let client = try EmbeddedLLMClient(configuration: config)
        let probs = try await client.placeholderProbabilities(SimulationScorer.messages(explanation: "cats", tokens: ["The", " cat"]),
                                                              lines: ["The", " cat"], candidates: SimulationScorer.candidates)
        XCTAssertEqual(probs.count, 2)
        for p in probs {
            XCTAssertEqual(p.count, 11)
            XCTAssertGreaterThan(p.reduce(0, +), 0.01, "the scores get some of the mass after a tab (the expected value renormalises over them)")
            XCTAssertLessThanOrEqual(p.reduce(0, +), 1 + 1e-9)
        }
        let embedder = try EmbeddedTextEmbedder(client: client)
        let v = try await embedder.embed(["a cat sat", "a cat sat", "stock markets fell"])
        XCTAssertEqual(v[0], v[1])
        XCTAssertEqual(v[0].count, 576)
        XCTAssertLessThan(EmbeddingScorer.cosine(v[0], v[2]), 1 - 1e-6)
        XCTAssertThrowsError(try EmbeddedTextEmbedder(client: client, layer: 99))
    }
}
