import FeaturescopeCore
import Foundation

/// One example as a scorer saw and judged it; the fields of delphi's detection/fuzz score files.
public struct AnnotationSample: Codable, Sendable, Equatable {
    public var strTokens: [String]
    public var activations: [Float]
    /// Quantile index for activating examples (0 = strongest); −1 for random non-activating ones.
    public var distance: Double
    public var activating: Bool
    public var prediction: Bool?
    public var probability: Double?
    public var correct: Bool?
    /// The text exactly as the scorer saw it, highlights included (Featurescope addition).
    public var shownText: String?

    enum CodingKeys: String, CodingKey {
        case strTokens = "str_tokens", activations, distance, activating, prediction, probability, correct
        case shownText = "shown_text"
    }

    public init(strTokens: [String], activations: [Float], distance: Double, activating: Bool,
                prediction: Bool?, probability: Double?, correct: Bool?, shownText: String? = nil) {
        self.strTokens = strTokens; self.activations = activations; self.distance = distance
        self.activating = activating; self.prediction = prediction; self.probability = probability
        self.correct = correct; self.shownText = shownText
    }
}

/// Summary figures of one score (docs/autointerp.md, "Metrics").
public struct ScoreMetrics: Codable, Sendable, Equatable {
    /// The headline figure: balanced accuracy for detection/fuzz, correlation for simulation.
    public var score: Double?
    public var truePositives: Int?
    public var trueNegatives: Int?
    public var falsePositives: Int?
    public var falseNegatives: Int?
    /// Any further named figures (precision, recall, f1, auc, per-quantile accuracy…).
    public var values: [String: Double]

    public init(score: Double? = nil, truePositives: Int? = nil, trueNegatives: Int? = nil,
                falsePositives: Int? = nil, falseNegatives: Int? = nil, values: [String: Double] = [:]) {
        self.score = score; self.truePositives = truePositives; self.trueNegatives = trueNegatives
        self.falsePositives = falsePositives; self.falseNegatives = falseNegatives; self.values = values
    }

    /// Balanced accuracy over samples with a non-null prediction: (TP/pos + TN/neg) / 2,
    /// a term with a zero denominator counting 0.
    public static func balancedAccuracy(of samples: [AnnotationSample]) -> ScoreMetrics {
        var c = ConfusionCounts()
        for s in samples {
            guard let p = s.prediction else { continue }
            c.add(actual: s.activating, predicted: p)
        }
        return ScoreMetrics(score: c.balancedAccuracy, truePositives: c.tp, trueNegatives: c.tn, falsePositives: c.fp, falseNegatives: c.fn)
    }
}

/// An explanation or a score of one latent, appended to a part's annotation log.
public struct Annotation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case explanation, score }

    public var kind: Kind
    public var latent: Int
    /// Explainer name, or scorer (`detection`, `fuzz`, `simulation`, `embedding`, `surprisal`).
    public var method: String
    /// The LLM that explained or scored.
    public var model: String
    /// API endpoint (URL or provider name).
    public var endpoint: String?
    public var promptVersion: String?
    /// ISO-8601 date.
    public var date: String
    /// Explanation text (explanations), untrusted.
    public var text: String?
    /// The explanation that was scored (scores).
    public var explanation: String?
    /// Every scored sample (detection/fuzz).
    public var samples: [AnnotationSample]?
    public var metrics: ScoreMetrics?
    /// Scorer output kept verbatim when it has another schema (e.g. delphi simulation).
    public var raw: JSONValue?
    /// Free-form provenance (e.g. the delphi file it came from).
    public var extra: [String: String]?

    public init(kind: Kind, latent: Int, method: String, model: String, endpoint: String? = nil,
                promptVersion: String? = nil, date: String = Annotation.now(), text: String? = nil,
                explanation: String? = nil, samples: [AnnotationSample]? = nil, metrics: ScoreMetrics? = nil,
                raw: JSONValue? = nil, extra: [String: String]? = nil) {
        self.kind = kind; self.latent = latent; self.method = method; self.model = model
        self.endpoint = endpoint; self.promptVersion = promptVersion; self.date = date; self.text = text
        self.explanation = explanation; self.samples = samples; self.metrics = metrics; self.raw = raw; self.extra = extra
    }

    /// The current time in ISO-8601.
    public static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// True for detection scores (`detection`).
    var isDetection: Bool { kind == .score && method.lowercased() == "detection" }
    /// True for fuzzing scores (`fuzz`, `fuzzing`).
    var isFuzz: Bool { kind == .score && ["fuzz", "fuzzing"].contains(method.lowercased()) }
}
