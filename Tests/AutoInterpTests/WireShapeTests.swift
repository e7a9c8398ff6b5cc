import XCTest
@testable import AutoInterp

/// Reply shapes of the servers the client must work with (extra fields ignored, logprobs optional).
final class WireShapeTests: XCTestCase {
    private func decode(_ body: String) throws -> ChatResponse {
        try OpenAIWire.decodeResponse(Data(body.utf8), endpoint: "e", excerpt: { String(decoding: $0, as: UTF8.self) })
    }

    func testLlamaCppShape() throws {
        let r = try decode(#"""
        {"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"[1]"},
        "logprobs":{"content":[{"id":58,"token":"[","bytes":[91],"logprob":-0.001,"top_logprobs":[{"id":58,"token":"[","bytes":[91],"logprob":-0.001}]},
        {"id":16,"token":"1","bytes":[49],"logprob":-0.105,"top_logprobs":[{"id":16,"token":"1","bytes":[49],"logprob":-0.105},{"id":15,"token":"0","bytes":[48],"logprob":-2.3}]},
        {"id":60,"token":"]","bytes":[93],"logprob":0.0,"top_logprobs":[]}]}}],
        "created":1732200000,"model":"SmolLM2","system_fingerprint":"b4000","object":"chat.completion",
        "usage":{"completion_tokens":3,"prompt_tokens":10,"total_tokens":13},"id":"chatcmpl-1","timings":{"predicted_ms":1.0}}
        """#)
        XCTAssertEqual(r.text, "[1]")
        XCTAssertEqual(r.finishReason, "stop")
        XCTAssertEqual(r.logprobs?.map(\.token), ["[", "1", "]"])
        let p = ReplyParsing.binaryProbabilities(r.logprobs ?? [], reply: r.text, count: 1)
        XCTAssertEqual(p?[0] ?? 0, exp(-0.105) / (exp(-0.105) + exp(-2.3)), accuracy: 1e-12)
    }

    func testOllamaShapeWithoutLogprobs() throws {
        let r = try decode(#"""
        {"id":"chatcmpl-7","object":"chat.completion","created":1,"model":"qwen2.5:7b","system_fingerprint":"fp_ollama",
        "choices":[{"index":0,"message":{"role":"assistant","content":"[EXPLANATION]: x"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}
        """#)
        XCTAssertEqual(r.text, "[EXPLANATION]: x")
        XCTAssertNil(r.logprobs)
        XCTAssertEqual(r.model, "qwen2.5:7b")
    }

    func testVLLMShape() throws {
        let r = try decode(#"""
        {"id":"chatcmpl-a","object":"chat.completion","created":1,"model":"meta-llama/Llama-3.1-8B-Instruct",
        "choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"[0]","tool_calls":[]},
        "logprobs":{"content":[{"token":"[","logprob":-0.0,"bytes":[91],"top_logprobs":[{"token":"[","logprob":-0.0,"bytes":[91]}]},
        {"token":"0","logprob":-0.01,"bytes":[48],"top_logprobs":[{"token":"0","logprob":-0.01,"bytes":[48]},{"token":"1","logprob":-9999.0,"bytes":[49]}]},
        {"token":"]","logprob":0.0,"bytes":[93],"top_logprobs":[]}]},"finish_reason":"stop","stop_reason":null}],
        "usage":{"prompt_tokens":5,"total_tokens":8,"completion_tokens":3},"prompt_logprobs":null}
        """#)
        XCTAssertEqual(r.text, "[0]")
        XCTAssertEqual(ReplyParsing.binaryProbabilities(r.logprobs ?? [], reply: r.text, count: 1)?[0] ?? 1, 0, accuracy: 1e-12)
    }

    func testOpenRouterShapeAndErrorObject() throws {
        let r = try decode(#"""
        {"id":"gen-1","provider":"DeepInfra","model":"meta-llama/llama-3.1-70b-instruct","object":"chat.completion","created":1,
        "choices":[{"logprobs":null,"finish_reason":"stop","native_finish_reason":"stop","index":0,
        "message":{"role":"assistant","content":"[1, 0]","refusal":null,"reasoning":null}}],
        "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}
        """#)
        XCTAssertEqual(r.text, "[1, 0]")
        XCTAssertNil(r.logprobs)
        XCTAssertThrowsError(try decode(#"{"error":{"message":"Provider returned error","code":502}}"#)) { e in
            XCTAssertTrue(String(describing: e).contains("Provider returned error"), String(describing: e))
        }
        // Malformed logprobs do not cost the answer.
        let odd = try decode(#"{"choices":[{"message":{"content":"[1]"},"logprobs":{"content":"weird"}}]}"#)
        XCTAssertEqual(odd.text, "[1]")
        XCTAssertNil(odd.logprobs)
        XCTAssertThrowsError(try decode(#"{"choices":[{"message":{"content":42}}]}"#)) { e in
            XCTAssertEqual(e as? LLMClientError, .missingField(endpoint: "e", field: "choices[0].message.content (wrong type)"))
        }
    }
}
