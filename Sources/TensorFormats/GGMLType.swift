/// Tensor element types of GGUF files (ggml's numbering).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    /// Values per block (1 for plain floats, 32 for the legacy quants, 256 for the K-quants).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    /// Whether the type stores plain floats (no blocks).
    public var isFloat: Bool { blockSize == 1 }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .bf16: return "BF16"
        }
    }

    /// Name of any ggml type number, including ones Featurescope cannot decode.
    public static func name(of raw: UInt32) -> String {
        if let t = GGMLType(rawValue: raw) { return t.description }
        let names: [UInt32: String] = [
            9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
            20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
            29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[raw].map { "\($0) (ggml type \(raw))" } ?? "unknown ggml type \(raw)"
    }
}

/// Decoding of ggml blocks into Float, value for value as ggml's `dequantize_row_*` computes them.
public enum GGMLDequantize {
    /// Decodes `count` values of type `type` from `src` into `dst`.
    /// `src` must hold exactly `count / blockSize * blockBytes` bytes (checked by the caller).
    public static func decode(_ type: GGMLType, src: UnsafeRawBufferPointer, count: Int,
                              into dst: UnsafeMutablePointer<Float>) {
        guard let s = src.baseAddress else { return }
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            for i in 0 ..< count { dst[i] = Float(bitPattern: UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0 ..< count { dst[i] = HalfFloat.toFloat(UInt16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0 ..< count { dst[i] = HalfFloat.bf16ToFloat(UInt16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            var q = [UInt8](repeating: 0, count: 32)
            for b in 0 ..< blocks {
                let blk = s + b * type.blockBytes
                let (d, m) = legacyBlock(type, blk, into: &q)
                let out = dst + b * 32
                for j in 0 ..< 32 { out[j] = Float(q[j]) * d + m }
            }
        case .q4_K, .q5_K, .q6_K:
            for b in 0 ..< blocks { decodeK(type, s + b * type.blockBytes, into: dst + b * 256) }
        }
    }

    /// Unpacks one 32-value block of a legacy type into unsigned levels `q[0..<32]` and returns (scale, offset)
    /// such that value = q · scale + offset exactly as ggml computes it (Q4_0: (q − 8)·d = q·d + (−8d) holds
    /// bit-exactly only where ggml's products are exact; see `decode` for the ggml order).
    @inline(__always)
    public static func legacyBlock(_ type: GGMLType, _ blk: UnsafeRawPointer, into q: inout [UInt8]) -> (Float, Float) {
        let d = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
        switch type {
        case .q4_0, .q4_1:
            let header = type == .q4_0 ? 2 : 4
            for j in 0 ..< 16 {
                let byte = blk.load(fromByteOffset: header + j, as: UInt8.self)
                q[j] = byte & 0x0F
                q[j + 16] = byte >> 4
            }
            if type == .q4_0 { return (d, -8 * d) }
            return (d, HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self))))
        case .q5_0, .q5_1:
            let header = type == .q5_0 ? 2 : 4
            let qh = UInt32(littleEndian: blk.loadUnaligned(fromByteOffset: header, as: UInt32.self))
            for j in 0 ..< 16 {
                let byte = blk.load(fromByteOffset: header + 4 + j, as: UInt8.self)
                q[j] = (byte & 0x0F) | UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                q[j + 16] = (byte >> 4) | UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            }
            if type == .q5_0 { return (d, -16 * d) }
            return (d, HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self))))
        case .q8_0:
            for j in 0 ..< 32 { q[j] = blk.load(fromByteOffset: 2 + j, as: UInt8.self) ^ 0x80 }
            return (d, -128 * d)
        default:
            return (0, 0)
        }
    }

    /// Scale and minimum index j (0..<8) of a Q4_K/Q5_K block's packed 6-bit scales (ggml's `get_scale_min_k4`).
    @inlinable
    public static func scaleMinK4(_ j: Int, _ sc: UnsafeRawPointer) -> (UInt8, UInt8) {
        @inline(__always) func b(_ i: Int) -> UInt8 { sc.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }

    /// One 256-value super-block of Q4_K, Q5_K or Q6_K, in ggml's order of operations.
    static func decodeK(_ type: GGMLType, _ blk: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>) {
        func half(_ off: Int) -> Float { HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: off, as: UInt16.self))) }
        func byte(_ off: Int) -> UInt8 { blk.load(fromByteOffset: off, as: UInt8.self) }
        switch type {
        case .q4_K, .q5_K:
            let d = half(0), dmin = half(2)
            let scales = blk + 4
            let qsOff = type == .q4_K ? 16 : 48
            let qhOff = 16
            var u1: UInt8 = 1, u2: UInt8 = 2
            var out = 0
            for j in stride(from: 0, to: 256, by: 64) {
                let isub = j / 32
                let (sc1, m1i) = scaleMinK4(isub, scales)
                let (sc2, m2i) = scaleMinK4(isub + 1, scales)
                let d1 = d * Float(sc1), m1 = dmin * Float(m1i)
                let d2 = d * Float(sc2), m2 = dmin * Float(m2i)
                let ql = qsOff + j / 2
                for l in 0 ..< 32 {
                    var q = byte(ql + l) & 0x0F
                    if type == .q5_K, byte(qhOff + l) & u1 != 0 { q += 16 }
                    y[out + l] = d1 * Float(q) - m1
                }
                for l in 0 ..< 32 {
                    var q = byte(ql + l) >> 4
                    if type == .q5_K, byte(qhOff + l) & u2 != 0 { q += 16 }
                    y[out + 32 + l] = d2 * Float(q) - m2
                }
                out += 64
                u1 <<= 2; u2 <<= 2
            }
        case .q6_K:
            let d = half(208)
            for n in 0 ..< 2 {
                let ql = n * 64, qh = 128 + n * 32, sc = 192 + n * 8
                let yb = y + n * 128
                for l in 0 ..< 32 {
                    let isub = l / 16
                    let h = byte(qh + l)
                    let q1 = Int((byte(ql + l) & 0x0F) | ((h & 3) << 4)) - 32
                    let q2 = Int((byte(ql + l + 32) & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                    let q3 = Int((byte(ql + l) >> 4) | (((h >> 4) & 3) << 4)) - 32
                    let q4 = Int((byte(ql + l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
                    func s(_ k: Int) -> Float { Float(Int8(bitPattern: byte(sc + isub + k))) }
                    yb[l] = d * s(0) * Float(q1)
                    yb[l + 32] = d * s(2) * Float(q2)
                    yb[l + 64] = d * s(4) * Float(q3)
                    yb[l + 96] = d * s(6) * Float(q4)
                }
            }
        default:
            break
        }
    }
}

extension GGMLDequantize {
    /// Sub-block `index` (0..<8, 32 values) of a Q4_K or Q5_K super-block as unsigned levels and
    /// (scale, offset) with value = level · scale + offset, the same Float results as `decodeK`.
    public static func kSubblock(_ type: GGMLType, _ blk: UnsafeRawPointer, index: Int, into q: inout [UInt8]) -> (Float, Float) {
        let d = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
        let dmin = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let (sc, m) = scaleMinK4(index, blk + 4)
        let qsOff = type == .q4_K ? 16 : 48
        let ql = qsOff + (index / 2) * 32
        let highHalf = index % 2 == 1
        let mask: UInt8 = 1 << UInt8(index)
        for l in 0 ..< 32 {
            let byte = blk.load(fromByteOffset: ql + l, as: UInt8.self)
            var v = highHalf ? byte >> 4 : byte & 0x0F
            if type == .q5_K, blk.load(fromByteOffset: 16 + l, as: UInt8.self) & mask != 0 { v += 16 }
            q[l] = v
        }
        return (d * Float(sc), -(dmin * Float(m)))
    }
}
