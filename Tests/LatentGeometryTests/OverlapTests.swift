import FeaturescopeCore
import Foundation
import LatentCache
import XCTest
@testable import LatentGeometry

final class OverlapTests: XCTestCase {
    /// A small cache with every activation kept: latents fire on planted groups of tokens so some pairs co-occur
    /// strongly, others partly, others never. Values are multiples of 1/64 (exact in f16).
    static func makeCache(at path: String, keepAll: Bool) throws -> (acts: [[[Float]]], tokens: Int) {
        let rows = 8, rowLength = 64, n = 30, tokens = rows * rowLength
        var rng = SplitMix64(seed: 41)
        var parts: [[[Float]]] = []
        for part in 0 ..< 2 {
            var acts = [[Float]](repeating: [Float](repeating: 0, count: n), count: tokens)
            for t in 0 ..< tokens {
                let group = (t * 7 + part) % 5
                for l in 0 ..< n {
                    let p: Double = l % 5 == group ? 0.6 : 0.03
                    if rng.unit() < p { acts[t][l] = Float(1 + rng.below(320)) / 64 }
                }
            }
            parts.append(acts)
        }
        let examples = ExampleConfiguration(windowLength: 16, quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2, histogramBins: 4, seed: 1)
        let specs = (0 ..< 2).map { PartSpec(name: "blocks.\($0).hook_z", latentCount: n) }
        let b = try LatentCacheBuilder.start(output: path, parts: specs,
                                             options: BuildOptions(examples: examples, rowLength: rowLength, keepAllActivations: keepAll),
                                             metadata: CacheMetadata(model: "test"), vocabulary: (0 ..< 50).map { Array("t\($0)".utf8) },
                                             vocabularySource: "test")
        for r in 0 ..< rows {
            try b.beginRow(tokens: (0 ..< rowLength).map { ($0 * 3 + r) % 50 })
            for p in 0 ..< rowLength {
                for pi in 0 ..< 2 { parts[pi][r * rowLength + p].withUnsafeBufferPointer { b.addDense(part: pi, position: p, activations: $0) } }
            }
            try b.endRow()
        }
        try b.finalize()
        return (parts, tokens)
    }

    static func bruteJaccard(_ x: [[Float]], _ i: Int, _ y: [[Float]], _ j: Int) -> Double {
        var inter = 0, uni = 0
        for t in x.indices {
            let a = x[t][i] > 0, b = y[t][j] > 0
            if a && b { inter += 1 }
            if a || b { uni += 1 }
        }
        return uni == 0 ? 0 : Double(inter) / Double(uni)
    }

    static func bruteCorrelation(_ x: [[Float]], _ i: Int, _ y: [[Float]], _ j: Int) -> Double {
        let n = Double(x.count)
        var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        for t in x.indices {
            let a = Double(x[t][i]), b = Double(y[t][j])
            sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b
        }
        let cov = sab / n - sa / n * sb / n
        return cov / ((saa / n - sa * sa / n / n) * (sbb / n - sb * sb / n / n)).squareRoot()
    }

    func temp() -> String { NSTemporaryDirectory() + "geometry-test-\(getpid())-\(UInt32.random(in: 0 ... .max))" }

    func testJaccardAndCorrelationTablesMatchBruteForce() throws {
        let path = temp()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (acts, _) = try Self.makeCache(at: path, keepAll: true)
        let cache = try LatentCacheDirectory.open(path)
        let s0 = try SparseActivations.load(part: cache.parts[0]), s1 = try SparseActivations.load(part: cache.parts[1])
        XCTAssertEqual(s0.source, .allActivations)
        let k = 4
        let jac = try Overlaps.topK(s0, s0, measure: .jaccard, k: k, sameSet: true)
        let cor = try Overlaps.topK(s0, s1, measure: .correlation, k: k)
        for i in 0 ..< 30 {
            let refJ = (0 ..< 30).filter { $0 != i }.map { ($0, Self.bruteJaccard(acts[0], i, acts[0], $0)) }
                .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k)
            let gotJ = jac.neighbours(of: i)
            XCTAssertEqual(gotJ.map(\.index), refJ.map(\.0), "latent \(i)")
            for (g, e) in zip(gotJ, refJ) { XCTAssertEqual(Double(g.value), e.1, accuracy: 1e-6) }
            let refC = (0 ..< 30).map { ($0, Self.bruteCorrelation(acts[0], i, acts[1], $0)) }
                .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k)
            let gotC = cor.neighbours(of: i)
            XCTAssertEqual(gotC.map(\.index), refC.map(\.0), "latent \(i)")
            for (g, e) in zip(gotC, refC) { XCTAssertEqual(Double(g.value), e.1, accuracy: 1e-4) }
        }
        // The planted groups: latent 0's strongest co-occurring partners in its own part are 5, 10, 15, … (same group).
        XCTAssertTrue(jac.neighbours(of: 0).allSatisfy { $0.index % 5 == 0 })
    }

    func testSampledOnlyCacheFallsBackToStoredWindows() throws {
        let path = temp()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (acts, _) = try Self.makeCache(at: path, keepAll: false)
        let cache = try LatentCacheDirectory.open(path)
        let s = try SparseActivations.load(part: cache.parts[0])
        XCTAssertEqual(s.source, .storedWindows)
        for l in 0 ..< 30 {
            XCTAssertGreaterThan(s.firingCount(l), 0)
            for e in s.offsets[l] ..< s.offsets[l + 1] { XCTAssertEqual(s.values[e], acts[0][Int(s.positions[e])][l]) }
        }
    }

    func testBadListsAreRejected() {
        XCTAssertThrowsError(try SparseActivations(tokenCount: 10, lists: [([3, 2], [1, 1])]))
        XCTAssertThrowsError(try SparseActivations(tokenCount: 10, lists: [([10], [1])]))
        XCTAssertThrowsError(try SparseActivations(tokenCount: 10, lists: [([1], [1, 2])]))
    }
}
