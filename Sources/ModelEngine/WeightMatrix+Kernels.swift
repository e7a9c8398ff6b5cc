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
enum RawDot {
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ off: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: off, as: UInt16.self)))
    }

    /// Σ_j nibble-levels · x over one 32-value block: low nibbles of 16 bytes are elements 0…15, high 16…31.
    @inline(__always)
    static func nibbleDot(_ q: UnsafeRawPointer, _ x: UnsafeRawPointer, highBits: UInt32 = 0) -> Float {
        let bytes = q.loadUnaligned(as: SIMD16<UInt8>.self)
        var lo = SIMD16<Float>()
        var hi = SIMD16<Float>()
        if highBits == 0 {
            for i in 0 ..< 16 {
                lo[i] = Float(bytes[i] & 0x0F)
                hi[i] = Float(bytes[i] &>> 4)
            }
        } else {
            for i in 0 ..< 16 {
                lo[i] = Float(UInt32(bytes[i] & 0x0F) | ((highBits &>> UInt32(i)) & 1) &<< 4)
                hi[i] = Float(UInt32(bytes[i] &>> 4) | ((highBits &>> UInt32(i + 16)) & 1) &<< 4)
            }
        }
        let x0 = x.loadUnaligned(as: SIMD16<Float>.self)
        let x1 = x.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        return (lo * x0 + hi * x1).sum()
    }

    static func q4_0(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc: Float = 0
        for b in 0 ..< nb {
            let blk = row + b &* 18
            let d = half(blk, 0)
            acc += d * (nibbleDot(blk + 2, x + b &* 128) - 8 * xs[b])
        }
        return acc
    }

    static func q4_1(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int) -> Float {
        var acc: Float = 0
        for b in 0 ..< nb {
            let blk = row + b &* 20
            acc += half(blk, 0) * nibbleDot(blk + 4, x + b &* 128) + half(blk, 2) * xs[b]
        }
        return acc
    }

    static func q5(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nb: Int, withMin: Bool) -> Float {
        var acc: Float = 0
        let bytes = withMin ? 24 : 22
        let header = withMin ? 4 : 2
        for b in 0 ..< nb {
            let blk = row + b &* bytes
            let d = half(blk, 0)
            let qh = blk.loadUnaligned(fromByteOffset: header, as: UInt32.self)
            let dot = nibbleDot(blk + header + 4, x + b &* 128, highBits: qh)
            acc += withMin ? d * dot + half(blk, 2) * xs[b] : d * (dot - 16 * xs[b])
        }
        return acc
    }

    static func q8_0(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0 ..< nb {
            let blk = row + b &* 34
            let q0 = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
            let q1 = blk.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
            var f0 = SIMD16<Float>()
            var f1 = SIMD16<Float>()
            for i in 0 ..< 16 {
                f0[i] = Float(q0[i])
                f1[i] = Float(q1[i])
            }
            let xb = x + b &* 128
            acc += (f0 * xb.loadUnaligned(as: SIMD16<Float>.self) + f1 * xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)) * half(blk, 0)
        }
        return acc.sum()
    }

    /// Q4_K / Q5_K: per 256-value super-block, 8 sub-blocks of 32 with 6-bit scale and minimum.
    static func qK(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ xs: UnsafePointer<Float>, _ nsb: Int, fiveBit: Bool) -> Float {
        var acc: Float = 0
        let bytes = fiveBit ? 176 : 144
        let qsOff = fiveBit ? 48 : 16
        for sb in 0 ..< nsb {
            let blk = row + sb &* bytes
            let d = half(blk, 0), dmin = half(blk, 2)
            for i in 0 ..< 8 {
                let (sc, m) = GGMLDequantize.scaleMinK4(i, blk + 4)
                let q = blk + qsOff + (i / 2) * 32
                let xb = x + (sb * 8 + i) &* 128
                let q0 = q.loadUnaligned(as: SIMD16<UInt8>.self)
                let q1 = q.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
                var f0 = SIMD16<Float>()
                var f1 = SIMD16<Float>()
                let shift: UInt8 = i % 2 == 0 ? 0 : 4
                for l in 0 ..< 16 {
                    f0[l] = Float((q0[l] &>> shift) & 0x0F)
                    f1[l] = Float((q1[l] &>> shift) & 0x0F)
                }
                if fiveBit {
                    let h0 = blk.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
                    let h1 = blk.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self)
                    let bit = UInt8(1) &<< UInt8(i)
                    for l in 0 ..< 16 {
                        f0[l] += (h0[l] & bit) != 0 ? 16 : 0
                        f1[l] += (h1[l] & bit) != 0 ? 16 : 0
                    }
                }
                let dot = (f0 * xb.loadUnaligned(as: SIMD16<Float>.self) + f1 * xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)).sum()
                acc += d * Float(sc) * dot - dmin * Float(m) * xs[sb * 8 + i]
            }
        }
        return acc
    }

    /// Q6_K: per 256-value super-block, 16 sub-blocks of 16 with int8 scales.
    static func q6K(_ row: UnsafeRawPointer, _ x: UnsafeRawPointer, _ nsb: Int) -> Float {
        var total: Float = 0
        let xf = x.assumingMemoryBound(to: Float.self)
        for sb in 0 ..< nsb {
            let blk = row + sb &* 210
            let d = half(blk, 208)
            for n in 0 ..< 2 {
                let ql = blk + n * 64, qh = blk + 128 + n * 32, sc = blk + 192 + n * 8
                let xb = xf + sb * 256 + n * 128
                // Four groups of 32 outputs (l, l+32, l+64, l+96), each two 16-value scales.
                var s = SIMD4<Float>()
                for half16 in 0 ..< 2 {
                    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                    let l0 = half16 * 16
                    let lo0 = ql.loadUnaligned(fromByteOffset: l0, as: SIMD16<UInt8>.self)
                    let lo1 = ql.loadUnaligned(fromByteOffset: l0 + 32, as: SIMD16<UInt8>.self)
                    let h = qh.loadUnaligned(fromByteOffset: l0, as: SIMD16<UInt8>.self)
                    for l in 0 ..< 16 {
                        a0[l] = Float(Int8(bitPattern: (lo0[l] & 0x0F) | ((h[l] & 3) &<< 4)) - 32)
                        a1[l] = Float(Int8(bitPattern: (lo1[l] & 0x0F) | (((h[l] &>> 2) & 3) &<< 4)) - 32)
                        a2[l] = Float(Int8(bitPattern: (lo0[l] &>> 4) | (((h[l] &>> 4) & 3) &<< 4)) - 32)
                        a3[l] = Float(Int8(bitPattern: (lo1[l] &>> 4) | (((h[l] &>> 6) & 3) &<< 4)) - 32)
                    }
                    let xr = UnsafeRawPointer(xb + l0)
                    let d0 = (a0 * xr.loadUnaligned(as: SIMD16<Float>.self)).sum()
                    let d1 = (a1 * xr.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)).sum()
                    let d2 = (a2 * xr.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self)).sum()
                    let d3 = (a3 * xr.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self)).sum()
                    @inline(__always) func scale(_ k: Int) -> Float { Float(sc.load(fromByteOffset: half16 + k, as: Int8.self)) }
                    s += SIMD4(d0 * scale(0), d1 * scale(2), d2 * scale(4), d3 * scale(6))
                }
                total += d * s.sum()
            }
        }
        return total
    }
}
