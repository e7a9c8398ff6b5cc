import FeaturescopeCore
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
               vocabulary: [[UInt8]]? = nil, checkpointEvery: Int = 3, formatVersion: Int = CacheFormat.version) throws -> LatentCacheBuilder {
        let vocab = vocabulary ?? (0 ..< 100).map { Array("t\($0)".utf8) }
        let parts = latentCounts.enumerated().map { PartSpec(name: "blocks.\($0.offset).hook_resid_post", latentCount: $0.element) }
        let b = try LatentCacheBuilder.start(output: path, parts: parts,
                                             options: BuildOptions(examples: examples, rowLength: rowLength, keepAllActivations: keepAll,
                                                                   checkpointEveryRows: checkpointEvery, formatVersion: formatVersion),
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
        self.init(acts: corpus.acts[part], latent: latent, windowLength: L)
    }

    init(acts: [[Float]], latent: Int, windowLength L: Int) {
        var maxima: [Int: Float] = [:]
        for t in 0 ..< acts.count {
            let a = acts[t][latent]
            guard a > 0 else { continue }
            firing += 1
            max = Swift.max(max, a)
            maxima[t / L] = Swift.max(maxima[t / L] ?? 0, a)
        }
        sortedWindows = maxima.map { ($0.key, $0.value) }.sorted { $0.max != $1.max ? $0.max > $1.max : $0.id < $1.id }
        activeWindowIDs = Set(maxima.keys)
    }
}

/// Checks every latent of a part against the dense truth (statistics, top, quantile and random windows, tokens).
func assertPartMatches(_ part: LatentCachePart, acts: [[Float]], tokens: [[Int]], examples: ExampleConfiguration,
                       file: StaticString = #filePath, line: UInt = #line) throws {
    let L = examples.windowLength, Q = examples.quantiles
    let rowLength = tokens[0].count
    let totalWindows = acts.count / L
    for l in 0 ..< part.latentCount {
        let ref = Reference(acts: acts, latent: l, windowLength: L)
        let s = try part.statistics(l)
        XCTAssertEqual(s.firingCount, ref.firing, "latent \(l)", file: file, line: line)
        XCTAssertEqual(s.activeWindowCount, ref.sortedWindows.count, file: file, line: line)
        XCTAssertEqual(s.maxActivation, ref.max, file: file, line: line)
        let r = try part.record(l)
        XCTAssertEqual(r.histogram.counts.reduce(0, +), ref.firing, file: file, line: line)
        XCTAssertEqual(r.top.map { $0.start / L }, ref.sortedWindows.prefix(examples.topCount).map(\.id), "latent \(l)", file: file, line: line)
        let qs = ref.sortedWindows.count / Q
        XCTAssertEqual(r.quantiles.count, Q, file: file, line: line)
        for q in r.quantiles {
            XCTAssertEqual(q.sliceSize, qs, file: file, line: line)
            XCTAssertEqual(q.windows.count, min(examples.perQuantile, qs), file: file, line: line)
            let slice = ref.sortedWindows[q.quantile * qs ..< (q.quantile + 1) * qs]
            for w in q.windows { XCTAssertTrue(slice.contains { $0.id == w.start / L }, "latent \(l) quantile \(q.quantile)", file: file, line: line) }
        }
        XCTAssertEqual(r.random.count, min(examples.randomCount, totalWindows - ref.sortedWindows.count), file: file, line: line)
        XCTAssertEqual(Set(r.random.map(\.start)).count, r.random.count, file: file, line: line)
        for w in r.random { XCTAssertFalse(ref.activeWindowIDs.contains(w.start / L), file: file, line: line) }
        if let all = try part.allActivatingWindows(l) {
            XCTAssertEqual(all.map { $0.start / L }, ref.sortedWindows.map(\.id), file: file, line: line)
            XCTAssertEqual(all.map(\.maxActivation), ref.sortedWindows.map(\.max), file: file, line: line)
        }
        for w in r.top + r.quantiles.flatMap(\.windows) + r.random {
            XCTAssertEqual(w.tokens, Array(tokens[w.row][w.position ..< w.position + L]), file: file, line: line)
            XCTAssertEqual(w.activations, (0 ..< L).map { acts[w.row * rowLength + w.position + $0][l] }, file: file, line: line)
        }
    }
}
