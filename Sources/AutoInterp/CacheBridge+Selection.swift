import FeaturescopeCore
import Foundation
import LatentCache

/// Why a latent selection is invalid.
public enum LatentSelectionError: Error, CustomStringConvertible, Equatable {
    case malformed(spec: String, item: String)
    case outOfRange(spec: String, latent: Int, latentCount: Int)
    case noPart(available: [String])

    public var description: String {
        switch self {
        case .malformed(let s, let i):
            return "latent selection \"\(s)\": \"\(i)\" is not a latent index or a range A-B (e.g. 0-499,7)"
        case .outOfRange(let s, let l, let n):
            return "latent selection \"\(s)\": latent \(l) is outside 0..<\(n)"
        case .noPart(let names):
            return "the cache has several parts; choose one with --part (\(names.joined(separator: ", ")))"
        }
    }
}

/// Which latents a batch command works on.
public struct LatentSelection: Sendable, Equatable {
    /// `0-499,7`: indices and inclusive ranges (nil: every latent).
    public var spec: String?
    /// Only latents without any explanation.
    public var unexplained = false
    /// Only latents without a score by this method (any model).
    public var unscoredBy: String?
    /// Draw this many latents at random from the eligible ones (those with at least
    /// `minActiveWindows` activating windows), seeded.
    public var sample: Int?
    public var seed: UInt64 = 22
    public var minActiveWindows = 200

    public init(spec: String? = nil, unexplained: Bool = false, unscoredBy: String? = nil, sample: Int? = nil,
                seed: UInt64 = 22, minActiveWindows: Int = 200) {
        self.spec = spec
        self.unexplained = unexplained
        self.unscoredBy = unscoredBy
        self.sample = sample
        self.seed = seed
        self.minActiveWindows = minActiveWindows
    }

    /// Parses `0-499,7` into sorted, unique indices below `latentCount`.
    public static func parse(_ spec: String, latentCount: Int) throws -> [Int] {
        var out = Set<Int>()
        for raw in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingCharacters(in: .whitespaces)
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard !item.isEmpty, bounds.count <= 2,
                  let lo = Int(bounds[0].trimmingCharacters(in: .whitespaces)),
                  let hi = bounds.count == 2 ? Int(bounds[1].trimmingCharacters(in: .whitespaces)) : lo,
                  lo >= 0, hi >= lo else {
                throw LatentSelectionError.malformed(spec: spec, item: item)
            }
            guard hi < latentCount else { throw LatentSelectionError.outOfRange(spec: spec, latent: hi, latentCount: latentCount) }
            out.formUnion(lo...hi)
        }
        return out.sorted()
    }

    /// The latents of `part` this selection names, in ascending order (a sample is sorted too).
    public func latents(in part: LatentCachePart) throws -> [Int] {
        var list = try spec.map { try Self.parse($0, latentCount: part.latentCount) } ?? Array(0..<part.latentCount)
        if unexplained {
            list = try list.filter { try part.summary($0).explanationPreview == nil }
        }
        if let method = unscoredBy {
            list = try list.filter { l in try !part.annotations(l).contains { $0.kind == .score && $0.method == method } }
        }
        if let n = sample {
            let eligible = try list.filter { try part.statistics($0).activeWindowCount >= minActiveWindows }
            var rng = SplitMix64(seed: SplitMix64.seed(seed, 0x5A3B1E))
            list = rng.sample(eligible, max(0, n)).sorted()
        }
        return list
    }

    /// The part named `name`, or the only part when `name` is nil.
    public static func part(named name: String?, in cache: LatentCacheDirectory) throws -> LatentCachePart {
        if let n = name { return try cache.part(named: n) }
        guard cache.parts.count == 1, let only = cache.parts.first else {
            throw LatentSelectionError.noPart(available: cache.parts.map(\.name))
        }
        return only
    }
}
