import Foundation

/// One attention head's role scores, each a mean attention weight over query positions (0…1), and the mean
/// entropy of its attention rows.
public struct HeadRoleScores: Codable, Sendable, Equatable {
    public var layer: Int
    public var head: Int
    /// Weight on the token just before the query (queries 2…T−1).
    public var previousToken: Double
    /// On a random sequence repeated twice: weight of second-repeat queries on the token after the query token's
    /// first occurrence (the induction target).
    public var induction: Double
    /// Weight on position 0 (the BOS token when the model has one; queries 2…T−1).
    public var firstToken: Double
    /// Weight on the query's own position (queries 2…T−1).
    public var selfAttention: Double
    /// Mean entropy of the attention rows in nats (queries 2…T−1); log(q + 1) is the uniform row's.
    public var entropy: Double

    enum CodingKeys: String, CodingKey {
        case layer, head, previousToken, induction, firstToken, selfAttention = "self", entropy
    }

    /// The role this head's scores point to most clearly (> 0.4), or nil.
    public var dominantRole: String? {
        let roles = [("induction", induction), ("previous-token", previousToken), ("first-token", firstToken), ("self", selfAttention)]
        guard let best = roles.max(by: { $0.1 < $1.1 }), best.1 > 0.4 else { return nil }
        return best.0
    }
}

/// Where a probe sequence's parts are: `prefix` tokens (BOS or none), then `period` random tokens, then the same
/// `period` tokens again.
public struct RepeatedSequenceLayout: Sendable, Equatable {
    public let prefix: Int
    public let period: Int
    public var length: Int { prefix + 2 * period }

    public init(prefix: Int, period: Int) {
        self.prefix = prefix
        self.period = period
    }
}

/// Sums of the role scores over probe sequences, per head; `scores` gives the means.
public struct HeadRoleAccumulator: Sendable {
    public let layers: Int
    public let heads: Int
    private var sums: [[Double]]  // [layer·heads + head][5]
    /// Sequences added per layer.
    private var sequences: [Int]

    public init(layers: Int, heads: Int) {
        self.layers = layers
        self.heads = heads
        sums = [[Double]](repeating: [0, 0, 0, 0, 0], count: layers * heads)
        sequences = [Int](repeating: 0, count: layers)
    }

    /// Adds one layer's attention pattern [heads, T, T] (rows: queries, columns: keys; causal) on a sequence laid
    /// out as `layout`.
    public mutating func add(layer: Int, pattern: [Float], layout: RepeatedSequenceLayout) throws {
        let t = layout.length
        guard layer >= 0, layer < layers, pattern.count == heads * t * t, layout.period >= 2 else {
            throw HeadRoleError.shape("layer \(layer): pattern of \(pattern.count) values is not \(heads) heads × \(t) × \(t)")
        }
        for h in 0 ..< heads {
            let s = Self.scores(pattern, head: h, tokens: t, layout: layout)
            for i in 0 ..< 5 { sums[layer * heads + h][i] += s[i] }
        }
        sequences[layer] += 1
    }

    /// previous, induction, first, self, entropy of one head on one sequence.
    static func scores(_ p: [Float], head h: Int, tokens t: Int, layout: RepeatedSequenceLayout) -> [Double] {
        let base = h * t * t
        var prev = 0.0, first = 0.0, selfA = 0.0, ent = 0.0
        var queries = 0
        for q in 2 ..< t {
            let row = base + q * t
            prev += Double(p[row + q - 1])
            first += Double(p[row])
            selfA += Double(p[row + q])
            var e = 0.0
            for k in 0 ... q {
                let a = Double(p[row + k])
                if a > 0 { e -= a * Self.log(a) }
            }
            ent += e
            queries += 1
        }
        var ind = 0.0, indQueries = 0
        for q in layout.prefix + layout.period ..< t {
            ind += Double(p[base + q * t + q - layout.period + 1])
            indQueries += 1
        }
        let nq = Double(max(queries, 1))
        return [prev / nq, ind / Double(max(indQueries, 1)), first / nq, selfA / nq, ent / nq]
    }

    static func log(_ x: Double) -> Double { Foundation.log(x) }

    /// Mean scores per head over the sequences added.
    public var scores: [HeadRoleScores] {
        var out: [HeadRoleScores] = []
        for l in 0 ..< layers {
            let n = Double(max(sequences[l], 1))
            for h in 0 ..< heads {
                let s = sums[l * heads + h].map { $0 / n }
                out.append(HeadRoleScores(layer: l, head: h, previousToken: s[0], induction: s[1], firstToken: s[2], selfAttention: s[3], entropy: s[4]))
            }
        }
        return out
    }
}

public enum HeadRoleError: Error, CustomStringConvertible {
    case shape(String)
    case probe(String)

    public var description: String {
        switch self {
        case .shape(let s): return "attention pattern: \(s)"
        case .probe(let s): return "head probe: \(s)"
        }
    }
}
