import XCTest
import TestSupport
@testable import AutoInterp

/// Fault handling of `OpenAIClient` against a real local HTTP server.
final class HTTPClientTests: XCTestCase {
    static let okBody = #"{"id":"x","model":"served-model","choices":[{"index":0,"message":{"role":"assistant","content":"[1, 0]"},"finish_reason":"stop","logprobs":{"content":[{"token":"[","logprob":-0.01,"top_logprobs":[]},{"token":"1","logprob":-0.2,"top_logprobs":[{"token":"1","logprob":-0.2231435513},{"token":"0","logprob":-1.6094379124}]},{"token":", ","logprob":0,"top_logprobs":[]},{"token":"0","logprob":-0.1,"top_logprobs":[{"token":"0","logprob":-0.1053605157},{"token":"1","logprob":-2.302585093}]},{"token":"]","logprob":0,"top_logprobs":[]}]}}]}"#

    private func client(_ server: LocalHTTPServer, attempts: Int = 3, timeout: Double = 5,
                        env: [String: String] = [:], keyVar: String? = nil,
                        retries: RetryLog? = nil) throws -> OpenAIClient {
        let config = OpenAIClientConfiguration(baseURL: server.baseURL, model: "test-model", apiKeyEnvironmentVariable: keyVar,
                                               requestTimeout: timeout, maxAttempts: attempts, initialBackoff: 0.05,
                                               maxBackoff: 0.2, maxRetryAfter: 5, maxConcurrentRequests: 2)
        var observer: (@Sendable (Int, LLMClientError, Double) -> Void)?
        if let log = retries { observer = { n, e, d in log.add(n, e, d) } }
        return try OpenAIClient(configuration: config, environment: env, onRetry: observer)
    }

    final class RetryLog: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(Int, LLMClientError, Double)] = []
        func add(_ n: Int, _ e: LLMClientError, _ d: Double) { lock.withLock { items.append((n, e, d)) } }
        var all: [(Int, LLMClientError, Double)] { lock.withLock { items } }
    }

    private let request = ChatRequest(messages: [.system("s"), .user("u")], temperature: 0, maxTokens: 20, topLogprobs: 5)

    private func expectError(_ c: OpenAIClient, file: StaticString = #filePath, line: UInt = #line) async -> LLMClientError? {
        do {
            _ = try await c.complete(request)
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch let e as LLMClientError {
            return e
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return nil
        }
    }

    func testSuccessSendsRequestAndParsesLogprobs() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: Self.okBody)])
        defer { server.stop() }
        let c = try client(server, env: ["MY_KEY": "sk-secret-123"], keyVar: "MY_KEY")
        let reply = try await c.complete(request)
        XCTAssertEqual(reply.text, "[1, 0]")
        XCTAssertEqual(reply.model, "served-model")
        XCTAssertEqual(reply.logprobs?.count, 5)
        XCTAssertEqual(ReplyParsing.binaryProbabilities(reply.logprobs ?? [], reply: reply.text, count: 2)?[0] ?? 0, 0.8, accuracy: 1e-6)
        let sent = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(sent.method, "POST")
        XCTAssertEqual(sent.path, "/v1/chat/completions")
        XCTAssertEqual(sent.headers["authorization"], "Bearer sk-secret-123")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: sent.body) as? [String: Any])
        XCTAssertEqual(json["model"] as? String, "test-model")
        XCTAssertEqual(json["logprobs"] as? Bool, true)
        XCTAssertEqual(json["top_logprobs"] as? Int, 5)
        XCTAssertEqual(json["max_tokens"] as? Int, 20)
        XCTAssertEqual((json["messages"] as? [[String: String]])?.last?["content"], "u")
        XCTAssertFalse(c.endpointName.contains("secret"))
    }

    func testMissingAPIKeyVariable() {
        XCTAssertThrowsError(try OpenAIClient(configuration: OpenAIClientConfiguration(
            baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "m", apiKeyEnvironmentVariable: "NOPE_KEY"), environment: [:])) { e in
            XCTAssertEqual(e as? LLMClientError, .missingAPIKey(variable: "NOPE_KEY"))
        }
    }

    func testRefusedConnectionGivesUpAfterRetries() async throws {
        let port = try LocalHTTPServer.unusedPort()
        let config = OpenAIClientConfiguration(baseURL: URL(string: "http://127.0.0.1:\(port)/v1")!, model: "m",
                                               requestTimeout: 5, maxAttempts: 2, initialBackoff: 0.01, maxBackoff: 0.02)
        let retries = RetryLog()
        let c = try OpenAIClient(configuration: config, environment: [:], onRetry: { retries.add($0, $1, $2) })
        let error = await expectError(c)
        guard case .gaveUp(2, .connectionRefused)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertTrue(error?.description.contains("refused") ?? false)
        XCTAssertEqual(retries.all.count, 1)
    }

    func testHangingServerTimesOut() async throws {
        let server = try LocalHTTPServer(replies: [.hang(seconds: 10), .hang(seconds: 10)])
        defer { server.stop() }
        let c = try client(server, attempts: 2, timeout: 1)
        let start = Date()
        let error = await expectError(c)
        let elapsed = Date().timeIntervalSince(start)
        guard case .gaveUp(2, .timedOut)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertTrue(error?.description.contains("timed out after 2 tries") ?? false, error?.description ?? "")
        XCTAssertLessThan(elapsed, 8, "timeouts must fire near the configured 1 s")
        XCTAssertEqual(server.requests.count, 2)
    }

    func testServerErrorThenSuccessRetries() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 500, body: "{\"error\":\"boom\"}"),
                                                   .respond(status: 503, body: "busy"),
                                                   .respond(status: 200, body: Self.okBody)])
        defer { server.stop() }
        let retries = RetryLog()
        let reply = try await client(server, attempts: 3, retries: retries).complete(request)
        XCTAssertEqual(reply.text, "[1, 0]")
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(retries.all.map(\.0), [1, 2])
        guard case .httpStatus(500, _, let body) = retries.all[0].1 else { return XCTFail() }
        XCTAssertTrue(body.contains("boom"))
    }

    func testRateLimitHonoursRetryAfter() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 429, headers: ["Retry-After": "1"], body: "slow down"),
                                                   .respond(status: 200, body: Self.okBody)])
        defer { server.stop() }
        let retries = RetryLog()
        let start = Date()
        _ = try await client(server, retries: retries).complete(request)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.95)
        XCTAssertEqual(retries.all.first?.2, 1, "the delay is Retry-After, not the (much shorter) backoff")
        XCTAssertEqual(OpenAIClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0, "a past date means now")
        XCTAssertNil(OpenAIClient.parseRetryAfter("soon"))
    }

    func testTruncatedBodyIsRetriedThenReported() async throws {
        let cut = String(Self.okBody.prefix(60))
        let server = try LocalHTTPServer(replies: [.truncated(declaredLength: 500, body: cut),
                                                   .respond(status: 200, body: Self.okBody),
                                                   .truncated(declaredLength: 500, body: cut),
                                                   .truncated(declaredLength: 500, body: cut)])
        defer { server.stop() }
        let c = try client(server, attempts: 2)
        let reply = try await c.complete(request)
        XCTAssertEqual(reply.text, "[1, 0]", "a body cut short is a transport error and is retried")
        let error = await expectError(c)
        guard case .gaveUp(2, .transport)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertTrue(error?.description.hasPrefix("gave up after 2 tries: connection to") ?? false)
    }

    func testCompleteButCutJSONIsInvalidJSON() async throws {
        let cut = String(Self.okBody.prefix(60))
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: cut)])
        defer { server.stop() }
        let error = await expectError(try client(server))
        guard case .invalidJSON(_, let excerpt)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertTrue(excerpt.hasPrefix("{\"id\""))
        XCTAssertEqual(server.requests.count, 1, "not retried")
    }

    func testNonJSONBody() async throws {
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: "<html>\u{1B}[31mproxy error</html>")])
        defer { server.stop() }
        let error = await expectError(try client(server))
        guard case .invalidJSON(_, let excerpt)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertFalse(excerpt.contains("\u{1B}"), "escape characters are made visible")
    }

    func testMissingFieldsAndClientErrors() async throws {
        let server = try LocalHTTPServer(replies: [
            .respond(status: 200, body: #"{"choices":[]}"#),
            .respond(status: 200, body: #"{"choices":[{"message":{"role":"assistant"}}]}"#),
            .respond(status: 400, body: #"{"error":{"message":"bad model"}}"#),
        ])
        defer { server.stop() }
        let c = try client(server)
        let e1 = await expectError(c)
        XCTAssertEqual(e1, .missingField(endpoint: c.endpointName, field: "choices[0]"))
        let e2 = await expectError(c)
        XCTAssertEqual(e2, .missingField(endpoint: c.endpointName, field: "choices[0].message.content"))
        let e3 = await expectError(c)
        guard case .httpStatus(400, _, let body)? = e3 else { return XCTFail("got \(String(describing: e3))") }
        XCTAssertTrue(body.contains("bad model"))
        XCTAssertEqual(server.requests.count, 3, "4xx other than 429 is not retried")
    }

    func testUnparsableReplyBecomesNullBatchAndNoLogprobsIsNoted() async throws {
        let body = #"{"choices":[{"message":{"content":"Honestly, it is hard to say."}}]}"#
        let good = #"{"choices":[{"message":{"content":"[1, 1, 1, 1, 1]"}}]}"#
        var replies: [LocalHTTPServer.Reply] = [.respond(status: 200, body: body)]
        replies += Array(repeating: .respond(status: 200, body: good), count: 19)
        let server = try LocalHTTPServer(replies: replies)
        defer { server.stop() }
        let scorer = ClassifierScorer(method: .detection, client: try client(server))
        let record = try await scorer.score(try ExampleSampler.sample(Fixtures.latent(1, activating: 250)), explanation: "x")
        XCTAssertEqual(record.samples.prefix(5).filter { $0.prediction == nil }.count, 5)
        XCTAssertEqual(record.samples.dropFirst(5).filter { $0.prediction == true }.count, 95)
        XCTAssertEqual(record.requestFailures, 0)
        XCTAssertTrue(record.batchFailures[0].contains("no [...] list"))
        XCTAssertTrue(record.batchFailures[1].contains("no logprobs"))
    }

    func testSemaphoreLimitsConcurrency() async {
        let sem = AsyncSemaphore(limit: 2)
        actor Gauge {
            var now = 0, peak = 0
            func enter() { now += 1; peak = max(peak, now) }
            func leave() { now -= 1 }
        }
        let gauge = Gauge()
        await withTaskGroup(of: Void.self) { g in
            for _ in 0..<8 {
                g.addTask {
                    await sem.withSlot {
                        await gauge.enter()
                        try? await Task.sleep(nanoseconds: 5_000_000)
                        await gauge.leave()
                    }
                }
            }
        }
        let peak = await gauge.peak
        XCTAssertEqual(peak, 2)
    }
}
