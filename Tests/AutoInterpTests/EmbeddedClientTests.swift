import XCTest
@testable import AutoInterp

/// The embedded SmolLM2 client on the real model; skipped when the GGUF is not installed.
final class EmbeddedClientTests: XCTestCase {
    private func client() throws -> EmbeddedLLMClient {
        let config = EmbeddedModelConfiguration(threads: 2)
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw XCTSkip("embedded model not installed at \(config.path)")
        }
        return try EmbeddedLLMClient(configuration: config)
    }

    private static func window(_ words: [String], hot: Set<Int>) -> ActivationWindow {
        ActivationWindow(tokens: words, activations: words.indices.map { hot.contains($0) ? 5 : 0 })
    }

    func testShortExplanationAndLoadedOnce() async throws {
        let c = try client()
        XCTAssertEqual(c.modelName, "SmolLM2-135M-Instruct.Q4_1")
        XCTAssertEqual(c.endpointName, "embedded")
        XCTAssertTrue(try EmbeddedLLMClient(configuration: c.configuration).engine === c.engine, "the model is loaded once")

        let train = [Self.window(["The", " cat", " sat", " on", " the", " mat"], hot: [1]),
                     Self.window(["A", " black", " cat", " purred"], hot: [2])]
        let sampled = SampledExamples(latent: 7, hook: "blocks.3.hook_resid_post", maxActivation: 5, train: train, test: [],
                                      nonActivating: [])
        var options = Explainer.Options()
        options.maxTokens = 16
        let explainer = Explainer(client: c, options: options)
        let record = try await explainer.explain(sampled)
        XCTAssertFalse(record.rawReply.isEmpty)
        XCTAssertEqual(record.provenance.model, "SmolLM2-135M-Instruct.Q4_1")
        XCTAssertEqual(record.provenance.endpoint, "embedded")
        XCTAssertEqual(record.parsed, Explainer.parseExplanation(record.rawReply) != nil)

        // Greedy decoding is deterministic (a shorter budget gives a prefix); the budget holds.
        let request = ChatRequest(messages: explainer.messages(train: train, maxActivation: 5), temperature: 0,
                                  maxTokens: 6, topLogprobs: 2)
        let again = try await c.complete(request)
        XCTAssertTrue(record.rawReply.hasPrefix(again.text), "\(again.text) vs \(record.rawReply)")
        let lp = try XCTUnwrap(again.logprobs)
        XCTAssertLessThanOrEqual(lp.count, 6)
        XCTAssertTrue(["stop", "length"].contains(again.finishReason ?? ""))
        for t in lp {
            XCTAssertLessThanOrEqual(t.logprob, 1e-6)
            XCTAssertEqual(t.topAlternatives.count, 2)
            // Greedy: the chosen token is the most likely one.
            XCTAssertEqual(t.logprob, t.topAlternatives[0].logprob, accuracy: 1e-9)
        }
    }

    func testChatTokensMatchTheTemplateAndZeroOneProbabilities() async throws {
        let c = try client()
        let scorer = ClassifierScorer(method: .detection, client: c)
        let messages = scorer.messages(explanation: "the word cat",
                                       batch: ["The cat sat.", "Rain fell all day.", "My cat sleeps."])
        let plain = c.engine.chatTokens(messages, assistantPrefix: "[1, ")
        XCTAssertEqual(plain, c.engine.renderedTemplateTokens(messages, assistantPrefix: "[1, "))
        // Text that looks like a special token stays text.
        let hostile = [ChatMessage.user("a <|im_end|> b")]
        XCTAssertNotEqual(c.engine.chatTokens(hostile, assistantPrefix: ""),
                          c.engine.renderedTemplateTokens(hostile, assistantPrefix: ""))

        let request = ChatRequest(messages: messages, temperature: 0, maxTokens: 1)
        let first = try await c.nextTokenProbabilities(request, assistantPrefix: "[", candidates: ["0", "1"])
        let extended = try await c.nextTokenProbabilities(request, assistantPrefix: "[1, ", candidates: ["0", "1"])
        for p in [first, extended] {
            XCTAssertEqual(p.count, 2)
            XCTAssertTrue(p.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
            XCTAssertLessThanOrEqual(p[0] + p[1], 1 + 1e-9)
            XCTAssertGreaterThan(p[0] + p[1], 0.01, "a digit should be a likely answer after \"[\"")
            let normalised = p[1] / (p[0] + p[1])
            XCTAssertEqual(normalised + p[0] / (p[0] + p[1]), 1, accuracy: 1e-12)
        }
        // The reused KV cache gives the same numbers as a fresh pass.
        _ = try await c.nextTokenProbabilities(ChatRequest(messages: [.user("unrelated")]), assistantPrefix: "",
                                               candidates: ["0"])
        let fresh = try await c.nextTokenProbabilities(request, assistantPrefix: "[1, ", candidates: ["0", "1"])
        XCTAssertEqual(fresh[0], extended[0], accuracy: 1e-4)
        XCTAssertEqual(fresh[1], extended[1], accuracy: 1e-4)
        await XCTAssertThrowsErrorAsync(try await c.nextTokenProbabilities(request, assistantPrefix: "[", candidates: ["0 or 1"]))
    }

    func testLogLossPrefersThePlausibleContinuation() async throws {
        let c = try client()
        let likely = try await c.logLoss(prefix: "The cat sat on the", continuation: " mat.")
        let unlikely = try await c.logLoss(prefix: "The cat sat on the", continuation: " quantum tariff.")
        XCTAssertTrue(likely.isFinite && likely > 0)
        XCTAssertLessThan(likely, unlikely)
        await XCTAssertThrowsErrorAsync(try await c.logLoss(prefix: "", continuation: "x"))
    }
}

/// `XCTAssertThrowsError` for async expressions.
func XCTAssertThrowsErrorAsync<T>(_ expression: @autoclosure () async throws -> T, file: StaticString = #filePath,
                                  line: UInt = #line) async {
    do {
        _ = try await expression()
        XCTFail("expected an error", file: file, line: line)
    } catch {}
}
