import FeaturescopeCore
import Foundation
import ModelEngine

/// Settings of the embedded model client.
public struct EmbeddedModelConfiguration: Sendable, Equatable {
    /// The GGUF file (default: `ModelLocator.resolve(explicit: nil)`, i.e. `$FEATURESCOPE_MODEL`
    /// or `~/.cache/featurescope/SmolLM2-135M-Instruct.Q4_1.gguf`).
    public var path: String
    /// Threads of the engine's kernels and of OpenBLAS (nil: all cores).
    public var threads: Int?
    /// Positions of the KV cache (nil: 8192, capped at the model's context length).
    public var contextLength: Int?
    /// Seed of temperature sampling (greedy decoding ignores it).
    public var seed: UInt64
    /// Single generated tokens and prompts through the engine's int8 kernels (fast in optimised builds)
    /// rather than Float BLAS. Default: on in release builds, off in debug builds, where the
    /// unspecialised SIMD kernels are orders of magnitude slower than BLAS.
    public var quantizedSteps: Bool
    /// Text every reply is forced to start with (the assistant turn is primed with it and the
    /// reply includes it), e.g. `[EXPLANATION]:` so a small model answers in the parsable form.
    public var replyPrefix: String?
    /// End a reply at its first line break after some text (with `replyPrefix`, for one-line answers).
    public var stopAtNewline: Bool
    /// How computed prompt prefixes are reused (default: forks of the shared system/few-shot prefixes;
    /// `$FEATURESCOPE_PREFIX_REUSE` = none|last|forks overrides it, for measuring).
    public var prefixReuse: PrefixReuse = .forks

    public init(path: String = ModelLocator.resolve(explicit: nil), threads: Int? = nil,
                contextLength: Int? = nil, seed: UInt64 = 0, quantizedSteps: Bool? = nil,
                replyPrefix: String? = nil, stopAtNewline: Bool = false) {
        self.path = path
        self.replyPrefix = replyPrefix
        self.stopAtNewline = stopAtNewline
        self.threads = threads
        self.contextLength = contextLength
        self.seed = seed
        #if DEBUG
        self.quantizedSteps = quantizedSteps ?? false
        #else
        self.quantizedSteps = quantizedSteps ?? true
        #endif
    }

    /// The model name recorded with results: the file name without `.gguf`.
    public var modelName: String {
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".gguf") ? String(base.dropLast(5)) : base
    }
}

/// SmolLM2-135M-Instruct (or any ChatML Llama GGUF) running in process: the default client,
/// so explanation and scoring work offline.
///
/// - `complete`: the chat template, then greedy (temperature 0) or seeded temperature
///   sampling up to `maxTokens`, stopping at `<|im_end|>`/EOS; per-token logprobs with the top
///   alternatives when `topLogprobs > 0`.
/// - `nextTokenProbabilities`: P(candidate) of the next token after the messages and an
///   assistant prefix (the classifier scorers read P("0"), P("1") this way).
/// - `logLoss`: summed negative log-likelihood of a continuation (the surprisal scorer).
///
/// The model is loaded once per process (clients naming the same file share it) and every
/// call is serialised on the engine's queue, because its generator holds a KV cache. Calls
/// whose prompt extends the previous one reuse the cache.
public struct EmbeddedLLMClient: NextTokenProbabilityClient, SequenceScorer {
    public let configuration: EmbeddedModelConfiguration
    public let modelName: String
    /// `embedded`, or `embedded:forced-prefix` when replies are primed (recorded with results).
    public let endpointName: String
    let engine: EmbeddedEngine

    /// Loads the model (or reuses the one already loaded from the same file).
    public init(configuration: EmbeddedModelConfiguration = EmbeddedModelConfiguration()) throws {
        guard FileManager.default.fileExists(atPath: configuration.path) else {
            throw EmbeddedModelError.loadFailed(path: configuration.path, reason: "no such file. " + ModelLocator.fetchHint)
        }
        self.configuration = configuration
        modelName = configuration.modelName
        endpointName = configuration.replyPrefix == nil ? "embedded" : "embedded:forced-prefix"
        engine = try EmbeddedEngineRegistry.engine(path: configuration.path, threads: configuration.threads,
                                                   contextLength: configuration.contextLength,
                                                   quantizedSteps: configuration.quantizedSteps)
        engine.setPrefixReuse(configuration.prefixReuse)
    }

    /// Prompt tokens the engine computed and took from reused prefixes since it was loaded.
    public var promptTokenCounts: (computed: Int, reused: Int) { engine.tokenCounts() }

    /// The chat format of the model's template.
    public var chatFormat: ChatFormat { engine.format }

    /// Positions the model can hold (prompt + answer).
    public var contextLength: Int { engine.contextLength }

    // MARK: LLMClient

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        try await complete(request, onText: nil)
    }

    /// `complete`, calling `onText` with the reply so far (the forced prefix included) after every
    /// generated token, so a caller can show it as it grows.
    public func complete(_ request: ChatRequest, onText: (@Sendable (String) -> Void)?) async throws -> ChatResponse {
        let stop = StopFlag()
        return try await withTaskCancellationHandler {
            try await generate(request, onText: onText, stop: stop)
        } onCancel: { stop.set() }
    }

    /// Set when the calling task is cancelled; the generation loop checks it after every token.
    final class StopFlag: @unchecked Sendable {
        // @unchecked: `value` is only touched while holding `lock`.
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    private func generate(_ request: ChatRequest, onText: (@Sendable (String) -> Void)?, stop: StopFlag) async throws -> ChatResponse {
        let seed = configuration.seed
        let name = modelName
        let prefix = configuration.replyPrefix ?? ""
        let oneLine = configuration.stopAtNewline
        return try await engine.perform { e in
            let prompt = e.chatTokens(request.messages, assistantPrefix: prefix)
            let maxNew = max(0, request.maxTokens)
            guard prompt.count + 1 <= e.contextLength else {
                throw EmbeddedModelError.promptTooLong(tokens: prompt.count, limit: e.contextLength)
            }
            var logits = try e.logits(after: prompt, sharedPrefix: e.sharedPrefixLength(request.messages))
            var rng = SplitMix64(seed: SplitMix64.seed(seed, UInt64(prompt.count)))
            let stops = e.stopTokens
            var out: [Int32] = []
            var logprobs: [TokenLogprob] = []
            var finish = "length"
            var stoppedByToken = false
            while out.count < maxNew {
                if stop.isSet { throw CancellationError() }
                let next = Logits.sample(logits, temperature: request.temperature, using: &rng)
                if request.topLogprobs > 0 {
                    logprobs.append(Self.logprob(of: next, logits: logits, top: request.topLogprobs, tokenizer: e.tokenizer))
                }
                if stops.contains(next) {
                    finish = "stop"
                    stoppedByToken = true
                    break
                }
                out.append(next)
                if let onText { onText(prefix + e.tokenizer.decode(out, skipSpecial: true)) }
                if oneLine, Self.endsLine(e.tokenizer.decode(out, skipSpecial: true)) {
                    finish = "stop"
                    break
                }
                if out.count == maxNew || e.remainingContext <= 1 { break }
                logits = try e.step(next)
            }
            if request.topLogprobs > 0, stoppedByToken, !logprobs.isEmpty { logprobs.removeLast() }
            var text = e.tokenizer.decode(out, skipSpecial: true)
            if oneLine, let cut = Self.lineEnd(text) { text = String(text[..<cut]) }
            return ChatResponse(text: prefix + text,
                                logprobs: request.topLogprobs > 0 ? logprobs : nil,
                                finishReason: finish, model: name)
        }
    }

    // MARK: NextTokenProbabilityClient

    public func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String,
                                       candidates: [String]) async throws -> [Double] {
        try await engine.perform { e in
            let ids = try candidates.map { try e.candidateID($0) }
            let tokens = e.chatTokens(request.messages, assistantPrefix: assistantPrefix)
            let logits = try e.logits(after: tokens, sharedPrefix: e.sharedPrefixLength(request.messages))
            let lse = Logits.logSumExp(logits)
            return ids.map { id in
                let i = Int(id)
                guard i >= 0, i < logits.count, lse.isFinite else { return 0 }
                return Foundation.exp(Double(logits[i]) - lse)
            }
        }
    }

    // MARK: SequenceScorer

    public func logLoss(prefix: String, continuation: String) async throws -> Double {
        try await engine.perform { e in
            let p = e.tokenizer.encode(prefix, parseSpecial: false)
            let c = e.tokenizer.encode(continuation, parseSpecial: false)
            guard !p.isEmpty else { throw EmbeddedModelError.emptyText(what: "the surprisal prefix") }
            guard !c.isEmpty else { throw EmbeddedModelError.emptyText(what: "the continuation") }
            let tokens = p + c
            guard tokens.count <= e.contextLength else {
                throw EmbeddedModelError.promptTooLong(tokens: tokens.count, limit: e.contextLength)
            }
            let losses: [Float]
            // losses[i] = −log p(tokens[p.count + i] | …): the continuation's tokens only.
            do { losses = try e.model.nextTokenCrossEntropy(tokens: tokens, from: p.count - 1, int8Activations: e.int8Prompts) } catch {
                throw EmbeddedModelError.engine(String(describing: error))
            }
            return losses.reduce(0.0) { $0 + Double($1) }
        }
    }

    // MARK: - Sampling

    /// Index of the first line break that follows non-blank text.
    static func lineEnd(_ text: String) -> String.Index? {
        var seenText = false
        for i in text.indices {
            if text[i] == "\n" || text[i] == "\r\n" {
                if seenText { return i }
            } else if !text[i].isWhitespace {
                seenText = true
            }
        }
        return nil
    }

    static func endsLine(_ text: String) -> Bool { lineEnd(text) != nil }

    /// The chosen token's logprob and the top alternatives (natural logs of the softmax).
    static func logprob(of token: Int32, logits: [Float], top: Int, tokenizer: Tokenizer) -> TokenLogprob {
        let lse = Logits.logSumExp(logits)
        let i = Int(token)
        let lp = i >= 0 && i < logits.count ? Double(logits[i]) - lse : -.infinity
        let alts = Logits.topIndices(logits, count: top).map { j in
            TokenAlternative(token: tokenizer.decode([Int32(j)]), logprob: Double(logits[j]) - lse)
        }
        return TokenLogprob(token: tokenizer.decode([token]), logprob: lp, topAlternatives: alts)
    }
}

// MARK: - Constrained list answers

/// One slot of a constrained list answer: the probability of each choice (normalised over the choices) and the
/// choice written into the list (the likeliest).
public struct ConstrainedSlot: Sendable, Equatable {
    public var probabilities: [Double]
    public var chosen: Int
}

/// The client gave probabilities that cannot be used (wrong count, negative or not finite).
public enum ConstrainedListError: Error, CustomStringConvertible, Equatable {
    case malformedProbabilities(slot: Int, values: [Double])
    public var description: String {
        switch self {
        case .malformedProbabilities(let slot, let values): return "next-token probabilities of list item \(slot) malformed: \(values)"
        }
    }
}

extension NextTokenProbabilityClient {
    /// Constrained decoding of a Python-list answer `[c, c, …, c]` of `count` items, each one of `choices` (single
    /// tokens, e.g. "0"/"1" or "0"…"9"): the assistant turn is forced to `[`, at every slot only the choices may
    /// follow (the likeliest is written), and `, ` / `]` are forced between them. The reply therefore always parses,
    /// and every slot carries the probability of each choice given the question and the answers before it.
    /// With the embedded model every slot after the first reuses the KV cache of the prompt, so a list costs the
    /// prompt plus about three tokens per item.
    public func constrainedList(_ request: ChatRequest, count: Int, choices: [String]) async throws -> [ConstrainedSlot] {
        precondition(!choices.isEmpty, "constrainedList needs at least one choice")
        var prefix = "["
        var slots: [ConstrainedSlot] = []
        for i in 0..<count {
            let p = try await nextTokenProbabilities(request, assistantPrefix: prefix, candidates: choices)
            guard p.count == choices.count, p.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw ConstrainedListError.malformedProbabilities(slot: i, values: p)
            }
            let total = p.reduce(0, +)
            let norm = total > 0 ? p.map { $0 / total } : p.map { _ in 0 }
            let chosen = p.indices.max { p[$0] < p[$1] } ?? 0
            slots.append(ConstrainedSlot(probabilities: norm, chosen: chosen))
            prefix += choices[chosen] + (i + 1 < count ? ", " : "]")
        }
        return slots
    }
}
