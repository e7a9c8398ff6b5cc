import Foundation

/// Anything that turns a latent's sampled examples into an explanation.
public protocol LatentExplainer: Sendable {
    /// Recorded as the annotation's method (`explainer`, `contrastive`, `template`).
    var methodName: String { get }
    /// Recorded as the annotation's model.
    var modelName: String { get }
    /// True when it runs on the embedded model (its requests are serial: one latent at a time).
    var usesEmbeddedModel: Bool { get }
    func explain(_ sampled: SampledExamples) async throws -> ExplanationRecord
}

extension Explainer: LatentExplainer {
    public var methodName: String { options.variant.rawValue }
    public var modelName: String { client.modelName }
    public var usesEmbeddedModel: Bool { client is EmbeddedLLMClient }
}

/// The no-LLM baseline of the explain-and-score study: an explanation built from the tokens on which
/// the explainer's examples peak — `The token "X" (also "Y", "Z")` — so a score above it shows what an
/// LLM adds beyond naming the top tokens.
public struct TemplateExplainer: LatentExplainer {
    public static let method = "template"
    public static let model = "top-tokens"
    public var methodName: String { Self.method }
    public var modelName: String { Self.model }
    public var usesEmbeddedModel: Bool { false }
    /// Tokens named at most.
    public var maxTokens = 3

    public init() {}

    public func explain(_ sampled: SampledExamples) async throws -> ExplanationRecord {
        let text = Self.explanation(sampled.train, maxTokens: maxTokens)
        return ExplanationRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: Self.method, model: Self.model, endpoint: "none",
                                                        promptVersion: "template-v1"),
                                 explanation: text, parsed: true, rawReply: text)
    }

    /// The peak token of every example, most frequent first (ties: the first seen).
    public static func explanation(_ examples: [ActivationWindow], maxTokens: Int = 3) -> String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for ex in examples {
            guard let i = ex.activations.indices.max(by: { ex.activations[$0] < ex.activations[$1] }), i < ex.tokens.count,
                  ex.activations[i] > 0 else { continue }
            let t = ex.tokens[i].trimmingCharacters(in: .whitespacesAndNewlines)
            let key = t.isEmpty ? ex.tokens[i] : t
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        let ranked = order.enumerated().sorted { a, b in
            let ca = counts[a.element] ?? 0, cb = counts[b.element] ?? 0
            return ca != cb ? ca > cb : a.offset < b.offset
        }.map(\.element).prefix(max(1, maxTokens))
        guard let first = ranked.first else { return "No token stands out." }
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\n", with: "\\n") + "\"" }
        let rest = ranked.dropFirst().map(quoted)
        return "The token " + quoted(first) + (rest.isEmpty ? "" : " (also " + rest.joined(separator: ", ") + ")")
    }
}
