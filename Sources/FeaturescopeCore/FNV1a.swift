/// FNV-1a, 64-bit: the one byte-string hash of the project (tokenizer hash tables, the corpus's held-out split,
/// synthetic data). Not for security; callers that index tables by the low bits mix the result further.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// `h` extended by `byte`.
    @inlinable @inline(__always)
    public static func step(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* prime }

    /// The hash of `bytes`.
    @inlinable @inline(__always)
    public static func hash<S: Sequence>(_ bytes: S, seed: UInt64 = offsetBasis) -> UInt64 where S.Element == UInt8 {
        var h = seed
        for b in bytes { h = step(h, b) }
        return h
    }
}
