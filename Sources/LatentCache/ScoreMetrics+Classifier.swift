import FeaturescopeCore
import Foundation

extension ScoreMetrics {
    /// Balanced accuracy (the headline, as `balancedAccuracy(of:)`) plus the figures `cache-info` and the
    /// browser summarise: precision, recall, f1, accuracy, AUC of `probability` (Mann–Whitney, ties ½) and
    /// per-quantile accuracy of the activating samples (`quantile<d>Accuracy`, d = the sample's distance).
    public static func classifier(of samples: [AnnotationSample]) -> ScoreMetrics {
        var m = balancedAccuracy(of: samples)
        let c = ConfusionCounts(tp: m.truePositives ?? 0, tn: m.trueNegatives ?? 0, fp: m.falsePositives ?? 0, fn: m.falseNegatives ?? 0)
        var values: [String: Double] = [
            "precision": c.precision, "recall": c.recall, "f1": c.f1,
            "accuracy": c.accuracy, "balancedAccuracy": m.score ?? 0,
            "nullPredictions": Double(samples.filter { $0.prediction == nil }.count),
        ]
        for (q, v) in quantileAccuracy(of: samples) { values["quantile\(q)Accuracy"] = v }
        if let auc = ConfusionCounts.auc(samples.compactMap { s in s.probability.flatMap { $0.isFinite ? ($0, s.activating) : nil } }) { values["auc"] = auc }
        m.values = values
        return m
    }

    /// Accuracy of the activating samples with a prediction, per quantile (their distance).
    public static func quantileAccuracy(of samples: [AnnotationSample]) -> [Int: Double] {
        var perQ: [Int: (correct: Int, total: Int)] = [:]
        for s in samples where s.activating && s.distance.isFinite && abs(s.distance) < 1e9 {
            guard let p = s.prediction else { continue }
            let q = Int(s.distance.rounded(.towardZero))
            perQ[q, default: (0, 0)].total += 1
            if p { perQ[q, default: (0, 0)].correct += 1 }
        }
        return perQ.mapValues { Double($0.correct) / Double($0.total) }
    }
}
