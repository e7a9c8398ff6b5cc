import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
    /// Upper bound of an honoured `Retry-After`, in seconds.
    public var maxRetryAfter: Double
    /// Requests in flight at once, across all callers of this client.
    public var maxConcurrentRequests: Int
    /// Extra HTTP headers (e.g. OpenRouter's `HTTP-Referer`).
    public var extraHeaders: [String: String]

    public init(baseURL: URL, model: String, apiKeyEnvironmentVariable: String? = nil,
                requestTimeout: Double = 120, maxAttempts: Int = 5, initialBackoff: Double = 1,
                maxBackoff: Double = 30, maxRetryAfter: Double = 120, maxConcurrentRequests: Int = 8,
                extraHeaders: [String: String] = [:]) {
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
    }
}

/// A client for any OpenAI-compatible chat-completions endpoint, with retries
/// (exponential backoff + jitter on timeouts, connection errors, 429 and 5xx; `Retry-After`
/// honoured), a concurrency limit shared by all callers, and logprob parsing.
public final class OpenAIClient: LLMClient, @unchecked Sendable {
    // @unchecked: every stored property is immutable; URLSession is thread-safe.
    public let configuration: OpenAIClientConfiguration
    public let modelName: String
    public let endpointName: String
    private let completionsURL: URL
    private let apiKey: String?
    private let session: URLSession
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
        guard configuration.maxAttempts >= 1, configuration.requestTimeout > 0 else {
            throw LLMClientError.invalidConfiguration("maxAttempts must be ≥ 1 and requestTimeout > 0")
        }
        guard !configuration.model.isEmpty else {
            throw LLMClientError.invalidConfiguration("model name is empty")
        }
        if let variable = configuration.apiKeyEnvironmentVariable {
            guard let key = environment[variable], !key.isEmpty else {
                throw LLMClientError.missingAPIKey(variable: variable)
            }
            apiKey = key
        } else {
            apiKey = nil
        }
        self.configuration = configuration
        self.modelName = configuration.model
        var path = configuration.baseURL.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/chat/completions") {
            completionsURL = configuration.baseURL
        } else {
            completionsURL = configuration.baseURL.appendingPathComponent("chat/completions")
        }
        let port = configuration.baseURL.port.map { ":\($0)" } ?? ""
        endpointName = "\(scheme)://\(host)\(port)\(path)"
        let sessionConfig = URLSessionConfiguration.ephemeral
        sessionConfig.timeoutIntervalForRequest = configuration.requestTimeout
        sessionConfig.timeoutIntervalForResource = configuration.requestTimeout
        sessionConfig.httpMaximumConnectionsPerHost = max(1, configuration.maxConcurrentRequests)
        session = URLSession(configuration: sessionConfig)
        semaphore = AsyncSemaphore(limit: configuration.maxConcurrentRequests)
        self.onRetry = onRetry
    }

    deinit { session.invalidateAndCancel() }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let body = try OpenAIWire.encodeRequest(request, model: configuration.model)
        var attempt = 0
        while true {
            attempt += 1
            let failure: AttemptFailure
            do {
                return try await semaphore.withSlot { try await self.attempt(body: body) }
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

    /// Backoff before retry number `attempt` (1-based): `Retry-After` when given (capped),
    /// else initialBackoff·2^(attempt−1) capped at maxBackoff, times a jitter in [0.5, 1.5).
    func retryDelay(after attempt: Int, retryAfter: Double?) -> Double {
        if let r = retryAfter { return min(max(0, r), configuration.maxRetryAfter) }
        let exp = configuration.initialBackoff * pow(2, Double(min(attempt - 1, 30)))
        return min(exp, configuration.maxBackoff) * Double.random(in: 0.5..<1.5)
    }

    // MARK: - One attempt

    private struct AttemptFailure: Error {
        var error: LLMClientError
        var retryAfter: Double?
    }

    private func attempt(body: Data) async throws -> ChatResponse {
        var req = URLRequest(url: completionsURL)
        req.httpMethod = "POST"
        req.httpBody = body
        req.timeoutInterval = configuration.requestTimeout
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        req.setValue("application/json", forHTTPHeaderField: "Accept")
        for (k, v) in configuration.extraHeaders { req.setValue(v, forHTTPHeaderField: k) }
        if let key = apiKey { req.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }

        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await dataWithDeadline(req)
        } catch let e as AttemptFailure {
            throw e
        } catch {
            throw AttemptFailure(error: classify(error), retryAfter: nil)
        }
        guard let http = response as? HTTPURLResponse else {
            throw AttemptFailure(error: .transport(endpoint: endpointName, detail: "response is not HTTP"), retryAfter: nil)
        }
        guard (200...299).contains(http.statusCode) else {
            let retryAfter = Self.parseRetryAfter(http.value(forHTTPHeaderField: "Retry-After"))
            throw AttemptFailure(error: .httpStatus(code: http.statusCode, endpoint: endpointName,
                                                    bodyExcerpt: excerpt(data)), retryAfter: retryAfter)
        }
        do {
            return try OpenAIWire.decodeResponse(data, endpoint: endpointName, excerpt: excerpt)
        } catch let e as LLMClientError {
            throw AttemptFailure(error: e, retryAfter: nil)
        }
    }

    /// URLSession's own timeout, backed by a hard deadline in case the transport never reports.
    private func dataWithDeadline(_ req: URLRequest) async throws -> (Data, URLResponse) {
        let timeout = configuration.requestTimeout
        let endpoint = endpointName
        let session = self.session
        return try await withThrowingTaskGroup(of: (Data, URLResponse).self) { group in
            group.addTask { try await session.data(for: req) }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64((timeout + 2) * 1e9))
                throw AttemptFailure(error: .timedOut(endpoint: endpoint, seconds: timeout), retryAfter: nil)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else {
                throw AttemptFailure(error: .transport(endpoint: endpoint, detail: "no result"), retryAfter: nil)
            }
            return first
        }
    }

    private func classify(_ error: Error) -> LLMClientError {
        if let e = error as? LLMClientError { return e }
        if let u = error as? URLError {
            switch u.code {
            case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet:
                return .connectionRefused(endpoint: endpointName, detail: redact(u.localizedDescription))
            case .timedOut:
                return .timedOut(endpoint: endpointName, seconds: configuration.requestTimeout)
            default:
                return .transport(endpoint: endpointName, detail: redact(u.localizedDescription))
            }
        }
        return .transport(endpoint: endpointName, detail: redact(String(describing: error)))
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
        return s.replacingOccurrences(of: key, with: "<redacted>")
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
