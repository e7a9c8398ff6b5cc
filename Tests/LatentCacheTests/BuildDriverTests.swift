import Foundation
import XCTest
@testable import LatentCache

/// Rows and "model" activations from a dense corpus.
struct DenseSource: CacheRowSource, CacheActivationSource {
    let corpus: DenseCorpus
    var failAfterRows: Int? = nil
    final class Counter: @unchecked Sendable { var rows = 0 }
    let counter = Counter()

    var rowCount: Int { corpus.rows }
    func row(_ i: Int) throws -> [Int32] { corpus.tokens[i].map(Int32.init) }

    func activations(rows: [[Int32]], firstRow: Int) throws -> [[SparseRowActivations]] {
        try rows.map { row in
            guard let r = corpus.tokens.firstIndex(of: row.map(Int.init)) else { throw CacheError.invalidArgument("unknown row") }
            if let f = failAfterRows, counter.rows >= f { throw CacheError.invalidArgument("simulated crash") }
            counter.rows += 1
            return corpus.acts.map { part in
                var offsets = [0], latents: [Int32] = [], values: [Float] = []
                for t in 0 ..< corpus.rowLength {
                    for (l, v) in part[r * corpus.rowLength + t].enumerated() where v > 0 { latents.append(Int32(l)); values.append(v) }
                    offsets.append(latents.count)
                }
                return SparseRowActivations(offsets: offsets, latents: latents, values: values)
            }
        }
    }
}

final class BuildDriverTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 3, perQuantile: 2, topCount: 4, randomCount: 3, histogramBins: 8, seed: 5)

    func start(_ path: String, _ corpus: DenseCorpus) throws -> LatentCacheBuilder {
        try LatentCacheBuilder.start(output: path, parts: corpus.latentCounts.enumerated().map { PartSpec(name: "p\($0.offset)", latentCount: $0.element) },
                                     options: BuildOptions(examples: examples, rowLength: corpus.rowLength, checkpointEveryRows: 2),
                                     metadata: CacheMetadata(), vocabulary: (0 ..< 100).map { [UInt8(33 + $0 % 90)] }, vocabularySource: "test")
    }

    func testDriverBuildsAndResumes() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 9, rowLength: 64, latentCounts: [10, 4], vocab: 100, seed: 11)
        // Killed after 5 rows (checkpoints every 2 rows: 4 rows survive).
        var failing = DenseSource(corpus: corpus)
        failing.failAfterRows = 5
        XCTAssertThrowsError(try CacheBuildDriver.run(builder: start(tmp.sub("c"), corpus), rows: failing, batchSize: 1, source: failing))
        let b = try start(tmp.sub("c"), corpus)
        XCTAssertEqual(b.rowsCompleted, 4)
        let src = DenseSource(corpus: corpus)
        let stats = try CacheBuildDriver.run(builder: b, rows: src, maxRows: 8, batchSize: 3, source: src)
        XCTAssertEqual(stats.rowsSkipped, 4)
        XCTAssertEqual(stats.rowsBuilt, 4)
        XCTAssertEqual(stats.tokens, 8 * 64)
        let cache = try LatentCacheDirectory.open(tmp.sub("c"))
        XCTAssertEqual(cache.tokens.rows, 8)
        var truncated = corpus
        truncated.rows = 8
        truncated.tokens = Array(corpus.tokens.prefix(8))
        truncated.acts = corpus.acts.map { Array($0.prefix(8 * 64)) }
        for (i, part) in cache.parts.enumerated() {
            try assertPartMatches(part, acts: truncated.acts[i], tokens: truncated.tokens, examples: examples)
        }
    }
}
