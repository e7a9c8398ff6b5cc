import Foundation

/// How two latents' activations relate over the tokens.
public enum OverlapMeasure: String, Sendable, Codable {
    /// Jaccard index of the firing positions: |A ∩ B| / |A ∪ B|.
    case jaccard
    /// Pearson correlation of the two activation vectors over all tokens (zeros included).
    case correlation
}

/// Top-k co-occurrence (Jaccard) or activation correlation between the latents of one or two sparse
/// activation sets over the same tokens, through an inverted index: the work is Σ over positions of
/// (latents of A firing there) × (latents of B firing there), never all pairs.
public enum Overlaps {
    /// For each latent of `a`, the k latents of `b` with the highest measure (only pairs that fire together at
    /// least once are candidates; with `sameSet`, a latent is not its own neighbour).
    public static func topK(_ a: SparseActivations, _ b: SparseActivations, measure: OverlapMeasure, k: Int, sameSet: Bool = false,
                            minimumShared: Int = 1, progress: (@Sendable (Double) -> Void)? = nil,
                            isCancelled: (@Sendable () -> Bool)? = nil) throws -> NeighbourTable {
        guard a.tokenCount == b.tokenCount else {
            throw GeometryError.shape("activation sets over \(a.tokenCount) and \(b.tokenCount) tokens")
        }
        let t = b.transposed()
        let n = Double(a.tokenCount)
        // Per-latent sums for correlation.
        func moments(_ s: SparseActivations) -> (mean: [Double], sd: [Double]) {
            var mean = [Double](repeating: 0, count: s.latentCount), sd = mean
            for l in 0 ..< s.latentCount {
                var s1 = 0.0, s2 = 0.0
                for e in s.offsets[l] ..< s.offsets[l + 1] {
                    let v = Double(s.values[e])
                    s1 += v
                    s2 += v * v
                }
                let m = s1 / n
                mean[l] = m
                sd[l] = (max(0, s2 / n - m * m)).squareRoot()
            }
            return (mean, sd)
        }
        let ma = moments(a), mb = moments(b)
        var out = NeighbourTable(rows: a.latentCount, k: k)
        let lists = ListBox(count: a.latentCount, capacity: k)
        let chunk = 64
        let chunks = (a.latentCount + chunk - 1) / chunk
        let done = Counter()
        let cancelled = Counter()
        let nb = b.latentCount
        DispatchQueue.concurrentPerform(iterations: min(chunks, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))) { worker in
            var shared = [Int32](repeating: 0, count: nb)
            var dot = [Double](repeating: 0, count: measure == .correlation ? nb : 0)
            var touched: [Int32] = []
            var ci = worker
            let workers = min(chunks, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))
            while ci < chunks {
                if isCancelled?() == true { cancelled.add(1); return }
                for la in ci * chunk ..< min(a.latentCount, ci * chunk + chunk) {
                    touched.removeAll(keepingCapacity: true)
                    for e in a.offsets[la] ..< a.offsets[la + 1] {
                        let p = Int(a.positions[e])
                        let va = Double(a.values[e])
                        for f in t.offsets[p] ..< t.offsets[p + 1] {
                            let lb = Int(t.latents[f])
                            if shared[lb] == 0 { touched.append(Int32(lb)) }
                            shared[lb] += 1
                            if measure == .correlation { dot[lb] += va * Double(t.values[f]) }
                        }
                    }
                    let na = a.firingCount(la)
                    for lb32 in touched {
                        let lb = Int(lb32)
                        let c = Int(shared[lb])
                        shared[lb] = 0
                        var d = 0.0
                        if measure == .correlation {
                            d = dot[lb]
                            dot[lb] = 0
                        }
                        if sameSet && lb == la { continue }
                        if c < minimumShared { continue }
                        let score: Double
                        switch measure {
                        case .jaccard:
                            score = Double(c) / Double(na + b.firingCount(lb) - c)
                        case .correlation:
                            let den = ma.sd[la] * mb.sd[lb]
                            guard den > 0 else { continue }
                            score = (d / n - ma.mean[la] * mb.mean[lb]) / den
                        }
                        lists.pointer[la].insert(Float(score), lb32)
                    }
                }
                let d = done.add(1)
                progress?(Double(d) / Double(chunks))
                ci += workers
            }
        }
        if cancelled.value > 0 { throw GeometryError.cancelled }
        for l in 0 ..< a.latentCount { out.set(row: l, lists.pointer[l]) }
        return out
    }
}

/// A thread-safe counter.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    @discardableResult func add(_ d: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        n += d
        return n
    }
    var value: Int {
        lock.lock(); defer { lock.unlock() }
        return n
    }
}
