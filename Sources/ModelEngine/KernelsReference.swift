import Foundation

// Naive references for the fast kernels, written for clarity; tests compare against them.

/// out[r, o] = Σ_i x[r, i] · w[o, i], accumulated in Double.
func referenceLinear(_ x: [Float], _ w: [Float], rows: Int, inDim: Int, outDim: Int) -> [Float] {
    var out = [Float](repeating: 0, count: rows * outDim)
    for r in 0 ..< rows {
        for o in 0 ..< outDim {
            var s: Double = 0
            for i in 0 ..< inDim { s += Double(x[r * inDim + i]) * Double(w[o * inDim + i]) }
            out[r * outDim + o] = Float(s)
        }
    }
    return out
}

/// RoPE on one row of `heads` heads, rotating (i, i + d/2) by θ_i = position · base^(−2i/d), in Double.
func referenceRope(_ x: [Float], heads: Int, headDim: Int, position: Int, base: Float) -> [Float] {
    var out = x
    let half = headDim / 2
    for h in 0 ..< heads {
        for i in 0 ..< half {
            let theta = Double(position) * Foundation.pow(Double(base), -Double(2 * i) / Double(headDim))
            let a = Double(x[h * headDim + i]), b = Double(x[h * headDim + i + half])
            out[h * headDim + i] = Float(a * Foundation.cos(theta) - b * Foundation.sin(theta))
            out[h * headDim + i + half] = Float(b * Foundation.cos(theta) + a * Foundation.sin(theta))
        }
    }
    return out
}

/// Causal grouped-query attention for one sequence, loop by loop: q [T, heads·d], k/v [T, kvHeads·d]
/// → z [T, heads·d] and the pattern [heads, T, T].
func referenceAttention(q: [Float], k: [Float], v: [Float], tokens t: Int, heads: Int, kvHeads: Int,
                        headDim d: Int) -> (z: [Float], pattern: [Float]) {
    var z = [Float](repeating: 0, count: t * heads * d)
    var pattern = [Float](repeating: 0, count: heads * t * t)
    let group = heads / kvHeads
    for h in 0 ..< heads {
        let g = h / group
        for i in 0 ..< t {
            var scores = [Double](repeating: 0, count: i + 1)
            for j in 0 ... i {
                var s: Double = 0
                for e in 0 ..< d { s += Double(q[i * heads * d + h * d + e]) * Double(k[j * kvHeads * d + g * d + e]) }
                scores[j] = s / Double(d).squareRoot()
            }
            let m = scores.max() ?? 0
            let exps = scores.map { Foundation.exp($0 - m) }
            let sum = exps.reduce(0, +)
            for j in 0 ... i {
                let p = exps[j] / sum
                pattern[h * t * t + i * t + j] = Float(p)
                for e in 0 ..< d { z[i * heads * d + h * d + e] += Float(p * Double(v[j * kvHeads * d + g * d + e])) }
            }
        }
    }
    return (z, pattern)
}

/// Softmax over the first `valid` entries in Double, zeros after (the causal mask).
func referenceSoftmax(_ row: [Float], valid: Int) -> [Float] {
    let m = row[0 ..< valid].max() ?? 0
    let e = row[0 ..< valid].map { Foundation.exp(Double($0 - m)) }
    let sum = e.reduce(0, +)
    return e.map { Float($0 / sum) } + [Float](repeating: 0, count: row.count - valid)
}

/// silu(gate) · up in Double.
func referenceSwiGLU(_ gate: [Float], _ up: [Float]) -> [Float] {
    zip(gate, up).map { g, u in Float(Double(g) / (1 + Foundation.exp(-Double(g))) * Double(u)) }
}
