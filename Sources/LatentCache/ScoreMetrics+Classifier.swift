import Foundation

extension ScoreMetrics {
    /// Balanced accuracy (the headline, as `balancedAccuracy(of:)`) plus the figures `cache-info` and the
    /// browser summarise: precision, recall, f1, accuracy, AUC of `probability` (Mann–Whitney, ties ½) and
    /// per-quantile accuracy of the activating samples (`quantile<d>Accuracy`, d = the sample's distance).
    public static func classifier(of samples: [AnnotationSample]) -> ScoreMetrics {
        var m = balancedAccuracy(of: samples)
        let tp = Double(m.truePositives ?? 0), tn = Double(m.trueNegatives ?? 0)
        let fp = Double(m.falsePositives ?? 0), fn = Double(m.falseNegatives ?? 0)
        func ratio(_ a: Double, _ b: Double) -> Double { b == 0 ? 0 : a / b }
        let precision = ratio(tp, tp + fp), recall = ratio(tp, tp + fn)
        var values: [String: Double] = [
            "precision": precision, "recall": recall, "f1": ratio(2 * precision * recall, precision + recall),
            "accuracy": ratio(tp + tn, tp + tn + fp + fn), "balancedAccuracy": m.score ?? 0,
            "nullPredictions": Double(samples.filter { $0.prediction == nil }.count),
        ]
        for (q, v) in quantileAccuracy(of: samples) { values["quantile\(q)Accuracy"] = v }
        if let auc = auc(samples.compactMap { s in s.probability.flatMap { $0.isFinite ? ($0, s.activating) : nil } }) { values["auc"] = auc }
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

    /// Area under the ROC curve of (score, is positive) pairs with average ranks for ties; nil when a class is empty.
    static func auc(_ pairs: [(Double, Bool)]) -> Double? {
        let nPos = pairs.filter(\.1).count, nNeg = pairs.count - nPos
        guard nPos > 0, nNeg > 0 else { return nil }
        let sorted = pairs.sorted { $0.0 < $1.0 }
        var rankSum = 0.0, i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1].0 == sorted[i].0 { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i ... j where sorted[k].1 { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(nPos) * Double(nPos + 1) / 2) / (Double(nPos) * Double(nNeg))
    }
}
