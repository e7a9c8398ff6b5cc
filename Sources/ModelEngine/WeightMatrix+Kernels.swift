import CBLAS
import Dispatch
import TensorFormats

// Products with a WeightMatrix read its stored blocks in place. The single-token step runs a mat-vec kernel
// per stored type on the raw blocks (no repacked or Float copy); prompt processing decodes tiles of rows into
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

    /// out[rows] = W · x for one input vector x [cols], split over `threads` threads by rows.
    /// `scratch` holds at least cols/32 + 1 Floats (per-32-block sums of x).
    func multiply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let nb = cols / 32
        for b in 0 ..< nb {
            var s: Float = 0
            for j in 0 ..< 32 { s += x[b * 32 + j] }
            scratch[b] = s
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

    /// The rows `range` of W · x.
    func multiplyRows(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>,
                      _ out: UnsafeMutablePointer<Float>) {
        let xr = UnsafeRawPointer(x)
        let nb = cols / 32
        switch type {
        case .q4_0: for r in range { out[r] = RawDot.q4_0(rowPointer(r), xr, xSums, nb) }
        case .q4_1: for r in range { out[r] = RawDot.q4_1(rowPointer(r), xr, xSums, nb) }
        case .q5_0: for r in range { out[r] = RawDot.q5(rowPointer(r), xr, xSums, nb, withMin: false) }
        case .q5_1: for r in range { out[r] = RawDot.q5(rowPointer(r), xr, xSums, nb, withMin: true) }
        case .q8_0: for r in range { out[r] = RawDot.q8_0(rowPointer(r), xr, nb) }
        case .q4_K: for r in range { out[r] = RawDot.qK(rowPointer(r), xr, xSums, nb / 8, fiveBit: false) }
        case .q5_K: for r in range { out[r] = RawDot.qK(rowPointer(r), xr, xSums, nb / 8, fiveBit: true) }
        case .q6_K: for r in range { out[r] = RawDot.q6K(rowPointer(r), xr, nb / 8) }
        case .f32, .f16, .bf16:
            withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buf in
                guard let b = buf.baseAddress else { return }
                for r in range {
                    decodeRows(r ..< r + 1, into: b)
                    out[r] = dotProduct(b, x, count: cols)
                }
            }
        }
    }
}

/// Dot products of one stored row with a Float vector, per ggml block type. `xSums[b]` = Σ of x over 32-block b.
/// Each kernel accumulates in vector registers and reduces once per row; levels are widened from unsigned bytes
/// with per-lane loops (which LLVM turns into vpmovzxbd + vcvtdq2ps).
enum RawDot {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ off: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: off, as: UInt16.self)))
    }

    /// Horizontal sum without the generic (out-of-line) `sum()`.
    @inline(__always)
    static func hsum(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// Unsigned byte levels → Float lanes.
    @inline(__always)
    static func widen(_ u: SIMD16<UInt8>) -> SIMD16<Float> {
        var f = SIMD16<Float>()
        for i in 0 ..< 16 { f[i] = Float(u[i]) }
        return f
    }

    /// Levels · x of one 32-value nibble block (low nibbles elements 0…15, high 16…31), as a vector.
    @inline(__always)
    static func nibbleProducts(_ q: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD16<Float> {
        let bytes = q.loadUnaligned(as: SIMD16<UInt8>.self)
        let l = bytes & 0x0F
        let u = bytes &>> 4
        let x0 = x.loadUnaligned(as: SIMD16<Float>.self)
        let x1 = x.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        return widen(l) * x0 + widen(u) * x1
    }

    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        var minTerm: Float = 0
        for b in 0 ..< nb {
            let blk = row + b &* 18
            let d = half(blk, 0)
            acc += nibbleProducts(blk + 2, x + b &* 128) * d
            minTerm += d * xs[b]
        }
        return hsum(acc) - 8 * minTerm
    }

    static func q4_1(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        var minTerm: Float = 0
        for b in 0 ..< nb {
            let blk = row + b &* 20
            acc += nibbleProducts(blk + 4, x + b &* 128) * half(blk, 0)
            minTerm += half(blk, 2) * xs[b]
        }
        return hsum(acc) + minTerm
    }

    /// Lane shifts 0…15 and 16…31 for picking Q5's fifth bits out of qh.
    static let shiftsLow = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    static let shiftsHigh = shiftsLow &+ 16

    static func q5(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int, withMin: Bool) -> Float {
        var acc = SIMD16<Float>()
        var minTerm: Float = 0
        let bytes = withMin ? 24 : 22
        let header = withMin ? 4 : 2
        let sLo = shiftsLow, sHi = shiftsHigh
        for b in 0 ..< nb {
            let blk = row + b &* bytes
            let d = half(blk, 0)
            let qh = SIMD16<UInt32>(repeating: blk.loadUnaligned(fromByteOffset: header, as: UInt32.self))
            let bLo = (qh &>> sLo) & 1, bHi = (qh &>> sHi) & 1
            var fLo = SIMD16<Float>(), fHi = SIMD16<Float>()
            for i in 0 ..< 16 {
                fLo[i] = Float(bLo[i])
                fHi[i] = Float(bHi[i])
            }
            let q = blk + header + 4
            let nib = q.loadUnaligned(as: SIMD16<UInt8>.self)
            let xb = x + b &* 128
            let x0 = xb.loadUnaligned(as: SIMD16<Float>.self), x1 = xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let lo = widen(nib & 0x0F) + fLo * 16
            let hi = widen(nib &>> 4) + fHi * 16
            acc += (lo * x0 + hi * x1) * d
            minTerm += (withMin ? half(blk, 2) : -16 * d) * xs[b]
        }
        return hsum(acc) + minTerm
    }

    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0 ..< nb {
            let blk = row + b &* 34
            // Signed bytes offset by 128 widen like unsigned ones; the offset comes back as −128·d·Σx.
            let q0 = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self) ^ 0x80
            let q1 = blk.loadUnaligned(fromByteOffset: 18, as: SIMD16<UInt8>.self) ^ 0x80
            let xb = x + b &* 128
            let x0 = xb.loadUnaligned(as: SIMD16<Float>.self), x1 = xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            acc += ((widen(q0) - 128) * x0 + (widen(q1) - 128) * x1) * half(blk, 0)
        }
        return hsum(acc)
    }

    /// Q4_K / Q5_K: per 256-value super-block, 8 sub-blocks of 32 with 6-bit scale and minimum.
    static func qK(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nsb: Int, fiveBit: Bool) -> Float {
        var acc = SIMD16<Float>()
        var minTerm: Float = 0
        let bytes = fiveBit ? 176 : 144
        let qsOff = fiveBit ? 48 : 16
        for sb in 0 ..< nsb {
            let blk = row + sb &* bytes
            let d = half(blk, 0), dmin = half(blk, 2)
            let h0 = fiveBit ? blk.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self) : SIMD16<UInt8>()
            let h1 = fiveBit ? blk.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self) : SIMD16<UInt8>()
            for i in 0 ..< 8 {
                let (sc, m) = GGMLDequantize.scaleMinK4(i, blk + 4)
                let q = blk + qsOff + (i / 2) * 32
                let xb = x + (sb * 8 + i) &* 128
                let q0 = q.loadUnaligned(as: SIMD16<UInt8>.self)
                let q1 = q.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
                var u0 = i % 2 == 0 ? q0 & 0x0F : q0 &>> 4
                var u1 = i % 2 == 0 ? q1 & 0x0F : q1 &>> 4
                if fiveBit {
                    let sh = SIMD16<UInt8>(repeating: UInt8(i))
                    u0 |= ((h0 &>> sh) & 1) &<< 4
                    u1 |= ((h1 &>> sh) & 1) &<< 4
                }
                let x0 = xb.loadUnaligned(as: SIMD16<Float>.self), x1 = xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                acc += (widen(u0) * x0 + widen(u1) * x1) * (d * Float(sc))
                minTerm += dmin * Float(m) * xs[sb * 8 + i]
            }
        }
        return hsum(acc) - minTerm
    }

    /// Q6_K: per 256-value super-block, 16 sub-blocks of 16 with int8 scales.
    static func q6K(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ nsb: Int) -> Float {
        var acc = SIMD16<Float>()
        for sb in 0 ..< nsb {
            let blk = row + sb &* 210
            let d = half(blk, 208)
            for n in 0 ..< 2 {
                let ql = blk + n * 64, qh = blk + 128 + n * 32, sc = blk + 192 + n * 8
                let xb = x + (sb * 256 + n * 128) * 4
                for g in 0 ..< 2 {
                    let l0 = g * 16
                    let lo0 = ql.loadUnaligned(fromByteOffset: l0, as: SIMD16<UInt8>.self)
                    let lo1 = ql.loadUnaligned(fromByteOffset: l0 + 32, as: SIMD16<UInt8>.self)
                    let h = qh.loadUnaligned(fromByteOffset: l0, as: SIMD16<UInt8>.self)
                    let u0 = (lo0 & 0x0F) | ((h & 3) &<< 4)
                    let u1 = (lo1 & 0x0F) | (((h &>> 2) & 3) &<< 4)
                    let u2 = (lo0 &>> 4) | (((h &>> 4) & 3) &<< 4)
                    let u3 = (lo1 &>> 4) | (((h &>> 6) & 3) &<< 4)
                    @inline(__always) func scale(_ k: Int) -> Float { d * Float(sc.load(fromByteOffset: g + k, as: Int8.self)) }
                    let xr = xb + l0 * 4
                    acc += (widen(u0) - 32) * xr.loadUnaligned(as: SIMD16<Float>.self) * scale(0)
                    acc += (widen(u1) - 32) * xr.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self) * scale(2)
                    acc += (widen(u2) - 32) * xr.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self) * scale(4)
                    acc += (widen(u3) - 32) * xr.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self) * scale(6)
                }
            }
        }
        return hsum(acc)
    }
}
