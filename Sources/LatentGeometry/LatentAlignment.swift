import Foundation

/// One matched pair: latent `a` of the first SAE/part and latent `b` of the second.
public struct AlignmentMatch: Codable, Sendable, Equatable {
    public let a: Int
    public let b: Int
    public let similarity: Float
}

/// What an alignment found, in numbers.
public struct AlignmentSummary: Codable, Sendable, Equatable {
    /// "decoder-cosine" or "activation-correlation".
    public var measure: String
    public var latentsA: Int
    public var latentsB: Int
    public var matched: Int
    public var unmatchedA: Int
    public var unmatchedB: Int
    /// Matched pairs with similarity ≥ each threshold (keys "0.9", "0.7", "0.5", "0.3", "0.1").
    public var pairsAbove: [String: Int]
    public var meanSimilarity: Double?
    public var medianSimilarity: Double?
    /// Candidates searched per latent, and the projection used to find them (nil: exact search).
    public var candidatesPerLatent: Int
    public var projection: Int?
    public var candidateEdges: Int
    public var minimumSimilarity: Float
    public var solver: String
    /// Where activations came from (activation alignment only): see SparseActivations.Source.
    public var activationSource: String?
    public var searchSeconds: Double
    public var solveSeconds: Double
}

public struct AlignmentResult: Codable, Sendable {
    public var matches: [AlignmentMatch]
    public var unmatchedA: [Int]
    public var unmatchedB: [Int]
    public var summary: AlignmentSummary
}

/// Settings of an alignment.
public struct AlignmentOptions: Sendable {
    /// Candidates per latent in each direction (A→B and B→A); the matching is exact on that candidate graph.
    public var candidates: Int
    /// Pairs below this similarity are never matched (those latents are reported unmatched).
    public var minimumSimilarity: Float
    /// Decoder alignment: search candidates in a random projection of this many dimensions (nil: exact; the default
    /// picks 64 when both SAEs have more than 16,384 latents).
    public var projection: Int??
    /// Use the dense solver on the full similarity matrix when both sides have at most this many latents.
    public var denseLimit: Int

    public init(candidates: Int = 16, minimumSimilarity: Float = 0, projection: Int?? = .none, denseLimit: Int = 1500) {
        self.candidates = candidates
        self.minimumSimilarity = minimumSimilarity
        self.projection = projection
        self.denseLimit = denseLimit
    }
}

/// One-to-one matching of two dictionaries' latents: by decoder cosine (same hook space) or by activation
/// correlation over shared tokens (two parts of one cache).
public enum LatentAlignment {
    public static let thresholds: [Float] = [0.9, 0.7, 0.5, 0.3, 0.1]

    /// Aligns by the cosine of decoder rows (each n × dim, row-major).
    public static func byDecoder(a: [Float], b: [Float], dim: Int, options: AlignmentOptions = AlignmentOptions(),
                                 progress: (@Sendable (String, Double) -> Void)? = nil) throws -> AlignmentResult {
        guard dim > 0, a.count % dim == 0, b.count % dim == 0 else {
            throw GeometryError.shape("decoders of \(a.count) and \(b.count) values are not rows of \(dim)")
        }
        let na = a.count / dim, nb = b.count / dim
        let t0 = Date()
        if na <= options.denseLimit && nb <= options.denseLimit {
            let an = CosineSearch.normalizedRows(a, rows: na, dim: dim), bn = CosineSearch.normalizedRows(b, rows: nb, dim: dim)
            let s = CosineSearch.multiplyTransposed(an, rows: na, by: bn, rows: nb, dim: dim)
            let t1 = Date()
            let asg = LinearAssignment.solveDense(similarity: s, rows: na, columns: nb, minimumSimilarity: options.minimumSimilarity)
            return result(asg, measure: "decoder-cosine", na: na, nb: nb, candidates: nb, projection: nil, edges: na * nb,
                          options: options, solver: "dense", source: nil, search: t1.timeIntervalSince(t0), solve: Date().timeIntervalSince(t1))
        }
        let projection: Int? = options.projection ?? (min(na, nb) > 16384 ? 64 : nil)
        var so = CosineSearchOptions(k: options.candidates, projection: projection, candidates: max(4 * options.candidates, 32))
        so.seed = 0x616c_6967_6e
        let (forward, backward) = try CosineSearch.topKBothWays(a, b, dim: dim, options: so, progress: { progress?("candidates", $0) })
        let g = CandidateGraph(forward: forward, backward: backward, columns: nb)
        let t1 = Date()
        progress?("matching", 0)
        let asg = LinearAssignment.solveSparse(g, minimumSimilarity: options.minimumSimilarity)
        return result(asg, measure: "decoder-cosine", na: na, nb: nb, candidates: options.candidates, projection: projection,
                      edges: g.edgeCount, options: options, solver: "sparse", source: nil, search: t1.timeIntervalSince(t0),
                      solve: Date().timeIntervalSince(t1))
    }

    /// Aligns by the Pearson correlation of activations over the shared tokens (candidates: pairs that fire together).
    public static func byActivations(a: SparseActivations, b: SparseActivations, options: AlignmentOptions = AlignmentOptions(),
                                     progress: (@Sendable (String, Double) -> Void)? = nil) throws -> AlignmentResult {
        let t0 = Date()
        let forward = try Overlaps.topK(a, b, measure: .correlation, k: options.candidates, progress: { progress?("correlations A→B", $0) })
        let backward = try Overlaps.topK(b, a, measure: .correlation, k: options.candidates, progress: { progress?("correlations B→A", $0) })
        let g = CandidateGraph(forward: forward, backward: backward, columns: b.latentCount)
        let t1 = Date()
        progress?("matching", 0)
        let asg = LinearAssignment.solveSparse(g, minimumSimilarity: options.minimumSimilarity)
        let source = a.source == b.source ? a.source.rawValue : "\(a.source.rawValue)+\(b.source.rawValue)"
        return result(asg, measure: "activation-correlation", na: a.latentCount, nb: b.latentCount, candidates: options.candidates,
                      projection: nil, edges: g.edgeCount, options: options, solver: "sparse", source: source,
                      search: t1.timeIntervalSince(t0), solve: Date().timeIntervalSince(t1))
    }

    static func result(_ asg: Assignment, measure: String, na: Int, nb: Int, candidates: Int, projection: Int?, edges: Int,
                       options: AlignmentOptions, solver: String, source: String?, search: Double, solve: Double) -> AlignmentResult {
        var matches: [AlignmentMatch] = []
        var unmatchedA: [Int] = []
        for (i, c) in asg.columnOf.enumerated() {
            if c >= 0 { matches.append(AlignmentMatch(a: i, b: c, similarity: asg.similarity[i])) } else { unmatchedA.append(i) }
        }
        let unmatchedB = asg.unmatchedColumns
        let sims = matches.map { Double($0.similarity) }.sorted()
        var above: [String: Int] = [:]
        for t in thresholds { above[String(format: "%.1f", t)] = matches.lazy.filter { $0.similarity >= t }.count }
        let median: Double? = sims.isEmpty ? nil : (sims.count % 2 == 1 ? sims[sims.count / 2] : (sims[sims.count / 2 - 1] + sims[sims.count / 2]) / 2)
        let summary = AlignmentSummary(measure: measure, latentsA: na, latentsB: nb, matched: matches.count, unmatchedA: unmatchedA.count,
                                       unmatchedB: unmatchedB.count, pairsAbove: above,
                                       meanSimilarity: sims.isEmpty ? nil : sims.reduce(0, +) / Double(sims.count),
                                       medianSimilarity: median, candidatesPerLatent: candidates, projection: projection,
                                       candidateEdges: edges, minimumSimilarity: options.minimumSimilarity, solver: solver,
                                       activationSource: source, searchSeconds: search, solveSeconds: solve)
        return AlignmentResult(matches: matches, unmatchedA: unmatchedA, unmatchedB: unmatchedB, summary: summary)
    }
}
