import FeaturescopeCore
import ModelEngine

/// Measures every attention head's role scores on random token sequences repeated twice (the standard induction
/// probe): one forward pass per sequence, capturing `hook_pattern` at every layer.
public struct HeadRoleProbe: Sendable {
    public var sequences: Int
    /// Random tokens per repeat.
    public var period: Int
    public var seed: UInt64

    public init(sequences: Int = 4, period: Int = 48, seed: UInt64 = 13) {
        self.sequences = sequences
        self.period = period
        self.seed = seed
    }

    /// The probe sequences: BOS (when the model has one) then `period` random ordinary tokens, twice.
    public func tokens(tokenizer: Tokenizer) throws -> (batch: [[Int32]], layout: RepeatedSequenceLayout) {
        let normal = (0 ..< Int32(tokenizer.vocabSize)).filter { tokenizer.tokenType($0) == .normal }
        guard normal.count >= period else {
            throw HeadRoleError.probe("the vocabulary has \(normal.count) ordinary tokens; \(period) distinct ones are needed")
        }
        var rng = SplitMix64(seed: seed)
        let bos = tokenizer.bosId.map { [$0] } ?? []
        var batch: [[Int32]] = []
        for _ in 0 ..< sequences {
            let r = rng.sample(normal, period)
            batch.append(bos + r + r)
        }
        return (batch, RepeatedSequenceLayout(prefix: bos.count, period: period))
    }

    /// This probe with `period` cut so a sequence fits the model's context (BOS + two repeats).
    public func fitted(contextLength: Int, hasBOS: Bool) -> HeadRoleProbe {
        var p = self
        p.period = min(period, max(2, (contextLength - (hasBOS ? 1 : 0)) / 2))
        return p
    }

    /// Every head's scores, layer-major.
    /// `layers`: only these layers' patterns are captured and scored (nil: all); other layers' scores are 0.
    public func run(model: TransformerModel, tokenizer: Tokenizer, layers only: Set<Int>? = nil,
                    progress: ((Int) -> Void)? = nil) throws -> [HeadRoleScores] {
        guard sequences >= 1, period >= 2 else { throw HeadRoleError.probe("need at least 1 sequence of 2 tokens") }
        let (batch, layout) = try tokens(tokenizer: tokenizer)
        let layers = model.config.layerCount, heads = model.config.headCount
        var acc = HeadRoleAccumulator(layers: layers, heads: heads)
        let scored = (0 ..< layers).filter { only?.contains($0) ?? true }
        let hooks = Set(scored.map { HookPoint.pattern($0) })
        for (i, seq) in batch.enumerated() {
            let r = try model.forward(tokens: seq, captures: hooks, logits: .none)
            for l in scored {
                guard let p = r.activation(.pattern(l)) else { throw HeadRoleError.probe("the engine did not capture layer \(l)'s pattern") }
                try acc.add(layer: l, pattern: p.data, layout: layout)
            }
            progress?(i + 1)
        }
        return acc.scores
    }
}
