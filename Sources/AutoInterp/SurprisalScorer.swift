import Foundation

/// Surprisal scoring: how much an explanation in the prompt lowers a base LM's loss on an
/// example, compared with a neutral description. Activating examples should gain more, so the
/// score is the AUROC of the per-token loss decrease, activating vs non-activating.
///
/// Each sample's `probability` holds its loss decrease per token (nats) and `prediction` is
/// `decrease > 0`; `ConfusionCounts.auc` over the record is the surprisal score.
public struct SurprisalScorer: Sendable {
    public let scorer: any SequenceScorer
    /// Recorded as the model of the result.
    public let modelName: String
    /// Description used for the baseline prompt.
    public var neutralDescription = "text from an arbitrary document"

    public init(scorer: any SequenceScorer, modelName: String) {
        self.scorer = scorer
        self.modelName = modelName
    }

    /// The prefix placed before an example.
    public static func prefix(description: String) -> String {
        "The following passage is an example of \(description):\n"
    }

    /// Scores test + non-activating examples. A failed loss computation leaves that sample's
    /// prediction null and is listed in `batchFailures`; only cancellation throws.
    public func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord {
        let explained = Self.prefix(description: explanation)
        let neutral = Self.prefix(description: neutralDescription)
        var samples: [ScoredSample] = []
        var failures: [String] = []
        var requestFailures = 0
        for (i, ex) in (sampled.test + sampled.nonActivating).enumerated() {
            try Task.checkCancellation()
            var s = ScoredSample(strTokens: ex.tokens, activations: ex.activations, distance: ex.distance,
                                 activating: ex.distance >= 0, shownText: ex.text)
            do {
                let withExplanation = try await scorer.logLoss(prefix: explained, continuation: ex.text)
                let baseline = try await scorer.logLoss(prefix: neutral, continuation: ex.text)
                let decrease = (baseline - withExplanation) / Double(max(1, ex.tokens.count))
                if decrease.isFinite {
                    s.probability = decrease
                    s.prediction = decrease > 0
                    s.correct = s.prediction == s.activating
                } else {
                    failures.append("sample \(i): loss is not finite")
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                requestFailures += 1
                failures.append("sample \(i): \(error)")
            }
            samples.append(s)
        }
        var record = ScoreRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: "surprisal", model: modelName, endpoint: "embedded",
                                                        promptVersion: ScorerPrompts.surprisalVersion),
                                 explanation: explanation, samples: samples, batchFailures: failures)
        record.requestFailures = requestFailures
        return record
    }
}
