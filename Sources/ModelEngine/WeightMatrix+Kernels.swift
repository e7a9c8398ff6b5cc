import FeaturescopeCore
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

    /// out[r · ldOut + j] = Σ_i x[r, i] · W[j, i] for r < rows, j < self.rows (x: [rows, cols]), exactly as the Float
    /// reference computes it: BLAS on decoded tiles (`tile` holds at least tileRows · cols Floats).
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

    /// Floats of `multiply`'s scratch for inputs of `cols` values (one quantized input row).
    static func multiplyScratchCount(cols: Int) -> Int { quantizedInputCount(rows: 1, cols: cols) }

    /// Floats that hold `rows` input rows of `cols` values quantized for any integer kernel: per 32 values a scale,
    /// a sum and 32 levels (10 Floats), or per 256 values one `ck_q8k` (80 Floats) — 5/16 of `cols` either way.
    static func quantizedInputCount(rows: Int, cols: Int) -> Int { rows * (cols / 32) * 10 + 16 }

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

    /// K-quants take their input as Q8_K (int8 per 256 values, integer sums over whole super-blocks); the 32-value
    /// types as int8 per 32 values.
    var usesSuperBlockInput: Bool { type == .q4_K || type == .q5_K || type == .q6_K }

    /// Without the tiled GEMM (`usesTiles`: fewer than 8 rows, or no AVX-512 VNNI), whether products over several input
    /// rows run faster on the per-row int8 kernels than as BLAS on decoded tiles: K-quants by 2–3×; the 32-value block
    /// types, whose per-block Float scales cost as much as the integer products, lose to OpenBLAS (docs/performance.md).
    var integerBatchWins: Bool { usesSuperBlockInput }

    /// The kernel level used by every product: the CPU's best (0 portable C, 1 AVX2, 2 AVX-512 VNNI).
    static let kernelLevel = Int32(ck_best_level())

    /// Input rows from which a quantized product runs the tiled int8 GEMM (`multiplyTiled`) on CPUs with AVX-512
    /// VNNI; fewer rows (and other CPUs) use the per-row kernels or BLAS on decoded tiles.
    static let tiledMinimumRows = 8

    /// Whether a quantized product over `inputRows` rows runs the tiled int8 GEMM.
    func usesTiles(inputRows: Int, level: Int32 = kernelLevel) -> Bool {
        integerKernel != nil && level >= 2 && inputRows >= Self.tiledMinimumRows
    }

    /// Values per scale block of the tiled GEMM's input (16 for Q6_K, else 32).
    var tileBlock: Int { integerKernel.map { Int(ck_tile_block($0)) } ?? 32 }

    /// Floats that hold `rows` input rows of `cols` values quantized for the tiled GEMM (either block size).
    static func tiledInputCount(rows: Int, cols: Int) -> Int {
        let bytes = max(ck_tile_x_bytes(Int32(rows), Int32(cols), 16), ck_tile_x_bytes(Int32(rows), Int32(cols), 32))
        return bytes / 4 + 16
    }

    /// Quantizes `rows` rows of x [rows, cols] for the tiled GEMM with block size `block` into `q` (best 64-byte aligned,
    /// `tiledInputCount` Floats), the 16-row groups split over up to two threads.
    static func quantizeTiled(_ x: UnsafePointer<Float>, rows: Int, cols: Int, block: Int,
                              into q: UnsafeMutablePointer<Float>, threads: Int) {
        let groups = (rows + 15) / 16
        let args = UncheckedSendable((x, q))
        let part = { @Sendable (g0: Int, g1: Int) in
            ck_tile_quantize(args.value.0, Int32(rows), Int32(cols), cols, Int32(block), args.value.1, Int32(g0), Int32(g1))
        }
        if threads >= 2, groups >= 2, #available(macOS 15.0, *) {
            let half = groups / 2
            SpinWorker.shared.run(mine: { part(0, half) }, other: { part(half, groups) })
        } else {
            part(0, groups)
        }
    }

    /// out[t · ldOut + r] = row r · x row t for all rows r of W and t < inputRows, with x as `quantizeTiled` left it
    /// (block size `tileBlock`), the weight rows split over `threads` threads.
    func multiplyTiled(_ q: UnsafePointer<Float>, inputRows: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int,
                       threads: Int, level: Int32 = kernelLevel) {
        guard let kernel = integerKernel else { return }
        let args = UncheckedSendable((q, out))
        splitRows(threads: threads, minimumPerThread: 16) { range in
            ck_tile_gemm(kernel, self.base, self.rowBytes, Int32(range.lowerBound), Int32(range.upperBound), Int32(self.cols),
                         args.value.0, Int32(inputRows), args.value.1, ldOut, level)
        }
    }

    /// Quantizes `rows` rows of x [rows, cols] for this matrix's integer kernel into `q` (quantizedInputCount).
    func quantizeInput(_ x: UnsafePointer<Float>, rows: Int, into q: UnsafeMutablePointer<Float>) {
        if usesSuperBlockInput {
            let blocks = UnsafeMutableRawPointer(q).assumingMemoryBound(to: ck_q8k.self)
            for t in 0 ..< rows { ck_quantize_q8k(x + t * cols, Int32(cols), blocks + t * (cols / 256)) }
        } else {
            let nb = cols / 32
            let levels = UnsafeMutableRawPointer(q + 2 * rows * nb).assumingMemoryBound(to: Int8.self)
            for t in 0 ..< rows {
                ck_quantize_q8(x + t * cols, Int32(cols), q + t * nb, levels + t * cols, q + rows * nb + t * nb)
            }
        }
    }

    /// out[t · ldOut + r] = row r · x row t for r in `range`, t < inputRows, with x as `quantizeInput` left it.
    func integerProducts(_ range: Range<Int>, _ q: UnsafePointer<Float>, inputRows: Int,
                         _ out: UnsafeMutablePointer<Float>, ldOut: Int, level: Int32 = kernelLevel) {
        guard let kernel = integerKernel, !range.isEmpty else { return }
        if usesSuperBlockInput {
            let blocks = UnsafeRawPointer(q).assumingMemoryBound(to: ck_q8k.self)
            ck_gemm_k(kernel, base, rowBytes, Int32(range.lowerBound), Int32(range.upperBound), Int32(cols / 256),
                      blocks, Int32(inputRows), out, ldOut, level)
        } else {
            let nb = cols / 32
            let levels = UnsafeRawPointer(q + 2 * inputRows * nb).assumingMemoryBound(to: Int8.self)
            ck_gemm(kernel, base, rowBytes, Int32(range.lowerBound), Int32(range.upperBound), Int32(nb),
                    q, levels, q + inputRows * nb, Int32(inputRows), out, ldOut, level)
        }
    }

    /// Runs `body` over this matrix's rows split into up to `threads` contiguous parts (the second of two on the
    /// shared `SpinWorker`).
    func splitRows(threads: Int, minimumPerThread: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) {
        let chunks = max(1, min(threads, rows / minimumPerThread))
        if chunks == 1 { body(0 ..< rows); return }
        // Split on multiples of 16 rows (the kernels' row blocks).
        let perChunk = ((rows + chunks - 1) / chunks + 15) / 16 * 16
        if chunks == 2, #available(macOS 15.0, *) {
            let n = rows
            SpinWorker.shared.run(mine: { body(0 ..< min(perChunk, n)) }, other: { body(min(perChunk, n) ..< n) })
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = min(rows, c * perChunk)
            let hi = min(rows, lo + perChunk)
            if lo < hi { body(lo ..< hi) }
        }
    }

    /// out[rows] = W · x for one input vector x [cols]: `multiplyQuantized` with one input row.
    func multiply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, threads: Int) {
        multiplyQuantized(x, rows: 1, into: out, ldOut: self.rows, scratch: scratch, threads: threads)
    }

    /// out[r · ldOut + j] = W[j] · x[r] for `rows` input rows x [rows, cols], split over `threads` threads by weight
    /// rows. Block types quantize x to int8 once (into `scratch`, `quantizedInputCount(rows:cols:)` Floats: per 32
    /// values, or per 256 for K-quants) and dot every stored row with it in integer arithmetic (CKernels), as
    /// llama.cpp does; the rounding of x changes each product by at most Σ_b |w|₁(block b) · max|x|(block b) / 254
    /// over the quantization blocks b. F32/F16/BF16 rows are dotted with the Float x.
    func multiplyQuantized(_ x: UnsafePointer<Float>, rows inputRows: Int, into out: UnsafeMutablePointer<Float>,
                           ldOut: Int, scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let xs = UncheckedSendable((x, UnsafePointer(scratch), out))
        if integerKernel != nil {
            quantizeInput(x, rows: inputRows, into: scratch)
            splitRows(threads: threads, minimumPerThread: inputRows == 1 ? 64 : 16) { range in
                self.integerProducts(range, xs.value.1, inputRows: inputRows, xs.value.2, ldOut: ldOut)
            }
            return
        }
        splitRows(threads: threads, minimumPerThread: 64) { range in
            for t in 0 ..< inputRows {
                self.floatProducts(range, xs.value.0 + t * self.cols, xs.value.2 + t * ldOut)
            }
        }
    }

    /// Rows `range` of W · x for F32/F16/BF16 matrices (row by row, decoded to Float).
    func floatProducts(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buf in
            guard let b = buf.baseAddress else { return }
            for r in range {
                decodeRows(r ..< r + 1, into: b)
                out[r] = dotProduct(b, x, cols)
            }
        }
    }
}
