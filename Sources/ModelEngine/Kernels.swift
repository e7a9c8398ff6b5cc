import CBLAS
import Foundation

// One function per step of the Llama forward pass, in the order they run. Matrices are row-major.
// Each fast kernel has a naive reference in KernelsReference.swift; tests compare the two.

// MARK: - Normalisation

/// RMSNorm of `rows` rows of width `dim`: out = w · (x / sqrt(mean(x²) + eps)), the order of Hugging Face's LlamaRMSNorm.
func rmsnorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
             rows: Int, dim: Int, eps: Float) {
    for r in 0 ..< rows {
        let xr = x + r * dim
        let outr = out + r * dim
        var ss: Double = 0
        for i in 0 ..< dim { let v = Double(xr[i]); ss += v * v }
        let mean = Float(ss / Double(dim))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0 ..< dim { outr[i] = weight[i] * (xr[i] * scale) }
    }
}

// MARK: - Rotary position embedding

/// Fills `cos`/`sin` [positions.count, headDim/2] with the rotation angles θ_i = pos · base^(−2i/headDim),
/// computed in Float the way Hugging Face does (inverse frequency and angle rounded to Float).
func ropeTables(cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>,
                positions: [Int], headDim: Int, base: Float) {
    let half = headDim / 2
    var invFreq = [Float](repeating: 0, count: half)
    for i in 0 ..< half {
        let exponent = Float(2 * i) / Float(headDim)
        let p = Float(Foundation.pow(Double(base), Double(exponent)))
        invFreq[i] = 1 / p
    }
    for (r, pos) in positions.enumerated() {
        for i in 0 ..< half {
            let angle = Float(pos) * invFreq[i]
            cos[r * half + i] = Float(Foundation.cos(Double(angle)))
            sin[r * half + i] = Float(Foundation.sin(Double(angle)))
        }
    }
}

/// Rotates each head of `rows` rows of width `heads·headDim` in place, pairing element i with i + headDim/2
/// (the weights were un-permuted to Hugging Face order at load).
func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
          cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    let half = headDim / 2
    let width = heads * headDim
    for r in 0 ..< rows {
        let c = cos + r * half
        let s = sin + r * half
        for h in 0 ..< heads {
            let v = x + r * width + h * headDim
            for i in 0 ..< half {
                let x0 = v[i], x1 = v[i + half]
                let a0 = x0 * c[i], b0 = -x1 * s[i]
                let a1 = x1 * c[i], b1 = x0 * s[i]
                v[i] = a0 + b0
                v[i + half] = a1 + b1
            }
        }
    }
}

// MARK: - Attention pieces

/// Softmax of one row in place over the first `valid` entries; entries from `valid` to `count` become 0 (causal mask).
func softmaxMasked(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
    var maxV = -Float.infinity
    for i in 0 ..< valid where row[i] > maxV { maxV = row[i] }
    var sum: Float = 0
    for i in 0 ..< valid {
        let e = expf(row[i] - maxV)
        row[i] = e
        sum += e
    }
    let inv = 1 / sum
    for i in 0 ..< valid { row[i] *= inv }
    for i in valid ..< count { row[i] = 0 }
}

// MARK: - Feed-forward

/// SwiGLU in place: gate[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^(−x)).
func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count {
        let g = gate[i]
        gate[i] = (g / (1 + expf(-g))) * up[i]
    }
}

/// x += y over `count` values (residual connection).
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count { x[i] += y[i] }
}

// MARK: - Matrix products (BLAS)

/// out[rows, outDim] = x[rows, inDim] · Wᵀ, with W [outDim, inDim] row-major (a PyTorch Linear weight).
func linear(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
            rows: Int, inDim: Int, outDim: Int) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outDim), Int32(inDim),
                1, x, Int32(inDim), w, Int32(inDim), 0, out, Int32(outDim))
}
