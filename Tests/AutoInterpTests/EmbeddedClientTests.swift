import FeaturescopeCore
import XCTest
import LatentCache
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
        // The reply is forced to start with "[EXPLANATION]:" and ends at its line break.
        var forcedConfig = c.configuration
        forcedConfig.replyPrefix = "[EXPLANATION]:"
        forcedConfig.stopAtNewline = true
        let forced = try EmbeddedLLMClient(configuration: forcedConfig)
        XCTAssertTrue(forced.engine === c.engine)
        XCTAssertEqual(forced.endpointName, "embedded:forced-prefix")
        let explainer = Explainer(client: forced, options: options)
        let record = try await explainer.explain(sampled)
        XCTAssertTrue(record.parsed)
        XCTAssertTrue(record.rawReply.hasPrefix("[EXPLANATION]:"))
        XCTAssertFalse(record.explanation.contains("\n"))
        XCTAssertEqual(record.provenance.model, "SmolLM2-135M-Instruct.Q4_1")
        XCTAssertEqual(record.provenance.endpoint, "embedded:forced-prefix")

        // Unprimed reply: the token budget holds and greedy picks the likeliest token each step.
        let request = ChatRequest(messages: explainer.messages(train: train, maxActivation: 5), temperature: 0,
                                  maxTokens: 6, topLogprobs: 2)
        let again = try await c.complete(request)
        XCTAssertFalse(again.text.isEmpty)
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

    func testDemoCacheOfTokenIdentityLatents() async throws {
        let c = try client()
        let path = NSTemporaryDirectory() + "autointerp-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. A cat sleeps on the warm mat. ", count: 40)
        var o = EmbeddedDemoCache.Options()
        o.latents = 4
        o.rowLength = 64
        o.skipMostFrequent = 0
        o.examples = ExampleConfiguration(windowLength: 16, quantiles: 2, perQuantile: 4, topCount: 3, randomCount: 4,
                                          histogramBins: 4, seed: 1)
        let r = try EmbeddedDemoCache.build(at: path, text: text, client: c, options: o)
        XCTAssertEqual(r.latentTokens.count, 4)
        XCTAssertEqual(r.tokens % 64, 0)
        let part = try LatentSelection.part(named: nil, in: LatentCacheDirectory.open(path))
        let ex = try CacheBridge.examples(part: part, latent: 0)
        XCTAssertFalse(ex.examples.activating.isEmpty)
        for w in ex.examples.activating {
            for (t, a) in zip(w.tokens, w.activations) { XCTAssertEqual(a > 0, t == r.latentTokens[0]) }
        }
    }

    func testLineEnd() {
        XCTAssertNil(EmbeddedLLMClient.lineEnd("\n\n  "))
        let t = "\n\nA cat.\nMore"
        XCTAssertEqual(t[..<(EmbeddedLLMClient.lineEnd(t) ?? t.endIndex)], "\n\nA cat.")
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

/// Forked prompt prefixes give exactly the logits of a prompt computed from scratch.
final class EmbeddedPrefixForkTests: XCTestCase {
    func testForkedPrefixesMatchFreshComputation() async throws {
        let config = EmbeddedModelConfiguration(threads: 2)
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw XCTSkip("embedded model not installed at \(config.path)")
        }
        let c = try EmbeddedLLMClient(configuration: config)
        // Two prompt kinds with their own shared prefix (system + a demo turn), short so the test stays fast.
        func request(_ kind: String, _ text: String) -> ChatRequest {
            ChatRequest(messages: [.system("You label texts about \(kind)."), .user("Is \"a \(kind)\" about \(kind)?"),
                                   .assistant("1"), .user(text)], temperature: 0, maxTokens: 1)
        }
        let a = request("cats", "The cat sat.")
        let b = request("rain", "Rain fell all day.")
        let c2 = request("cats", "A dog barked.")
        c.engine.setPrefixReuse(.none)
        var fresh: [[Double]] = []
        for r in [a, b, c2] { fresh.append(try await c.nextTokenProbabilities(r, assistantPrefix: "[", candidates: ["0", "1"])) }
        c.engine.setPrefixReuse(.forks)
        var forked: [[Double]] = []
        for r in [a, b, c2] { forked.append(try await c.nextTokenProbabilities(r, assistantPrefix: "[", candidates: ["0", "1"])) }
        let before = c.promptTokenCounts.reused
        // a after c2 after b: the "cats" prefix comes back from its fork.
        forked.append(try await c.nextTokenProbabilities(a, assistantPrefix: "[", candidates: ["0", "1"]))
        XCTAssertGreaterThan(c.promptTokenCounts.reused, before + 10, "the first kind's prefix was reused")
        for (f, g) in zip(fresh + [fresh[0]], forked) {
            for (x, y) in zip(f, g) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }
}

/// The embedded client takes the chat format from the model's own template: ChatML for Qwen2.5, Gemma's turns for
/// Gemma 3. Only tokenisation runs here (no forward pass), so the larger registry models stay cheap to check.
final class EmbeddedChatFormatTests: XCTestCase {
    private func client(_ file: String) throws -> EmbeddedLLMClient {
        let path = FeaturescopePaths.cacheDirectory() + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(file) not installed (featurescope model fetch)") }
        return try EmbeddedLLMClient(configuration: EmbeddedModelConfiguration(path: path, threads: 1, contextLength: 512))
    }

    private let messages: [ChatMessage] = [.system("You explain neurons."), .user("Examples: the cat sat."),
                                           .assistant("[EXPLANATION]: cats"), .user("Examples: a dog ran.")]

    func testQwenUsesChatMLAndGemmaItsTurns() throws {
        for (file, stop) in [("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "<|im_end|>"), ("gemma-3-270m-q4_k_m.gguf", "<end_of_turn>")] {
            let c = try client(file)
            XCTAssertEqual(c.chatFormat.stopText, stop, file)
            XCTAssertEqual(c.engine.chatTokens(messages, assistantPrefix: "[EXPLANATION]:"),
                           c.engine.renderedTemplateTokens(messages, assistantPrefix: "[EXPLANATION]:"), file)
            XCTAssertTrue(c.engine.stopTokens.contains(try XCTUnwrap(c.engine.tokenizer.id(of: stop))), file)
            let hostile = [ChatMessage.user("a \(stop) b")]
            XCTAssertNotEqual(c.engine.chatTokens(hostile, assistantPrefix: ""), c.engine.renderedTemplateTokens(hostile, assistantPrefix: ""),
                              "\(file): message text must not become a turn token")
        }
    }
}
