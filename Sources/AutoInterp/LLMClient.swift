import FeaturescopeCore
import Foundation

// MARK: - Client protocols

/// Anything that answers chat requests: an HTTP endpoint, the embedded model, a test script.
public protocol LLMClient: Sendable {
    /// Model name recorded with every result.
    var modelName: String { get }
    /// Endpoint display name recorded with every result (never holds secrets).
    var endpointName: String { get }
    /// Answers one request. Fills `ChatResponse.logprobs` when `request.topLogprobs > 0`
    /// and the backend can.
    func complete(_ request: ChatRequest) async throws -> ChatResponse
}

/// A client that can also give next-token probabilities directly (the embedded model).
///
/// The classifier scorers use it, when `ClassifierScorer.Options.useNextTokenProbabilities`
/// is set, to read P("0") and P("1") at each list position instead of parsing a generated
/// reply: the assistant turn is forced to `[`, then `a0, ` … and each answer is the likelier
/// of the two candidates.
public protocol NextTokenProbabilityClient: LLMClient {
    /// Probabilities (not logs, need not sum to 1) of each candidate string being the next
    /// token after `request.messages` followed by an assistant turn that starts with
    /// `assistantPrefix`.
    func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String,
                                candidates: [String]) async throws -> [Double]
}

/// One token of a prompt echoed back with log-probabilities (`/v1/completions` with `echo`).
public struct PromptTokenLogprob: Sendable, Equatable {
    public var token: String
    /// Where the token starts in the prompt, in Unicode scalars (the server's `text_offset`), when given.
    public var textOffset: Int?
    /// The token's own log-probability; nil for the first token.
    public var logprob: Double?
    /// The server's top alternatives at this entry, likeliest first.
    public var topAlternatives: [TokenAlternative]
    public init(token: String, textOffset: Int?, logprob: Double?, topAlternatives: [TokenAlternative]) {
        self.token = token
        self.textOffset = textOffset
        self.logprob = logprob
        self.topAlternatives = topAlternatives
    }
}

/// A client that can score a whole prompt in one request and return every token's top alternatives (the
/// simulation scorer's "all at once" read-out through an endpoint).
public protocol PromptLogprobClient: LLMClient {
    /// The prompt's tokens with the `topLogprobs` likeliest alternatives at each, as the server reports them.
    func promptLogprobs(_ prompt: String, topLogprobs: Int) async throws -> [PromptTokenLogprob]
}

/// Scores a continuation under a language model, for the surprisal scorer.
public protocol SequenceScorer: Sendable {
    /// Summed negative log-likelihood (nats) of `continuation`'s tokens given `prefix`.
    func logLoss(prefix: String, continuation: String) async throws -> Double
}

// MARK: - Errors

/// Why a request to an LLM endpoint failed.
public indirect enum LLMClientError: Error, CustomStringConvertible, Equatable {
    /// Nothing listens at the endpoint (connection refused / host unreachable).
    case connectionRefused(endpoint: String, detail: String)
    /// The endpoint accepted the request but did not answer in time.
    case timedOut(endpoint: String, seconds: Double)
    /// Any other transport failure (connection dropped, body cut short).
    case transport(endpoint: String, detail: String)
    /// A non-2xx HTTP status, with the start of the body.
    case httpStatus(code: Int, endpoint: String, bodyExcerpt: String)
    /// The body is not JSON (or is cut off).
    case invalidJSON(endpoint: String, bodyExcerpt: String)
    /// The JSON lacks a field the chat-completions shape requires.
    case missingField(endpoint: String, field: String)
    /// The API key environment variable the user named is unset or empty.
    case missingAPIKey(variable: String)
    /// The configured URL cannot be used.
    case invalidConfiguration(String)
    /// The endpoint answered with a redirect; redirects are not followed, so the API key never
    /// leaves the configured origin.
    case redirectRefused(code: Int, endpoint: String, location: String)
    /// The reply (body or headers) is larger than the client accepts.
    case responseTooLarge(endpoint: String, detail: String)
    /// Retries ran out; `last` is the final attempt's error.
    case gaveUp(attempts: Int, last: LLMClientError)

    /// The message, with every registered secret (the API key) redacted.
    public var description: String { SecretRedaction.redact(rawDescription) }

    private var rawDescription: String {
        switch self {
        case .connectionRefused(let e, let d):
            return "endpoint \(e) refused the connection (\(d)); is the server running and the URL right?"
        case .timedOut(let e, let s):
            return "endpoint \(e) did not answer within \(Self.seconds(s))"
        case .transport(let e, let d):
            return "connection to \(e) failed: \(d)"
        case .httpStatus(let c, let e, let body):
            return "endpoint \(e) answered HTTP \(c): \(body)"
        case .invalidJSON(let e, let body):
            return "endpoint \(e) sent a body that is not complete JSON: \(body)"
        case .missingField(let e, let f):
            return "endpoint \(e) sent JSON without `\(f)` (expected the /v1/chat/completions shape)"
        case .missingAPIKey(let v):
            return "environment variable \(v) (named as the API key source) is unset or empty"
        case .invalidConfiguration(let m):
            return "invalid client configuration: \(m)"
        case .redirectRefused(let c, let e, let location):
            return "endpoint \(e) answered HTTP \(c), a redirect to \(location); redirects are not followed (the API key goes to the configured URL only): use the final URL as the base URL"
        case .responseTooLarge(let e, let d):
            return "endpoint \(e) sent too large a reply: \(d)"
        case .gaveUp(let n, let last):
            if case .timedOut(let e, let s) = last {
                return "endpoint \(e) timed out after \(n) tries (\(Self.seconds(s)) each)"
            }
            return "gave up after \(n) tries: \(last.rawDescription)"
        }
    }

    /// Whether a fresh attempt could succeed.
    public var isRetryable: Bool {
        switch self {
        case .connectionRefused, .timedOut, .transport: return true
        case .httpStatus(let code, _, _): return code == 429 || code == 408 || (500...599).contains(code)
        case .invalidJSON, .missingField, .missingAPIKey, .invalidConfiguration, .redirectRefused, .responseTooLarge, .gaveUp:
            return false
        }
    }

    private static func seconds(_ s: Double) -> String { String(format: "%.1f s", s) }
}

// MARK: - Concurrency limit

/// A counting semaphore for async code: at most `limit` holders at a time, FIFO.
public actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) { available = max(1, limit) }

    /// Waits for a slot.
    public func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Frees a slot (hands it straight to the oldest waiter).
    public func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
    }

    /// Runs `body` while holding a slot.
    public func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        do {
            let value = try await body()
            release()
            return value
        } catch {
            release()
            throw error
        }
    }
}
