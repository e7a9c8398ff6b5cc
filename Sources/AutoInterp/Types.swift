import Foundation

// MARK: - Examples of a latent

/// One window of tokens cut from the cached activations of a latent.
///
/// `distance` follows delphi: the quantile index for activating windows
/// (0 = strongest slice) and −1 for random non-activating windows.
public struct ActivationWindow: Codable, Sendable, Equatable {
    /// Token strings as the tokenizer decodes them (they carry their own spaces).
    public var tokens: [String]
    /// Token ids, when known.
    public var tokenIDs: [Int32]?
    /// The latent's activation on each token (same length as `tokens`).
    public var activations: [Float]
    /// Quantile index (0 = strongest) or −1 for a non-activating window.
    public var distance: Int

    public init(tokens: [String], tokenIDs: [Int32]? = nil, activations: [Float], distance: Int = 0) {
        self.tokens = tokens
        self.tokenIDs = tokenIDs
        self.activations = activations
        self.distance = distance
    }

    /// The largest activation in the window (0 for an empty window).
    public var maxActivation: Float { activations.max() ?? 0 }

    /// True when any token has a nonzero activation.
    public var isActivating: Bool { activations.contains { $0 != 0 } }

    /// Number of tokens with a nonzero activation.
    public var nonzeroCount: Int { activations.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

    /// The window's text: tokens joined as they are.
    public var text: String { tokens.joined() }
}

/// Every window Featurescope knows for one latent, ready for sampling.
public struct LatentExamples: Codable, Sendable, Equatable {
    /// Index of the latent in its SAE.
    public var latent: Int
    /// TransformerLens hook name, e.g. `blocks.6.hook_resid_post`.
    public var hook: String
    /// Largest activation of the latent anywhere (used for normalisation).
    public var maxActivation: Float
    /// Activating windows sorted by maximum activation, descending.
    public var activating: [ActivationWindow]
    /// Windows without any activation (a random pool for negatives).
    public var nonActivating: [ActivationWindow]

    public init(latent: Int, hook: String, maxActivation: Float,
                activating: [ActivationWindow], nonActivating: [ActivationWindow]) {
        self.latent = latent
        self.hook = hook
        self.maxActivation = maxActivation
        self.activating = activating
        self.nonActivating = nonActivating
    }

    /// Builds the value from unsorted windows: activating windows are sorted by their
    /// maximum (descending, stable) and `maxActivation` is taken from them.
    public static func sorting(latent: Int, hook: String, activating: [ActivationWindow],
                               nonActivating: [ActivationWindow]) -> LatentExamples {
        let sorted = activating.enumerated().sorted { a, b in
            let ma = a.element.maxActivation, mb = b.element.maxActivation
            return ma != mb ? ma > mb : a.offset < b.offset
        }.map(\.element)
        return LatentExamples(latent: latent, hook: hook, maxActivation: sorted.first?.maxActivation ?? 0,
                              activating: sorted, nonActivating: nonActivating)
    }
}

// MARK: - Chat requests

/// One chat message (`system`, `user` or `assistant`).
public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: text) }
}

/// A chat completion request, independent of the backend.
public struct ChatRequest: Codable, Sendable, Equatable {
    public var messages: [ChatMessage]
    public var temperature: Double
    public var maxTokens: Int
    /// Number of top alternatives wanted per generated token (0 = no logprobs).
    public var topLogprobs: Int

    public init(messages: [ChatMessage], temperature: Double = 0, maxTokens: Int = 500, topLogprobs: Int = 0) {
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.topLogprobs = topLogprobs
    }
}

/// A candidate token and its log-probability (natural log).
public struct TokenAlternative: Codable, Sendable, Equatable {
    public var token: String
    public var logprob: Double
    public init(token: String, logprob: Double) {
        self.token = token
        self.logprob = logprob
    }
}

/// One generated token with its log-probability and the top alternatives at its position.
public struct TokenLogprob: Codable, Sendable, Equatable {
    public var token: String
    public var logprob: Double
    public var topAlternatives: [TokenAlternative]
    public init(token: String, logprob: Double, topAlternatives: [TokenAlternative]) {
        self.token = token
        self.logprob = logprob
        self.topAlternatives = topAlternatives
    }
}

/// The reply to a `ChatRequest`.
public struct ChatResponse: Codable, Sendable, Equatable {
    /// The generated text.
    public var text: String
    /// Per-token logprobs when the backend returned them.
    public var logprobs: [TokenLogprob]?
    /// `stop`, `length`, … when given.
    public var finishReason: String?
    /// The model name the backend reported, when given.
    public var model: String?

    public init(text: String, logprobs: [TokenLogprob]? = nil, finishReason: String? = nil, model: String? = nil) {
        self.text = text
        self.logprobs = logprobs
        self.finishReason = finishReason
        self.model = model
    }
}

// MARK: - Results

/// Where a result came from: enough to reproduce or audit it.
public struct Provenance: Codable, Sendable, Equatable {
    /// `explainer`, `contrastive`, `detection`, `fuzz`, `surprisal`, …
    public var method: String
    /// Model name sent to the endpoint.
    public var model: String
    /// A display name of the endpoint (never contains the API key).
    public var endpoint: String
    /// Version tag of the prompt text, so changed prompts are never mixed up.
    public var promptVersion: String
    /// When the result was produced.
    public var date: Date

    public init(method: String, model: String, endpoint: String, promptVersion: String, date: Date = Date()) {
        self.method = method
        self.model = model
        self.endpoint = endpoint
        self.promptVersion = promptVersion
        self.date = date
    }
}

/// An explanation of one latent.
public struct ExplanationRecord: Codable, Sendable, Equatable {
    public var latent: Int
    public var hook: String
    public var provenance: Provenance
    /// The parsed explanation (or `Explainer.unparsedExplanation`).
    public var explanation: String
    /// True when the reply held an `[EXPLANATION]:` line.
    public var parsed: Bool
    /// The raw reply of the explainer model.
    public var rawReply: String

    public init(latent: Int, hook: String, provenance: Provenance, explanation: String, parsed: Bool, rawReply: String) {
        self.latent = latent
        self.hook = hook
        self.provenance = provenance
        self.explanation = explanation
        self.parsed = parsed
        self.rawReply = rawReply
    }
}

/// One example as a scorer saw it, and what the scorer said.
public struct ScoredSample: Codable, Sendable, Equatable {
    public var strTokens: [String]
    public var activations: [Float]
    /// Quantile (0 = strongest) or −1 for non-activating.
    public var distance: Int
    /// Ground truth: the example comes from the latent's activating windows.
    public var activating: Bool
    /// The scorer's answer; nil when its batch could not be parsed or failed.
    public var prediction: Bool?
    /// P("1") from logprobs (or a continuous score), when available.
    public var probability: Double?
    /// `prediction == activating`, nil when prediction is nil.
    public var correct: Bool?
    /// The text exactly as shown to the scorer, highlights included.
    public var shownText: String
    /// The simulation scorer's predicted activation (0…10, an expected value) per token.
    public var simulated: [Double]?

    public init(strTokens: [String], activations: [Float], distance: Int, activating: Bool,
                prediction: Bool? = nil, probability: Double? = nil, correct: Bool? = nil, shownText: String) {
        self.strTokens = strTokens
        self.activations = activations
        self.distance = distance
        self.activating = activating
        self.prediction = prediction
        self.probability = probability
        self.correct = correct
        self.shownText = shownText
    }
}

/// The scores of one latent under one scoring method.
public struct ScoreRecord: Codable, Sendable, Equatable {
    public var latent: Int
    public var hook: String
    public var provenance: Provenance
    /// The explanation that was scored.
    public var explanation: String
    /// Every sample, in the order they were shown.
    public var samples: [ScoredSample]
    /// One line per batch whose predictions are null (or lack probabilities), saying why.
    public var batchFailures: [String]
    /// Batches whose request itself failed (endpoint down, HTTP error): the record is
    /// incomplete and a batch runner does not write it, so a resumed run retries the latent.
    public var requestFailures: Int = 0
    /// The simulation scorer's correlations (nil for other methods).
    public var simulation: SimulationScores?
    /// Detection/fuzz with contextual calibration: the content-free probabilities and the threshold used.
    public var calibration: ScoreCalibration?

    public init(latent: Int, hook: String, provenance: Provenance, explanation: String,
                samples: [ScoredSample], batchFailures: [String] = []) {
        self.latent = latent
        self.hook = hook
        self.provenance = provenance
        self.explanation = explanation
        self.samples = samples
        self.batchFailures = batchFailures
    }

    /// Metrics over this record's samples.
    public var metrics: ClassifierMetrics { ClassifierMetrics(samples: samples) }
}

extension ScoreRecord {
    private enum CodingKeys: String, CodingKey {
        case latent, hook, provenance, explanation, samples, batchFailures, requestFailures, simulation, calibration
    }

    /// Decodes a record; `batchFailures` and `requestFailures` may be absent (older records).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        latent = try c.decode(Int.self, forKey: .latent)
        hook = try c.decode(String.self, forKey: .hook)
        provenance = try c.decode(Provenance.self, forKey: .provenance)
        explanation = try c.decode(String.self, forKey: .explanation)
        samples = try c.decode([ScoredSample].self, forKey: .samples)
        batchFailures = try c.decodeIfPresent([String].self, forKey: .batchFailures) ?? []
        requestFailures = try c.decodeIfPresent(Int.self, forKey: .requestFailures) ?? 0
        simulation = try c.decodeIfPresent(SimulationScores.self, forKey: .simulation)
        calibration = try c.decodeIfPresent(ScoreCalibration.self, forKey: .calibration)
    }
}

/// How a yes/no scorer's P("1") became its 0/1 predictions (`ClassifierScorer.Calibration`).
/// - `content-free` — contextual calibration (Zhao et al. 2021, "Calibrate Before Use"): the scorer's P("1") on
///   content-free texts (`N/A`, an empty text, `[MASK]`) with the same explanation and prompt measures its bias toward
///   "1"; dividing each answer's probabilities by the mean content-free ones and taking the larger gives, for two
///   choices, prediction = P("1") > `threshold` (the mean content-free P("1")).
/// - `prior` — the scorer answers "1" for as many texts as the set holds activating ones by design
///   (`positiveShare` of them), the texts with the highest P("1"); `threshold` is the midpoint between the last
///   text answered 1 and the first answered 0.
public struct ScoreCalibration: Codable, Sendable, Equatable {
    /// `content-free` or `prior`.
    public var rule: String
    /// The content-free texts, as shown (content-free rule).
    public var texts: [String]
    /// P("1") / (P("0") + P("1")) of each.
    public var probabilities: [Double]
    /// Share of the set answered 1 (prior rule).
    public var positiveShare: Double?
    /// The decision threshold on P("1").
    public var threshold: Double

    /// The content-free rule.
    public init(texts: [String], probabilities: [Double]) {
        rule = "content-free"
        self.texts = texts
        self.probabilities = probabilities
        self.threshold = probabilities.isEmpty ? 0.5 : probabilities.reduce(0, +) / Double(probabilities.count)
    }

    /// The prior rule.
    public init(positiveShare: Double, threshold: Double) {
        rule = "prior"
        texts = []
        probabilities = []
        self.positiveShare = positiveShare
        self.threshold = threshold
    }
}
