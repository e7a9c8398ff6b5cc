/// SplitMix64: a tiny, fast, seedable generator, so every sample, shuffle and benchmark input is
/// reproducible across runs and platforms (the one generator of the project).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one purpose, derived from a seed and up to three identifying numbers.
    public init(seed: UInt64, _ a: UInt64, _ b: UInt64 = 0, _ c: UInt64 = 0) {
        var s = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        for v in [a, b, c] { s = SplitMix64(seed: s.next() ^ v) }
        state = s.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n (n > 0) without modulo bias.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            if r >= threshold { return Int(r % bound) }
        }
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [0, 1) (same as `unit()`).
    public mutating func nextUnitDouble() -> Double { unit() }
}

/// Reproducible shuffles and draws on the project's one generator.
extension SplitMix64 {
    /// Fisher–Yates shuffle (its own implementation, so results do not depend on the stdlib).
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }

    /// `k` distinct elements drawn without replacement (all of them, shuffled, when k ≥ count).
    public mutating func sample<T>(_ a: [T], _ k: Int) -> [T] {
        var copy = a
        shuffle(&copy)
        return Array(copy.prefix(max(0, k)))
    }

    /// Mixes several values into one seed (for per-latent generators).
    public static func seed(_ parts: UInt64...) -> UInt64 {
        var g = SplitMix64(seed: 0x5EED)
        var h: UInt64 = 0
        for p in parts {
            g = SplitMix64(seed: g.next() ^ p)
            h = g.next()
        }
        return h
    }
}
