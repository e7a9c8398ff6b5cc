/// The ports the browser reads through. They are small on purpose: an adapter from the real
/// latent cache (mmapped) or engine implements them in a few lines each.

/// Columns the latent list can sort by.
public enum SortColumn: String, Sendable, CaseIterable, Equatable {
    case index, explanation, density, maxActivation, detection, fuzz, verdict, embedding, simulation, intervention

    /// Column header text.
    public var title: String {
        switch self {
        case .index: return "latent"
        case .explanation: return "explanation"
        case .density: return "density"
        case .maxActivation: return "max act"
        case .detection: return "detect"
        case .fuzz: return "fuzz"
        case .verdict: return "human"
        case .embedding: return "embed"
        case .simulation: return "simul"
        case .intervention: return "interv"
        }
    }

    /// The scorer (annotation method) a score column shows; nil for the other columns.
    public var scorer: String? {
        switch self {
        case .detection: return "detection"
        case .fuzz: return "fuzz"
        case .embedding: return "embedding"
        case .simulation: return "simulation"
        case .intervention: return "intervention"
        default: return nil
        }
    }
}

/// Read access to a latent cache: list rows, details, scored samples, head views.
///
/// Called from background tasks (details, sorting, search) and from rendering (only the visible
/// list rows), so implementations must be thread-safe and `summary` must be cheap.
public protocol BrowserDataSource: Sendable {
    /// The SAEs in the cache.
    var parts: [PartInfo] { get }
    /// One list row. Must be fast: called for every visible row on every frame.
    func summary(part: Int, latent: Int) -> BrowserLatentSummary
    /// A numeric sort key (nil sorts last). Default: taken from `summary`.
    func sortValue(part: Int, latent: Int, column: SortColumn) -> Double?
    /// Everything for the detail view.
    func detail(part: Int, latent: Int) throws -> LatentDetail
    /// The names of the scorers that have samples for this latent.
    func scorers(part: Int, latent: Int) -> [String]
    /// The samples one scorer saw for this latent.
    func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample]
    /// Weights-based head attribution (one fraction per head, summing to 1); nil when not hook_z.
    func headAttribution(part: Int, latent: Int) -> [Float]?
    /// Per-head split and DFA by source for one token of a detail window; nil when unavailable.
    func tokenHeadSplit(part: Int, latent: Int, group: Int, window: Int, token: Int) -> TokenHeadSplit?
    /// The head-centric table of a hook_z part; nil when unavailable.
    func headTable(part: Int) -> [HeadTableRow]?
    /// Stores a human spot-check verdict.
    func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws
    /// The display strings the top-token search index holds for a latent (e.g. the token at the peak
    /// of each of its strongest windows). Called once per latent from a background task when search
    /// is first used, so it may read the latent's record. Default: `summary(...).topTokens`.
    func searchTokens(part: Int, latent: Int) -> [String]
    /// The `count` tokens the latent's decoder direction promotes and suppresses most through the
    /// unembedding. Slow (needs model weights): called off the UI loop; throws with the reason when
    /// unavailable. Default: unavailable.
    func promotedTokens(part: Int, latent: Int, count: Int) throws -> PromotedTokens
    /// Similar latents (decoder/encoder cosine, co-occurrence) and the aligned match in another part. Slow the first
    /// time per part (builds an index): called off the UI loop. Default: unavailable.
    func neighbours(part: Int, latent: Int) throws -> LatentNeighbours
    /// Head-role scores of the layer a hook_z part reads (runs the model on probe sequences: slow the first time).
    func headRoles(part: Int) throws -> [HeadRoleRow]
}

extension BrowserDataSource {
    public func sortValue(part: Int, latent: Int, column: SortColumn) -> Double? {
        let s = summary(part: part, latent: latent)
        switch column {
        case .index: return Double(latent)
        case .explanation: return s.explanation == nil ? nil : 0
        case .density: return s.density
        case .maxActivation: return Double(s.maxActivation)
        case .detection: return s.detection
        case .fuzz: return s.fuzz
        case .verdict: return s.verdict.map { $0.accuracy }
        case .embedding: return s.embedding
        case .simulation: return s.simulation
        case .intervention: return s.intervention
        }
    }
    public func tokenHeadSplit(part: Int, latent: Int, group: Int, window: Int, token: Int) -> TokenHeadSplit? { nil }
    public func headTable(part: Int) -> [HeadTableRow]? { nil }
    public func searchTokens(part: Int, latent: Int) -> [String] { summary(part: part, latent: latent).topTokens }
    public func promotedTokens(part: Int, latent: Int, count: Int) throws -> PromotedTokens {
        throw BrowserError("this session has no model weights to compute promoted tokens")
    }
    public func headRoles(part: Int) throws -> [HeadRoleRow] {
        throw BrowserError("head roles need the model, which this data source does not have")
    }
    public func neighbours(part: Int, latent: Int) throws -> LatentNeighbours {
        throw BrowserError("this data source has no similarity index")
    }
}

/// A latent active on a token, with its activation.
public struct LatentActivation: Sendable, Equatable {
    public var latent: Int
    public var activation: Float
    public init(latent: Int, activation: Float) { self.latent = latent; self.activation = activation }
}

/// A candidate next token with its probability.
public struct NextToken: Sendable, Equatable {
    public var token: String
    public var probability: Float
    public init(token: String, probability: Float) { self.token = token; self.probability = probability }
}

/// The result of running a prompt through the model and one SAE part.
public struct PromptRun: Sendable, Equatable {
    public var text: String
    public var part: Int
    /// Tokens as display strings.
    public var tokens: [String]
    /// Top latents per token, strongest first.
    public var topLatents: [[LatentActivation]]
    /// Most likely next tokens after the last prompt token.
    public var nextTokens: [NextToken]
    /// Attention patterns of the run (nil when the engine did not capture them).
    public var attention: PromptAttention?
    /// `topLatents` is cut or padded (with empty lists) to one entry per token.
    public init(text: String, part: Int, tokens: [String], topLatents: [[LatentActivation]], nextTokens: [NextToken],
                attention: PromptAttention? = nil) {
        self.text = text; self.part = part; self.tokens = tokens; self.nextTokens = nextTokens
        self.attention = attention.flatMap { $0.tokenCount == tokens.count ? $0 : nil }
        self.topLatents = Array(topLatents.prefix(tokens.count)) + [[LatentActivation]](repeating: [], count: max(0, tokens.count - topLatents.count))
    }
}

/// Attention patterns of a prompt run: for each captured layer, every head's query × key weights.
public struct PromptAttention: Sendable, Equatable {
    /// The model layers captured, ascending.
    public let layers: [Int]
    public let headCount: Int
    public let tokenCount: Int
    /// The layer shown first (the part's layer when captured).
    public let preferredLayer: Int?
    /// Per entry of `layers`: [heads, T, T], row = query, column = key.
    let weights: [[Float]]

    /// Checks the shapes; nil when they do not fit (no layers, or a layer's pattern has the wrong size).
    public init?(layers: [Int], headCount: Int, tokenCount: Int, patterns: [[Float]], preferredLayer: Int? = nil) {
        guard !layers.isEmpty, layers.count == patterns.count, headCount > 0, tokenCount > 0,
              patterns.allSatisfy({ $0.count == headCount * tokenCount * tokenCount }) else { return nil }
        self.layers = layers; self.headCount = headCount; self.tokenCount = tokenCount
        self.preferredLayer = preferredLayer; self.weights = patterns
    }

    /// The weights of query `query` over every key (0 after the query in a causal model).
    public func row(layerIndex: Int, head: Int, query: Int) -> [Float] {
        guard weights.indices.contains(layerIndex), head >= 0, head < headCount, query >= 0, query < tokenCount else { return [] }
        let start = (head * tokenCount + query) * tokenCount
        return Array(weights[layerIndex][start ..< start + tokenCount])
    }

    /// The index into `layers` to show first.
    public var preferredLayerIndex: Int { preferredLayer.flatMap { layers.firstIndex(of: $0) } ?? 0 }
}

/// One latent traced across a prompt run, seen from one destination token.
public struct PromptLatentTrace: Sendable, Equatable {
    public var latent: Int
    public var token: Int
    /// The latent's activation on every prompt token.
    public var activations: [Float]
    /// DFA by source token for the destination `token` (hook_z only).
    public var dfaBySource: [Float]?
    /// Per-head split of the pre-activation at `token` (hook_z only).
    public var perHead: [Float]?
    /// What zeroing the latent does (nil when the engine cannot tell).
    public var ablation: PromptAblation?
    public init(latent: Int, token: Int, activations: [Float], dfaBySource: [Float]?, perHead: [Float]?,
                ablation: PromptAblation? = nil) {
        self.latent = latent; self.token = token; self.activations = activations
        self.dfaBySource = dfaBySource; self.perHead = perHead; self.ablation = ablation
    }
}

/// The ablation effect of a latent on a prompt: per token, the change in log-probability of the actual next
/// token when the latent is zeroed everywhere (0 at the last token), and at the traced token the tokens whose
/// probability rose / fell most.
public struct PromptAblation: Sendable, Equatable {
    public var deltaLogProb: [Float]
    public var promoted: [String]
    public var suppressed: [String]
    /// The change in log-probability (nats) of each promoted / suppressed token (empty when unknown).
    public var promotedDelta: [Float]
    public var suppressedDelta: [Float]
    public init(deltaLogProb: [Float], promoted: [String], suppressed: [String], promotedDelta: [Float] = [], suppressedDelta: [Float] = []) {
        self.deltaLogProb = deltaLogProb; self.promoted = promoted; self.suppressed = suppressed
        self.promotedDelta = promotedDelta; self.suppressedDelta = suppressedDelta
    }
}

/// Runs arbitrary text through the model + SAE ("search via inference"). Slow: always called off the UI loop.
public protocol PromptEngine: Sendable {
    func run(text: String, part: Int) async throws -> PromptRun
    func trace(run: PromptRun, latent: Int, token: Int) async throws -> PromptLatentTrace
}

/// Background jobs started from the browser.
public enum BrowserAction: String, Sendable, Equatable, CaseIterable {
    /// Explain a latent with the configured LLM.
    case explain
    /// Score a latent's explanation (detection + fuzzing).
    case score
    /// Score with delphi's embedding scorer (AUROC of explanation–example similarities).
    case scoreEmbedding = "embedding score"
    /// Score with the simulation scorer (Pearson correlation of predicted and true activations).
    case scoreSimulation = "simulation score"
    /// Score with intervention scoring (does the explanation pick out steered completions?).
    case scoreIntervention = "intervention score"

    /// The score jobs, in the order the scorer chooser (`S`) cycles through them.
    public static let scoreKinds: [BrowserAction] = [.score, .scoreEmbedding, .scoreSimulation, .scoreIntervention]

    /// True for every score job.
    public var isScore: Bool { self != .explain }

    /// The scorers a job runs, as stored (annotation methods).
    public var scorers: [String] {
        switch self {
        case .explain: return []
        case .score: return ["detection", "fuzz"]
        case .scoreEmbedding: return ["embedding"]
        case .scoreSimulation: return ["simulation"]
        case .scoreIntervention: return ["intervention"]
        }
    }

    /// Short label ("detection + fuzz", "embedding", …).
    public var label: String { self == .explain ? "explain" : scorers.joined(separator: " + ") }
}

/// A result of a running job, shown while it runs.
public enum ActionPartial: Sendable, Equatable {
    /// The explanation so far (the whole text each time, growing token by token).
    case explanation(String)
    /// Score lines so far (e.g. "detection: batch 3/8 · 13/15 correct"), replacing the previous ones.
    case scores([String])
    /// The samples one scorer has judged so far (every finished batch), shown in view 3 as they come.
    case samples(scorer: String, [BrowserScoredSample])
}

/// Runs explain/score jobs. `progress` may be called from any thread with a short status line, `partial`
/// with results as they grow. Cancelling the task stops the job; results finished before stay stored.
public protocol ActionRunner: Sendable {
    func run(_ action: BrowserAction, part: Int, latent: Int,
             progress: @escaping @Sendable (String) -> Void) async throws -> String
    func run(_ action: BrowserAction, part: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
             partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String
}

extension ActionRunner {
    /// Runners without partial results: only progress lines.
    public func run(_ action: BrowserAction, part: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                    partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        try await run(action, part: part, latent: latent, progress: progress)
    }
}
