import Foundation
@testable import AutoInterp

/// A deterministic fake LLM for tests: answers each request with a closure and records requests.
final class ScriptedClient: LLMClient, @unchecked Sendable {
    let modelName = "scripted-model"
    let endpointName = "scripted://local"
    private let lock = NSLock()
    private var log: [ChatRequest] = []
    private let respond: @Sendable (ChatRequest, Int) throws -> ChatResponse

    /// `respond` gets the request and its 0-based call index.
    init(_ respond: @escaping @Sendable (ChatRequest, Int) throws -> ChatResponse) {
        self.respond = respond
    }

    var requests: [ChatRequest] {
        lock.lock(); defer { lock.unlock() }
        return log
    }

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let index = lock.withLock { () -> Int in
            log.append(request)
            return log.count - 1
        }
        return try respond(request, index)
    }
}

/// Test fixtures: windows whose activating tokens are the word " ACT".
enum Fixtures {
    /// A window of `length` tokens; tokens at `hot` positions are " ACT" with activation `value`.
    static func window(_ id: Int, length: Int = 8, hot: [Int] = [], value: Float = 1) -> ActivationWindow {
        var toks = (0..<length).map { " w\(id)_\($0)" }
        var acts = [Float](repeating: 0, count: length)
        for h in hot where h < length {
            toks[h] = " ACT"
            acts[h] = value
        }
        return ActivationWindow(tokens: toks, tokenIDs: nil, activations: acts, distance: 0)
    }

    /// A latent with `n` activating windows of decreasing strength and `negatives` silent windows.
    static func latent(_ index: Int, activating n: Int, negatives: Int = 80, hook: String = "blocks.3.hook_resid_post") -> LatentExamples {
        let act = (0..<n).map { window(index * 100_000 + $0, hot: [2, 3], value: Float(n - $0)) }
        let neg = (0..<negatives).map { window(index * 100_000 + 50_000 + $0) }
        return LatentExamples.sorting(latent: index, hook: hook, activating: act, nonActivating: neg)
    }

    /// Answers a classifier prompt correctly: 1 for examples containing " ACT" (detection) or
    /// a highlighted " ACT" (fuzz).
    static func correctAnswer(_ request: ChatRequest) -> String {
        let user = request.messages.last?.content ?? ""
        let lines = user.split(separator: "\n").filter { $0.hasPrefix("Example ") }
        let answers = lines.map { line -> String in
            let fuzz = line.contains("<<")
            if fuzz { return line.contains("<< ACT") ? "1" : "0" }
            return line.contains(" ACT") ? "1" : "0"
        }
        return "[" + answers.joined(separator: ", ") + "]"
    }
}
