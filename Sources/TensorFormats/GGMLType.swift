/// Tensor element types of GGUF files (ggml's numbering).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, bf16 = 30

    /// Values per block (1 for plain floats).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .bf16: return "BF16"
        }
    }

    /// Name of any ggml type number, including ones Featurescope cannot decode.
    public static func name(of raw: UInt32) -> String {
        if let t = GGMLType(rawValue: raw) { return t.description }
        let names: [UInt32: String] = [
            6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K",
            15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
            22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
            34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[raw].map { "\($0) (ggml type \(raw))" } ?? "unknown ggml type \(raw)"
    }
}

/// Decoding of ggml blocks into Float.
public enum GGMLDequantize {
    /// Decodes `count` values of type `type` from `src` into `dst`.
    /// `src` must hold exactly `count / blockSize * blockBytes` bytes (checked by the caller).
    public static func decode(_ type: GGMLType, src: UnsafeRawBufferPointer, count: Int,
                              into dst: UnsafeMutablePointer<Float>) {
        guard let s = src.baseAddress else { return }
        switch type {
        case .f32:
            for i in 0 ..< count { dst[i] = Float(bitPattern: UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0 ..< count { dst[i] = HalfFloat.toFloat(UInt16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0 ..< count { dst[i] = HalfFloat.bf16ToFloat(UInt16(littleEndian: s.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .q4_0:
            for b in 0 ..< count / 32 {
                let blk = s + b * 18
                let d = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let out = dst + b * 32
                for j in 0 ..< 16 {
                    let q = blk.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = Float(Int(q & 0x0F) - 8) * d
                    out[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0 ..< count / 32 {
                let blk = s + b * 20
                let d = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let m = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                let out = dst + b * 32
                for j in 0 ..< 16 {
                    let q = blk.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = Float(q & 0x0F) * d + m
                    out[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q8_0:
            for b in 0 ..< count / 32 {
                let blk = s + b * 34
                let d = HalfFloat.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let out = dst + b * 32
                for j in 0 ..< 32 {
                    out[j] = Float(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * d
                }
            }
        }
    }
}
