import FeaturescopeCore
import Foundation
import CBLAS

/// The parameters of a TopK SAE, stored latent-major for the sparse kernels.
///
/// `encoder` is W_encᵀ: row `l` is latent `l`'s encoder direction (`[dSAE, dIn]`), so the
/// gradient of an active latent is one contiguous row. SAELens stores W_enc as `[dIn, dSAE]`;
/// the exporter transposes.
public final class TopKSAEWeights: @unchecked Sendable {
    public let dIn: Int
    public let dSAE: Int
    public let k: Int
    /// W_encᵀ, `[dSAE, dIn]`.
    public let encoder: FloatBuffer
    /// b_enc, `[dSAE]`.
    public let encoderBias: FloatBuffer
    /// W_dec, `[dSAE, dIn]`; rows are kept at unit norm during training.
    public let decoder: FloatBuffer
    /// b_dec, `[dIn]`.
    public let decoderBias: FloatBuffer

    /// Zero weights of the given shape.
    public init(dIn: Int, dSAE: Int, k: Int) {
        self.dIn = dIn
        self.dSAE = dSAE
        self.k = k
        encoder = FloatBuffer(count: dSAE * dIn)
        encoderBias = FloatBuffer(count: dSAE)
        decoder = FloatBuffer(count: dSAE * dIn)
        decoderBias = FloatBuffer(count: dIn)
    }

    /// sparsify's initialisation: encoder rows uniform in ±1/√d_in (PyTorch's Linear default),
    /// decoder = the encoder rows normalised to unit length, zero biases.
    public static func random(dIn: Int, dSAE: Int, k: Int, seed: UInt64) -> TopKSAEWeights {
        let w = TopKSAEWeights(dIn: dIn, dSAE: dSAE, k: k)
        var rng = Xoshiro256StarStar(seed: seed, stream: 0xE1C0DE)
        let bound = 1 / Float(dIn).squareRoot()
        for i in 0 ..< dSAE * dIn {
            w.encoder.pointer[i] = (2 * rng.nextUnitFloat() - 1) * bound
        }
        w.decoder.pointer.update(from: w.encoder.pointer, count: dSAE * dIn)
        w.normalizeDecoderRows()
        return w
    }

    /// Scales every decoder row to unit Euclidean norm (rows of zero norm are left alone).
    public func normalizeDecoderRows(threads: Int = 1) {
        let d = dIn
        let dec = decoder.pointer
        parallelRanges(count: dSAE, threads: threads) { lo, hi in
            for l in lo ..< hi {
                let row = dec + l * d
                let norm = cblas_snrm2(Int32(d), row, 1)
                if norm > 0 { cblas_sscal(Int32(d), 1 / norm, row, 1) }
            }
        }
    }

    /// Encodes `rows` input vectors (`x`, row-major `[rows, dIn]`, already in training scale)
    /// and writes each row's k latents (indices and post-ReLU values) into `indices`/`values`
    /// (`[rows, k]`). `pre` must hold `rows × dSAE` floats, `centered` `rows × dIn`.
    public func encode(_ x: UnsafePointer<Float>, rows: Int, centered: UnsafeMutablePointer<Float>,
                       pre: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>,
                       values: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let d = dIn, n = dSAE, k = self.k
        let bDec = decoderBias.pointer, bEnc = encoderBias.pointer
        for b in 0 ..< rows {
            for j in 0 ..< d { centered[b * d + j] = x[b * d + j] - bDec[j] }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(d),
                    1, centered, Int32(d), encoder.pointer, Int32(d), 0, pre, Int32(n))
        parallelRanges(count: rows, threads: threads) { lo, hi in
            for b in lo ..< hi {
                TopKSelect.select(pre + b * n, bias: bEnc, count: n, k: k,
                                  values: values + b * k, indices: indices + b * k)
                for j in 0 ..< k where values[b * k + j] < 0 { values[b * k + j] = 0 }
            }
        }
    }

    /// Writes `out[b] = b_dec + Σ_j values[b, j] · W_dec[indices[b, j]]` for each row.
    public func decode(indices: UnsafePointer<Int32>, values: UnsafePointer<Float>, rows: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let d = dIn, k = self.k
        for b in 0 ..< rows {
            let o = out + b * d
            o.update(from: decoderBias.pointer, count: d)
            for j in 0 ..< k {
                let v = values[b * k + j]
                if v != 0 { cblas_saxpy(Int32(d), v, decoder.pointer + Int(indices[b * k + j]) * d, 1, o, 1) }
            }
        }
    }
}

/// Top-k selection with a binary min-heap of the k best values seen so far.
public enum TopKSelect {
    /// Selects the `k` largest of `x[i] + bias[i]` (i in 0 ..< count), writing them (unordered)
    /// to `values`/`indices`. Requires `k <= count`.
    @inline(__always)
    public static func select(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, count: Int, k: Int,
                              values: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) {
        for i in 0 ..< k {
            values[i] = x[i] + (bias?[i] ?? 0)
            indices[i] = Int32(truncatingIfNeeded: i)
        }
        var i = k / 2 - 1
        while i >= 0 { siftDown(values, indices, i, k); i -= 1 }
        if let bias {
            for i in k ..< count {
                let v = x[i] + bias[i]
                if v > values[0] {
                    values[0] = v; indices[0] = Int32(truncatingIfNeeded: i)
                    siftDown(values, indices, 0, k)
                }
            }
        } else {
            for i in k ..< count {
                let v = x[i]
                if v > values[0] {
                    values[0] = v; indices[0] = Int32(truncatingIfNeeded: i)
                    siftDown(values, indices, 0, k)
                }
            }
        }
    }

    /// Selects the `k` largest of `x[candidates[c]] + bias[candidates[c]]` over the candidate list.
    @inline(__always)
    public static func select(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>, candidates: UnsafePointer<Int32>,
                              candidateCount: Int, k: Int,
                              values: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) {
        for c in 0 ..< k {
            let l = Int(candidates[c])
            values[c] = x[l] + bias[l]
            indices[c] = candidates[c]
        }
        var i = k / 2 - 1
        while i >= 0 { siftDown(values, indices, i, k); i -= 1 }
        for c in k ..< candidateCount {
            let l = Int(candidates[c])
            let v = x[l] + bias[l]
            if v > values[0] {
                values[0] = v; indices[0] = candidates[c]
                siftDown(values, indices, 0, k)
            }
        }
    }

    @inline(__always)
    static func siftDown(_ v: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ start: Int, _ n: Int) {
        var i = start
        let value = v[i], index = idx[i]
        while true {
            var c = 2 * i + 1
            if c >= n { break }
            if c + 1 < n && v[c + 1] < v[c] { c += 1 }
            if v[c] >= value { break }
            v[i] = v[c]; idx[i] = idx[c]
            i = c
        }
        v[i] = value; idx[i] = index
    }
}

/// Runs `body(lo, hi)` over `threads` contiguous slices of `0 ..< count` in parallel.
@inline(__always)
func parallelRanges(count: Int, threads: Int, _ body: (Int, Int) -> Void) {
    let t = max(1, min(threads, count))
    if t == 1 { body(0, count); return }
    parallelFor(t) { i in body(count * i / t, count * (i + 1) / t) }
}

/// Runs `body(0) … body(n − 1)` concurrently and waits for all of them.
///
/// The closures of the training kernels share raw pointers into buffers they write at
/// disjoint places; Dispatch wants a `@Sendable` closure, so the body travels in an
/// unchecked box. Callers guarantee the writes do not overlap.
func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 1 { if n == 1 { body(0) }; return }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendableBox(escapable)
        DispatchQueue.concurrentPerform(iterations: n) { i in box.value(i) }
    }
}

struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
