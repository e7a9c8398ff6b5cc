import Foundation
import FeaturescopeCore

/// Settings of an OpenAI-compatible `/v1/chat/completions` endpoint
/// (vLLM, llama.cpp server, Ollama, OpenRouter, OpenAI).
public struct OpenAIClientConfiguration: Sendable {
    /// Base URL including the API version, e.g. `http://localhost:8000/v1`. A URL that
    /// already ends in `/chat/completions` is used as is.
    public var baseURL: URL
    /// Model name sent in every request.
    public var model: String
    /// Name of the environment variable that holds the API key (nil: send no key).
    /// The key itself is read once and never logged or written.
    public var apiKeyEnvironmentVariable: String?
    /// Seconds one attempt may take (connect + answer).
    public var requestTimeout: Double
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// First retry delay in seconds; doubles each retry, with ±50 % jitter.
    public var initialBackoff: Double
    /// Upper bound of a computed retry delay, in seconds.
    public var maxBackoff: Double
    /// Upper bound of an honoured `Retry-After`, in seconds (never more than `requestTimeout`).
    public var maxRetryAfter: Double
    /// Largest reply body accepted, in bytes; a larger reply is an error, not retried.
    public var maxResponseBytes: Int
    /// Requests in flight at once, across all callers of this client.
    public var maxConcurrentRequests: Int
    /// Extra HTTP headers (e.g. OpenRouter's `HTTP-Referer`).
    public var extraHeaders: [String: String]

    public init(baseURL: URL, model: String, apiKeyEnvironmentVariable: String? = nil,
                requestTimeout: Double = 120, maxAttempts: Int = 5, initialBackoff: Double = 1,
                maxBackoff: Double = 30, maxRetryAfter: Double = 120, maxConcurrentRequests: Int = 8,
                extraHeaders: [String: String] = [:], maxResponseBytes: Int = 1 << 20) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.requestTimeout = requestTimeout
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.maxConcurrentRequests = maxConcurrentRequests
        self.extraHeaders = extraHeaders
        self.maxResponseBytes = maxResponseBytes
    }
}

/// A client for any OpenAI-compatible chat-completions endpoint, with retries
/// (exponential backoff + jitter on timeouts, connection errors, 429 and 5xx; `Retry-After`
/// honoured up to the timeout), a concurrency limit shared by all callers, and logprob parsing.
///
/// Requests go through libcurl's easy interface (`CurlTransport`), which sleeps while it waits.
/// Redirects are refused rather than followed, so the API key is sent to the configured origin
/// only; the key is registered with `SecretRedaction` and removed from every reply and error.
public final class OpenAIClient: PromptLogprobClient, @unchecked Sendable {
    // @unchecked: every stored property is immutable.
    public let configuration: OpenAIClientConfiguration
    public let modelName: String
    public let endpointName: String
    private let completionsURL: URL
    /// `/v1/embeddings` beside the chat endpoint (the embedding scorer).
    private let embeddingsURL: URL
    /// `/v1/completions` beside the chat endpoint (prompt log-probabilities for the simulation scorer).
    private let legacyCompletionsURL: URL
    private let apiKey: String?
    private let transport: CurlTransport
    private let semaphore: AsyncSemaphore
    /// Called before each retry with (attempt just failed, its error, delay in seconds).
    private let onRetry: (@Sendable (Int, LLMClientError, Double) -> Void)?

    /// - Parameters:
    ///   - environment: where the API key variable is looked up (tests pass their own).
    ///   - onRetry: observer for retries (a CLI prints a short note).
    public init(configuration: OpenAIClientConfiguration,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                onRetry: (@Sendable (Int, LLMClientError, Double) -> Void)? = nil) throws {
        guard let scheme = configuration.baseURL.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = configuration.baseURL.host, !host.isEmpty else {
            throw LLMClientError.invalidConfiguration("base URL must be http(s)://host[:port]/…, got \(configuration.baseURL.absoluteString)")
        }
        guard configuration.maxAttempts >= 1, configuration.requestTimeout > 0, configuration.maxResponseBytes > 0 else {
            throw LLMClientError.invalidConfiguration("maxAttempts must be ≥ 1, requestTimeout and maxResponseBytes > 0")
        }
        guard !configuration.model.isEmpty else {
            throw LLMClientError.invalidConfiguration("model name is empty")
        }
        // Header lines are sent as given: a line break would smuggle in another header.
        for (k, v) in configuration.extraHeaders where (k + v).contains(where: \.isNewline) || k.contains(":") {
            throw LLMClientError.invalidConfiguration("extra header '\(SafeText.sanitize(k))' holds a line break or a colon in its name")
        }
        if let variable = configuration.apiKeyEnvironmentVariable {
            guard let key = environment[variable], !key.isEmpty else {
                throw LLMClientError.missingAPIKey(variable: variable)
            }
            guard !key.contains(where: \.isNewline) else {
                throw LLMClientError.invalidConfiguration("the API key in \(variable) holds a line break")
            }
            apiKey = key
            SecretRedaction.register(key)
        } else {
            apiKey = nil
        }
        self.configuration = configuration
        self.modelName = configuration.model
        var path = configuration.baseURL.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/chat/completions") {
            completionsURL = configuration.baseURL
            let root = configuration.baseURL.deletingLastPathComponent().deletingLastPathComponent()
            embeddingsURL = root.appendingPathComponent("embeddings")
            legacyCompletionsURL = root.appendingPathComponent("completions")
        } else {
            completionsURL = configuration.baseURL.appendingPathComponent("chat/completions")
            embeddingsURL = configuration.baseURL.appendingPathComponent("embeddings")
            legacyCompletionsURL = configuration.baseURL.appendingPathComponent("completions")
        }
        let port = configuration.baseURL.port.map { ":\($0)" } ?? ""
        endpointName = "\(scheme)://\(host)\(port)\(path)"
        transport = CurlTransport(timeout: configuration.requestTimeout, maxBodyBytes: configuration.maxResponseBytes,
                                  maxHeaderBytes: 64 << 10)
        semaphore = AsyncSemaphore(limit: configuration.maxConcurrentRequests)
        self.onRetry = onRetry
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let body = try OpenAIWire.encodeRequest(request, model: configuration.model)
        let endpoint = endpointName
        return try await send(body, to: completionsURL) { data, excerpt in
            try OpenAIWire.decodeResponse(data, endpoint: endpoint, excerpt: excerpt).redacted()
        }
    }

    /// Embeddings of `texts` from `/v1/embeddings` (the same retries, timeout, size limit and key handling as
    /// chat requests), one vector per text in input order.
    public func embeddings(_ texts: [String]) async throws -> [[Float]] {
        let body = try OpenAIWire.encodeEmbeddingRequest(texts, model: configuration.model)
        let endpoint = embeddingsURL.absoluteString
        return try await send(body, to: embeddingsURL) { data, excerpt in
            try OpenAIWire.decodeEmbeddings(data, count: texts.count, endpoint: endpoint, excerpt: excerpt)
        }
    }

    /// The prompt's tokens with their top alternatives from `/v1/completions` (`echo: true`, `logprobs: N`,
    /// `max_tokens: 1`, temperature 0; vLLM and llama-cpp-python's server answer it), with the same retries,
    /// timeout, size limit and key handling as chat requests. Entries come as the server sends them (see
    /// `SimulationScorer.readOut` for the two alignments servers use).
    public func promptLogprobs(_ prompt: String, topLogprobs: Int) async throws -> [PromptTokenLogprob] {
        let body = try OpenAIWire.encodeEchoRequest(prompt, model: configuration.model, topLogprobs: topLogprobs)
        let endpoint = legacyCompletionsURL.absoluteString
        let entries = try await send(body, to: legacyCompletionsURL) { data, excerpt in
            try OpenAIWire.decodeEcho(data, endpoint: endpoint, excerpt: excerpt)
        }
        // A server that ignores `echo` returns logprobs of the generated token only: not a prompt read-out.
        var end = 0
        for e in entries { end = max(end, (e.textOffset ?? end) + e.token.unicodeScalars.count) }
        let length = prompt.unicodeScalars.count
        guard end >= length else {
            throw LLMClientError.missingField(endpoint: endpoint,
                                              field: "choices[0].logprobs: the prompt was not echoed (tokens cover \(end) of \(length) characters)")
        }
        return entries
    }

    /// POSTs `body` to `url` with retries and backoff; `decode` turns a 2xx body into the result.
    private func send<T: Sendable>(_ body: Data, to url: URL,
                                   decode: @escaping @Sendable (Data, (Data) -> String) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let failure: AttemptFailure
            do {
                return try await semaphore.withSlot { try await self.attempt(body: body, url: url, decode: decode) }
            } catch let f as AttemptFailure {
                failure = f
            }
            try Task.checkCancellation()
            guard failure.error.isRetryable else { throw failure.error }
            guard attempt < configuration.maxAttempts else {
                throw attempt > 1 ? LLMClientError.gaveUp(attempts: attempt, last: failure.error) : failure.error
            }
            let delay = retryDelay(after: attempt, retryAfter: failure.retryAfter)
            onRetry?(attempt, failure.error, delay)
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        }
    }

    /// Backoff before retry number `attempt` (1-based): `Retry-After` when given (capped by
    /// maxRetryAfter and by the request timeout, the budget one attempt has), else
    /// initialBackoff·2^(attempt−1) capped at maxBackoff, times a jitter in [0.5, 1.5).
    func retryDelay(after attempt: Int, retryAfter: Double?) -> Double {
        if let r = retryAfter { return min(max(0, r), configuration.maxRetryAfter, configuration.requestTimeout) }
        let exp = configuration.initialBackoff * pow(2, Double(min(attempt - 1, 30)))
        return min(exp, configuration.maxBackoff) * Double.random(in: 0.5..<1.5)
    }

    // MARK: - One attempt

    private struct AttemptFailure: Error {
        var error: LLMClientError
        var retryAfter: Double?
    }

    private func attempt<T: Sendable>(body: Data, url: URL,
                                      decode: (Data, (Data) -> String) throws -> T) async throws -> T {
        var headers = ["Content-Type: application/json", "Accept: application/json"]
        for (k, v) in configuration.extraHeaders.sorted(by: { $0.key < $1.key }) { headers.append("\(k): \(v)") }
        if let key = apiKey { headers.append("Authorization: Bearer \(key)") }

        let reply: CurlTransport.Reply
        do {
            reply = try await transport.post(url: url.absoluteString, headers: headers, body: body)
        } catch let f as CurlTransport.Failure {
            throw AttemptFailure(error: classify(f), retryAfter: nil)
        }
        if (300...399).contains(reply.status) {
            let location = SafeText.sanitize(SecretRedaction.redact(String((reply.headers["location"] ?? "(none)").prefix(300))))
            throw AttemptFailure(error: .redirectRefused(code: reply.status, endpoint: endpointName, location: location), retryAfter: nil)
        }
        guard (200...299).contains(reply.status) else {
            let retryAfter = Self.parseRetryAfter(reply.headers["retry-after"])
            throw AttemptFailure(error: .httpStatus(code: reply.status, endpoint: endpointName,
                                                    bodyExcerpt: excerpt(reply.body)), retryAfter: retryAfter)
        }
        do {
            return try decode(reply.body, excerpt)
        } catch let e as LLMClientError {
            throw AttemptFailure(error: e, retryAfter: nil)
        }
    }

    private func classify(_ failure: CurlTransport.Failure) -> LLMClientError {
        switch failure {
        case .couldNotConnect(let d): return .connectionRefused(endpoint: endpointName, detail: redact(d))
        case .timedOut: return .timedOut(endpoint: endpointName, seconds: configuration.requestTimeout)
        case .transport(let d): return .transport(endpoint: endpointName, detail: redact(d))
        case .cancelled: return .transport(endpoint: endpointName, detail: "cancelled")
        case .bodyTooLarge(let limit):
            return .responseTooLarge(endpoint: endpointName, detail: "the reply body exceeds \(limit) bytes (raise it with --max-reply-bytes or the config file's maxReplyBytes; llama-cpp-python's /v1/embeddings sends one vector per token: megabytes per request)")
        case .headersTooLarge(let d): return .responseTooLarge(endpoint: endpointName, detail: redact(d))
        }
    }

    /// The start of a body, made printable, with the API key (should a server echo it) removed.
    private func excerpt(_ data: Data) -> String {
        let raw = String(decoding: data.prefix(400), as: UTF8.self)
        var text = SafeText.sanitize(redact(raw))
        if data.count > 400 { text += "… (\(data.count) bytes)" }
        return text.isEmpty ? "(empty body)" : text
    }

    private func redact(_ s: String) -> String {
        guard let key = apiKey, !key.isEmpty else { return s }
        return SecretRedaction.redact(s).replacingOccurrences(of: key, with: SecretRedaction.placeholder)
    }

    /// `Retry-After` as seconds: a number, or an HTTP date.
    static func parseRetryAfter(_ value: String?) -> Double? {
        guard let v = value?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        if let s = Double(v), s.isFinite { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: v) { return max(0, d.timeIntervalSinceNow) }
        return nil
    }
}

extension ChatResponse {
    /// The reply with registered secrets (an echoed API key) removed from its text and model name.
    func redacted() -> ChatResponse {
        var r = self
        r.text = SecretRedaction.redact(text)
        r.model = model.map(SecretRedaction.redact)
        return r
    }
}
