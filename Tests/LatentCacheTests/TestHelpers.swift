import Foundation
import XCTest
@testable import LatentCache

/// A temporary folder removed at the end of the test.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "latentcache-test-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// A small dense corpus: tokens[row][pos] and acts[part][token][latent], values f16-exact.
struct DenseCorpus {
    var rows: Int
    var rowLength: Int
    var latentCounts: [Int]
    var tokens: [[Int]]
    /// [part][flat token][latent]
    var acts: [[[Float]]]

    var tokenCount: Int { rows * rowLength }

    /// Random activations: each latent fires with its own probability, values quantised to 1/64
    /// (exact in f16), some latents dead, one latent firing everywhere.
    static func random(rows: Int, rowLength: Int, latentCounts: [Int], vocab: Int, seed: UInt64) -> DenseCorpus {
        var rng = SplitMix64(seed: seed)
        let tokens = (0 ..< rows).map { _ in (0 ..< rowLength).map { _ in Int.random(in: 0 ..< vocab, using: &rng) } }
        var acts: [[[Float]]] = []
        for n in latentCounts {
            let rates = (0 ..< n).map { l -> Double in
                if l == 0 { return 0 }          // dead latent
                if l == 1 { return 1 }          // fires everywhere
                return Double.random(in: 0.001 ... 0.2, using: &rng)
            }
            var part: [[Float]] = []
            for _ in 0 ..< rows * rowLength {
                part.append((0 ..< n).map { l in
                    Double.random(in: 0 ..< 1, using: &rng) < rates[l] ? Float(Int.random(in: 1 ... 640, using: &rng)) / 64 : 0
                })
            }
            acts.append(part)
        }
        return DenseCorpus(rows: rows, rowLength: rowLength, latentCounts: latentCounts, tokens: tokens, acts: acts)
    }

    /// Builds a cache from this corpus through the streaming builder.
    @discardableResult
    func build(at path: String, examples: ExampleConfiguration = ExampleConfiguration(), keepAll: Bool = true,
               vocabulary: [[UInt8]]? = nil, checkpointEvery: Int = 3) throws -> LatentCacheBuilder {
        let vocab = vocabulary ?? (0 ..< 100).map { Array("t\($0)".utf8) }
        let parts = latentCounts.enumerated().map { PartSpec(name: "blocks.\($0.offset).hook_resid_post", latentCount: $0.element) }
        let b = try LatentCacheBuilder.start(output: path, parts: parts,
                                             options: BuildOptions(examples: examples, rowLength: rowLength, keepAllActivations: keepAll, checkpointEveryRows: checkpointEvery),
                                             metadata: CacheMetadata(model: "test-model", corpus: "random", creationCommand: "test"),
                                             vocabulary: vocab, vocabularySource: "test")
        try stream(into: b, from: b.rowsCompleted)
        try b.finalize()
        return b
    }

    func stream(into b: LatentCacheBuilder, from: Int, to: Int? = nil) throws {
        for r in from ..< (to ?? rows) {
            try b.beginRow(tokens: tokens[r])
            for p in 0 ..< rowLength {
                for (pi, part) in acts.enumerated() {
                    part[r * rowLength + p].withUnsafeBufferPointer { b.addDense(part: pi, position: p, activations: $0) }
                }
            }
            try b.endRow()
        }
    }
}

/// Brute-force reference of one latent, straight from the dense definition in docs/autointerp.md.
struct Reference {
    var firing = 0
    var max: Float = 0
    /// (window id, window max), sorted strongest first (ties: lower id first).
    var sortedWindows: [(id: Int, max: Float)] = []
    var activeWindowIDs = Set<Int>()

    init(corpus: DenseCorpus, part: Int, latent: Int, windowLength L: Int) {
        var maxima: [Int: Float] = [:]
        for t in 0 ..< corpus.tokenCount {
            let a = corpus.acts[part][t][latent]
            guard a > 0 else { continue }
            firing += 1
            max = Swift.max(max, a)
            maxima[t / L] = Swift.max(maxima[t / L] ?? 0, a)
        }
        sortedWindows = maxima.map { ($0.key, $0.value) }.sorted { $0.max != $1.max ? $0.max > $1.max : $0.id < $1.id }
        activeWindowIDs = Set(maxima.keys)
    }
}
