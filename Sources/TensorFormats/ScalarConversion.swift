/// Conversions between the 16-bit float formats of tensor files and Float.
public enum HalfFloat {
    /// IEEE binary16 bits → Float.
    @inlinable public static func toFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Float → IEEE binary16 bits (round to nearest even).
    @inlinable public static func fromFloat(_ v: Float) -> UInt16 {
        Float16(v).bitPattern
    }

    /// bfloat16 bits → Float (the top half of a binary32).
    @inlinable public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16 bits (round to nearest even; NaN stays NaN).
    @inlinable public static func floatToBF16(_ v: Float) -> UInt16 {
        if v.isNaN { return 0x7FC0 }
        let b = v.bitPattern
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
