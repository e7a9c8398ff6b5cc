import Foundation
import LatentCache
import ModelEngine

/// A small cache of *token-identity* latents over real text, for trying and timing `explain`
/// and `score` without an SAE: latent k fires on every occurrence of the k-th most frequent
/// token of the text (ignoring the `skipMostFrequent` commonest), with an activation of 1–8
/// that depends on the token before it, so windows differ in strength. Real text gives prompts
/// of realistic length, and the right explanation of each latent is known.
public enum EmbeddedDemoCache {
    public struct Options: Sendable {
        public var latents = 64
        public var rowLength = 256
        public var skipMostFrequent = 8
        public var examples = ExampleConfiguration()
        public init() {}
    }

    /// What was built.
    public struct Result: Sendable {
        public var path: String
        public var tokens: Int
        /// The token each latent fires on (display string), by latent.
        public var latentTokens: [String]
    }

    /// Tokenises `text` with the embedded model's tokenizer and writes the cache at `path`.
    public static func build(at path: String, text: String, client: EmbeddedLLMClient, options: Options = Options(),
                             overwrite: Bool = false) throws -> Result {
        let tokenizer = client.engine.tokenizer
        var ids = tokenizer.encode(text, parseSpecial: false)
        let rowLength = options.rowLength
        let rows = ids.count / rowLength
        guard rows >= 1 else {
            throw CacheError.invalidArgument("the text has \(ids.count) tokens; the demo cache needs at least one row of \(rowLength)")
        }
        ids = Array(ids.prefix(rows * rowLength))
        var counts: [Int32: Int] = [:]
        for t in ids { counts[t, default: 0] += 1 }
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let chosen = Array(ranked.dropFirst(options.skipMostFrequent).prefix(options.latents))
        guard !chosen.isEmpty else { throw CacheError.invalidArgument("the text has too few distinct tokens") }
        var latentOf: [Int32: Int] = [:]
        for (k, t) in chosen.enumerated() { latentOf[t] = k }

        let vocab = (0 ..< tokenizer.vocabSize).map { DisplayStrings.escapeInvalidUTF8(tokenizer.tokenBytes(Int32($0))) }
        let meta = CacheMetadata(model: client.modelName, modelPath: client.configuration.path,
                                 corpus: "demo text (\(ids.count) tokens)", creationCommand: "EmbeddedDemoCache.build",
                                 notes: ["token-identity latents (latent k fires on one token), not an SAE: for trying and timing explain/score"])
        let builder = try LatentCacheBuilder.start(
            output: path, parts: [PartSpec(name: "demo.token_identity", latentCount: chosen.count)],
            options: BuildOptions(examples: options.examples, rowLength: rowLength, keepAllActivations: true,
                                  checkpointEveryRows: 1 << 20),
            metadata: meta, vocabulary: vocab, vocabularySource: "gguf", overwrite: overwrite)
        for r in 0 ..< rows {
            let row = ids[(r * rowLength) ..< ((r + 1) * rowLength)]
            try builder.beginRow(tokens: row)
            for (p, t) in row.enumerated() {
                guard let k = latentOf[t] else { continue }
                let previous = p > 0 ? row[row.startIndex + p - 1] : 0
                builder.add(part: 0, position: p, latent: k, activation: Float(1 + Int(UInt32(bitPattern: previous) % 8)))
            }
            try builder.endRow()
        }
        _ = try builder.finalize()
        return Result(path: path, tokens: ids.count, latentTokens: chosen.map { tokenizer.displayString($0) })
    }
}
