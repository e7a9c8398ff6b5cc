import Foundation

// The blocks other families add to the Llama kernels: LayerNorm, GELU variants, soft-capping, biases,
// per-head QK-norm, partial and scaled RoPE. Same conventions as Kernels.swift.

/// LayerNorm of `rows` rows of width `dim`: out = (x − mean) / √(var + eps) · w + b (biased variance,
/// statistics accumulated in Double), as PyTorch's `nn.LayerNorm` in float32.
func layernorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
               _ bias: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float) {
    for r in 0 ..< rows {
        let xr = x + r * dim
        let outr = out + r * dim
        var sum: Double = 0
        for i in 0 ..< dim { sum += Double(xr[i]) }
        let mean = sum / Double(dim)
        var ss: Double = 0
        for i in 0 ..< dim { let d = Double(xr[i]) - mean; ss += d * d }
        let inv = 1 / (ss / Double(dim) + Double(eps)).squareRoot()
        for i in 0 ..< dim { outr[i] = Float((Double(xr[i]) - mean) * inv) * weight[i] + bias[i] }
    }
}

/// The tanh approximation of GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
@inline(__always)
func geluTanh(_ x: Float) -> Float {
    let inner = 0.797_884_560_802_865_4 * (Double(x) + 0.044715 * Double(x) * Double(x) * Double(x))
    return Float(0.5 * Double(x) * (1 + Foundation.tanh(inner)))
}

/// Exact GELU: ½x(1 + erf(x/√2)).
@inline(__always)
func geluErf(_ x: Float) -> Float {
    Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) * 0.707_106_781_186_547_5)))
}

/// GeGLU: out[i] = gelu_tanh(gate[i]) · up[i], eight lanes at a time with `exp8`: ½x(1 + tanh u) = x / (1 + e^(−2u)),
/// u = √(2/π)(x + 0.044715x³) (relative error ≈ 1e-7, like `exp8`; the scalar tail uses `geluTanh`).
func geglu(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    let g = UnsafeRawPointer(gate)
    let o = UnsafeMutableRawPointer(out)
    let u = UnsafeRawPointer(up)
    let vecEnd = count & ~7
    for i in stride(from: 0, to: vecEnd, by: 8) {
        let x = g.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let y = u.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let inner = x * (x * x * (-2 * 0.797_884_56 * 0.044715) - 2 * 0.797_884_56)
        let gelu = x / (1 + exp8(inner))
        o.storeBytes(of: gelu * y, toByteOffset: i &* 4, as: SIMD8<Float>.self)
    }
    for i in vecEnd ..< count { out[i] = geluTanh(gate[i]) * up[i] }
}

/// In place: x[i] = gelu(x[i]) with the tanh approximation or the exact form.
func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, exact: Bool) {
    if exact {
        for i in 0 ..< count { x[i] = geluErf(x[i]) }
    } else {
        for i in 0 ..< count { x[i] = geluTanh(x[i]) }
    }
}

/// In place: each of `rows` rows of width `width` gets `bias` added.
func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, width: Int) {
    for r in 0 ..< rows {
        let xr = x + r * width
        for i in 0 ..< width { xr[i] += bias[i] }
    }
}

/// In place: x = cap · tanh(x / cap).
func softcap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
    let inv = 1 / cap
    for i in 0 ..< count { x[i] = cap * Foundation.tanhf(x[i] * inv) }
}

/// Fills `cos`/`sin` [positions.count, dims/2] with the angles pos · θ_i of rotary width `dims`:
/// θ_i = base^(−2i/dims), divided by `freqFactors[i]` when given (llama.cpp's `rope_freqs`), or rescaled by
/// Llama 3.1's rule when `scaling` is given. Computed in Float the way Hugging Face does.
func ropeTables(cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>, positions: [Int], dims: Int,
                base: Float, freqFactors: [Float]?, scaling: Llama3RopeScaling?) {
    let half = dims / 2
    var invFreq = [Float](repeating: 0, count: half)
    for i in 0 ..< half {
        let exponent = Float(2 * i) / Float(dims)
        invFreq[i] = 1 / Float(Foundation.pow(Double(base), Double(exponent)))
        if let f = freqFactors, i < f.count { invFreq[i] /= f[i] }
    }
    if let s = scaling { invFreq = llama3ScaledFrequencies(invFreq, s) }
    for (r, pos) in positions.enumerated() {
        for i in 0 ..< half {
            let angle = Float(pos) * invFreq[i]
            cos[r * half + i] = Float(Foundation.cos(Double(angle)))
            sin[r * half + i] = Float(Foundation.sin(Double(angle)))
        }
    }
}

/// Llama 3.1's frequency rescaling (HF `_compute_llama3_parameters`).
func llama3ScaledFrequencies(_ invFreq: [Float], _ s: Llama3RopeScaling) -> [Float] {
    let old = Float(s.originalContextLength)
    let lowWavelen = old / s.lowFreqFactor
    let highWavelen = old / s.highFreqFactor
    return invFreq.map { f in
        let wavelen = 2 * Float.pi / f
        if wavelen < highWavelen { return f }
        if wavelen > lowWavelen { return f / s.factor }
        let smooth = (old / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
        return (1 - smooth) * f / s.factor + smooth * f
    }
}

/// Rotates the first `dims` values of each head (pairs (i, i + dims/2)) of `rows` rows of `heads` heads of
/// width `headDim`, in place; the rest of each head is left as is (partial rotary).
func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, dims: Int,
          cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
    let half = dims / 2
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
