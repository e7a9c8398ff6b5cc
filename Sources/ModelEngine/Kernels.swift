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

// MARK: - Attention pieces

/// Softmax of one row in place over the first `valid` entries; entries from `valid` to `count` become 0
/// (the causal mask). Eight lanes at a time with `exp8`.
func softmaxMasked(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
    let raw = UnsafeMutableRawPointer(row)
    let vecEnd = valid & ~7
    var maxV = -Float.infinity
    if vecEnd > 0 {
        var m = SIMD8<Float>(repeating: -.infinity)
        for i in stride(from: 0, to: vecEnd, by: 8) {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            m.replace(with: v, where: v .> m)  // pointwiseMax is an out-of-line generic call
        }
        maxV = m.max()
    }
    for i in vecEnd ..< valid where row[i] > maxV { maxV = row[i] }
    var sumV = SIMD8<Float>()
    let maxVec = SIMD8<Float>(repeating: maxV)
    for i in stride(from: 0, to: vecEnd, by: 8) {
        let e = exp8(raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - maxVec)
        raw.storeBytes(of: e, toByteOffset: i &* 4, as: SIMD8<Float>.self)
        sumV += e
    }
    var sum = sumV.sum()
    if vecEnd < valid {
        var tail = SIMD8<Float>(repeating: -.infinity)
        for i in vecEnd ..< valid { tail[i - vecEnd] = row[i] - maxV }
        let e = exp8(tail)
        for i in vecEnd ..< valid { row[i] = e[i - vecEnd]; sum += e[i - vecEnd] }
    }
    let inv = 1 / sum
    for i in 0 ..< valid { row[i] *= inv }
    if valid < count { (row + valid).update(repeating: 0, count: count - valid) }
}

/// e^x for eight lanes: range reduction x = n·ln2 + r, a degree-6 polynomial for e^r (Cephes expf,
/// relative error ≈ 1e-7), then scaling by 2^n through the exponent bits. x below −87.3 gives ≈ 0,
/// −∞ gives 0. Uses only operations that vectorize on baseline x86-64 (no rounding instructions).
@inline(__always)
func exp8(_ xIn: SIMD8<Float>) -> SIMD8<Float> {
    var x = xIn
    x.replace(with: -87.33, where: x .< -87.33)
    x.replace(with: 88.37, where: x .> 88.37)
    // n = round(x·log2 e) with the 1.5·2^23 trick; its low bits are n as an integer.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 0.166_666_65
    p = p * r + 0.500_000_01
    let er = p * (r * r) + r + 1
    // Bit casts, not SIMD conversion initialisers (those are out-of-line calls).
    let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
    var out = er * scale
    out.replace(with: 0, where: xIn .< -87.33)
    return out
}

/// out[width] = Σ_j weights[j] · rows[j·stride ..< j·stride + width] (single-query attention output).
func weightedSum(_ out: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, rows: UnsafePointer<Float>,
                 stride: Int, count: Int, width: Int) {
    for i in 0 ..< width { out[i] = 0 }
    for j in 0 ..< count {
        let w = weights[j]
        let r = rows + j * stride
        for i in 0 ..< width { out[i] += w * r[i] }
    }
}

// MARK: - Feed-forward

/// SwiGLU: out[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^(−x)), eight lanes at a time.
func swiglu(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    let g = UnsafeRawPointer(gate)
    let o = UnsafeMutableRawPointer(out)
    let u = UnsafeRawPointer(up)
    let vecEnd = count & ~7
    for i in stride(from: 0, to: vecEnd, by: 8) {
        let x = g.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let y = u.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
        let silu = x / (1 + exp8(-x))
        o.storeBytes(of: silu * y, toByteOffset: i &* 4, as: SIMD8<Float>.self)
    }
    for i in vecEnd ..< count {
        let x = gate[i]
        out[i] = (x / (1 + expf(-x))) * up[i]
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
    if rows == 1 {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outDim), Int32(inDim), 1, w, Int32(inDim), x, 1, 0, out, 1)
        return
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outDim), Int32(inDim),
                1, x, Int32(inDim), w, Int32(inDim), 0, out, Int32(outDim))
}
