import Foundation
import TestSupport
import XCTest
@testable import AutoInterp

/// The simulation scorer through an OpenAI-compatible endpoint, read all at once from `/v1/completions` echo
/// logprobs. The reply is a real one from llama-cpp-python 0.3.36's server (Qwen2.5-Coder-0.5B-Instruct Q4_K_M),
/// recorded by scripts/make-simulation-echo-fixture.py, served verbatim by a local HTTP server.
final class SimulationEchoTests: XCTestCase {
    static var fixtures: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/simulation")
    }

    static let explanation = "the word \"cat\""
    static let tokens = ["The", " cat", " sat", " on", " the", " mat"]

    func fixture(_ name: String) throws -> Data {
        let url = Self.fixtures.appendingPathComponent(name)
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "missing fixture \(url.path)")
        return try Data(contentsOf: url)
    }

    var reply: Data { get throws { try fixture("echo-reply-llama-cpp-python-qwen2.5-0.5b.json") } }

    /// Independent read of the raw reply: the placeholder's entry is the token starting at its offset; this server
    /// (no BOS for Qwen) puts the distribution of token i + 1 at entry i, so the read-out is the entry before it.
    func expectedValues(offsets: [Int]) throws -> [Double] {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: try reply) as? [String: Any])
        let choice = try XCTUnwrap((json["choices"] as? [[String: Any]])?.first)
        let lp = try XCTUnwrap(choice["logprobs"] as? [String: Any])
        let textOffset = try XCTUnwrap(lp["text_offset"] as? [Int])
        let tops = try XCTUnwrap(lp["top_logprobs"] as? [Any])
        return try offsets.map { o in
            let j = try XCTUnwrap(textOffset.firstIndex(of: o), "no token at offset \(o)")
            let top = try XCTUnwrap(tops[j - 1] as? [String: Double])
            var num = 0.0, den = 0.0
            for (k, v) in top {
                guard let n = Int(k.trimmingCharacters(in: .whitespaces)), (0 ... 10).contains(n) else { continue }
                num += Double(n) * exp(v); den += exp(v)
            }
            XCTAssertGreaterThan(den, 0)
            return num / den
        }
    }

    func testScorerReadsTheRealServerReplyAllAtOnce() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: String(decoding: try reply, as: UTF8.self))])
        defer { server.stop() }
        let client = try OpenAIClient(configuration: OpenAIClientConfiguration(baseURL: server.baseURL, model: "chat",
                                                                               requestTimeout: 5, maxAttempts: 1),
                                      environment: [:])
        var scorer = SimulationScorer(client: client)
        scorer.topLogprobs = 5
        let values = try await scorer.simulate(explanation: Self.explanation, tokens: Self.tokens, mode: .echo)
        // The request is exactly the recorded one (same prompt, echo, logprobs, max_tokens 1), to /v1/completions.
        let sent = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(sent.path, "/v1/completions")
        let sentJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: sent.body) as? NSDictionary)
        let recorded = try XCTUnwrap(JSONSerialization.jsonObject(with: try fixture("echo-request.json")) as? NSDictionary)
        XCTAssertEqual(sentJSON, recorded, "the scorer's prompt drifted from the fixture: rerun scripts/make-simulation-echo-fixture.py")
        let (_, offsets) = SimulationScorer.allAtOncePrompt(explanation: Self.explanation, tokens: Self.tokens)
        let expected = try expectedValues(offsets: offsets)
        XCTAssertEqual(values.count, Self.tokens.count)
        for (v, e) in zip(values, expected) { XCTAssertEqual(v, e, accuracy: 1e-9) }
        XCTAssertTrue(values.allSatisfy { (0 ... 10).contains($0) })
    }

    /// The same entries in OpenAI's alignment (entry i holds token i's own distribution, as vLLM sends them) give
    /// the same values; entries whose alignment cannot be told apart are a failure, not a guess.
    func testBothAlignmentsAndAmbiguity() throws {
        let entries = try OpenAIWire.decodeEcho(try reply, endpoint: "test", excerpt: { _ in "" })
        let (_, offsets) = SimulationScorer.allAtOncePrompt(explanation: Self.explanation, tokens: Self.tokens)
        let llamaCpp = try SimulationScorer.readOut(entries, placeholderOffsets: offsets)
        for (v, e) in zip(llamaCpp, try expectedValues(offsets: offsets)) { XCTAssertEqual(v, e, accuracy: 1e-9) }
        XCTAssertEqual(llamaCpp.count, offsets.count)
        var openAI = entries
        for i in openAI.indices { openAI[i].topAlternatives = i == 0 ? [] : entries[i - 1].topAlternatives }
        XCTAssertEqual(try SimulationScorer.readOut(openAI, placeholderOffsets: offsets), llamaCpp)
        // Without text_offset the offsets come from the token strings.
        var noOffsets = openAI
        for i in noOffsets.indices { noOffsets[i].textOffset = nil }
        XCTAssertEqual(try SimulationScorer.readOut(noOffsets, placeholderOffsets: offsets), llamaCpp)
        let flat = entries.map { PromptTokenLogprob(token: $0.token, textOffset: $0.textOffset, logprob: nil, topAlternatives: []) }
        XCTAssertThrowsError(try SimulationScorer.readOut(flat, placeholderOffsets: offsets))
        XCTAssertThrowsError(try SimulationScorer.readOut(entries, placeholderOffsets: [offsets[0] + 1]), "no token starts there")
        // No number among a placeholder's alternatives (the model expects another `unknown`): 0, as OpenAI's simulator.
        var noNumbers = entries
        let j = try XCTUnwrap(noNumbers.firstIndex { $0.textOffset == offsets[1] })
        noNumbers[j - 1].topAlternatives = [TokenAlternative(token: "unknown", logprob: -0.01)]
        let read = try SimulationScorer.readOut(noNumbers, placeholderOffsets: offsets)
        XCTAssertEqual(read[1], 0)
        XCTAssertEqual(read[0], llamaCpp[0])
    }

    func testEchoShapeIsChecked() {
        let bad = [#"{"choices":[{"text":"x","logprobs":null}]}"#,
                   #"{"choices":[{"text":"x","logprobs":{"tokens":["a","b"],"text_offset":[0],"token_logprobs":[null,-1],"top_logprobs":[null,{"b":-1}]}}]}"#,
                   #"{"choices":[{"text":"x","logprobs":{"tokens":["a","b"],"text_offset":[1,0],"token_logprobs":[null,-1],"top_logprobs":[null,{"b":-1}]}}]}"#]
        for body in bad {
            XCTAssertThrowsError(try OpenAIWire.decodeEcho(Data(body.utf8), endpoint: "e", excerpt: { _ in "" })) { e in
                guard case LLMClientError.missingField = e else { return XCTFail("\(e)") }
            }
        }
    }

    /// A server that ignores `echo` (logprobs of the generated token only) is told apart from a prompt read-out.
    func testAReplyWithoutTheEchoedPromptIsUnsupported() async throws {
        let body = #"{"choices":[{"text":" x","logprobs":{"tokens":[" x"],"text_offset":[0],"token_logprobs":[-0.1],"top_logprobs":[{" x":-0.1}]}}]}"#
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: body)])
        defer { server.stop() }
        let client = try OpenAIClient(configuration: OpenAIClientConfiguration(baseURL: server.baseURL, model: "m",
                                                                               requestTimeout: 5, maxAttempts: 1),
                                      environment: [:])
        do {
            _ = try await client.promptLogprobs("a longer prompt", topLogprobs: 5)
            XCTFail("expected an error")
        } catch let e as LLMClientError {
            XCTAssertTrue(SimulationScorer.echoUnsupported(e), "\(e)")
            XCTAssertTrue(e.description.contains("not echoed"), e.description)
        }
    }

    /// A server without `/v1/completions` echo (404): the run falls back to the chat list for every sample, and
    /// records which method it used.
    func testFallsBackToChatWhenEchoIsUnsupported() async throws {
        let chat = #"{"choices":[{"message":{"content":"The\t0\n cat\t9"},"finish_reason":"stop"}]}"#
        let server = try LocalHTTPServer(replies: [.respond(status: 404, body: #"{"detail":"Not Found"}"#)],
                                         fallback: .respond(status: 200, body: chat))
        defer { server.stop() }
        let client = try OpenAIClient(configuration: OpenAIClientConfiguration(baseURL: server.baseURL, model: "m",
                                                                               requestTimeout: 5, maxAttempts: 1),
                                      environment: [:])
        let ex = SampledExamples(latent: 1, hook: "h", maxActivation: 4, train: [],
                                 test: [ActivationWindow(tokens: ["The", " cat"], activations: [0, 4], distance: 0)],
                                 nonActivating: [ActivationWindow(tokens: ["The", " cat"], activations: [0, 0], distance: -1)])
        let record = try await SimulationScorer(client: client).score(ex, explanation: "cats")
        XCTAssertEqual(record.provenance.promptVersion, SimulationScorer.promptVersion)
        XCTAssertTrue(record.batchFailures.isEmpty, "\(record.batchFailures)")
        XCTAssertEqual(record.samples.map(\.simulated), [[0, 9], [0, 9]])
        XCTAssertEqual(server.requests.map(\.path), ["/v1/completions", "/v1/chat/completions", "/v1/chat/completions"])
    }
}
