import FeaturescopeCore
import Foundation

/// A summary of a cache for people and scripts (`featurescope cache-info`): per part, how many latents fire,
/// their density, and what the annotation logs hold — explanations and scores by method and model, with the
/// distribution of each scorer's headline number (balanced accuracy for detection/fuzz).
public struct CacheOverview: Codable, Sendable, Equatable {
    /// Five-number summary plus mean of a list of values.
    public struct Distribution: Codable, Sendable, Equatable {
        public var count: Int
        public var mean: Double
        public var min: Double
        public var lowerQuartile: Double
        public var median: Double
        public var upperQuartile: Double
        public var max: Double

        /// nil for an empty list. Quartiles by linear interpolation between order statistics.
        public init?(_ values: [Double]) {
            let v = values.filter(\.isFinite).sorted()
            guard !v.isEmpty else { return nil }
            func q(_ p: Double) -> Double {
                let x = p * Double(v.count - 1)
                let lo = Int(x.rounded(.down)), hi = Swift.min(lo + 1, v.count - 1)
                return v[lo] + (v[hi] - v[lo]) * (x - Double(lo))
            }
            count = v.count
            mean = v.reduce(0, +) / Double(v.count)
            min = v[0]; max = v[v.count - 1]
            lowerQuartile = q(0.25); median = q(0.5); upperQuartile = q(0.75)
        }
    }

    /// One scorer's results in a part (newest score per latent for that method and model).
    public struct ScoreGroup: Codable, Sendable, Equatable {
        public var method: String
        public var model: String
        public var latents: Int
        /// Headline numbers (balanced accuracy for detection/fuzz).
        public var score: Distribution?
        /// AUC where the scorer reported one.
        public var auc: Distribution?
        /// Accuracy per quantile (0 = strongest activations), averaged over latents; "nonActivating" for the
        /// random windows, when the scorer reported them.
        public var meanAccuracyByQuantile: [String: Double]
        /// Scored samples summed over latents.
        public var samples: Int
        /// Samples answered wrongly, summed over latents.
        public var mistakes: Int
    }

    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var hook: String
        /// Transcoders: the hook the decoder writes.
        public var hookOut: String?
        public var latents: Int
        public var tokens: Int
        /// Latents that fire at least once in the cached corpus.
        public var firingLatents: Int
        /// Per-token density of the firing latents.
        public var density: Distribution?
        /// Latents with at least one explanation, and explanations by "method · model".
        public var explainedLatents: Int
        public var explanations: [String: Int]
        public var scores: [ScoreGroup]
        public var bytes: Int
    }

    public var path: String
    public var formatVersion: Int
    public var tokens: Int
    public var bytes: Int
    public var parts: [Part]

    /// Reads every index entry and every annotation of `cache` (records are not touched).
    public init(cache: LatentCacheDirectory) throws {
        path = cache.path
        formatVersion = cache.manifest.version
        tokens = cache.tokens.tokenCount
        bytes = FolderSize.bytes(cache.path)
        parts = []
        for part in cache.parts {
            var densities: [Double] = []
            var explained = 0
            var explanations: [String: Int] = [:]
            // (method, model) → newest score annotation per latent
            var newest: [String: [Int: Annotation]] = [:]
            for i in 0 ..< part.latentCount {
                let s = try part.summary(i)
                if s.firingCount > 0 { densities.append(s.densityPerToken) }
                guard s.annotationCount > 0 else { continue }
                var hasExplanation = false
                for a in try part.annotations(i) {
                    switch a.kind {
                    case .explanation:
                        hasExplanation = true
                        explanations["\(a.method) · \(a.model)", default: 0] += 1
                    case .score:
                        newest["\(a.method)\u{1F}\(a.model)", default: [:]][i] = a  // oldest first: the last one wins
                    }
                }
                if hasExplanation { explained += 1 }
            }
            var groups: [ScoreGroup] = []
            for (key, byLatent) in newest.sorted(by: { $0.key < $1.key }) {
                let keyParts = key.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
                let annotations = byLatent.values
                var quantileSums: [String: (Double, Int)] = [:]
                var samples = 0, mistakes = 0
                for a in annotations {
                    for (name, value) in Self.quantileFigures(a) where value.isFinite {
                        let q: String?
                        if name.hasPrefix("quantile"), name.hasSuffix("Accuracy") {
                            let n = String(name.dropFirst("quantile".count).dropLast("Accuracy".count))
                            q = n == "-1" ? "nonActivating" : n
                        } else if name == "nonActivatingAccuracy" {
                            q = "nonActivating"
                        } else { q = nil }
                        if let q { quantileSums[q, default: (0, 0)].0 += value; quantileSums[q, default: (0, 0)].1 += 1 }
                    }
                    let ss = a.samples ?? []
                    samples += ss.count
                    mistakes += ss.filter { $0.correct == false }.count
                }
                groups.append(ScoreGroup(
                    method: keyParts.first ?? "", model: keyParts.count > 1 ? keyParts[1] : "",
                    latents: annotations.count,
                    score: Distribution(annotations.compactMap { $0.metrics?.score }),
                    auc: Distribution(annotations.compactMap { $0.metrics?.values["auc"] }),
                    meanAccuracyByQuantile: quantileSums.mapValues { $0.0 / Double($0.1) },
                    samples: samples, mistakes: mistakes))
            }
            parts.append(Part(name: part.name, hook: part.hook, hookOut: part.hookOut, latents: part.latentCount, tokens: part.totalTokens,
                              firingLatents: densities.count, density: Distribution(densities),
                              explainedLatents: explained, explanations: explanations, scores: groups,
                              bytes: FolderSize.bytes(part.directory)))
        }
    }

    /// A score's figures; per-quantile accuracy computed from its samples when the score did not record it
    /// (scores imported from delphi before imports recorded it).
    static func quantileFigures(_ a: Annotation) -> [String: Double] {
        let values = a.metrics?.values ?? [:]
        guard let samples = a.samples, !values.keys.contains(where: { $0.hasPrefix("quantile") }) else { return values }
        var out = values
        for (q, v) in ScoreMetrics.quantileAccuracy(of: samples) { out["quantile\(q)Accuracy"] = v }
        return out
    }
}
