import Foundation
import ModelEngine
import TensorFormats

/// Why the embedded model could not answer.
public enum EmbeddedModelError: Error, CustomStringConvertible, Equatable {
    /// The GGUF could not be loaded (missing file, unsupported model, bad tokenizer data).
    case loadFailed(path: String, reason: String)
    /// The model's chat template is none of the supported formats (ChatML, Gemma, Llama 3), or its
    /// vocabulary lacks the format's turn tokens.
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
            return "\(p) has no supported chat template (ChatML, Gemma or Llama 3 turn tokens); the embedded client needs an instruct model such as SmolLM2-Instruct or Qwen2.5-Instruct"
        case .promptTooLong(let n, let l):
            return "the prompt is \(n) tokens; with the answer it exceeds the embedded model's \(l)-token context"
        case .candidateNotOneToken(let c, let n):
            return "candidate \"\(c)\" is \(n) tokens, expected exactly one"
        case .emptyText(let w): return "\(w) is empty after tokenisation"
        case .engine(let m): return "embedded model failed: \(m)"
        }
    }
}

/// How the engine reuses computed prompt prefixes (keys and values of the KV cache).
public enum PrefixReuse: String, Sendable, Equatable, CaseIterable {
    /// Every prompt from scratch (for measuring).
    case none
    /// The longest prefix shared with the sequence the cache holds now.
    case last
    /// `last`, plus copies of the shared system/few-shot prefixes of the last few prompt kinds
    /// (explainer, detection, fuzz…), forked back into the cache when a prompt of that kind returns.
    case forks
}

/// The loaded model, its tokenizer and one generation session, confined to a serial queue.
///
/// `Generator` keeps a KV cache and is not thread-safe, so every use goes through `perform`,
/// which runs the work on `queue` (a private serial `DispatchQueue`) and resumes the caller
/// when it is done. That serialises access without blocking Swift's cooperative thread pool
/// for the seconds a long prompt takes. `@unchecked Sendable`: all mutable state (`generator`,
/// `cachedLogits`, `candidateIDs`, `forks`, the counters) is touched only on `queue`.
final class EmbeddedEngine: @unchecked Sendable {
    let path: String
    let model: TransformerModel
    let tokenizer: Tokenizer
    let contextLength: Int
    /// The chat format of the model's own template.
    let format: ChatFormat
    var prefixReuse: PrefixReuse = .forks
    /// Forked prefixes kept (least recently used dropped first).
    static let maxForks = 4
    private let queue: DispatchQueue
    private let generator: Generator
    /// Whether prompts (the generator's, the embedder's and the simulation's forward passes) run with int8
    /// activations: with quantized steps, i.e. in release builds.
    let int8Prompts: Bool
    private var cachedLogits: [Float] = []
    private var candidateIDs: [String: Int32] = [:]
    private var forks: [KVPrefixSnapshot] = []
    /// Prompt tokens computed and reused since loading (for measurements).
    private(set) var computedTokens = 0
    private(set) var reusedTokens = 0
    private let turnTokens: [String: Int32]

    init(path: String, threads: Int?, contextLength: Int?, quantizedSteps: Bool) throws {
        self.path = path
        do {
            (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: path, decodeThreads: threads)
        } catch {
            throw EmbeddedModelError.loadFailed(path: path, reason: String(describing: error))
        }
        if let t = threads { TransformerModel.setBLASThreads(t) }
        guard let f = Self.chatFormat(tokenizer) else { throw EmbeddedModelError.missingChatTokens(path: path) }
        var turns: [String: Int32] = [:]
        for special in Self.specialTexts(f) {
            guard let id = tokenizer.id(of: special) else { throw EmbeddedModelError.missingChatTokens(path: path) }
            turns[special] = id
        }
        format = f
        turnTokens = turns
        let limit = min(contextLength ?? 8192, model.config.contextLength)
        self.contextLength = max(64, limit)
        // Quantized steps come with int8 prompt processing (as llama.cpp computes both; 5–7× the exact Float
        // prompt path on these models, docs/performance.md); debug builds keep both exact.
        generator = Generator(model: model, maxLength: self.contextLength, quantizedSteps: quantizedSteps,
                              quantizedPrompts: quantizedSteps)
        int8Prompts = quantizedSteps
        queue = DispatchQueue(label: "featurescope.embedded-model")
    }

    /// The format of the tokenizer's template; without a template (a base model's GGUF), the format whose turn
    /// tokens the vocabulary has.
    static func chatFormat(_ tokenizer: Tokenizer) -> ChatFormat? {
        if let f = ChatTemplate.format(forTemplate: tokenizer.chatTemplate) { return f }
        for f in [ChatFormat.chatML(defaultSystemPrompt: nil), .gemma, .llama3]
        where specialTexts(f).allSatisfy({ tokenizer.id(of: $0) != nil }) {
            return f
        }
        return nil
    }

    /// The special-token texts a format's turns are made of.
    static func specialTexts(_ f: ChatFormat) -> [String] {
        switch f {
        case .chatML: return ["<|im_start|>", "<|im_end|>"]
        case .gemma: return ["<start_of_turn>", "<end_of_turn>"]
        case .llama3: return ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        }
    }

    /// Runs `work` on the engine's queue, one caller at a time.
    func perform<T: Sendable>(_ work: @escaping @Sendable (EmbeddedEngine) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            queue.async {
                do { cont.resume(returning: try work(self)) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// Sets how prefixes are reused (waits for the running request).
    func setPrefixReuse(_ r: PrefixReuse) {
        queue.sync {
            prefixReuse = r
            if r != .forks { forks = [] }
        }
    }

    /// Prompt tokens computed and reused so far.
    func tokenCounts() -> (computed: Int, reused: Int) { queue.sync { (computedTokens, reusedTokens) } }

    // MARK: - Prompt tokens (call on the queue)

    /// The model's chat template (`ChatTemplate.render` in its format) as token ids, with the message
    /// texts tokenised as plain text: text that looks like a special token (`<|im_end|>` inside an
    /// example) stays text and cannot end a turn early. For ordinary text this equals tokenising the
    /// rendered template with special tokens parsed (`renderedTemplateTokens`; tests compare the two).
    func chatTokens(_ messages: [ChatMessage], assistantPrefix: String?) -> [Int32] {
        // Render with each message text replaced by a marker, then tokenise the template's own text
        // with special tokens parsed and the message texts as plain text.
        let trims: Bool
        switch format {
        case .chatML: trims = false
        case .gemma, .llama3: trims = true
        }
        let contents = messages.map { trims ? $0.content.trimmingCharacters(in: .whitespacesAndNewlines) : $0.content }
        let marked = messages.enumerated().map { (role: $0.element.role, content: "\u{1}\($0.offset)\u{1}") }
        let rendered = ChatTemplate.render(format, messages: marked, addGenerationPrompt: assistantPrefix != nil)
        var out: [Int32] = []
        if tokenizer.addBosToken, let bos = tokenizer.bosId { out.append(bos) }
        let pieces = rendered.split(separator: "\u{1}", omittingEmptySubsequences: false)
        for (i, piece) in pieces.enumerated() where !piece.isEmpty {
            if i % 2 == 1, let k = Int(piece), k >= 0, k < contents.count {
                out += tokenizer.encode(contents[k], parseSpecial: false, addBos: false)
            } else {
                out += tokenizer.encode(String(piece), parseSpecial: true, addBos: false)
            }
        }
        if let prefix = assistantPrefix, !prefix.isEmpty {
            out += tokenizer.encode(prefix, parseSpecial: false, addBos: false)
        }
        return out
    }

    /// The rendered template tokenised with special tokens parsed (what `chatTokens` must equal
    /// for ordinary text; tests compare the two).
    func renderedTemplateTokens(_ messages: [ChatMessage], assistantPrefix: String) -> [Int32] {
        let text = ChatTemplate.render(format, messages: messages.map { ($0.role, $0.content) }, addGenerationPrompt: true)
        return tokenizer.encode(text + assistantPrefix, parseSpecial: true)
    }

    /// Tokens of the part every request of one kind shares: all messages but the last (the system
    /// prompt and the few-shot demonstrations).
    func sharedPrefixLength(_ messages: [ChatMessage]) -> Int {
        guard messages.count > 1 else { return 0 }
        return chatTokens(Array(messages.dropLast()), assistantPrefix: nil).count
    }

    /// Logits after `tokens`, reusing the KV cache for the longest prefix it shares with what is held
    /// (or with a forked copy of an earlier prompt's shared prefix). `sharedPrefix`: tokens every
    /// request of this kind starts with; they are forked for later reuse.
    func logits(after tokens: [Int32], sharedPrefix: Int = 0) throws -> [Float] {
        guard !tokens.isEmpty else { throw EmbeddedModelError.emptyText(what: "the prompt") }
        guard tokens.count < contextLength else {
            throw EmbeddedModelError.promptTooLong(tokens: tokens.count, limit: contextLength)
        }
        let held = generator.tokens
        do {
            if prefixReuse != .none, held == tokens, !cachedLogits.isEmpty {
                reusedTokens += tokens.count
                return cachedLogits
            }
            var shared = 0
            if prefixReuse != .none {
                let limit = min(held.count, tokens.count - 1)
                while shared < limit, held[shared] == tokens[shared] { shared += 1 }
            }
            if prefixReuse == .forks, let i = bestFork(for: tokens), forks[i].length > shared {
                let f = forks.remove(at: i)
                generator.restore(f)
                forks.append(f)
                shared = f.length
            }
            cachedLogits = []
            if shared > 0 {
                generator.truncate(to: shared)
            } else {
                generator.reset()
            }
            let fork = prefixReuse == .forks && sharedPrefix > shared && sharedPrefix < tokens.count
                && !forks.contains { $0.length == sharedPrefix && $0.tokens[...] == tokens[..<sharedPrefix] }
            if fork {
                _ = try generator.append(Array(tokens[shared ..< sharedPrefix]))
                forks.append(generator.snapshot())
                if forks.count > Self.maxForks { forks.removeFirst() }
                cachedLogits = try generator.append(Array(tokens[sharedPrefix...]))
            } else {
                cachedLogits = try generator.append(Array(tokens[shared...]))
            }
            reusedTokens += shared
            computedTokens += tokens.count - shared
        } catch {
            generator.reset()
            cachedLogits = []
            throw EmbeddedModelError.engine(String(describing: error))
        }
        return cachedLogits
    }

    /// The fork sharing the longest prefix with `tokens` (all of it a prefix of `tokens`).
    private func bestFork(for tokens: [Int32]) -> Int? {
        var best: Int?
        for (i, f) in forks.enumerated() where f.length < tokens.count && f.tokens[...] == tokens[..<f.length] {
            if best.map({ forks[$0].length < f.length }) ?? true { best = i }
        }
        return best
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

    /// Tokens that end a generation (EOS, the format's end-of-turn token, `<|endoftext|>`).
    var stopTokens: Set<Int32> {
        var s = model.stopTokenIDs
        if let id = turnTokens[format.stopText] { s.insert(id) }
        return s
    }

    /// The single token id of `candidate`.
    func candidateID(_ candidate: String) throws -> Int32 {
        if let id = candidateIDs[candidate] { return id }
        let ids = tokenizer.encode(candidate, parseSpecial: false, addBos: false)
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
