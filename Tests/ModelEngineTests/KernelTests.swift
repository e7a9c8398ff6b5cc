import FeaturescopeCore
import Foundation
@testable import ModelEngine
import TensorFormats
import XCTest

/// Fast kernels against naive references, with the worst mismatch printed.
final class KernelTests: XCTestCase {
    func randomFloats(_ n: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0 ..< n).map { _ in (Float(rng.nextUnitDouble()) * 2 - 1) * scale }
    }

    /// Random raw blocks of `type` for a [rows, cols] matrix, with every f16 scale field a finite small value.
    func randomMatrix(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SplitMix64) -> WeightMatrix {
        let rowBytes = cols / type.blockSize * type.blockBytes
        let storage = OwnedBytes(count: rows * rowBytes)
        for i in 0 ..< rows * rowBytes { storage.pointer.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        let halfFields: [Int]
        switch type {
        case .q4_0, .q5_0, .q8_0: halfFields = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: halfFields = [0, 2]
        case .q6_K: halfFields = [208]
        case .f16: halfFields = Array(stride(from: 0, to: type.blockBytes * type.blockSize, by: 2))
        case .f32, .bf16: halfFields = []
        }
        if type == .f32 || type == .bf16 {
            for i in 0 ..< rows * cols {
                let v = (Float(rng.nextUnitDouble()) * 2 - 1)
                if type == .f32 { storage.pointer.storeBytes(of: v, toByteOffset: 4 * i, as: Float.self) }
                else { storage.pointer.storeBytes(of: UInt16(v.bitPattern >> 16), toByteOffset: 2 * i, as: UInt16.self) }
            }
        }
        let blocks = rows * cols / type.blockSize
        for b in 0 ..< blocks where type != .f16 {
            for f in halfFields {
                let v = Float16(Float(rng.nextUnitDouble()) * 0.05 + 0.001)
                storage.pointer.storeBytes(of: v.bitPattern, toByteOffset: b * type.blockBytes + f, as: UInt16.self)
            }
        }
        if type == .f16 {
            for i in 0 ..< rows * cols {
                storage.pointer.storeBytes(of: Float16(Float(rng.nextUnitDouble()) * 2 - 1).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
        return WeightMatrix(type: type, rows: rows, cols: cols, base: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// Σ a[aOff + j] · b[bOff + j] in Double.
    static func dot(_ a: [Float], _ aOff: Int, _ b: [Float], _ bOff: Int, _ n: Int) -> Float {
        var s: Double = 0
        for j in 0 ..< n { s += Double(a[aOff + j]) * Double(b[bOff + j]) }
        return Float(s)
    }

    /// x as the integer kernels see it: per `block` values (32, or 256 for K-quants), d = max|x| / 127 and
    /// x ≈ d · round(x / d).
    static func int8Rounded(_ x: [Float], block: Int) -> [Float] {
        var out = x
        for b in 0 ..< x.count / block {
            let amax = x[b * block ..< b * block + block].map(abs).max() ?? 0
            let id: Float = amax > 0 ? 127 / amax : 0
            for j in b * block ..< b * block + block { out[j] = (x[j] * id).rounded(.toNearestOrEven) * (amax / 127) }
        }
        return out
    }

    /// The bound on |W · int8(x) − W · x| per row: Σ_b |w|₁(block b) · max|x|(block b) / 254.
    static func roundingBound(_ w: [Float], row r: Int, cols: Int, _ x: [Float], xOffset: Int, block: Int) -> Float {
        var bound: Float = 0
        for b in 0 ..< cols / block {
            var wl1: Float = 0, xMax: Float = 0
            for j in b * block ..< b * block + block {
                wl1 += abs(w[r * cols + j])
                xMax = max(xMax, abs(x[xOffset + j]))
            }
            bound += wl1 * xMax / 254
        }
        return bound
    }

    /// The per-type mat-vec on raw blocks (1 and 2 threads) and the batched product against decode-then-dot in
    /// Double, for every stored type. Block types multiply an int8 rounding of x (`int8Rounded`, per 32 values or
    /// per 256 for K-quants): against W · int8Rounded(x) they agree to Float accumulation, and against W · x within
    /// the rounding's bound. F32/F16/BF16 batches go through BLAS.
    func testBlockKernelsMatchDecodedReference() {
        var rng = SplitMix64(seed: 1)
        let rows = 130, cols = 512
        for type in GGMLType.allCases {
            let m = randomMatrix(type, rows: rows, cols: cols, &rng)
            let w = m.decoded()
            XCTAssertTrue(w.allSatisfy { $0.isFinite }, "\(type)")
            let integer = m.integerKernel != nil
            let block = m.usesSuperBlockInput ? 256 : 32
            // Input rows: one for the mat-vec, then 6 for the batched product (a full group of 4 and a partial one).
            let batch = 6
            let xs = randomFloats((1 + batch) * cols, &rng)
            let check = { (label: String, out: [Float], ld: Int, offset: Int, inputs: Int, viaInt8: Bool) in
                let integer = integer && viaInt8
                var worst: Float = 0, worstRounding: Float = 0
                for t in 0 ..< inputs {
                    let x = Array(xs[(t + offset) * cols ..< (t + offset + 1) * cols])
                    let xSeen = integer ? Self.int8Rounded(x, block: block) : x
                    for r in 0 ..< rows {
                        let got = out[t * ld + r]
                        let ref = Self.dot(w, r * cols, xSeen, 0, cols)
                        let exact = Self.dot(w, r * cols, x, 0, cols)
                        // Float accumulation: relative to Σ|w·x| (Q6_K rows reach |w| ≈ 200).
                        var l1: Float = 0
                        for j in 0 ..< cols { l1 += abs(w[r * cols + j] * xSeen[j]) }
                        worst = max(worst, abs(got - ref) / max(1, l1))
                        if integer {
                            let allowed = Self.roundingBound(w, row: r, cols: cols, x, xOffset: 0, block: block)
                                + 1e-5 * max(1, l1)
                            worstRounding = max(worstRounding, abs(got - exact) / allowed)
                        }
                    }
                }
                print("[kernel] \(type) \(label): worst mismatch \(worst) of Σ|w·x|"
                      + (integer ? " (vs int8-rounded x); vs Float x \(worstRounding) of the int8 bound" : ""))
                XCTAssertLessThan(worst, 2e-6, "\(type) \(label)")
                XCTAssertLessThanOrEqual(worstRounding, 1, "\(type) \(label) int8 rounding bound")
            }
            for threads in [1, 2] {
                var out = [Float](repeating: 0, count: rows)
                var scratch = [Float](repeating: 0, count: WeightMatrix.multiplyScratchCount(cols: cols))
                xs.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { sp in
                    m.multiply(xp.baseAddress!, into: op.baseAddress!, scratch: sp.baseAddress!, threads: threads)
                } } }
                check("mat-vec, \(threads) thread(s)", out, 0, 0, 1, true)
            }
            // Batched, output stride wider than the matrix: exact (BLAS on decoded tiles) and int8.
            var out = [Float](repeating: 0, count: batch * (rows + 5))
            var tile = [Float](repeating: 0, count: WeightMatrix.tileRows * cols)
            xs.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in tile.withUnsafeMutableBufferPointer { tp in
                m.multiplyBatch(xp.baseAddress! + cols, rows: batch, into: op.baseAddress! + 5, ldOut: rows + 5,
                                tile: tp.baseAddress!, threads: 2)
            } } }
            check("batched (BLAS)", Array(out[5...]) + [0, 0, 0, 0, 0], rows + 5, 1, batch, false)
            var act = [Float](repeating: 0, count: WeightMatrix.quantizedInputCount(rows: batch, cols: cols))
            xs.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in act.withUnsafeMutableBufferPointer { ap in
                m.multiplyQuantized(xp.baseAddress! + cols, rows: batch, into: op.baseAddress! + 5, ldOut: rows + 5,
                                    scratch: ap.baseAddress!, threads: 2)
            } } }
            check("batched (int8)", Array(out[5...]) + [0, 0, 0, 0, 0], rows + 5, 1, batch, true)
        }
    }

    /// Every K-quant kernel level this CPU has (portable C, AVX2, AVX-512 VNNI) computes the same integer sums: the
    /// products agree to Float rounding, for 1…9 input rows at once (full and partial groups of CK_NX).
    func testIntegerKernelLevelsAgree() {
        var rng = SplitMix64(seed: 7)
        let rows = 40, cols = 768
        for type in [GGMLType.q4_K, .q5_K, .q6_K] {
            let m = randomMatrix(type, rows: rows, cols: cols, &rng)
            for inputs in [1, 4, 9] {
                let x = randomFloats(inputs * cols, &rng, scale: 3)
                var q = [Float](repeating: 0, count: WeightMatrix.quantizedInputCount(rows: inputs, cols: cols))
                x.withUnsafeBufferPointer { xp in q.withUnsafeMutableBufferPointer { m.quantizeInput(xp.baseAddress!, rows: inputs, into: $0.baseAddress!) } }
                var results: [[Float]] = []
                for level in 0 ... WeightMatrix.kernelLevel {
                    var out = [Float](repeating: .nan, count: inputs * rows)
                    q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
                        m.integerProducts(0 ..< rows, qp.baseAddress!, inputRows: inputs, op.baseAddress!, ldOut: rows, level: level)
                    } }
                    results.append(out)
                }
                for level in results.indices.dropFirst() {
                    let worst = zip(results[level], results[0]).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
                    XCTAssertLessThan(worst, 1e-4, "\(type), \(inputs) rows, level \(level) vs portable")
                    XCTAssertTrue(results[level].allSatisfy(\.isFinite), "\(type) level \(level)")
                }
            }
        }
        print("[kernel] integer kernel levels checked: 0…\(WeightMatrix.kernelLevel)")
    }

    /// The tiled int8 GEMM of prompt processing (ck_tiles.c), every block type, at the portable level and at the
    /// CPU's best (AVX-512 VNNI register tiles where present), against W · int8Rounded(x) in Double (per 32 values,
    /// per 16 for Q6_K): Float accumulation only; and against W · x within the rounding's bound. Edge sizes: weight
    /// rows not a multiple of the 4-row tile (and split over 2 threads), input rows not a multiple of 16 or 32
    /// (a lone 16-row group, padded rows), k not a multiple of 256 for the 32-value types, an output stride wider
    /// than the matrix.
    func testTiledGEMMMatchesReference() {
        var rng = SplitMix64(seed: 11)
        for type in GGMLType.allCases {
            let probe = randomMatrix(type, rows: 1, cols: 256, &rng)
            guard probe.integerKernel != nil else { continue }
            let colsList = probe.usesSuperBlockInput ? [256, 768] : [96, 160]
            for (rows, cols) in zip([37, 22], colsList) {
                let m = randomMatrix(type, rows: rows, cols: cols, &rng)
                let w = m.decoded()
                let block = m.tileBlock
                for inputs in [8, 17, 45] {
                    let xs = randomFloats(inputs * cols, &rng, scale: 2)
                    var q = [Float](repeating: .nan, count: WeightMatrix.tiledInputCount(rows: inputs, cols: cols))
                    let ld = rows + 3
                    var results: [[Float]] = []
                    for level in Set([0, WeightMatrix.kernelLevel]).sorted() {
                        for threads in [1, 2] {
                            var out = [Float](repeating: .nan, count: inputs * ld)
                            xs.withUnsafeBufferPointer { xp in q.withUnsafeMutableBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
                                WeightMatrix.quantizeTiled(xp.baseAddress!, rows: inputs, cols: cols, block: block,
                                                           into: qp.baseAddress!, threads: threads)
                                m.multiplyTiled(qp.baseAddress!, inputRows: inputs, into: op.baseAddress! + 1, ldOut: ld,
                                                threads: threads, level: level)
                            } } }
                            results.append(out)
                        }
                    }
                    for (n, out) in results.enumerated() {
                        var worst: Float = 0, worstRounding: Float = 0
                        for t in 0 ..< inputs {
                            let x = Array(xs[t * cols ..< (t + 1) * cols])
                            let seen = Self.int8Rounded(x, block: block)
                            XCTAssertTrue(out[t * ld].isNaN, "\(type): column before the output written")
                            for r in 0 ..< rows {
                                let got = out[t * ld + 1 + r]
                                var l1: Float = 0
                                for j in 0 ..< cols { l1 += abs(w[r * cols + j] * seen[j]) }
                                worst = max(worst, abs(got - Self.dot(w, r * cols, seen, 0, cols)) / max(1, l1))
                                let allowed = Self.roundingBound(w, row: r, cols: cols, x, xOffset: 0, block: block) + 1e-5 * max(1, l1)
                                worstRounding = max(worstRounding, abs(got - Self.dot(w, r * cols, x, 0, cols)) / allowed)
                            }
                            if t < inputs - 1 { XCTAssertTrue(out[t * ld + 1 + rows + 1].isNaN, "\(type): stride gap written") }
                        }
                        print("[kernel] tiled \(type) \(rows)×\(cols), \(inputs) inputs, run \(n): worst \(worst) of Σ|w·x|, \(worstRounding) of the int8 bound")
                        XCTAssertLessThan(worst, 2e-6, "\(type) \(rows)×\(cols) × \(inputs) run \(n)")
                        XCTAssertLessThanOrEqual(worstRounding, 1, "\(type) int8 rounding bound")
                    }
                }
            }
        }
    }

    /// Long inputs go through the tiled GEMM in chunks of k (about 320 KB of quantized input each, accumulated into the
    /// output): 45 input rows of 6144 values make two chunks for Q5_0 and for Q6_K; both levels, 2 threads.
    func testTiledGEMMLongInputsInChunks() {
        var rng = SplitMix64(seed: 12)
        let rows = 5, cols = 6144, inputs = 45
        for type in [GGMLType.q5_0, .q6_K] {
            let m = randomMatrix(type, rows: rows, cols: cols, &rng)
            let w = m.decoded()
            let xs = randomFloats(inputs * cols, &rng, scale: 2)
            var q = [Float](repeating: .nan, count: WeightMatrix.tiledInputCount(rows: inputs, cols: cols))
            for level in Set([0, WeightMatrix.kernelLevel]).sorted() {
                var out = [Float](repeating: .nan, count: inputs * rows)
                xs.withUnsafeBufferPointer { xp in q.withUnsafeMutableBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
                    WeightMatrix.quantizeTiled(xp.baseAddress!, rows: inputs, cols: cols, block: m.tileBlock, into: qp.baseAddress!, threads: 2)
                    m.multiplyTiled(qp.baseAddress!, inputRows: inputs, into: op.baseAddress!, ldOut: rows, threads: 2, level: level)
                } } }
                var worst: Float = 0
                for t in 0 ..< inputs {
                    let seen = Self.int8Rounded(Array(xs[t * cols ..< (t + 1) * cols]), block: m.tileBlock)
                    for r in 0 ..< rows {
                        var l1: Float = 0
                        for j in 0 ..< cols { l1 += abs(w[r * cols + j] * seen[j]) }
                        worst = max(worst, abs(out[t * rows + r] - Self.dot(w, r * cols, seen, 0, cols)) / max(1, l1))
                    }
                }
                print("[kernel] tiled \(type) in chunks (k = \(cols), \(inputs) inputs), level \(level): worst \(worst) of Σ|w·x|")
                XCTAssertLessThan(worst, 2e-6, "\(type) level \(level)")
            }
        }
    }

    /// BLAS `linear` and the attention kernels against plain loops.
    func testLinearMatchesNaive() {
        var rng = SplitMix64(seed: 2)
        let rows = 5, inDim = 64, outDim = 48
        let x = randomFloats(rows * inDim, &rng), w = randomFloats(outDim * inDim, &rng)
        var out = [Float](repeating: 0, count: rows * outDim)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
            linear(op.baseAddress!, xp.baseAddress!, wp.baseAddress!, rows: rows, inDim: inDim, outDim: outDim)
        } } }
        let ref = referenceLinear(x, w, rows: rows, inDim: inDim, outDim: outDim)
        let worst = zip(out, ref).map { abs($0 - $1) }.max() ?? 0
        print("[kernel] linear: worst mismatch \(worst)")
        XCTAssertLessThan(worst, 1e-4)
    }

    func testRopeRotatesHalvesAndPreservesNorm() {
        let headDim = 8, heads = 2
        var x: [Float] = (0 ..< heads * headDim).map { Float($0 + 1) }
        let original = x
        var cosT = [Float](repeating: 0, count: 2 * headDim / 2), sinT = cosT
        cosT.withUnsafeMutableBufferPointer { c in sinT.withUnsafeMutableBufferPointer { s in
            ropeTables(cos: c.baseAddress!, sin: s.baseAddress!, positions: [0, 3], dims: headDim, base: 10000,
                       freqFactors: nil, scaling: nil)
        } }
        XCTAssertEqual(cosT[0], 1)
        XCTAssertEqual(sinT[0], 0)
        // Position 3: θ_0 = 3 rad.
        XCTAssertEqual(cosT[4], Float(cos(3.0)), accuracy: 1e-6)
        x.withUnsafeMutableBufferPointer { xp in cosT.withUnsafeBufferPointer { c in sinT.withUnsafeBufferPointer { s in
            rope(xp.baseAddress!, rows: 1, heads: heads, headDim: headDim, dims: headDim, cos: c.baseAddress! + 4, sin: s.baseAddress! + 4)
        } } }
        let ref = referenceRope(original, heads: heads, headDim: headDim, position: 3, base: 10000)
        let worst = zip(x, ref).map { abs($0 - $1) }.max() ?? 0
        print("[kernel] rope: worst mismatch \(worst)")
        XCTAssertLessThan(worst, 1e-5)
        for h in 0 ..< heads {
            let n0 = original[h * headDim ..< (h + 1) * headDim].map { $0 * $0 }.reduce(0, +)
            let n1 = x[h * headDim ..< (h + 1) * headDim].map { $0 * $0 }.reduce(0, +)
            XCTAssertEqual(n0, n1, accuracy: 1e-3)
        }
    }

    /// The un-permutation of llama.cpp's q/k rows: GGUF row (h, 2i + s) is HF row (h, s·d/2 + i).
    func testHFRowOrderInvertsLlamaCppPermutation() {
        let order = ModelWeights.hfRowOrder(heads: 2, headDim: 8)
        XCTAssertEqual(order, [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15])
        XCTAssertEqual(Set(order).count, order.count)
    }

    func testSoftmaxMaskedSumsToOneAndMasks() {
        var row: [Float] = [1, 2, 3, 100, 100]
        row.withUnsafeMutableBufferPointer { softmaxMasked($0.baseAddress!, valid: 3, count: 5) }
        XCTAssertEqual(row[0] + row[1] + row[2], 1, accuracy: 1e-6)
        XCTAssertEqual(row[3], 0)
        XCTAssertEqual(row[4], 0)
        XCTAssertGreaterThan(row[2], row[1])
    }
}

extension KernelTests {
    func testVectorExpAndSoftmaxMatchReference() {
        var worstExp: Double = 0
        var x: Float = -87
        while x < 88 {
            let v = exp8(SIMD8<Float>(repeating: x) + SIMD8<Float>(0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07))
            for i in 0 ..< 8 {
                let xi = Double(x + Float(i) * 0.01)
                let ref = Foundation.exp(xi)
                worstExp = max(worstExp, abs(Double(v[i]) - ref) / ref)
            }
            x += 0.173
        }
        print("[kernel] exp8: worst relative error \(worstExp)")
        XCTAssertLessThan(worstExp, 3e-7)
        XCTAssertEqual(exp8(SIMD8<Float>(repeating: -.infinity)), SIMD8<Float>(repeating: 0))
        XCTAssertEqual(exp8(SIMD8<Float>(repeating: -200)), SIMD8<Float>(repeating: 0))

        var rng = SplitMix64(seed: 3)
        var worst: Float = 0
        for (valid, count) in [(1, 1), (5, 9), (8, 8), (29, 40), (100, 100)] {
            var row = randomFloats(count, &rng, scale: 20)
            let ref = referenceSoftmax(row, valid: valid)
            row.withUnsafeMutableBufferPointer { softmaxMasked($0.baseAddress!, valid: valid, count: count) }
            for i in 0 ..< count { worst = max(worst, abs(row[i] - ref[i])) }
            XCTAssertTrue(row[valid...].allSatisfy { $0 == 0 })
        }
        print("[kernel] softmax: worst |Δ| \(worst)")
        XCTAssertLessThan(worst, 1e-6)
    }
}

extension KernelTests {
    func testSwiGLUMatchesReference() {
        var rng = SplitMix64(seed: 4)
        let count = 1541  // not a multiple of 8: exercises the tail
        var gate = randomFloats(count, &rng, scale: 30)  // swiglu reads gate, writes out
        gate[0] = -120
        gate[1] = 120
        let up = randomFloats(count, &rng, scale: 3)
        let ref = referenceSwiGLU(gate, up)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in gate.withUnsafeBufferPointer { g in up.withUnsafeBufferPointer { u in swiglu(o.baseAddress!, gate: g.baseAddress!, up: u.baseAddress!, count: count) } } }
        var worst: Float = 0
        for i in 0 ..< count { worst = max(worst, abs(out[i] - ref[i]) / max(1, abs(ref[i]))) }
        print("[kernel] swiglu: worst relative mismatch \(worst)")
        XCTAssertLessThan(worst, 1e-6)
    }

    /// The vectorised GeGLU (x / (1 + e^(−2u))) against ½x(1 + tanh u) in Double, including the tail and values
    /// where e^(−2u) overflows or vanishes.
    func testGeGLUMatchesTanhReference() {
        var rng = SplitMix64(seed: 5)
        let count = 1541
        var gate = randomFloats(count, &rng, scale: 12)
        gate[0] = -120
        gate[1] = 120
        gate[2] = 0
        let up = randomFloats(count, &rng, scale: 3)
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in gate.withUnsafeBufferPointer { g in up.withUnsafeBufferPointer { u in geglu(o.baseAddress!, gate: g.baseAddress!, up: u.baseAddress!, count: count) } } }
        var worst: Double = 0
        for i in 0 ..< count {
            let x = Double(gate[i])
            let ref = 0.5 * x * (1 + Foundation.tanh(0.797_884_560_802_865_4 * (x + 0.044715 * x * x * x))) * Double(up[i])
            worst = max(worst, abs(Double(out[i]) - ref) / max(1, abs(ref)))
        }
        print("[kernel] geglu: worst relative mismatch \(worst)")
        XCTAssertLessThan(worst, 1e-6)
    }
}

extension KernelTests {
    func testDotProductAndWeightedSumMatchLoops() {
        var rng = SplitMix64(seed: 5)
        for count in [1, 15, 16, 64, 77] {
            let a = randomFloats(count, &rng), b = randomFloats(count, &rng)
            let fast = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in dotProduct(ap.baseAddress!, bp.baseAddress!, count) } }
            let ref = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(Double(fast), ref, accuracy: 1e-5)
        }
        // out = Σ_j w_j · rows[j] with a row stride wider than the width.
        let w = randomFloats(5, &rng), rows = randomFloats(5 * 12, &rng)
        var out = [Float](repeating: 9, count: 8)
        out.withUnsafeMutableBufferPointer { o in w.withUnsafeBufferPointer { wp in rows.withUnsafeBufferPointer { rp in
            weightedSum(o.baseAddress!, weights: wp.baseAddress!, rows: rp.baseAddress!, stride: 12, count: 5, width: 8)
        } } }
        for i in 0 ..< 8 {
            let ref = (0 ..< 5).reduce(0.0) { $0 + Double(w[$1]) * Double(rows[$1 * 12 + i]) }
            XCTAssertEqual(Double(out[i]), ref, accuracy: 1e-5)
        }
    }
}

extension KernelTests {
    func testConfigValidationNamesTheProblem() {
        let good = ModelConfig(dim: 576, hiddenDim: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3, vocabSize: 49152,
                               contextLength: 8192, ropeBase: 100_000, normEpsilon: 1e-5)
        XCTAssertNoThrow(try good.validate(path: "m.gguf"))
        XCTAssertEqual(good.headDim, 64)
        XCTAssertEqual(good.kvDim, 192)
        XCTAssertEqual(good.groupSize, 3)
        var bad = good
        bad.kvHeadCount = 4
        XCTAssertThrowsError(try bad.validate(path: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("head_count 9 is not a multiple of head_count_kv 4"), "\(error)")
        }
        bad = good
        bad.dim = 0
        XCTAssertThrowsError(try bad.validate(path: "m.gguf"))
        bad = good
        bad.ropeBase = .nan
        XCTAssertThrowsError(try bad.validate(path: "m.gguf"))
    }

    func testModelLocatorPrecedence() {
        let env = ["FEATURESCOPE_MODEL": "/env/model.gguf", "HOME": "/home/u"]
        XCTAssertEqual(ModelLocator.resolve(explicit: "/flag.gguf", environment: env), "/flag.gguf")
        XCTAssertEqual(ModelLocator.resolve(explicit: nil, environment: env), "/env/model.gguf")
        XCTAssertEqual(ModelLocator.resolve(explicit: nil, environment: ["HOME": "/home/u"]),
                       "/home/u/.cache/featurescope/SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertThrowsError(try ModelLocator.locate(explicit: "/no/such/model.gguf")) { error in
            XCTAssertTrue("\(error)".contains("featurescope model fetch"))
        }
    }
}

extension KernelTests {
    /// Many small jobs from two callers at once: every job runs exactly once and is done when `run` returns.
    func testSpinWorkerRunsEveryJobOnce() throws {
        guard #available(macOS 15.0, *) else { throw XCTSkip("SpinWorker needs the Synchronization module") }
        let perCaller = 3000
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * perCaller)
        counts.initialize(repeating: 0, count: 2 * perCaller)
        defer { counts.deallocate() }
        let shared = UncheckedSendable(counts)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for i in 0 ..< perCaller {
                let slot = caller * perCaller + i
                var mine = 0
                SpinWorker.shared.run(mine: { mine = 1 }, other: { shared.value[slot] += 1 })
                // The other half must be finished when run returns.
                XCTAssertEqual(shared.value[slot], 1)
                XCTAssertEqual(mine, 1)
            }
        }
        XCTAssertEqual((0 ..< 2 * perCaller).filter { counts[$0] != 1 }.count, 0)
    }
}
