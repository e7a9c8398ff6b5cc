/// Counts of a binary classifier's predictions against the truth (detection and fuzz scoring), with the
/// figures derived from them (delphi's definitions: a ratio whose denominator is 0 counts 0).
public struct ConfusionCounts: Sendable, Equatable {
    public var tp: Int, tn: Int, fp: Int, fn: Int

    public init(tp: Int = 0, tn: Int = 0, fp: Int = 0, fn: Int = 0) { self.tp = tp; self.tn = tn; self.fp = fp; self.fn = fn }

    /// Counts one prediction of a sample whose truth is `actual`.
    public mutating func add(actual: Bool, predicted: Bool) {
        switch (actual, predicted) {
        case (true, true): tp += 1
        case (true, false): fn += 1
        case (false, true): fp += 1
        case (false, false): tn += 1
        }
    }

    /// TP+TN+FP+FN.
    public var total: Int { tp + tn + fp + fn }
    /// TP/(TP+FP).
    public var precision: Double { Self.ratio(Double(tp), Double(tp + fp)) }
    /// TP/(TP+FN).
    public var recall: Double { Self.ratio(Double(tp), Double(tp + fn)) }
    /// 2·P·R/(P+R).
    public var f1: Double { Self.ratio(2 * precision * recall, precision + recall) }
    /// (TP+TN)/total.
    public var accuracy: Double { Self.ratio(Double(tp + tn), Double(total)) }
    /// (TP/positives + TN/negatives)/2: the detection/fuzz score.
    public var balancedAccuracy: Double { (Self.ratio(Double(tp), Double(tp + fn)) + Self.ratio(Double(tn), Double(tn + fp))) / 2 }

    static func ratio(_ a: Double, _ b: Double) -> Double { b == 0 ? 0 : a / b }

    /// Area under the ROC curve of (score, is positive) pairs: the Mann–Whitney U statistic with average
    /// ranks for ties (a tied positive/negative pair counts ½); nil when a class is empty.
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
            for k in i ... j where sorted[k].1 { rankSumPos += avgRank }
            i = j + 1
        }
        let p = Double(nPos), n = Double(nNeg)
        return (rankSumPos - p * (p + 1) / 2) / (p * n)
    }
}
