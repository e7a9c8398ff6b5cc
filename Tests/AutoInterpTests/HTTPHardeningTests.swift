import Foundation
import FeaturescopeCore
import TestSupport
@testable import AutoInterp

import XCTest

/// Issue 16: the API key never leaves the configured origin nor reaches any message or file
/// (D4, D5, D11); replies are capped (D10), `Retry-After` is bounded by the timeout (D12) and
/// oversized headers get a clear message (D13).
final class HTTPHardeningTests: XCTestCase {
    static let key = "sk-hardening-test-0123456789"
    private let request = ChatRequest(messages: [.user("u")], temperature: 0, maxTokens: 8)

    private func client(_ server: LocalHTTPServer, timeout: Double = 5, attempts: Int = 2, maxRetryAfter: Double = 120,
                        maxBytes: Int = 1 << 20) throws -> OpenAIClient {
        let config = OpenAIClientConfiguration(baseURL: server.baseURL, model: "m", apiKeyEnvironmentVariable: "TEST_KEY",
                                               requestTimeout: timeout, maxAttempts: attempts, initialBackoff: 0.01,
                                               maxBackoff: 0.02, maxRetryAfter: maxRetryAfter, maxResponseBytes: maxBytes)
        return try OpenAIClient(configuration: config, environment: ["TEST_KEY": Self.key])
    }

    private func failure(_ c: OpenAIClient, file: StaticString = #filePath, line: UInt = #line) async -> LLMClientError? {
        do {
            let reply = try await c.complete(request)
            XCTFail("expected an error, got \(reply.text)", file: file, line: line)
        } catch let e as LLMClientError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    private static func reply(_ content: String) -> String {
        let quoted = String(decoding: try! JSONEncoder().encode(content), as: UTF8.self)
        return #"{"model":"m","choices":[{"message":{"content":"# + quoted + "}}]}"
    }

    func testRedirectToAnotherOriginIsNotFollowed() async throws {
        let elsewhere = try LocalHTTPServer(replies: [.respond(status: 200, body: Self.reply("ok"))])
        defer { elsewhere.stop() }
        let target = "http://127.0.0.1:\(elsewhere.port)/v1/chat/completions"
        let server = try LocalHTTPServer(replies: [.respond(status: 307, headers: ["Location": target], body: "")])
        defer { server.stop() }
        let e = await failure(try client(server))
        guard case .redirectRefused(307, _, let location)? = e else { return XCTFail("got \(String(describing: e))") }
        XCTAssertEqual(location, target)
        XCTAssertTrue(e?.description.contains("redirects are not followed") ?? false)
        XCTAssertEqual(server.requests.first?.headers["authorization"], "Bearer \(Self.key)")
        XCTAssertTrue(elsewhere.requests.isEmpty, "the other origin must not be contacted, let alone get the key")
    }

    func testServerErrorMessageEchoingTheKeyIsRedacted() async throws {
        let body = #"{"error":{"message":"Incorrect API key provided: "# + "\"\(Self.key)\"}}"
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: body), .respond(status: 401, body: body)])
        defer { server.stop() }
        let c = try client(server)
        for _ in 0 ..< 2 {
            let e = await failure(c)
            let text = try XCTUnwrap(e?.description)
            XCTAssertFalse(text.contains(Self.key), text)
            XCTAssertTrue(text.contains(SecretRedaction.placeholder), text)
        }
    }

    func testReplyEchoingTheKeyIsRedacted() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: Self.reply("Your key is \(Self.key), thanks"))])
        defer { server.stop() }
        let reply = try await client(server).complete(request)
        XCTAssertEqual(reply.text, "Your key is <redacted>, thanks")
    }

    func testStoredDelphiFilesAreRedacted() throws {
        SecretRedaction.register(Self.key)
        let dir = try FixtureFiles.temporaryFolder("redact")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = DelphiRun(root: dir)
        try run.writeExplanation("explained with \(Self.key)", hook: "blocks.1.hook_z", latent: 2)
        let raw = try String(contentsOfFile: run.explanationPath(hook: "blocks.1.hook_z", latent: 2), encoding: .utf8)
        XCTAssertEqual(raw, "\"explained with <redacted>\"")
    }

    func testPrintedTextAndRecordFilesAreRedacted() throws {
        SecretRedaction.register(Self.key)
        XCTAssertEqual(SafeText.sanitize("key=\(Self.key)\u{1B}"), "key=<redacted>␛")
        let dir = try FixtureFiles.temporaryFolder("records")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AutoInterpBatch.writeRecord(["reply": "echo \(Self.key)"], to: dir + "/r.json")
        let text = try String(contentsOfFile: dir + "/r.json", encoding: .utf8)
        XCTAssertTrue(text.contains("echo <redacted>") && !text.contains(Self.key), text)
    }

    func testOversizedReplyIsRefusedWithoutRetry() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: Self.reply(String(repeating: "x", count: 5000)))])
        defer { server.stop() }
        let e = await failure(try client(server, maxBytes: 4096))
        guard case .responseTooLarge(_, let detail)? = e else { return XCTFail("got \(String(describing: e))") }
        XCTAssertTrue(detail.contains("4096 bytes"), detail)
        XCTAssertEqual(server.requests.count, 1, "not retried")
    }

    func testHugeResponseHeaderGetsAClearMessage() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, headers: ["X-Big": String(repeating: "h", count: 200_000)],
                                                            body: Self.reply("ok"))])
        defer { server.stop() }
        let e = await failure(try client(server))
        guard case .responseTooLarge? = e else { return XCTFail("got \(String(describing: e))") }
        XCTAssertTrue(e?.description.contains("header") ?? false, e?.description ?? "")
        XCTAssertFalse(e?.description.contains("Out of memory") ?? true)
    }

    /// libcurl here speaks TLS: an https URL at a plain-HTTP server fails in the TLS handshake, not as an
    /// unsupported protocol.
    func testHTTPSIsSpoken() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: Self.reply("ok"))])
        defer { server.stop() }
        let url = try XCTUnwrap(URL(string: "https://127.0.0.1:\(server.port)/v1"))
        let c = try OpenAIClient(configuration: OpenAIClientConfiguration(baseURL: url, model: "m", requestTimeout: 5, maxAttempts: 1),
                                 environment: [:])
        let e = await failure(c)
        guard case .transport(_, let detail)? = e else { return XCTFail("got \(String(describing: e))") }
        XCTAssertTrue(detail.contains("SSL") || detail.contains("TLS"), detail)
        XCTAssertFalse(detail.lowercased().contains("not supported"), detail)
    }

    func testHeaderValuesCannotSmuggleHeaders() {
        let url = URL(string: "http://127.0.0.1:9/v1")!
        XCTAssertThrowsError(try OpenAIClient(configuration: OpenAIClientConfiguration(
            baseURL: url, model: "m", extraHeaders: ["X-Title": "a\r\nAuthorization: Bearer other"]), environment: [:]))
        XCTAssertThrowsError(try OpenAIClient(configuration: OpenAIClientConfiguration(
            baseURL: url, model: "m", apiKeyEnvironmentVariable: "K"), environment: ["K": "sk-0123456789\nX-Evil: 1"]))
    }

    func testReplyCapIsConfigurableFromTheSettings() throws {
        let dir = try FixtureFiles.temporaryFolder("cap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"llm": {"baseURL": "http://127.0.0.1:9/v1", "model": "m", "maxReplyBytes": 2048}}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/config.json"))
        let settings = try LLMProviderSettings.resolve(flags: LLMProviderSettings(), environment: [:], configPath: dir + "/config.json")
        let client = try XCTUnwrap(try settings.makeClient(environment: [:]) as? OpenAIClient)
        XCTAssertEqual(client.configuration.maxResponseBytes, 2048)
        XCTAssertThrowsError(try LLMProviderSettings(baseURL: "http://h/v1", model: "m", maxReplyBytes: 0).makeClient(environment: [:]))
    }

    func testRetryAfterFarInTheFutureIsBoundedByTheTimeout() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 429, headers: ["Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"], body: "later"),
                                                   .respond(status: 200, body: Self.reply("ok"))])
        defer { server.stop() }
        let start = Date()
        let reply = try await client(server, timeout: 1).complete(request)
        XCTAssertEqual(reply.text, "ok")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "a 2099 Retry-After must not outlast the 1 s timeout")
        XCTAssertEqual(try client(server, timeout: 1).retryDelay(after: 1, retryAfter: 1e9), 1)
    }
}
