import Foundation
import LatentCache

/// Every latent's nonzero activations over a token store, latent-major (CSR): latent l fires at
/// `positions[offsets[l] ..< offsets[l + 1]]` (ascending flat token positions) with `values` there.
public struct SparseActivations: Sendable {
    /// Where the activations came from.
    public enum Source: String, Sendable, Codable {
        /// The cache's activations.bin: every nonzero activation (exact).
        case allActivations = "all-activations"
        /// Only the windows the cache stores per latent (top, quantile samples): activations outside them are
        /// unknown and taken as 0, so overlaps are estimates biased towards each latent's strongest examples.
        case storedWindows = "stored-windows"
        /// Built in memory (tests, synthetic data).
        case memory
    }

    public let latentCount: Int
    /// Tokens the positions index into (the denominator of means and correlations).
    public let tokenCount: Int
    public let offsets: [Int]
    public let positions: [UInt32]
    public let values: [Float]
    public let source: Source

    /// From per-latent lists (positions ascending and unique, all < tokenCount, values > 0).
    public init(tokenCount: Int, lists: [(positions: [Int], values: [Float])], source: Source = .memory) throws {
        var offsets = [0]
        offsets.reserveCapacity(lists.count + 1)
        var pos: [UInt32] = [], vals: [Float] = []
        for (l, list) in lists.enumerated() {
            guard list.positions.count == list.values.count else {
                throw GeometryError.shape("latent \(l): \(list.positions.count) positions but \(list.values.count) values")
            }
            var last = -1
            for (p, v) in zip(list.positions, list.values) {
                guard p > last, p < tokenCount, p <= Int(UInt32.max) else {
                    throw GeometryError.shape("latent \(l): position \(p) is not ascending or not below \(tokenCount) tokens")
                }
                last = p
                pos.append(UInt32(p))
                vals.append(v)
            }
            offsets.append(pos.count)
        }
        self.latentCount = lists.count
        self.tokenCount = tokenCount
        self.offsets = offsets
        self.positions = pos
        self.values = vals
        self.source = source
    }

    /// A cache part's activations: exact from activations.bin when the cache keeps it, else the positions
    /// inside each latent's stored windows (`source` says which).
    public static func load(part: LatentCachePart, progress: (@Sendable (Int) -> Void)? = nil) throws -> SparseActivations {
        var lists: [(positions: [Int], values: [Float])] = []
        lists.reserveCapacity(part.latentCount)
        var exact = true
        for l in 0 ..< part.latentCount {
            if exact, let all = try part.allActivations(l) {
                lists.append((all.positions, all.activations))
            } else {
                exact = false
                let r = try part.record(l)
                var seen = Set<Int>()
                var entries: [(Int, Float)] = []
                for w in r.top + r.quantiles.flatMap(\.windows) where seen.insert(w.start).inserted {
                    for (j, a) in w.activations.enumerated() where a > 0 { entries.append((w.start + j, a)) }
                }
                entries.sort { $0.0 < $1.0 }
                lists.append((entries.map(\.0), entries.map(\.1)))
            }
            if l % 1024 == 1023 { progress?(l + 1) }
        }
        return try SparseActivations(tokenCount: part.totalTokens, lists: lists, source: exact ? .allActivations : .storedWindows)
    }

    public func firingCount(_ l: Int) -> Int { offsets[l + 1] - offsets[l] }

    /// Position-major transpose: for each token position, the latents firing there and their values.
    func transposed() -> (offsets: [Int], latents: [Int32], values: [Float]) {
        var counts = [Int](repeating: 0, count: tokenCount + 1)
        for p in positions { counts[Int(p) + 1] += 1 }
        for i in 0 ..< tokenCount { counts[i + 1] += counts[i] }
        var fill = counts
        var latents = [Int32](repeating: 0, count: positions.count)
        var vals = [Float](repeating: 0, count: positions.count)
        for l in 0 ..< latentCount {
            for e in offsets[l] ..< offsets[l + 1] {
                let p = Int(positions[e])
                latents[fill[p]] = Int32(l)
                vals[fill[p]] = values[e]
                fill[p] += 1
            }
        }
        return (counts, latents, vals)
    }
}
