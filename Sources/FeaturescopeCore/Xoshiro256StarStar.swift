import Foundation

/// xoshiro256** seeded with SplitMix64: the project's generator with independent streams (SAE training).
///
/// Training must be reproducible and resumable: the batch order of epoch `e` is a pure
/// function of `(seed, e)`, so a resumed run draws exactly the batches it would have drawn.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Creates a generator whose sequence depends only on `seed` and `stream`.
    public init(seed: UInt64, stream: UInt64 = 0) {
        var x = SplitMix64(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
        s0 = x.next(); s1 = x.next(); s2 = x.next(); s3 = x.next()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }
}

/// Draws every generator of the family (SplitMix64, Xoshiro256StarStar) offers.
extension RandomNumberGenerator {
    /// A uniform Float in [0, 1) from the top 24 bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// A standard normal sample (Box–Muller, two draws).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / Double(1 << 53)), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
