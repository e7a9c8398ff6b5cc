import FeaturescopeCore

/// Plain value types the browser shows. Adapters from the real latent cache, engine and
/// auto-interp modules fill them; `SyntheticBrowserData` makes them up for tests and demos.

/// One SAE in the cache (a "part"): which hook it reads and its shape.
public struct PartInfo: Sendable, Equatable {
    /// Hook name, e.g. `blocks.3.hook_resid_post` or `blocks.3.attn.hook_z`.
    public var hookName: String
    /// Number of latents of the SAE.
    public var dSAE: Int
    /// Latents browsable in this part (usually `dSAE`).
    public var latentCount: Int
    /// Attention-output SAE (hook_z): head views apply.
    public var isHookZ: Bool
    public var nHeads: Int?
    public var dHead: Int?
    /// Transcoders: the hook the decoder writes (`hookName` is the one it reads).
    public var hookNameOut: String?

    public init(hookName: String, dSAE: Int, latentCount: Int? = nil, isHookZ: Bool = false,
                nHeads: Int? = nil, dHead: Int? = nil, hookNameOut: String? = nil) {
        self.hookNameOut = hookNameOut
        self.hookName = hookName
        self.dSAE = dSAE
        self.latentCount = latentCount ?? dSAE
        self.isHookZ = isHookZ
        self.nHeads = nHeads
        self.dHead = dHead
    }
}

/// The result of a person's blind spot-check of an explanation: how many examples they judged
/// and in how many their yes/no matched whether the example really activates.
public struct HumanVerdict: Sendable, Equatable, Codable {
    public var judged: Int
    public var agreed: Int
    public init(judged: Int, agreed: Int) { self.judged = judged; self.agreed = agreed }
    /// Fraction agreed (0 when nothing was judged).
    public var accuracy: Double { judged > 0 ? Double(agreed) / Double(judged) : 0 }
}

/// One row of the latent list.
public struct BrowserLatentSummary: Sendable, Equatable {
    public var index: Int
    /// The explanation (or its first line), nil when the latent is not explained.
    public var explanation: String?
    /// Fraction of tokens on which the latent is nonzero.
    public var density: Double
    public var maxActivation: Float
    /// Detection balanced accuracy, nil when not scored.
    public var detection: Double?
    /// Fuzzing balanced accuracy, nil when not scored.
    public var fuzz: Double?
    public var verdict: HumanVerdict?
    /// Tokens of the strongest activations (searchable; may be empty).
    public var topTokens: [String]
    /// Newest embedding AUROC, simulation correlation and intervention balanced accuracy, nil when not scored.
    public var embedding: Double?
    public var simulation: Double?
    public var intervention: Double?

    public init(index: Int, explanation: String?, density: Double, maxActivation: Float,
                detection: Double?, fuzz: Double?, verdict: HumanVerdict? = nil, topTokens: [String] = [],
                embedding: Double? = nil, simulation: Double? = nil, intervention: Double? = nil) {
        self.embedding = embedding
        self.simulation = simulation
        self.intervention = intervention
        self.index = index
        self.explanation = explanation
        self.density = density
        self.maxActivation = maxActivation
        self.detection = detection
        self.fuzz = fuzz
        self.verdict = verdict
        self.topTokens = topTokens
    }
}

/// An explanation with where it came from.
public struct Explanation: Sendable, Equatable {
    public var text: String
    /// e.g. "delphi default", "human".
    public var method: String
    /// The explainer model.
    public var model: String
    public init(text: String, method: String, model: String) { self.text = text; self.method = method; self.model = model }
}

/// One scorer's result on one latent.
public struct ScorerResult: Sendable, Equatable {
    /// "detection", "fuzz", "embedding", …
    public var scorer: String
    public var counts: ConfusionCounts
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var balancedAccuracy: Double
    public var auc: Double?
    /// Accuracy on the activating samples of each quantile (index 0 = strongest).
    public var quantileAccuracy: [Double]
    /// The scorer's own score when it is not the balanced accuracy (AUC of surprisal and embedding, the
    /// correlation of simulation).
    public var headline: Double?
    /// Simulation: Pearson correlation per quantile (0 = strongest; undefined quantiles left out).
    public var quantileCorrelation: [Int: Double]
    /// Stored from a run that was stopped: the batches finished before it (e.g. "3/8 batches").
    public var partial: String?
    /// What the browser shows as this scorer's score.
    public var score: Double { headline ?? balancedAccuracy }

    /// Metrics computed from the counts (the definitions of docs/autointerp.md).
    public init(scorer: String, counts: ConfusionCounts, auc: Double? = nil, quantileAccuracy: [Double] = [], headline: Double? = nil,
                quantileCorrelation: [Int: Double] = [:], partial: String? = nil) {
        self.quantileCorrelation = quantileCorrelation
        self.partial = partial
        self.headline = headline
        self.scorer = scorer
        self.counts = counts
        self.precision = counts.precision
        self.recall = counts.recall
        self.f1 = counts.f1
        self.balancedAccuracy = counts.balancedAccuracy
        self.auc = auc
        self.quantileAccuracy = quantileAccuracy
    }
}

/// Histogram of a latent's nonzero activations: equal-width bins from `lower` to `upper`.
public struct BrowserHistogram: Sendable, Equatable {
    public var lower: Float
    public var upper: Float
    public var counts: [Int]
    public init(lower: Float, upper: Float, counts: [Int]) { self.lower = lower; self.upper = upper; self.counts = counts }
}

/// A window of tokens (as display strings) with the latent's activation on each.
public struct TokenWindow: Sendable, Equatable {
    public var tokens: [String]
    public var activations: [Float]
    /// Activations are cut or zero-padded to one per token, so views can index both alike.
    public init(tokens: [String], activations: [Float]) {
        self.tokens = tokens
        self.activations = Array(activations.prefix(tokens.count)) + [Float](repeating: 0, count: max(0, tokens.count - activations.count))
    }
    public var maxActivation: Float { activations.max() ?? 0 }
}

/// Which examples a window group holds.
public enum WindowGroupKind: Sendable, Equatable {
    case top
    case quantile(Int)
    case random
}

/// A titled list of windows: top activating, one per quantile, random non-activating.
public struct WindowGroup: Sendable, Equatable {
    public var kind: WindowGroupKind
    public var title: String
    public var windows: [TokenWindow]
    public init(kind: WindowGroupKind, title: String, windows: [TokenWindow]) {
        self.kind = kind; self.title = title; self.windows = windows
    }
}

/// Everything the detail view shows for one latent. Promoted tokens come separately
/// (`BrowserDataSource.promotedTokens`): they need the model weights and load in the background.
public struct LatentDetail: Sendable, Equatable {
    public var summary: BrowserLatentSummary
    public var explanations: [Explanation]
    public var scores: [ScorerResult]
    public var histogram: BrowserHistogram
    public var density: Double
    public var windowGroups: [WindowGroup]

    public init(summary: BrowserLatentSummary, explanations: [Explanation], scores: [ScorerResult],
                histogram: BrowserHistogram, density: Double, windowGroups: [WindowGroup]) {
        self.summary = summary
        self.explanations = explanations
        self.scores = scores
        self.histogram = histogram
        self.density = density
        self.windowGroups = windowGroups
    }
}

/// A vocabulary entry (as a display string) with the logit a direction gives it.
public struct TokenLogit: Sendable, Equatable {
    public var token: String
    public var logit: Float
    public init(token: String, logit: Float) { self.token = token; self.logit = logit }
}

/// What a latent's decoder direction does to the next-token logits when read straight through the
/// unembedding ("logit lens" of the decoder row): the tokens it pushes up most and down most.
public struct PromotedTokens: Sendable, Equatable {
    /// Largest logits first.
    public var promoted: [TokenLogit]
    /// Most negative logits first.
    public var suppressed: [TokenLogit]
    /// How the logits were computed, e.g. "logits = W_U (g * W_O d): W_O of layer 3, …".
    public var method: String
    public init(promoted: [TokenLogit], suppressed: [TokenLogit], method: String) {
        self.promoted = promoted; self.suppressed = suppressed; self.method = method
    }
}

/// One example as a scorer saw it, with the truth and the scorer's answer.
public struct BrowserScoredSample: Sendable, Equatable {
    /// Tokens as display strings.
    public var tokens: [String]
    /// Which tokens were highlighted for the scorer (all false for detection).
    public var highlighted: [Bool]
    /// True for an activating example (ground truth).
    public var activating: Bool
    /// The scorer's yes/no; nil when its reply did not parse.
    public var prediction: Bool?
    /// P("1") when logprobs were available.
    public var probability: Double?
    /// Quantile of an activating example (0 = strongest); for intervention, the strength index of a steered text.
    public var quantile: Int?
    /// Simulation: Pearson correlation of this example's predicted and true activations (nil when undefined).
    public var correlation: Double?

    public init(tokens: [String], highlighted: [Bool], activating: Bool, prediction: Bool?,
                probability: Double? = nil, quantile: Int? = nil, correlation: Double? = nil) {
        self.correlation = correlation
        self.tokens = tokens
        self.highlighted = Array(highlighted.prefix(tokens.count)) + [Bool](repeating: false, count: max(0, tokens.count - highlighted.count))
        self.activating = activating
        self.prediction = prediction
        self.probability = probability
        self.quantile = quantile
    }

    /// prediction == ground truth (false when there is no prediction).
    public var correct: Bool { prediction == activating }
}

/// Per-head split and DFA by source token for one destination token of one window.
public struct TokenHeadSplit: Sendable, Equatable {
    /// The latent's pre-activation split into per-head terms (length n_heads).
    public var perHead: [Float]
    /// Direct feature attribution by source position (length = window length; zero after the destination).
    public var dfaBySource: [Float]
    public init(perHead: [Float], dfaBySource: [Float]) { self.perHead = perHead; self.dfaBySource = dfaBySource }
}

/// One row of the head-centric table: the latents that attribute most to a head.
public struct HeadTableRow: Sendable, Equatable {
    public var head: Int
    /// (latent index, attribution fraction), strongest first.
    public var topLatents: [HeadTableLatent]
    public init(head: Int, topLatents: [HeadTableLatent]) { self.head = head; self.topLatents = topLatents }
}

/// A latent and its attribution fraction to one head.
public struct HeadTableLatent: Sendable, Equatable {
    public var latent: Int
    public var fraction: Float
    public var explanation: String?
    public init(latent: Int, fraction: Float, explanation: String?) {
        self.latent = latent; self.fraction = fraction; self.explanation = explanation
    }
}

/// A failure the browser shows in place of data.
public struct BrowserError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension PartInfo {
    /// What the detail header shows: the hook, or for a transcoder "reads IN → writes OUT".
    public var hookDescription: String {
        guard let out = hookNameOut else { return hookName }
        return "reads \(hookName) → writes \(out)"
    }
}
