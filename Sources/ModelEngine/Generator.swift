import FeaturescopeCore
import Foundation

/// How the next token is chosen from the logits.
public enum Sampling: Sendable, Equatable {
    /// The most likely token (lowest id on ties).
    case greedy
    /// Sample from softmax(logits / temperature) with a seeded generator (temperature ≤ 0 means greedy).
    case temperature(Float, seed: UInt64)
}

/// A generation session: one sequence, its KV cache, and the sampler. Prompt tokens are processed in one
/// BLAS pass on decoded weights (or, with `quantizedPrompts`, by the int8 kernels over all prompt rows at once, as
/// llama.cpp does); each new token is one step with the quantized mat-vec kernels (or BLAS when `quantizedSteps`
/// is false, which reproduces the Float forward exactly). Not thread-safe: use from one task at a time.
public final class Generator {
    public let model: TransformerModel
    public let cache: KVCache
    /// Whether single-token steps use the 4/8-bit kernels (fast) rather than Float BLAS (exact).
    public var quantizedSteps: Bool
    /// Whether appends of several tokens use the int8 kernels (2–3× faster prompt processing, same rounding as the
    /// steps) rather than Float BLAS (exact).
    public var quantizedPrompts: Bool
    private let stepState: RunState
    private var prefillState: RunState?
    private var rng: SplitMix64
    /// Tokens in the cache so far.
    public private(set) var tokens: [Int32] = []
    /// Changes applied at hooks on every pass of this session (e.g. steering with an SAE latent); they see
    /// only the rows of the tokens being appended.
    public var interventions: [HookPoint: HookIntervention] = [:]
    /// Attention patterns [heads, T, T] by layer used instead of computed ones (see `TransformerModel.forward`);
    /// the session can then hold at most T tokens.
    public var frozenPatterns: [Int: HookTensor] = [:]

    /// A session holding up to `maxLength` positions (prompt plus generated tokens).
    public init(model: TransformerModel, maxLength: Int = 2048, quantizedSteps: Bool = true, quantizedPrompts: Bool = false) {
        self.model = model
        let limit = max(1, min(maxLength, model.config.contextLength))
        cache = KVCache(config: model.config, maxLength: limit)
        self.quantizedSteps = quantizedSteps
        self.quantizedPrompts = quantizedPrompts
        stepState = RunState(config: model.config, capacity: 1)
        rng = SplitMix64(seed: 0)
    }

    /// Forgets the sequence.
    public func reset() {
        cache.reset()
        tokens = []
    }

    /// Keeps only the first `count` tokens of the sequence and their KV entries, so a prompt sharing that
    /// prefix continues from there instead of recomputing it.
    public func truncate(to count: Int) {
        let n = max(0, min(count, tokens.count))
        cache.truncate(to: n)
        tokens.removeSubrange(n...)
    }

    /// Sets the token list after the cache was filled from a snapshot (`restore`).
    func replaceTokens(_ t: [Int32]) { tokens = t }

    /// Appends `newTokens` to the sequence and returns the logits after the last one.
    /// Several tokens go through one batched pass (BLAS, or the int8 kernels with `quantizedPrompts`); a single
    /// token is one step.
    public func append(_ newTokens: [Int32]) throws -> [Float] {
        guard !newTokens.isEmpty else { throw EngineError.emptyInput(what: "Generator.append") }
        let span = SequenceSpan(row: 0, count: newTokens.count, startPos: cache.length)
        let state: RunState
        let quantized: Bool
        if newTokens.count == 1 {
            state = stepState
            quantized = quantizedSteps
        } else {
            if let p = prefillState, p.capacity >= newTokens.count {
                state = p
            } else {
                state = RunState(config: model.config, capacity: newTokens.count)
                prefillState = state
            }
            quantized = quantizedPrompts
        }
        let result = try model.run(tokens: newTokens, spans: [span], state: state, cache: cache, captures: [],
                                   logits: .last, interventions: interventions, frozenPatterns: frozenPatterns,
                                   quantized: quantized)
        tokens += newTokens
        return result.first?.logits ?? []
    }

    /// Generates up to `maxNewTokens` after `prompt` (appended to whatever the session holds), stopping at a
    /// stop token (not included in the result) or when `onToken` returns false. Returns the new tokens.
    public func generate(prompt: [Int32], maxNewTokens: Int, sampling: Sampling = .greedy,
                         stopTokens: Set<Int32>? = nil, onToken: (Int32) -> Bool = { _ in true }) throws -> [Int32] {
        if case let .temperature(_, seed) = sampling { rng = SplitMix64(seed: seed) }
        let stops = stopTokens ?? model.stopTokenIDs
        var logits = try append(prompt)
        var out: [Int32] = []
        while out.count < maxNewTokens {
            let next = sample(logits, sampling)
            if stops.contains(next) { break }
            out.append(next)
            if !onToken(next) { break }
            if out.count == maxNewTokens || cache.length >= cache.maxLength { break }
            logits = try append([next])
        }
        return out
    }

    /// Picks a token from `logits` according to `sampling`.
    public func sample(_ logits: [Float], _ sampling: Sampling) -> Int32 {
        switch sampling {
        case .greedy:
            return Int32(argmax(logits))
        case let .temperature(t, _):
            return Logits.sample(logits, temperature: Double(t), using: &rng)
        }
    }
}

/// Index of the largest value (the first on ties; 0 for an empty array).
public func argmax(_ values: [Float]) -> Int {
    var best = 0
    var bestV = -Float.infinity
    for (i, v) in values.enumerated() where v > bestV {
        best = i
        bestV = v
    }
    return best
}

