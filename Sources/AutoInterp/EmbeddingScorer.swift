import FeaturescopeCore
import Foundation

/// Turns texts into embedding vectors: an OpenAI-compatible `/v1/embeddings` endpoint or the embedded model.
public protocol TextEmbedder: Sendable {
    /// Recorded as the model of a result.
    var modelName: String { get }
    /// Recorded as the endpoint of a result (never holds secrets).
    var endpointName: String { get }
    /// One vector per text, in order.
    func embed(_ texts: [String]) async throws -> [[Float]]
}

/// delphi's embedding scorer: the explanation, prefixed by a retrieval instruction, is embedded as a query and
/// each example (test + non-activating windows, tokens joined) as a document; a sample's `probability` is the
/// cosine similarity of the two. The score is the AUROC of the similarities, activating vs non-activating
/// (`ConfusionCounts.auc`, ties ½). delphi records only the similarities; so that the browser can show counts,
/// `prediction` is "similarity above the median of this latent's samples" (display only, not the score).
public struct EmbeddingScorer: Sendable, LatentScorer {
    /// delphi's query prefix (its `explanation_string`), followed directly by the explanation.
    public static let queryPrefix = "Instruct: Retrieve sentences that could be related to the explanation.\nQuery:"
    public static let promptVersion = "delphi-embedding-v1"

    public let embedder: any TextEmbedder
    public var methodName: String { "embedding" }

    public init(embedder: any TextEmbedder) { self.embedder = embedder }

    /// Cosine similarity (0 when either vector is zero or the lengths differ).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }

    /// Scores test + non-activating examples. A failed embedding request leaves every prediction null and is
    /// counted in `requestFailures` (a batch runner then retries the latent); only cancellation throws.
    public func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord {
        let examples = sampled.test + sampled.nonActivating
        var samples = examples.map {
            ScoredSample(strTokens: $0.tokens, activations: $0.activations, distance: $0.distance,
                         activating: $0.distance >= 0, shownText: $0.text)
        }
        var failures: [String] = []
        var requestFailures = 0
        do {
            try Task.checkCancellation()
            let vectors = try await embedder.embed([Self.queryPrefix + explanation] + examples.map(\.text))
            guard vectors.count == examples.count + 1 else {
                throw LLMClientError.invalidConfiguration("the embedder returned \(vectors.count) vectors for \(examples.count + 1) texts")
            }
            let similarities = vectors.dropFirst().map { Self.cosine(vectors[0], $0) }
            let sorted = similarities.sorted()
            let median = sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            for (i, s) in similarities.enumerated() {
                samples[i].probability = s
                samples[i].prediction = s > median
                samples[i].correct = samples[i].prediction == samples[i].activating
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            requestFailures = 1
            failures.append("embedding request failed: \(error)")
        }
        var record = ScoreRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: methodName, model: embedder.modelName,
                                                        endpoint: embedder.endpointName, promptVersion: Self.promptVersion),
                                 explanation: explanation, samples: samples, batchFailures: failures)
        record.requestFailures = requestFailures
        return record
    }
}

extension OpenAIClient: TextEmbedder {
    /// `/v1/embeddings` of the configured model.
    public func embed(_ texts: [String]) async throws -> [[Float]] { try await embeddings(texts) }
}
