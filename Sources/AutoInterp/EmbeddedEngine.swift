import Foundation
import ModelEngine
import TensorFormats

/// Why the embedded model could not answer.
public enum EmbeddedModelError: Error, CustomStringConvertible, Equatable {
    /// The GGUF could not be loaded (missing file, unsupported model, bad tokenizer data).
    case loadFailed(path: String, reason: String)
    /// The model's vocabulary lacks the ChatML tokens the chat template needs.
    case missingChatTokens(path: String)
    /// The prompt (plus room for the answer) does not fit the model's context.
    case promptTooLong(tokens: Int, limit: Int)
    /// A candidate for next-token probabilities is not exactly one token.
    case candidateNotOneToken(String, tokenCount: Int)
    /// The surprisal prefix or continuation tokenises to nothing.
    case emptyText(what: String)
    /// The engine failed while running.
    case engine(String)

    public var description: String {
        switch self {
        case .loadFailed(let p, let r): return "cannot load the embedded model \(p): \(r)"
        case .missingChatTokens(let p):
            return "\(p) has no <|im_start|>/<|im_end|> tokens; the embedded client needs a ChatML model such as SmolLM2-Instruct"
        case .promptTooLong(let n, let l):
            return "the prompt is \(n) tokens; with the answer it exceeds the embedded model's \(l)-token context"
        case .candidateNotOneToken(let c, let n):
            return "candidate \"\(c)\" is \(n) tokens, expected exactly one"
        case .emptyText(let w): return "\(w) is empty after tokenisation"
        case .engine(let m): return "embedded model failed: \(m)"
        }
    }
}

/// The loaded model, its tokenizer and one generation session, confined to a serial queue.
///
/// `Generator` keeps a KV cache and is not thread-safe, so every use goes through `perform`,
/// which runs the work on `queue` (a private serial `DispatchQueue`) and resumes the caller
/// when it is done. That serialises access without blocking Swift's cooperative thread pool
/// for the seconds a long prompt takes. `@unchecked Sendable`: all mutable state (`generator`,
/// `cachedLogits`, `candidateIDs`) is touched only on `queue`.
final class EmbeddedEngine: @unchecked Sendable {
    let path: String
    let model: TransformerModel
    let tokenizer: Tokenizer
    let contextLength: Int
    private let queue: DispatchQueue
    private let generator: Generator
    private var cachedLogits: [Float] = []
    private var candidateIDs: [String: Int32] = [:]
    private let imStart: Int32
    private let imEnd: Int32

    init(path: String, threads: Int?, contextLength: Int?, quantizedSteps: Bool) throws {
        self.path = path
        do {
            (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: path, decodeThreads: threads)
        } catch {
            throw EmbeddedModelError.loadFailed(path: path, reason: String(describing: error))
        }
        if let t = threads { TransformerModel.setBLASThreads(t) }
        guard let s = tokenizer.id(of: "<|im_start|>"), let e = tokenizer.id(of: "<|im_end|>") else {
            throw EmbeddedModelError.missingChatTokens(path: path)
        }
        imStart = s
        imEnd = e
        let limit = min(contextLength ?? 8192, model.config.contextLength)
        self.contextLength = max(64, limit)
        generator = Generator(model: model, maxLength: self.contextLength, quantizedSteps: quantizedSteps)
        queue = DispatchQueue(label: "featurescope.embedded-model")
    }

    /// Runs `work` on the engine's queue, one caller at a time.
    func perform<T: Sendable>(_ work: @escaping @Sendable (EmbeddedEngine) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            queue.async {
                do { cont.resume(returning: try work(self)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    // MARK: - Prompt tokens (call on the queue)

    /// SmolLM2's chat template (`ChatTemplate.smolLM2`) as token ids, with the message texts
    /// tokenised as plain text: text that looks like a special token (`<|im_end|>` inside an
    /// example) stays text and cannot end a turn early. For ordinary text this equals
    /// tokenising the rendered template with special tokens parsed.
    func chatTokens(_ messages: [ChatMessage], assistantPrefix: String?) -> [Int32] {
        var out: [Int32] = []
        var turns = messages.map { ($0.role, $0.content) }
        if let first = turns.first, first.0 != "system" {
            turns.insert(("system", ChatTemplate.smolLM2DefaultSystemPrompt), at: 0)
        }
        for (role, content) in turns {
            out.append(imStart)
            out += tokenizer.encode(role + "\n" + content, parseSpecial: false)
            out.append(imEnd)
            out += tokenizer.encode("\n", parseSpecial: false)
        }
        if let prefix = assistantPrefix {
            out.append(imStart)
            out += tokenizer.encode("assistant\n" + prefix, parseSpecial: false)
        }
        return out
    }

    /// The rendered template tokenised with special tokens parsed (what `chatTokens` must equal
    /// for ordinary text; tests compare the two).
    func renderedTemplateTokens(_ messages: [ChatMessage], assistantPrefix: String) -> [Int32] {
        let text = ChatTemplate.smolLM2(messages: messages.map { ($0.role, $0.content) }, addGenerationPrompt: true)
        return tokenizer.encode(text + assistantPrefix, parseSpecial: true)
    }

    /// Logits after `tokens`, reusing the KV cache for the longest prefix it shares with what is held.
    func logits(after tokens: [Int32]) throws -> [Float] {
        guard !tokens.isEmpty else { throw EmbeddedModelError.emptyText(what: "the prompt") }
        guard tokens.count < contextLength else {
            throw EmbeddedModelError.promptTooLong(tokens: tokens.count, limit: contextLength)
        }
        let held = generator.tokens
        do {
            if held == tokens, !cachedLogits.isEmpty { return cachedLogits }
            // Reuse the longest shared prefix (the system prompt and few-shot demos of every request of a
            // scorer or explainer): drop what differs, compute only the new tail.
            var shared = 0
            let limit = min(held.count, tokens.count - 1)
            while shared < limit, held[shared] == tokens[shared] { shared += 1 }
            if shared > 0 {
                generator.truncate(to: shared)
                cachedLogits = []
                cachedLogits = try generator.append(Array(tokens[shared...]))
            } else {
                generator.reset()
                cachedLogits = []
                cachedLogits = try generator.append(tokens)
            }
        } catch {
            generator.reset()
            cachedLogits = []
            throw EmbeddedModelError.engine(String(describing: error))
        }
        return cachedLogits
    }

    /// Appends one generated token and returns the logits after it.
    func step(_ token: Int32) throws -> [Float] {
        do { cachedLogits = try generator.append([token]) } catch {
            generator.reset()
            cachedLogits = []
            throw EmbeddedModelError.engine(String(describing: error))
        }
        return cachedLogits
    }

    /// Free positions left in the KV cache.
    var remainingContext: Int { contextLength - generator.tokens.count }

    /// Tokens that end a generation (EOS, `<|im_end|>`, `<|endoftext|>`).
    var stopTokens: Set<Int32> { model.stopTokenIDs.union([imEnd]) }

    /// The single token id of `candidate`.
    func candidateID(_ candidate: String) throws -> Int32 {
        if let id = candidateIDs[candidate] { return id }
        let ids = tokenizer.encode(candidate, parseSpecial: false)
        guard ids.count == 1, let id = ids.first else {
            throw EmbeddedModelError.candidateNotOneToken(candidate, tokenCount: ids.count)
        }
        candidateIDs[candidate] = id
        return id
    }
}

// MARK: - Shared engines

/// Loaded engines by path and thread count: a model is loaded once per process and shared
/// by every client that names it.
enum EmbeddedEngineRegistry {
    private final class Table: @unchecked Sendable {
        // @unchecked: `engines` is only touched while holding `lock`.
        let lock = NSLock()
        var engines: [String: EmbeddedEngine] = [:]
    }
    private static let table = Table()

    static func engine(path: String, threads: Int?, contextLength: Int?, quantizedSteps: Bool) throws -> EmbeddedEngine {
        let key = "\(path)|\(threads ?? 0)|\(contextLength ?? 0)|\(quantizedSteps)"
        table.lock.lock()
        defer { table.lock.unlock() }
        if let e = table.engines[key] { return e }
        let e = try EmbeddedEngine(path: path, threads: threads, contextLength: contextLength, quantizedSteps: quantizedSteps)
        table.engines[key] = e
        return e
    }
}
