import Foundation
import LatentCache
import TestSupport
@testable import BrowserAdapters

/// Small real caches for the adapter tests, written through `LatentCacheBuilder`.
enum CacheFixtures {
    static func temporaryDirectory(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "browser-adapters-\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static let smallExamples = ExampleConfiguration(windowLength: 16, quantiles: 2, perQuantile: 2, topCount: 4,
                                                    randomCount: 3, histogramBins: 8, seed: 1)
    /// Enough windows per quantile for explain/score sampling (4 train + 5 test per quantile).
    static let actionExamples = ExampleConfiguration(windowLength: 16, quantiles: 2, perQuantile: 10, topCount: 4,
                                                     randomCount: 20, histogramBins: 8, seed: 1)

    /// A hook_z cache (9 heads × 64 via a fixture SAE) of `rows` rows × 64 tokens and 40 latents:
    /// latent l < 39 fires on tokens whose id ≡ l (mod 10); latent 39 on every fourth token of even
    /// rows (so it has non-activating windows). `vocabulary` replaces the display strings.
    static func build(at root: String, latents: Int = 40, rows: Int = 8, examples: ExampleConfiguration = smallExamples,
                      vocabulary: [[UInt8]]? = nil, withSAE: Bool = true, hook: String = "blocks.3.attn.hook_z",
                      dIn: Int = 576, recordedSAEPath: String? = nil) throws -> String {
        let saeFolder = root + "/sae"
        if withSAE {
            try SAEFixtures.writeSAELens(folder: saeFolder, weights: .random(dIn: dIn, dSAE: latents, seed: 3),
                                         architecture: "topk", k: 4, hookName: hook)
        }
        let vocab = vocabulary ?? (0 ..< 60).map { Array(" w\($0)".utf8) }
        let out = root + "/cache"
        let builder = try LatentCacheBuilder.start(
            output: out,
            parts: [PartSpec(name: hook, hook: hook, latentCount: latents,
                             sae: SAEInfo(path: recordedSAEPath ?? saeFolder, architecture: "topk", dIn: dIn))],
            options: BuildOptions(examples: examples, rowLength: 64, keepAllActivations: true, checkpointEveryRows: 64),
            metadata: CacheMetadata(model: "fixture", corpus: "fixture rows"), vocabulary: vocab, vocabularySource: "fixture")
        for r in 0 ..< rows {
            let tokens = (0 ..< 64).map { (r * 7 + $0 * 3) % vocab.count }
            try builder.beginRow(tokens: tokens)
            for (p, t) in tokens.enumerated() {
                var l = t % 10
                while l < latents - 1 {
                    builder.add(part: 0, position: p, latent: l, activation: Float(1 + (p + r) % 5) + Float(l) / 100)
                    l += 10
                }
                if r % 2 == 0, p % 4 == 0 { builder.add(part: 0, position: p, latent: latents - 1, activation: Float(1 + p % 7)) }
            }
            try builder.endRow()
        }
        _ = try builder.finalize()
        return out
    }

    /// Appends an explanation, a detection and a fuzz score (with highlighted shown text) to `latent`.
    static func annotate(_ cache: LatentCacheDirectory, latent: Int, explanation: String) throws {
        let part = cache.parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: latent, method: "default", model: "fixture-llm",
                                             text: explanation))
        // Detection: 4 activating (3 right), 4 not (all right).
        var det: [AnnotationSample] = []
        for i in 0 ..< 8 {
            let activating = i < 4
            let prediction: Bool = activating ? i != 3 : false
            let probability: Double = activating ? (i != 3 ? 0.9 : 0.2) : 0.1
            let acts: [Float] = [0, activating ? 2 : 0, 0]
            let distance: Double = activating ? Double(i % 2) : -1
            det.append(AnnotationSample(strTokens: [" a", " b", " c"], activations: acts, distance: distance, activating: activating,
                                        prediction: prediction, probability: probability, correct: prediction == activating,
                                        shownText: " a b c"))
        }
        try part.appendAnnotation(Annotation(kind: .score, latent: latent, method: "detection", model: "fixture-llm",
                                             explanation: explanation, samples: det, metrics: ScoreMetrics.balancedAccuracy(of: det)))
        let fuzz = [
            AnnotationSample(strTokens: [" x", " y", " z"], activations: [0, 3, 0], distance: 0, activating: true, prediction: true,
                             probability: nil, correct: true, shownText: " x<< y>> z"),
            AnnotationSample(strTokens: [" p", " q", " r"], activations: [0, 0, 0], distance: -1, activating: false, prediction: true,
                             probability: nil, correct: false, shownText: "<< p>> q r"),
        ]
        try part.appendAnnotation(Annotation(kind: .score, latent: latent, method: "fuzz", model: "fixture-llm",
                                             explanation: explanation, samples: fuzz, metrics: ScoreMetrics.balancedAccuracy(of: fuzz)))
    }
}
