import FeaturescopeCore
import Foundation

/// Accuracy of the activating samples of one quantile.
public struct QuantileAccuracy: Codable, Sendable, Equatable {
    /// Quantile index (0 = strongest).
    public var quantile: Int
    /// Activating samples of this quantile predicted correctly.
    public var correct: Int
    /// Activating samples of this quantile with a non-null prediction.
    public var total: Int
    /// correct / total (0 when total is 0).
    public var accuracy: Double
}

/// Classification metrics of detection/fuzzing samples, delphi's definitions.
///
/// Counts are over samples with a non-null prediction. `balancedAccuracy` is the
/// detection/fuzz "score" of the paper and Neuronpedia. A term with a zero denominator is 0.
/// Pooled figures (`init(pooling:)`) are micro-averages: the counts are summed first.
public struct ClassifierMetrics: Codable, Sendable, Equatable {
    public var truePositives = 0
    public var trueNegatives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    /// Samples whose prediction is null (unparsable or failed batch).
    public var nullPredictions = 0
    public var precision = 0.0
    public var recall = 0.0
    public var f1 = 0.0
    /// Plain accuracy over non-null predictions.
    public var accuracy = 0.0
    /// (TP/positives + TN/negatives) / 2 — the score.
    public var balancedAccuracy = 0.0
    /// Area under the ROC curve of `probability` (Mann–Whitney, ties count ½);
    /// nil without probabilities or when one class is absent.
    public var auc: Double?
    /// Accuracy of activating samples per quantile, ascending quantile.
    public var perQuantile: [QuantileAccuracy] = []

    /// Metrics of one latent's samples.
    public init(samples: [ScoredSample]) {
        var perQ: [Int: (correct: Int, total: Int)] = [:]
        var scored: [(Double, Bool)] = []
        var counts = ConfusionCounts()
        for s in samples {
            guard let p = s.prediction else { nullPredictions += 1; continue }
            counts.add(actual: s.activating, predicted: p)
            if s.activating {
                var q = perQ[s.distance] ?? (0, 0)
                q.total += 1
                if p == s.activating { q.correct += 1 }
                perQ[s.distance] = q
            }
            if let prob = s.probability, prob.isFinite { scored.append((prob, s.activating)) }
        }
        (truePositives, trueNegatives, falsePositives, falseNegatives) = (counts.tp, counts.tn, counts.fp, counts.fn)
        precision = counts.precision
        recall = counts.recall
        f1 = counts.f1
        accuracy = counts.accuracy
        balancedAccuracy = counts.balancedAccuracy
        auc = ConfusionCounts.auc(scored)
        perQuantile = perQ.keys.sorted().map { q in
            let c = perQ[q] ?? (0, 0)
            return QuantileAccuracy(quantile: q, correct: c.correct, total: c.total,
                                    accuracy: c.total == 0 ? 0 : Double(c.correct) / Double(c.total))
        }
    }

    /// Micro-averaged metrics over many latents' samples.
    public init(pooling records: [ScoreRecord]) {
        self.init(samples: records.flatMap(\.samples))
    }

    /// Samples with a non-null prediction.
    public var scoredCount: Int { truePositives + trueNegatives + falsePositives + falseNegatives }
}
