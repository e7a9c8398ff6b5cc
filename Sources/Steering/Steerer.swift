import ModelEngine
import SparseAutoencoders

/// How a latent steers the model at its SAE's hook.
public enum SteeringMode: String, Sendable, Codable, CaseIterable {
    /// Adds strength × the latent's decoder row at every position.
    case add
    /// Clamps the latent's activation to the strength at every position and splices the reconstruction
    /// difference in ((strength − activation) × the decoder row).
    case clamp
}

/// One latent and its strength, in activation units (the CLI converts "units of the max activation").
public struct SteeringLatent: Sendable, Equatable, Codable {
    public var latent: Int
    public var strength: Float

    public init(latent: Int, strength: Float) {
        self.latent = latent
        self.strength = strength
    }
}

/// What to generate and how to steer it.
public struct SteeringRequest: Sendable {
    public var prompt: [Int32]
    public var maxNewTokens: Int
    public var sampling: Sampling
    public var mode: SteeringMode
    public var latents: [SteeringLatent]
    /// Also run the steered model with every layer's attention pattern taken from the default run.
    public var freezeAttention: Bool
    /// Tokens that end a generation (nil: the model's stop tokens).
    public var stopTokens: Set<Int32>?

    public init(prompt: [Int32], maxNewTokens: Int, sampling: Sampling = .greedy, mode: SteeringMode = .add,
                latents: [SteeringLatent], freezeAttention: Bool = false, stopTokens: Set<Int32>? = nil) {
        self.prompt = prompt
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.mode = mode
        self.latents = latents
        self.freezeAttention = freezeAttention
        self.stopTokens = stopTokens
    }
}

/// One continuation: the prompt, the generated tokens and, for steered runs, per position of
/// prompt + generated tokens KL(steered ‖ default) of the next-token distributions given that same context.
public struct Continuation: Sendable, Equatable, Codable {
    public var promptTokens: [Int32]
    public var generated: [Int32]
    /// Element t: KL in nats between the steered and the default model's next-token distributions after
    /// tokens[0 … t] of promptTokens + generated (empty for the default run).
    public var kl: [Double]

    public init(promptTokens: [Int32], generated: [Int32], kl: [Double] = []) {
        self.promptTokens = promptTokens
        self.generated = generated
        self.kl = kl
    }

    /// Prompt followed by the generated tokens.
    public var tokens: [Int32] { promptTokens + generated }

    /// Index into `generated` of the first token that differs from `other`'s (nil when one is a prefix of the other).
    public func firstDivergence(from other: Continuation) -> Int? {
        zip(generated, other.generated).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }
}

/// Which of the runs a streamed token belongs to.
public enum SteeringRun: String, Sendable, Codable {
    case `default`, steered, frozen
}

/// The default run, the steered run and (when asked) the steered run with frozen attention.
public struct SteeringResult: Sendable, Equatable {
    public var defaultRun: Continuation
    public var steered: Continuation
    public var frozen: Continuation?
}

/// Errors of steering and ablation, naming the SAE and what was wrong.
public enum SteeringError: Error, CustomStringConvertible, Equatable {
    case unsupportedHook(sae: String, hook: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unsupportedHook(sae, hook, reason): return "\(sae): cannot steer at '\(hook)': \(reason)"
        case let .invalidArgument(m): return m
        }
    }
}

/// Steering and ablation of one SAE's latents on one model: generates default and steered continuations
/// with the same sampler seed (so strength 0 in `add` mode reproduces the default exactly), and measures the
/// per-position KL divergence with the model's shared numerics (`Logits`). A `hook_z` SAE steers the
/// per-head attention outputs before W_O, as it reads them.
public final class Steerer: Sendable {
    public let model: TransformerModel
    public let sae: SparseAutoencoder
    public let hook: HookPoint

    public init(model: TransformerModel, sae: SparseAutoencoder) throws {
        let name = HookNames.canonical(sae.config.metadata.hookName)
        guard let hook = try? HookPoint(name) else {
            throw SteeringError.unsupportedHook(sae: sae.weightsPath ?? "SAE", hook: name, reason: "the engine has no such hook")
        }
        guard hook.layer < model.config.layerCount else {
            throw SteeringError.unsupportedHook(sae: sae.weightsPath ?? "SAE", hook: name,
                                                reason: "the model has \(model.config.layerCount) blocks")
        }
        let width: Int
        switch hook.site {
        case .z, .q: width = model.config.qDim
        case .k, .v: width = model.config.kvDim
        case .pattern: throw SteeringError.unsupportedHook(sae: sae.weightsPath ?? "SAE", hook: name, reason: "attention patterns cannot be modified")
        default: width = model.config.dim
        }
        guard width == sae.dIn else {
            throw SteeringError.unsupportedHook(sae: sae.weightsPath ?? "SAE", hook: name,
                                                reason: "the SAE reads \(sae.dIn) values per position; the model has \(width) there")
        }
        self.model = model
        self.sae = sae
        self.hook = hook
    }

    /// The intervention that steers `latents` in `mode` (checked against d_sae).
    public func intervention(mode: SteeringMode, latents: [SteeringLatent]) throws -> HookIntervention {
        guard !latents.isEmpty else { throw SteeringError.invalidArgument("no latent to steer") }
        for l in latents {
            guard (0 ..< sae.dSAE).contains(l.latent) else {
                throw SteeringError.invalidArgument("latent \(l.latent) is out of range 0..<\(sae.dSAE)")
            }
            guard l.strength.isFinite else { throw SteeringError.invalidArgument("strength of latent \(l.latent) is not finite") }
        }
        switch mode {
        case .add:
            let parts = try latents.map { try sae.steeringIntervention(latent: $0.latent, amount: $0.strength) }
            return { tensor in for p in parts { try p(&tensor) } }
        case .clamp:
            var values: [Int: Float] = [:]
            for l in latents { values[l.latent] = l.strength }
            return sae.clampIntervention(values: values)
        }
    }

    /// Generates after `prompt` with the given hook interventions and frozen patterns (KV cache, one token
    /// per step); `onToken` sees each new token and may stop the run by returning false.
    public func generate(prompt: [Int32], maxNewTokens: Int, sampling: Sampling, stopTokens: Set<Int32>?,
                         interventions: [HookPoint: HookIntervention] = [:], frozenPatterns: [Int: HookTensor] = [:],
                         onToken: (Int32) -> Bool = { _ in true }) throws -> [Int32] {
        guard !prompt.isEmpty else { throw SteeringError.invalidArgument("the prompt has no tokens") }
        guard maxNewTokens > 0 else { return [] }
        let generator = Generator(model: model, maxLength: min(model.config.contextLength, prompt.count + maxNewTokens))
        generator.interventions = interventions
        generator.frozenPatterns = frozenPatterns
        return try generator.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling,
                                      stopTokens: stopTokens, onToken: onToken)
    }

    /// Attention patterns [heads, T, T] of every layer of the default (unsteered) model on `tokens`.
    public func attentionPatterns(_ tokens: [Int32]) throws -> [Int: HookTensor] {
        let hooks = Set((0 ..< model.config.layerCount).map { HookPoint.pattern($0) })
        let r = try model.forward(tokens: tokens, captures: hooks, logits: .none)
        var out: [Int: HookTensor] = [:]
        for l in 0 ..< model.config.layerCount { out[l] = r.activation(.pattern(l)) }
        return out
    }

    /// Per position t of `tokens`: KL(steered ‖ default) of the next-token distributions after tokens[0 … t],
    /// the steered model being the one with `intervention` at the SAE's hook (and `frozenPatterns`).
    public func klPerPosition(_ tokens: [Int32], intervention: @escaping HookIntervention,
                              frozenPatterns: [Int: HookTensor] = [:]) throws -> [Double] {
        let base = try model.forward(tokens: tokens, logits: .all)
        let steered = try model.forward(tokens: tokens, logits: .all, interventions: [hook: intervention],
                                        frozenPatterns: frozenPatterns)
        return (0 ..< tokens.count).map { Logits.klDivergence(steered.logitsRow($0), base.logitsRow($0)) }
    }

    /// The default and steered continuations (and the frozen-attention one when asked); `onToken` streams
    /// every run's tokens in order: default, steered, frozen.
    public func run(_ request: SteeringRequest, onToken: (SteeringRun, Int32) -> Bool = { _, _ in true }) throws -> SteeringResult {
        let steer = try intervention(mode: request.mode, latents: request.latents)
        let defaultTokens = try generate(prompt: request.prompt, maxNewTokens: request.maxNewTokens, sampling: request.sampling,
                                         stopTokens: request.stopTokens) { onToken(.default, $0) }
        let steeredTokens = try generate(prompt: request.prompt, maxNewTokens: request.maxNewTokens, sampling: request.sampling,
                                         stopTokens: request.stopTokens, interventions: [hook: steer]) { onToken(.steered, $0) }
        let steered = Continuation(promptTokens: request.prompt, generated: steeredTokens,
                                   kl: try klPerPosition(request.prompt + steeredTokens, intervention: steer))
        var frozen: Continuation?
        if request.freezeAttention {
            // Patterns by position from the default run; the frozen run can be at most as long as it.
            let patterns = try attentionPatterns(request.prompt + defaultTokens)
            let frozenTokens = try generate(prompt: request.prompt, maxNewTokens: defaultTokens.count, sampling: request.sampling,
                                            stopTokens: request.stopTokens, interventions: [hook: steer],
                                            frozenPatterns: patterns) { onToken(.frozen, $0) }
            frozen = Continuation(promptTokens: request.prompt, generated: frozenTokens,
                                  kl: try klPerPosition(request.prompt + frozenTokens, intervention: steer, frozenPatterns: patterns))
        }
        return SteeringResult(defaultRun: Continuation(promptTokens: request.prompt, generated: defaultTokens),
                              steered: steered, frozen: frozen)
    }
}
