import FeaturescopeCore
import Foundation

/// Numerics on rows of logits, one implementation for the engine and every user of it: log-sum-exp and
/// cross-entropy (accumulated in Double), the most likely ids with their probabilities, temperature sampling.
public enum Logits {
    /// The row's largest value (NaNs skipped; −∞ when empty) and Σ exp(v − max) accumulated in Double.
    static func maxAndSum(_ row: UnsafeBufferPointer<Float>) -> (max: Float, sum: Double) {
        var m = -Float.infinity
        for v in row where v > m { m = v }
        var sum: Double = 0
        for v in row { sum += Foundation.exp(Double(v - m)) }
        return (m, sum)
    }

    /// log Σ exp(row), stable and accumulated in Double; NaN when the row is empty or its maximum is not finite.
    public static func logSumExp(_ row: UnsafeBufferPointer<Float>) -> Double {
        let (m, sum) = maxAndSum(row)
        guard m.isFinite else { return .nan }
        return Double(m) + Foundation.log(sum)
    }

    /// `logSumExp` of an array.
    public static func logSumExp(_ row: [Float]) -> Double { row.withUnsafeBufferPointer { logSumExp($0) } }

    /// −log softmax(row t)[targets[t]] in nats for each of the first `targets.count` rows of `logits`
    /// ([rows, vocab] row-major); empty when `logits` is too short.
    public static func crossEntropy(logits: [Float], vocab: Int, targets: [Int32]) -> [Float] {
        logits.withUnsafeBufferPointer { lp in
            guard let base = lp.baseAddress, lp.count >= targets.count * vocab else { return [] }
            return targets.enumerated().map { t, target in
                let row = base + t * vocab
                let lse = logSumExp(UnsafeBufferPointer(start: row, count: vocab))
                return Float(lse - Double(row[Int(target)]))
            }
        }
    }

    /// KL(softmax(p) ‖ softmax(q)) in nats for two logits rows of one length: Σ_i p_i (log p_i − log q_i),
    /// accumulated in Double (≥ 0; exactly 0 for identical rows); NaN when the lengths differ or a row's
    /// log-sum-exp is not finite.
    public static func klDivergence(_ p: UnsafeBufferPointer<Float>, _ q: UnsafeBufferPointer<Float>) -> Double {
        guard p.count == q.count, !p.isEmpty else { return .nan }
        let lp = logSumExp(p), lq = logSumExp(q)
        guard lp.isFinite, lq.isFinite else { return .nan }
        var kl = 0.0
        for i in 0 ..< p.count {
            let logP = Double(p[i]) - lp
            let prob = Foundation.exp(logP)
            if prob > 0 { kl += prob * (logP - (Double(q[i]) - lq)) }
        }
        return max(0, kl)
    }

    /// `klDivergence` of two arrays (or slices).
    public static func klDivergence(_ p: ArraySlice<Float>, _ q: ArraySlice<Float>) -> Double {
        p.withUnsafeBufferPointer { pp in q.withUnsafeBufferPointer { klDivergence(pp, $0) } }
    }

    /// log softmax(row)[id] in nats (NaN when the row's log-sum-exp is not finite or `id` is out of range).
    public static func logProbability(_ row: ArraySlice<Float>, of id: Int) -> Double {
        guard row.indices.contains(row.startIndex + id) else { return .nan }
        let lse = row.withUnsafeBufferPointer { logSumExp($0) }
        return Double(row[row.startIndex + id]) - lse
    }

    /// Indices of the `count` largest (or smallest) finite values, best first; ties: lower index first.
    public static func topIndices(_ v: [Float], count: Int, largest: Bool = true) -> [Int] {
        guard count > 0 else { return [] }
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        func better(_ a: Int, _ b: Int) -> Bool {
            if v[a] != v[b] { return largest ? v[a] > v[b] : v[a] < v[b] }
            return a < b
        }
        for i in v.indices where v[i].isFinite {
            if best.count == count, let last = best.last, !better(i, last) { continue }
            var j = best.count
            while j > 0 && better(i, best[j - 1]) { j -= 1 }
            best.insert(i, at: j)
            if best.count > count { best.removeLast() }
        }
        return best
    }

    /// The `count` most likely ids under softmax(row), most likely first (ties: lower id first), with their
    /// probabilities; empty when the row's maximum is not finite.
    public static func topKSoftmax(_ row: [Float], count: Int) -> [(id: Int, probability: Float)] {
        let (m, sum) = row.withUnsafeBufferPointer { maxAndSum($0) }
        guard m.isFinite, sum > 0 else { return [] }
        return topIndices(row, count: count).map { (id: $0, probability: Float(Foundation.exp(Double(row[$0] - m)) / sum)) }
    }

    /// The argmax when `temperature` ≤ 0 or is not finite, else a draw from softmax(row / temperature)
    /// (weights in Double) with one uniform number from `rng`.
    public static func sample(_ row: [Float], temperature: Double, using rng: inout SplitMix64) -> Int32 {
        guard temperature > 0, temperature.isFinite else { return Int32(argmax(row)) }
        let m = Double(row.max() ?? 0)
        var weights = [Double](repeating: 0, count: row.count)
        var sum = 0.0
        for i in row.indices {
            let w = Foundation.exp((Double(row[i]) - m) / temperature)
            weights[i] = w
            sum += w
        }
        var r = rng.unit() * sum
        for i in weights.indices {
            r -= weights[i]
            if r <= 0 { return Int32(i) }
        }
        return Int32(argmax(row))
    }
}
