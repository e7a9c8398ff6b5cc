import Dispatch

// MARK: - Matrix–vector product on quantized blocks (the single-token step)

extension QuantizedMatrix {
    /// out[rows] = W · x for one input vector x [cols], split over `threads` worker threads by rows.
    /// `scratch` must hold at least cols/32 Floats (per-block sums of x, for the block minimums).
    func multiply(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>, threads: Int) {
        let nb = blocksPerRow
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
        let nb = blocksPerRow
        let xRaw = UnsafeRawPointer(x)
        scales.withUnsafeBufferPointer { sc in
            mins.withUnsafeBufferPointer { mn in
                quants.withUnsafeBytes { qb in
                    guard let s = sc.baseAddress, let m = mn.baseAddress, let q = qb.baseAddress else { return }
                    switch kind {
                    case .nibbles:
                        for r in range {
                            out[r] = Self.dotNibbles(q + r * nb * 16, s + r * nb, xRaw, nb) + Self.minTerm(m + r * nb, xSums, nb)
                        }
                    case .bytes:
                        for r in range {
                            out[r] = Self.dotBytes(q + r * nb * 32, s + r * nb, xRaw, nb) + Self.minTerm(m + r * nb, xSums, nb)
                        }
                    }
                }
            }
        }
    }

    /// Σ_b min_b · Σ_j x_bj.
    @inline(__always)
    static func minTerm(_ mins: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>, _ nb: Int) -> Float {
        var s: Float = 0
        for b in 0 ..< nb { s += mins[b] * xSums[b] }
        return s
    }

    /// Σ_b scale_b · Σ_j q_bj · x_bj over the blocks of one 4-bit row.
    @inline(__always)
    static func dotNibbles(_ q: UnsafeRawPointer, _ scales: UnsafePointer<Float>, _ x: UnsafeRawPointer, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0 ..< nb {
            let bytes = q.loadUnaligned(fromByteOffset: b &* 16, as: SIMD16<UInt8>.self)
            // Lane loops rather than SIMD conversion initialisers: these vectorize; the generic ones are calls.
            var lo = SIMD16<Float>()
            var hi = SIMD16<Float>()
            for i in 0 ..< 16 {
                lo[i] = Float(bytes[i] & 0x0F)
                hi[i] = Float(bytes[i] &>> 4)
            }
            let xlo = x.loadUnaligned(fromByteOffset: b &* 128, as: SIMD16<Float>.self)
            let xhi = x.loadUnaligned(fromByteOffset: b &* 128 &+ 64, as: SIMD16<Float>.self)
            acc += (lo * xlo + hi * xhi) * scales[b]
        }
        return acc.sum()
    }

    /// Σ_b scale_b · Σ_j u_bj · x_bj over the blocks of one 8-bit row (u = q + 128).
    @inline(__always)
    static func dotBytes(_ q: UnsafeRawPointer, _ scales: UnsafePointer<Float>, _ x: UnsafeRawPointer, _ nb: Int) -> Float {
        var acc = SIMD16<Float>()
        for b in 0 ..< nb {
            let q0 = q.loadUnaligned(fromByteOffset: b &* 32, as: SIMD16<UInt8>.self)
            let q1 = q.loadUnaligned(fromByteOffset: b &* 32 &+ 16, as: SIMD16<UInt8>.self)
            var f0 = SIMD16<Float>()
            var f1 = SIMD16<Float>()
            for i in 0 ..< 16 {
                f0[i] = Float(q0[i])
                f1[i] = Float(q1[i])
            }
            let x0 = x.loadUnaligned(fromByteOffset: b &* 128, as: SIMD16<Float>.self)
            let x1 = x.loadUnaligned(fromByteOffset: b &* 128 &+ 64, as: SIMD16<Float>.self)
            acc += (f0 * x0 + f1 * x1) * scales[b]
        }
        return acc.sum()
    }

    /// Reference: dequantize each row and accumulate in Double. Slow; for tests.
    func multiplyReference(_ x: [Float]) -> [Float] {
        (0 ..< rows).map { r in
            let w = dequantizedRow(r)
            var s: Double = 0
            for j in 0 ..< cols { s += Double(w[j]) * Double(x[j]) }
            return Float(s)
        }
    }
}
