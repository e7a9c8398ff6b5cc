import FeaturescopeCore
import Foundation
import LatentCache

/// Random caches of any size for benchmarks and tests (never for real analysis).
///
/// Token rows are uniform random ids; every position fires `activePerToken` latents drawn from a
/// heavy-tailed distribution (a few dense latents, many rare ones, as in real SAEs) with exponential
/// activation values. Everything is seeded.
public struct SyntheticCacheSpec: Sendable {
    public var latentCount: Int
    public var rows: Int
    public var rowLength: Int
    public var activePerToken: Int
    public var vocabularySize: Int
    public var seed: UInt64
    public var examples: ExampleConfiguration
    public var keepAllActivations: Bool

    public init(latentCount: Int = 131_072, rows: Int = 2048, rowLength: Int = 256, activePerToken: Int = 32,
                vocabularySize: Int = 49_152, seed: UInt64 = 1, examples: ExampleConfiguration = ExampleConfiguration(),
                keepAllActivations: Bool = false) {
        self.latentCount = latentCount; self.rows = rows; self.rowLength = rowLength
        self.activePerToken = activePerToken; self.vocabularySize = vocabularySize; self.seed = seed
        self.examples = examples; self.keepAllActivations = keepAllActivations
    }
}

public enum SyntheticCache {
    /// One row of synthetic data: tokens and per-position (latent, value) pairs.
    public struct Row {
        public var tokens: [Int32]
        /// rowLength × activePerToken latent indices and values.
        public var latents: [Int32]
        public var values: [Float]
    }

    /// Generates row `r` (deterministic in seed and row number).
    public static func row(_ r: Int, spec: SyntheticCacheSpec) -> Row {
        var rng = SplitMix64(seed: spec.seed, UInt64(r), 0x5EED)
        let n = spec.rowLength * spec.activePerToken
        var row = Row(tokens: [Int32](repeating: 0, count: spec.rowLength), latents: [Int32](repeating: 0, count: n),
                      values: [Float](repeating: 0, count: n))
        let latentScale = Double(spec.latentCount)
        for p in 0 ..< spec.rowLength {
            row.tokens[p] = Int32(truncatingIfNeeded: Int(rng.next() % UInt64(max(1, spec.vocabularySize))))
            for k in 0 ..< spec.activePerToken {
                let u = Double(rng.next() >> 11) / Double(1 << 53)
                // Heavy tail: latent index ~ n·u³, then scattered by an odd multiplier so dense latents are spread out.
                let raw = Int(latentScale * u * u * u)
                let latent = Int((UInt64(raw) &* 0x9E37_79B1) % UInt64(spec.latentCount))
                let v = Double(rng.next() >> 11) / Double(1 << 53)
                row.latents[p * spec.activePerToken + k] = Int32(latent)
                row.values[p * spec.activePerToken + k] = Float(-log(max(v, 1e-12)) * 2)
            }
        }
        return row
    }

    /// Writes a synthetic cache at `path` through the real builder.
    /// - Parameter progress: called with (rows done, total rows) while streaming, then (latents, total latents).
    public static func generate(at path: String, spec: SyntheticCacheSpec, overwrite: Bool = false,
                                progress: ((String, Int, Int) -> Void)? = nil) throws {
        let vocab = (0 ..< spec.vocabularySize).map { Array("tok\($0)".utf8) }
        let meta = CacheMetadata(model: "synthetic", corpus: "synthetic random rows (seed \(spec.seed))",
                                 creationCommand: "SyntheticCache.generate", notes: ["synthetic data for benchmarks; not a model's activations"])
        let builder = try LatentCacheBuilder.start(
            output: path, parts: [PartSpec(name: "synthetic.hook", latentCount: spec.latentCount)],
            options: BuildOptions(examples: spec.examples, rowLength: spec.rowLength, keepAllActivations: spec.keepAllActivations,
                                  checkpointEveryRows: 1024),
            metadata: meta, vocabulary: vocab, vocabularySource: "synthetic", overwrite: overwrite)
        for r in builder.rowsCompleted ..< spec.rows {
            let row = SyntheticCache.row(r, spec: spec)
            try builder.beginRow(tokens: row.tokens)
            row.latents.withUnsafeBufferPointer { lp in
                row.values.withUnsafeBufferPointer { vp in
                    for p in 0 ..< spec.rowLength {
                        let s = p * spec.activePerToken
                        builder.addSparse(part: 0, position: p, latents: UnsafeBufferPointer(rebasing: lp[s ..< s + spec.activePerToken]),
                                          values: UnsafeBufferPointer(rebasing: vp[s ..< s + spec.activePerToken]))
                    }
                }
            }
            try builder.endRow()
            progress?("rows", r + 1, spec.rows)
        }
        try builder.finalize { done, total in progress?("latents", done, total) }
    }
}
