import Foundation
import XCTest
@testable import LatentCache

final class RoundTripTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 6, histogramBins: 8, seed: 7)

    func testEveryLatentMatchesBruteForce() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 12, rowLength: 64, latentCounts: [40, 7], vocab: 100, seed: 1)
        try corpus.build(at: tmp.sub("cache"), examples: examples)
        let cache = try LatentCacheDirectory.open(tmp.sub("cache"))
        XCTAssertEqual(cache.parts.count, 2)
        XCTAssertEqual(cache.manifest.tokens.tokenCount, 12 * 64)
        XCTAssertEqual(cache.manifest.metadata.model, "test-model")
        try cache.verify()
        let totalWindows = corpus.tokenCount / 32
        for (pi, part) in cache.parts.enumerated() {
            XCTAssertEqual(part.latentCount, corpus.latentCounts[pi])
            for l in 0 ..< part.latentCount {
                let ref = Reference(corpus: corpus, part: pi, latent: l, windowLength: 32)
                let s = try part.summary(l)
                XCTAssertEqual(s.firingCount, ref.firing, "latent \(l)")
                XCTAssertEqual(s.activeWindowCount, ref.sortedWindows.count)
                XCTAssertEqual(s.maxActivation, ref.max)
                XCTAssertEqual(s.densityPerToken, Double(ref.firing) / Double(corpus.tokenCount), accuracy: 1e-12)
                XCTAssertEqual(s.densityPerWindow, Double(ref.sortedWindows.count) / Double(totalWindows), accuracy: 1e-12)
                XCTAssertNil(s.explanationPreview)

                let r = try part.record(l)
                XCTAssertEqual(r.histogram.counts.reduce(0, +), ref.firing)
                XCTAssertEqual(r.top.map { $0.start / 32 }, ref.sortedWindows.prefix(5).map(\.id))
                XCTAssertEqual(r.top.map(\.maxActivation), ref.sortedWindows.prefix(5).map(\.max))
                let qs = ref.sortedWindows.count / 4
                XCTAssertEqual(r.quantiles.count, 4)
                for q in r.quantiles {
                    XCTAssertEqual(q.sliceSize, qs)
                    XCTAssertEqual(q.windows.count, min(2, qs))
                    let slice = ref.sortedWindows[q.quantile * qs ..< (q.quantile + 1) * qs]
                    for w in q.windows { XCTAssertTrue(slice.contains { $0.id == w.start / 32 }, "latent \(l) q\(q.quantile) window \(w.start)") }
                    if qs > 0 {
                        XCTAssertEqual(q.strongest, slice.first!.max)
                        XCTAssertEqual(q.weakest, slice.last!.max)
                    }
                }
                XCTAssertEqual(r.random.count, min(6, totalWindows - ref.sortedWindows.count))
                XCTAssertEqual(Set(r.random.map(\.start)).count, r.random.count)
                for w in r.random { XCTAssertFalse(ref.activeWindowIDs.contains(w.start / 32)) }
                for w in r.top + r.quantiles.flatMap(\.windows) + r.random {
                    XCTAssertEqual(w.tokens, corpus.tokens[w.row][w.position ..< w.position + 32].map { $0 })
                    XCTAssertEqual(w.row * 64 + w.position, w.start)
                    let expected = (0 ..< 32).map { corpus.acts[pi][w.start + $0][l] }
                    XCTAssertEqual(w.activations, expected)
                }
                let all = try XCTUnwrap(try part.allActivations(l))
                let dense = (0 ..< corpus.tokenCount).filter { corpus.acts[pi][$0][l] > 0 }
                XCTAssertEqual(all.positions, dense)
                XCTAssertEqual(all.activations, dense.map { corpus.acts[pi][$0][l] })
            }
        }
        XCTAssertEqual(cache.displayString(7), "t7")
        XCTAssertEqual(cache.displayString(100), "⟨100⟩")
    }

    func testSamplingIsSeededAndReproducible() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 8, rowLength: 64, latentCounts: [10], vocab: 100, seed: 2)
        try corpus.build(at: tmp.sub("a"), examples: examples)
        try corpus.build(at: tmp.sub("b"), examples: examples)
        var other = examples
        other.seed = 8
        try corpus.build(at: tmp.sub("c"), examples: other)
        let a = try LatentCacheDirectory.open(tmp.sub("a")).parts[0]
        let b = try LatentCacheDirectory.open(tmp.sub("b")).parts[0]
        let c = try LatentCacheDirectory.open(tmp.sub("c")).parts[0]
        var differs = false
        for l in 0 ..< 10 {
            XCTAssertEqual(try a.record(l), try b.record(l))
            if try a.record(l).random != c.record(l).random { differs = true }
        }
        XCTAssertTrue(differs, "another seed should draw other random windows")
    }

    func testRecordsAreIndependent() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 4, rowLength: 64, latentCounts: [12], vocab: 100, seed: 3)
        try corpus.build(at: tmp.sub("cache"), examples: examples)
        let part = try LatentCacheDirectory.open(tmp.sub("cache")).parts[0]
        let e = try part.entry(5)
        let before = try (0 ..< 12).map { try part.record($0) }
        // Damage latent 5's record only: the others still read, latent 5 reports its checksum.
        try patchFile(part.directory + "/records.bin", at: Int(e.recordOffset) + Int(e.recordLength) / 2) { $0 ^= 0xFF }
        let reopened = try LatentCacheDirectory.open(tmp.sub("cache")).parts[0]
        for l in 0 ..< 12 where l != 5 { XCTAssertEqual(try reopened.record(l), before[l]) }
        XCTAssertThrowsError(try reopened.record(5)) { err in
            guard case CacheError.checksumMismatch(_, let what, _, _) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(what.contains("latent 5"))
        }
    }

    func testInterruptedBuildResumes() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 10, rowLength: 32, latentCounts: [9, 5], vocab: 100, seed: 4)
        try corpus.build(at: tmp.sub("whole"), examples: examples)

        let parts = corpus.latentCounts.enumerated().map { PartSpec(name: "blocks.\($0.offset).hook_resid_post", latentCount: $0.element) }
        let opts = BuildOptions(examples: examples, rowLength: 32, keepAllActivations: true, checkpointEveryRows: 3)
        let meta = CacheMetadata(model: "test-model", corpus: "random", creationCommand: "test")
        let vocab = (0 ..< 100).map { Array("t\($0)".utf8) }
        do {
            let b = try LatentCacheBuilder.start(output: tmp.sub("resumed"), parts: parts, options: opts, metadata: meta, vocabulary: vocab, vocabularySource: "test")
            XCTAssertFalse(b.resumed)
            try corpus.stream(into: b, from: 0, to: 7)     // checkpoints after rows 3 and 6; row 7 is lost
            // The process "dies" here: no finalize.
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("resumed")))
        let b = try LatentCacheBuilder.start(output: tmp.sub("resumed"), parts: parts, options: opts, metadata: meta, vocabulary: vocab, vocabularySource: "test")
        XCTAssertTrue(b.resumed)
        XCTAssertEqual(b.rowsCompleted, 6)
        try corpus.stream(into: b, from: b.rowsCompleted)
        try b.finalize()
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("resumed.partial")))

        let whole = try LatentCacheDirectory.open(tmp.sub("whole"))
        let resumed = try LatentCacheDirectory.open(tmp.sub("resumed"))
        try resumed.verify()
        for (p, q) in zip(whole.parts, resumed.parts) {
            for l in 0 ..< p.latentCount {
                XCTAssertEqual(try p.record(l), try q.record(l))
                XCTAssertEqual(try p.statistics(l), try q.statistics(l))
            }
        }
        // A build with other options does not silently resume over an interrupted one.
        let other = try LatentCacheBuilder.start(output: tmp.sub("x"), parts: parts, options: opts, metadata: meta, vocabulary: vocab, vocabularySource: "test")
        try corpus.stream(into: other, from: 0, to: 3)
        var opts2 = opts
        opts2.examples.topCount = 9
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("x"), parts: parts, options: opts2, metadata: meta, vocabulary: vocab, vocabularySource: "test")) { err in
            guard case CacheError.resumeMismatch = err else { return XCTFail("\(err)") }
        }
        var otherCorpus = meta
        otherCorpus.corpusSHA256 = "abc"
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("x"), parts: parts, options: opts, metadata: otherCorpus, vocabulary: vocab, vocabularySource: "test")) { err in
            guard case CacheError.resumeMismatch = err else { return XCTFail("\(err)") }
        }
        var laterRun = meta
        laterRun.creationCommand = "the same build, run again"
        XCTAssertTrue(try LatentCacheBuilder.start(output: tmp.sub("x"), parts: parts, options: opts, metadata: laterRun, vocabulary: vocab, vocabularySource: "test").resumed)
    }

    func testBuilderRejectsBadInput() throws {
        let tmp = TempDir()
        let parts = [PartSpec(name: "p", latentCount: 4)]
        let vocab = [[UInt8]](repeating: [65], count: 10)
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("a"), parts: parts, options: BuildOptions(rowLength: 33), metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t"))
        let b = try LatentCacheBuilder.start(output: tmp.sub("b"), parts: parts, options: BuildOptions(rowLength: 32), metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")
        XCTAssertThrowsError(try b.beginRow(tokens: [1, 2, 3]))
        XCTAssertThrowsError(try b.beginRow(tokens: [Int](repeating: -1, count: 32)))
        try b.beginRow(tokens: [Int](repeating: 1, count: 32))
        b.add(part: 0, position: 0, latent: 4, activation: 1)   // latent out of range
        XCTAssertThrowsError(try b.endRow()) { err in
            XCTAssertTrue("\(err)".contains("out of range"), "\(err)")
        }
        try FileManager.default.createDirectory(atPath: tmp.sub("exists"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("exists"), parts: parts, options: BuildOptions(rowLength: 32), metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")) { err in
            XCTAssertEqual(err as? CacheError, .destinationExists(path: tmp.sub("exists")))
        }
    }
}

/// Changes one byte of a file in place.
func patchFile(_ path: String, at offset: Int, _ change: (inout UInt8) -> Void) throws {
    var d = try Data(contentsOf: URL(fileURLWithPath: path))
    var b = d[offset]
    change(&b)
    d[offset] = b
    try d.write(to: URL(fileURLWithPath: path))
}

final class RelativePathTests: XCTestCase {
    /// A bare relative output name (Foundation's path helpers crash on some of these).
    func testBuildAndImportWithRelativePaths() throws {
        let tmp = TempDir()
        let old = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(tmp.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(old) }
        let corpus = DenseCorpus.random(rows: 2, rowLength: 32, latentCounts: [3], vocab: 100, seed: 12)
        try corpus.build(at: "c")
        XCTAssertEqual(try LatentCacheDirectory.open("c").parts[0].latentCount, 3)
        let run = try DelphiExport.run(cache: LatentCacheDirectory.open("c"), output: "run", splits: 1)
        XCTAssertEqual(run.splitFiles, 1)
        _ = try DelphiImport.run("run", output: "again", options: DelphiImportOptions())
        XCTAssertEqual(try LatentCacheDirectory.open("again").parts[0].latentCount, 3)
    }
}
