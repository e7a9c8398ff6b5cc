import CBLAS
import CKernels
import Dispatch
import TensorFormats

// Products with a WeightMatrix read its stored blocks in place. The single-token step runs an integer mat-vec
// kernel per stored type on the raw blocks with x quantized to int8 (no repacked or Float copy); prompt processing decodes tiles of rows into
// a scratch buffer and hands them to BLAS, so each weight is decoded once per pass whatever the token count.

extension WeightMatrix {
    /// Rows per decoded tile of the batched product.
    static let tileRows = 128

    /// out[r · ldOut + j] = Σ_i x[r, i] · W[j, i] for r < rows, j < self.rows (x: [rows, cols]), by BLAS on
    /// decoded tiles. `tile` holds at least tileRows · cols Floats.
    func multiplyBatch(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                       tile: UnsafeMutablePointer<Float>, threads: Int) {
        var r0 = 0
        while r0 < self.rows {
            let n = min(Self.tileRows, self.rows - r0)
            let w: UnsafePointer<Float>
            if type == .f32 {
                w = (base + r0 * rowBytes).assumingMemoryBound(to: Float.self)
            } else {
                decodeRowsThreaded(r0 ..< r0 + n, into: tile, threads: threads)
                w = UnsafePointer(tile)
            }
            if rows == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(cols), 1, w, Int32(cols), x, 1, 0, out + r0, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(cols),
                            1, x, Int32(cols), w, Int32(cols), 0, out + r0, Int32(ldOut))
            }
            r0 += n
        }
    }

    /// `decodeRows` split over up to `threads` threads.
    func decodeRowsThreaded(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>, threads: Int) {
        let parts = max(1, min(threads, range.count / 16))
        if parts == 1 { decodeRows(range, into: out); return }
        let per = (range.count + parts - 1) / parts
        let o = UncheckedSendable(out)
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let lo = range.lowerBound + p * per
            let hi = min(range.upperBound, lo + per)
            if lo < hi { self.decodeRows(lo ..< hi, into: o.value + (lo - range.lowerBound) * self.cols) }
        }
    }

    /// Floats of `multiply`'s scratch for inputs of `cols` values: per 32-block scales and sums, then the int8 levels.
    static func multiplyScratchCount(cols: Int) -> Int { 2 * (cols / 32) + cols / 4 + 1 }

    /// The integer kernel of a block type; nil for F32/F16/BF16 (dotted with the Float x).
    var integerKernel: ck_type? {
        switch type {
        case .q4_0: CK_Q4_0
        case .q4_1: CK_Q4_1
        case .q5_0: CK_Q5_0
        case .q5_1: CK_Q5_1
        case .q8_0: CK_Q8_0
        case .q4_K: CK_Q4_K
        case .q5_K: CK_Q5_K
        case .q6_K: CK_Q6_K
        case .f32, .f16, .bf16: nil
        }
    }

    /// out[rows] = W · x for one input vector x [cols], split over `threads` threads by rows. Block types quantize x
    /// to int8 per 32 values once (into `scratch`, `multiplyScratchCount(cols:)` Floats) and dot every row with it in
    /// integer arithmetic (CKernels), as llama.cpp does; the rounding of x changes each product by at most
    /// Σ_b |w|₁(block b) · max|x|(block b) / 254.
    func multiply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let nb = cols / 32
        if integerKernel != nil {
            let levels = UnsafeMutableRawPointer(scratch + 2 * nb).assumingMemoryBound(to: Int8.self)
            ck_quantize_q8(x, Int32(cols), scratch, levels, scratch + nb)
        }
        let chunks = max(1, min(threads, rows / 64))
        if chunks == 1 {
            multiplyRows(0 ..< rows, x, scratch, out)
            return
        }
        let xs = UncheckedSendable((x, UnsafePointer(scratch), out))
        let perChunk = (rows + chunks - 1) / chunks
        if chunks == 2, #available(macOS 15.0, *) {
            SpinWorker.shared.run(mine: { multiplyRows(0 ..< perChunk, x, scratch, out) },
                                  other: { self.multiplyRows(perChunk ..< rows, xs.value.0, xs.value.1, xs.value.2) })
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * perChunk
            let hi = min(rows, lo + perChunk)
            if lo < hi { self.multiplyRows(lo ..< hi, xs.value.0, xs.value.1, xs.value.2) }
        }
    }

    /// The rows `range` of W · x; `q8` is x as `multiply` quantized it (block types only).
    func multiplyRows(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ q8: UnsafePointer<Float>,
                      _ out: UnsafeMutablePointer<Float>) {
        let nb = cols / 32
        if let kernel = integerKernel {
            let levels = UnsafeRawPointer(q8 + 2 * nb).assumingMemoryBound(to: Int8.self)
            ck_matvec(kernel, base, rowBytes, Int32(range.lowerBound), Int32(range.upperBound), Int32(nb),
                      q8, levels, q8 + nb, out)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buf in
            guard let b = buf.baseAddress else { return }
            for r in range {
                decodeRows(r ..< r + 1, into: b)
                out[r] = dotProduct(b, x, count: cols)
            }
        }
    }
}
