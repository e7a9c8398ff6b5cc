/// One latent in the steering panel.
public struct SteeringPanelLatent: Sendable, Equatable {
    public var latent: Int
    /// In units of `unit` (the latent's max activation in the cache) when known, else in activation units.
    public var strength: Float
    /// The latent's max activation in the cache; nil while loading or when unknown (never fires, no cache).
    public var unit: Float?
    /// The max activation has been looked up (whatever the answer).
    public var unitLoaded = false

    public init(latent: Int, strength: Float, unit: Float? = nil, unitLoaded: Bool = false) {
        self.latent = latent; self.strength = strength; self.unit = unit; self.unitLoaded = unitLoaded
    }

    /// The strength in activation units, as the engine takes it.
    public var activationStrength: Float { strength * (unit ?? 1) }
}

/// Where a steering run stands.
public enum SteerPhase: Sendable, Equatable {
    case idle, running, done, stopped
    case failed(String)
}

/// The steering panel (t in the prompt view or a latent's detail): latents with strengths, a prompt, and the
/// default and steered continuations as they stream in, with the first divergence and per-token KL.
public struct SteeringPanelState: Sendable, Equatable {
    /// The text field being edited inside the panel.
    public enum Field: Sendable, Equatable { case latent, prompt }

    public var part: Int
    public var latents: [SteeringPanelLatent]
    /// Selected row of `latents`.
    public var cursor = 0
    public var mode: SteerMode = .add
    public var prompt: String
    public var field: Field?
    /// Text of the open field.
    public var input = ""
    public var maxTokens = SteeringPanelState.defaultMaxTokens
    /// Also generate steered with the default run's attention patterns (a third column).
    public var freezeAttention = false
    /// 0 = greedy.
    public var temperature: Float = 0
    public var seed: UInt64 = 0
    /// Increases with every run and every stop; events of older runs are dropped.
    public var generation = 0
    public var phase: SteerPhase = .idle
    public var promptTokens: [String] = []
    public var defaultTokens: [SteerToken] = []
    public var steeredTokens: [SteerToken] = []
    /// The steered run with frozen attention (empty unless the run asked for it).
    public var frozenTokens: [SteerToken] = []
    /// Per steered token j: KL(steered ‖ default) of the distribution it was generated from (nats); empty until
    /// the run ends.
    public var kl: [Double] = []
    /// The same for the frozen-attention run's tokens.
    public var frozenKL: [Double] = []
    /// Enter was pressed before every strength unit was known: generate when they are.
    public var generateWhenReady = false
    /// What the last run asked for (shown beside the results, which may be older than the panel's settings).
    public var lastRequest: SteerRequest?

    public static let defaultMaxTokens = 24
    /// `[`/`]` change the tokens per run by this much, within 1…`maxTokensLimit`.
    public static let maxTokensStep = 8
    public static let maxTokensLimit = 256
    /// Strength of a newly added latent (× its max activation).
    public static let defaultStrength: Float = 4
    public static let strengthLimit: Float = 1000
    /// Temperatures `T` cycles through.
    public static let temperatures: [Float] = [0, 0.7, 1.0]

    public init(part: Int, latents: [SteeringPanelLatent], prompt: String) {
        self.part = part; self.latents = latents; self.prompt = prompt
    }

    /// Index of the first generated token where the two continuations differ (by token id); nil while one is a
    /// prefix of the other.
    public var firstDivergence: Int? { Self.divergence(defaultTokens, steeredTokens) }

    /// The same for the frozen-attention run against the default one.
    public var firstFrozenDivergence: Int? { Self.divergence(defaultTokens, frozenTokens) }

    static func divergence(_ a: [SteerToken], _ b: [SteerToken]) -> Int? {
        zip(a, b).enumerated().first { $0.element.0.id != $0.element.1.id }?.offset
    }

    /// Whether the panel shows the frozen-attention column: asked for now, or part of the results shown.
    public var showsFrozen: Bool { freezeAttention || lastRequest?.freezeAttention == true }

    /// The tokens per run after one `]` (up) or `[` (down): steps of 8 (1 → 8 going up, 8 → 1 going down).
    public static func steppedMaxTokens(_ n: Int, up: Bool) -> Int {
        let step = maxTokensStep
        let next = up ? (n / step + 1) * step : (n % step == 0 ? n - step : n / step * step)
        return max(1, min(maxTokensLimit, next))
    }

    /// How much one `+`/`-` changes the selected latent's strength: half its max activation, or 1 activation unit
    /// when the max is unknown.
    public static func strengthStep(_ l: SteeringPanelLatent) -> Float { l.unit == nil ? 1 : 0.5 }

    /// The request for the current settings (strengths converted to activation units).
    public var request: SteerRequest {
        SteerRequest(part: part, prompt: prompt, latents: latents.map { SteerLatentRequest(latent: $0.latent, strength: $0.activationStrength) },
                     mode: mode, maxTokens: maxTokens, temperature: temperature, seed: seed, freezeAttention: freezeAttention)
    }

    /// Clears the results of the last run.
    mutating func clearResults() {
        promptTokens = []
        defaultTokens = []
        steeredTokens = []
        frozenTokens = []
        kl = []
        frozenKL = []
    }
}
