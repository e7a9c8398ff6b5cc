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
        for s in samples {
            guard let p = s.prediction else { nullPredictions += 1; continue }
            switch (s.activating, p) {
            case (true, true): truePositives += 1
            case (true, false): falseNegatives += 1
            case (false, true): falsePositives += 1
            case (false, false): trueNegatives += 1
            }
            if s.activating {
                var q = perQ[s.distance] ?? (0, 0)
                q.total += 1
                if p == s.activating { q.correct += 1 }
                perQ[s.distance] = q
            }
            if let prob = s.probability, prob.isFinite { scored.append((prob, s.activating)) }
        }
        let tp = Double(truePositives), tn = Double(trueNegatives)
        let fp = Double(falsePositives), fn = Double(falseNegatives)
        precision = Self.ratio(tp, tp + fp)
        recall = Self.ratio(tp, tp + fn)
        f1 = Self.ratio(2 * precision * recall, precision + recall)
        accuracy = Self.ratio(tp + tn, tp + tn + fp + fn)
        balancedAccuracy = (Self.ratio(tp, tp + fn) + Self.ratio(tn, tn + fp)) / 2
        auc = Self.auc(scored)
        perQuantile = perQ.keys.sorted().map { q in
            let c = perQ[q] ?? (0, 0)
            return QuantileAccuracy(quantile: q, correct: c.correct, total: c.total,
                                    accuracy: Self.ratio(Double(c.correct), Double(c.total)))
        }
    }

    /// Micro-averaged metrics over many latents' samples.
    public init(pooling records: [ScoreRecord]) {
        self.init(samples: records.flatMap(\.samples))
    }

    /// Samples with a non-null prediction.
    public var scoredCount: Int { truePositives + trueNegatives + falsePositives + falseNegatives }

    static func ratio(_ a: Double, _ b: Double) -> Double { b == 0 ? 0 : a / b }

    /// AUROC as the Mann–Whitney U statistic over (score, isPositive) pairs: average ranks
    /// for ties, so a tied positive/negative pair counts ½. Nil when a class is empty.
    public static func auc(_ pairs: [(Double, Bool)]) -> Double? {
        let nPos = pairs.reduce(0) { $0 + ($1.1 ? 1 : 0) }
        let nNeg = pairs.count - nPos
        guard nPos > 0, nNeg > 0 else { return nil }
        let sorted = pairs.sorted { $0.0 < $1.0 }
        var rankSumPos = 0.0
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1].0 == sorted[i].0 { j += 1 }
            let avgRank = Double(i + j + 2) / 2  // ranks are 1-based: (i+1 + j+1) / 2
            for k in i...j where sorted[k].1 { rankSumPos += avgRank }
            i = j + 1
        }
        let p = Double(nPos), n = Double(nNeg)
        let u = rankSumPos - p * (p + 1) / 2
        return u / (p * n)
    }
}
