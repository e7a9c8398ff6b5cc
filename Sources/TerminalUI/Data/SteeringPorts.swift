/// The steering panel's port: generate default and steered continuations of a prompt, streamed token by token.
/// The browser's adapter runs the engine's `Steerer` (Sources/Steering); tests use a scripted double.

/// How the panel's latents steer (the `Steering` target's add / clamp).
public enum SteerMode: String, Sendable, Equatable, CaseIterable {
    /// Adds strength × the latent's decoder row at the SAE's hook at every position.
    case add
    /// Clamps the latent's activation to the strength and splices the reconstruction difference in.
    case clamp
}

/// One latent of a steering request, its strength in activation units (the panel converts its
/// max-activation units before asking).
public struct SteerLatentRequest: Sendable, Equatable {
    public var latent: Int
    public var strength: Float
    public init(latent: Int, strength: Float) { self.latent = latent; self.strength = strength }
}

/// What to generate: prompt text (tokenized by the engine), the SAE part and its latents, the sampler.
public struct SteerRequest: Sendable, Equatable {
    public var part: Int
    public var prompt: String
    public var latents: [SteerLatentRequest]
    public var mode: SteerMode
    public var maxTokens: Int
    /// 0 = greedy; otherwise sampled with `seed` (the same seed for every run).
    public var temperature: Float
    public var seed: UInt64
    /// Also a third run, steered with every layer's attention pattern frozen to the default run's (`steer
    /// --freeze-attention`): at most as long as the default continuation.
    public var freezeAttention: Bool

    public init(part: Int, prompt: String, latents: [SteerLatentRequest], mode: SteerMode, maxTokens: Int,
                temperature: Float = 0, seed: UInt64 = 0, freezeAttention: Bool = false) {
        self.part = part; self.prompt = prompt; self.latents = latents; self.mode = mode
        self.maxTokens = maxTokens; self.temperature = temperature; self.seed = seed
        self.freezeAttention = freezeAttention
    }
}

/// Which continuation a streamed token belongs to.
public enum SteerStream: String, Sendable, Equatable {
    /// `frozen`: steered with the default run's attention patterns (only when the request asks for it).
    case `default`, steered, frozen
}

/// A generated token: its id (divergence is decided on ids) and its display string.
public struct SteerToken: Sendable, Equatable {
    public var id: Int32
    public var text: String
    public init(id: Int32, text: String) { self.id = id; self.text = text }
}

/// What a steering run reports while it runs, in order: the prompt's tokens, every generated token of the
/// default run, then of the steered run, then (when asked) of the frozen-attention run, then the per-position KL
/// of the steered run and (when asked) of the frozen run.
public enum SteerEvent: Sendable, Equatable {
    /// The prompt as the engine tokenized it (display strings).
    case prompt([String])
    case token(SteerStream, SteerToken)
    /// KL(run ‖ default) of the next-token distributions after each prompt + generated position of the `steered`
    /// or `frozen` run's text (nats; `Steering.Continuation.kl`), and how many of them are prompt positions.
    case kl(SteerStream, [Double], promptCount: Int)
}

/// Runs steering requests (slow: a model generates twice). Called off the UI loop; `event` may be called from any
/// thread. Cancelling the calling task stops the run within one token step.
public protocol SteeringEngine: Sendable {
    func steer(_ request: SteerRequest, event: @escaping @Sendable (SteerEvent) -> Void) async throws
}
