import FeaturescopeCore
import Foundation
import XCTest
@testable import LatentCache

/// Version 2 (compact records, 16-bit tokens) against version 1: same reader results, smaller files.
final class FormatVersionTests: XCTestCase {
    let examples = ExampleConfiguration(windowLength: 32, quantiles: 4, perQuantile: 2, topCount: 5, randomCount: 6, histogramBins: 8, seed: 7)

    func fileSize(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    func testVersion1AndVersion2BuildsReadIdentically() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 8, rowLength: 64, latentCounts: [30, 6], vocab: 100, seed: 31)
        try corpus.build(at: tmp.sub("v1"), examples: examples, formatVersion: 1)
        try corpus.build(at: tmp.sub("v2"), examples: examples)
        let v1 = try LatentCacheDirectory.open(tmp.sub("v1"))
        let v2 = try LatentCacheDirectory.open(tmp.sub("v2"))
        try v1.verify()
        try v2.verify()
        XCTAssertEqual(v1.manifest.version, 1)
        XCTAssertEqual(v2.manifest.version, 2)
        XCTAssertNil(v1.manifest.tokens.bytesPerToken)
        XCTAssertEqual(v2.manifest.tokens.bytesPerToken, 2)
        XCTAssertEqual(v1.tokens.bytesPerToken, 4)
        XCTAssertEqual(v2.tokens.bytesPerToken, 2)
        XCTAssertEqual(try fileSize(tmp.sub("v1/tokens.bin")), 64 + 4 * corpus.tokenCount)
        XCTAssertEqual(try fileSize(tmp.sub("v2/tokens.bin")), 64 + 2 * corpus.tokenCount)
        XCTAssertEqual(try v2.tokens.tokens(start: 0, count: corpus.tokenCount), corpus.tokens.flatMap { $0 })
        XCTAssertEqual(try v1.tokens.tokens(start: 0, count: corpus.tokenCount), corpus.tokens.flatMap { $0 })

        var nonEmptyRecords = 0
        for (pi, (a, b)) in zip(v1.parts, v2.parts).enumerated() {
            XCTAssertEqual(a.formatVersion, 1)
            XCTAssertEqual(b.formatVersion, 2)
            for l in 0 ..< a.latentCount {
                let ra = try a.record(l), rb = try b.record(l)
                XCTAssertEqual(ra, rb, "part \(pi) latent \(l)")
                if !ra.top.isEmpty { nonEmptyRecords += 1 }
                XCTAssertEqual(try a.statistics(l), try b.statistics(l))
                let xa = try XCTUnwrap(try a.allActivations(l)), xb = try XCTUnwrap(try b.allActivations(l))
                XCTAssertEqual(xa.positions, xb.positions)
                XCTAssertEqual(xa.activations, xb.activations)
                let ea = try a.exampleWindows(l), eb = try b.exampleWindows(l)
                XCTAssertEqual(ea.activating, eb.activating)
                XCTAssertEqual(ea.nonActivating, eb.nonActivating)
            }
            // Both are right, not just equal.
            try assertPartMatches(b, acts: corpus.acts[pi], tokens: corpus.tokens, examples: examples)
            XCTAssertLessThan(try fileSize(b.directory + "/records.bin"), try fileSize(a.directory + "/records.bin"))
        }
        XCTAssertGreaterThan(nonEmptyRecords, 20)
        // Annotations work the same on both (version 1 keeps its header version when appended to).
        for c in [v1, v2] {
            try c.parts[0].appendAnnotation(Annotation(kind: .explanation, latent: 3, method: "e", model: "m", text: "hello"))
        }
        for p in [tmp.sub("v1"), tmp.sub("v2")] {
            let c = try LatentCacheDirectory.open(p)
            XCTAssertEqual(try c.parts[0].summary(3).explanationPreview, "hello")
            try c.verify()
        }
    }

    func testVersion2IsMuchSmallerForSparseWindows() throws {
        // Sparse latents (as in real SAEs): a kept window holds a few nonzero activations.
        let tmp = TempDir()
        var corpus = DenseCorpus.random(rows: 16, rowLength: 64, latentCounts: [12], vocab: 100, seed: 32)
        for t in 0 ..< corpus.tokenCount { for l in 0 ..< 12 where (t * 7 + l * 13) % 19 != 0 { corpus.acts[0][t][l] = 0 } }
        let ex = ExampleConfiguration(windowLength: 32, quantiles: 10, perQuantile: 2, topCount: 20, randomCount: 20)
        try corpus.build(at: tmp.sub("v1"), examples: ex, keepAll: false, formatVersion: 1)
        try corpus.build(at: tmp.sub("v2"), examples: ex, keepAll: false)
        let a = try LatentCacheDirectory.open(tmp.sub("v1")).parts[0], b = try LatentCacheDirectory.open(tmp.sub("v2")).parts[0]
        for l in 0 ..< 12 { XCTAssertEqual(try a.record(l), try b.record(l)) }
        try assertPartMatches(b, acts: corpus.acts[0], tokens: corpus.tokens, examples: ex)
        let s1 = try fileSize(a.directory + "/records.bin"), s2 = try fileSize(b.directory + "/records.bin")
        XCTAssertLessThan(Double(s2), 0.5 * Double(s1), "v1 \(s1) bytes, v2 \(s2) bytes")
    }

    func testLargeVocabularyKeeps32BitTokens() throws {
        let tmp = TempDir()
        var corpus = DenseCorpus.random(rows: 3, rowLength: 32, latentCounts: [4], vocab: 100, seed: 33)
        corpus.tokens[1][5] = 69_999
        corpus.tokens[2][0] = 65_536
        let vocab = (0 ..< 70_000).map { [UInt8(truncatingIfNeeded: $0 % 26 + 65)] }
        try corpus.build(at: tmp.sub("c"), examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2),
                         vocabulary: vocab)
        let c = try LatentCacheDirectory.open(tmp.sub("c"))
        try c.verify()
        XCTAssertEqual(c.manifest.version, 2)
        XCTAssertEqual(c.manifest.tokens.bytesPerToken, 4)
        XCTAssertEqual(c.tokens.bytesPerToken, 4)
        XCTAssertEqual(try fileSize(tmp.sub("c/tokens.bin")), 64 + 4 * corpus.tokenCount)
        XCTAssertEqual(try c.tokens.tokens(start: 0, count: corpus.tokenCount), corpus.tokens.flatMap { $0 })
        try assertPartMatches(c.parts[0], acts: corpus.acts[0], tokens: corpus.tokens,
                              examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
    }

    func testSixteenBitTokenStoreRejectsWideIds() throws {
        let tmp = TempDir()
        let parts = [PartSpec(name: "p", latentCount: 2)]
        let vocab = [[UInt8]](repeating: [65], count: 65_536)
        var row = [Int](repeating: 1, count: 32)
        row[3] = 65_535
        let v2 = try LatentCacheBuilder.start(output: tmp.sub("v2"), parts: parts, options: BuildOptions(rowLength: 32),
                                              metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")
        XCTAssertEqual(v2.bytesPerToken, 2)
        try v2.beginRow(tokens: row)     // 65,535 is the largest 16-bit id
        try v2.endRow()
        row[3] = 65_536
        XCTAssertThrowsError(try v2.beginRow(tokens: row)) { err in
            guard case CacheError.invalidArgument(let m) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("65536") && m.contains("16-bit"), m)
        }
        try v2.finalize()
        XCTAssertEqual(try LatentCacheDirectory.open(tmp.sub("v2")).tokens.tokens(start: 0, count: 32)[3], 65_535)
        // Version 1 always stores u32.
        let v1 = try LatentCacheBuilder.start(output: tmp.sub("v1"), parts: parts, options: BuildOptions(rowLength: 32, formatVersion: 1),
                                              metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")
        XCTAssertEqual(v1.bytesPerToken, 4)
        try v1.beginRow(tokens: row)
        try v1.endRow()
        try v1.finalize()
        XCTAssertEqual(try LatentCacheDirectory.open(tmp.sub("v1")).tokens.tokens(start: 0, count: 32)[3], 65_536)
    }

    func testWindowLengthAndVersionLimits() throws {
        let tmp = TempDir()
        let parts = [PartSpec(name: "p", latentCount: 2)]
        let vocab = [[UInt8]](repeating: [65], count: 10)
        let long = ExampleConfiguration(windowLength: 256, quantiles: 2)
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("a"), parts: parts, options: BuildOptions(examples: long, rowLength: 512),
                                                          metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")) { err in
            guard case CacheError.invalidArgument(let m) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("256") && m.contains("255"), m)
        }
        XCTAssertThrowsError(try LatentCacheBuilder.start(output: tmp.sub("b"), parts: parts, options: BuildOptions(rowLength: 32, formatVersion: 3),
                                                          metadata: CacheMetadata(), vocabulary: vocab, vocabularySource: "t")) { err in
            guard case CacheError.invalidArgument(let m) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(m.contains("format version 3"), m)
        }
        // Version 1 has no u8 positions: 256-token windows still build and read there.
        let corpus = DenseCorpus.random(rows: 2, rowLength: 512, latentCounts: [3], vocab: 10, seed: 34)
        try corpus.build(at: tmp.sub("v1"), examples: long, formatVersion: 1)
        let part = try LatentCacheDirectory.open(tmp.sub("v1")).parts[0]
        try assertPartMatches(part, acts: corpus.acts[0], tokens: corpus.tokens, examples: long)
        // The largest version 2 window works.
        let widest = ExampleConfiguration(windowLength: 255, quantiles: 2, perQuantile: 1, topCount: 2, randomCount: 1)
        let c2 = DenseCorpus.random(rows: 2, rowLength: 510, latentCounts: [3], vocab: 10, seed: 35)
        try c2.build(at: tmp.sub("v2"), examples: widest)
        try assertPartMatches(try LatentCacheDirectory.open(tmp.sub("v2")).parts[0], acts: c2.acts[0], tokens: c2.tokens, examples: widest)
    }

    func testOldBuildStateDecodesAsVersion1() throws {
        let options = BuildOptions(rowLength: 64, formatVersion: 2)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(options)) as? [String: Any])
        XCTAssertEqual(json["formatVersion"] as? Int, 2)
        XCTAssertEqual(try JSONDecoder().decode(BuildOptions.self, from: JSONEncoder().encode(options)), options)
        json["formatVersion"] = nil
        let old = try JSONDecoder().decode(BuildOptions.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old.formatVersion, 1)
        XCTAssertNotEqual(old, options, "an interrupted pre-version-2 build must not be resumed as a version 2 one")
    }
}

/// The record codec on its own: both versions give back exactly what was encoded.
final class RecordCodecTests: XCTestCase {
    func content(windows: Int, L: Int, tokenCount: Int, rng: inout SplitMix64) -> RecordContent {
        let available = tokenCount / L
        var starts = Set<Int>()
        while starts.count < windows { starts.insert(Int(rng.next() % UInt64(available))) }
        let table = starts.sorted().map { w -> RecordContent.Window in
            var acts = [UInt16](repeating: 0, count: L)
            for j in 0 ..< L where rng.next() % 3 == 0 { acts[j] = UInt16(1 + rng.next() % 0x7BFF) }
            return RecordContent.Window(start: UInt64(w * L), maxActivation: Float(rng.next() % 1000) / 10, activations: acts)
        }
        let W = UInt64(windows)
        let quantiles = (0 ..< 3).map { q in
            RecordContent.Quantile(sliceSize: UInt32(q + 4), strongest: Float(q), weakest: Float(q) / 2,
                                   windowIndices: (0 ..< 2).map { _ in UInt32(rng.next() % W) })
        }
        return RecordContent(latent: 9, windowLength: L, activeWindowCount: 1234, histogramUpper: 3.5, histogram: [1, 0, 7, 2],
                             quantiles: quantiles, windows: table, top: (0 ..< min(windows, 5)).map { UInt32($0) },
                             random: (0 ..< 4).map { _ in UInt64(Int(rng.next() % UInt64(available)) * L) })
    }

    func decode(_ bytes: [UInt8], version: Int, tokenCount: Int) throws -> RecordContent {
        try bytes.withUnsafeBytes { try RecordContent.decode($0, version: version, latent: 9, tokenCount: tokenCount, path: "test") }
    }

    func testBothVersionsRoundTrip() throws {
        var rng = SplitMix64(seed: 5)
        for L in [1, 7, 32, 255] {
            let c = content(windows: 12, L: L, tokenCount: 300 * L, rng: &rng)
            for v in [1, 2] { XCTAssertEqual(try decode(c.encoded(version: v), version: v, tokenCount: 300 * L), c, "L \(L) v\(v)") }
            let v2 = c.encoded(version: 2)
            XCTAssertEqual(v2.withUnsafeBytes { $0.u32(36) }, 0, "16-bit indices")
            XCTAssertLessThan(v2.count, c.encoded(version: 1).count)
        }
    }

    func testManyWindowsUse32BitIndices() throws {
        var rng = SplitMix64(seed: 6)
        let tokenCount = 80_000
        var c = content(windows: 70_000, L: 1, tokenCount: tokenCount, rng: &rng)
        c.top = [69_999, 65_536, 0]
        c.quantiles[0].windowIndices = [65_535, 65_537]
        let bytes = c.encoded(version: 2)
        XCTAssertEqual(bytes.withUnsafeBytes { $0.u32(36) }, RecordContent.flagWideIndices)
        XCTAssertEqual(try decode(bytes, version: 2, tokenCount: tokenCount), c)
        // Clearing the flag would make the indices unaddressable: rejected, not misread.
        var cleared = bytes
        cleared[36] = 0
        XCTAssertThrowsError(try decode(cleared, version: 2, tokenCount: tokenCount)) { err in
            guard case CacheError.corrupt(_, let reason) = err else { return XCTFail("\(err)") }
            XCTAssertTrue(reason.contains("16-bit indices"), reason)
        }
    }
}
