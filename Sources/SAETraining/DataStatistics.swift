import Foundation

/// Statistics of a sample of activations used to set up training.
public enum DataStatistics {
    /// Draws up to `count` distinct random tokens from `source` (unscaled), row-major.
    public static func sample(_ source: ActivationSource, count: Int, seed: UInt64) -> (values: [Float], rows: Int) {
        let n = min(count, source.tokenCount)
        let perm = ShuffledBatchSampler.permutation(count: source.tokenCount, seed: seed ^ 0x5A3B1E, epoch: -1)
        var out = [Float](repeating: 0, count: n * source.dIn)
        perm[0 ..< n].withUnsafeBufferPointer { idx in
            out.withUnsafeMutableBufferPointer { o in
                if let base = o.baseAddress { source.gather(idx, scale: 1, into: base) }
            }
        }
        return (out, n)
    }

    /// Mean Euclidean norm of the rows.
    public static func meanNorm(_ x: [Float], rows: Int, dIn: Int) -> Double {
        guard rows > 0 else { return 0 }
        var total: Double = 0
        for r in 0 ..< rows {
            var s: Double = 0
            for j in 0 ..< dIn { let v = Double(x[r * dIn + j]); s += v * v }
            total += s.squareRoot()
        }
        return total / Double(rows)
    }

    /// Per-dimension mean of the rows.
    public static func mean(_ x: [Float], rows: Int, dIn: Int) -> [Float] {
        var m = [Double](repeating: 0, count: dIn)
        for r in 0 ..< rows { for j in 0 ..< dIn { m[j] += Double(x[r * dIn + j]) } }
        return m.map { Float($0 / Double(max(rows, 1))) }
    }

    /// Geometric median of the rows by Weiszfeld's iterations, started at the mean.
    public static func geometricMedian(_ x: [Float], rows: Int, dIn: Int, iterations: Int = 100,
                                       tolerance: Double = 1e-6) -> [Float] {
        var y = mean(x, rows: rows, dIn: dIn).map(Double.init)
        guard rows > 1 else { return y.map(Float.init) }
        var num = [Double](repeating: 0, count: dIn)
        for _ in 0 ..< iterations {
            for j in 0 ..< dIn { num[j] = 0 }
            var den: Double = 0
            for r in 0 ..< rows {
                var s: Double = 0
                for j in 0 ..< dIn { let t = Double(x[r * dIn + j]) - y[j]; s += t * t }
                let w = 1 / max(s.squareRoot(), 1e-8)
                den += w
                for j in 0 ..< dIn { num[j] += w * Double(x[r * dIn + j]) }
            }
            var shift: Double = 0, norm: Double = 0
            for j in 0 ..< dIn {
                let nv = num[j] / den
                shift += (nv - y[j]) * (nv - y[j]); norm += nv * nv
                y[j] = nv
            }
            if shift.squareRoot() <= tolerance * max(norm.squareRoot(), 1) { break }
        }
        return y.map(Float.init)
    }
}
