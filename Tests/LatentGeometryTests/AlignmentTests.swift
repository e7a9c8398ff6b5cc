import FeaturescopeCore
import Foundation
import SparseAutoencoders
import XCTest
@testable import LatentGeometry

final class AlignmentTests: XCTestCase {
    static var sampleL3: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("sample-data/saes/L3").path
    }

    /// A permuted, noisy copy of a decoder: row i of the copy is row perm[i]'s direction plus Gaussian noise with
    /// `noise` times its norm spread over the dimensions (cosine to the original ≈ 1 / √(1 + noise²)).
    static func permutedNoisy(_ w: [Float], rows: Int, dim: Int, noise: Float, seed: UInt64) -> (copy: [Float], perm: [Int]) {
        var perm = Array(0 ..< rows)
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&perm)
        var g = Xoshiro256StarStar(seed: seed &+ 1)
        var out = [Float](repeating: 0, count: w.count)
        for i in 0 ..< rows {
            let src = perm[i]
            var n: Float = 0
            for j in 0 ..< dim { n += w[src * dim + j] * w[src * dim + j] }
            let sd = noise * n.squareRoot() / Float(dim).squareRoot()
            for j in 0 ..< dim { out[i * dim + j] = w[src * dim + j] + sd * g.nextGaussian() }
        }
        return (out, perm)
    }

    func testRecoversAPermutationOfTheSampleLayer3SAE() throws {
        let sae = try SparseAutoencoder.load(folder: Self.sampleL3, options: SAELoadOptions(computeDigest: false))
        XCTAssertEqual(sae.dSAE, 4608)
        let (b, perm) = Self.permutedNoisy(sae.decoderWeight, rows: sae.dSAE, dim: sae.dIn, noise: 0.5, seed: 21)
        let r = try LatentAlignment.byDecoder(a: sae.decoderWeight, b: b, dim: sae.dIn)
        XCTAssertEqual(r.summary.solver, "sparse")
        // Row i of B came from latent perm[i] of A, so A's latent perm[i] should match B's i.
        var inverse = [Int](repeating: -1, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        let correct = r.matches.filter { inverse[$0.a] == $0.b }.count
        XCTAssertGreaterThanOrEqual(correct, 4608 - 5, "recovered \(correct) of 4608")
        XCTAssertEqual(r.summary.matched + r.summary.unmatchedA, 4608)
        XCTAssertGreaterThan(r.summary.medianSimilarity ?? 0, 0.85)
    }

    func testDenseSolverOnASubsetAgreesAndRandomRowsStayUnmatched() throws {
        let sae = try SparseAutoencoder.load(folder: Self.sampleL3, options: SAELoadOptions(computeDigest: false))
        let n = 400, dim = sae.dIn
        let a = Array(sae.decoderWeight[0 ..< n * dim])
        var (b, perm) = Self.permutedNoisy(a, rows: n, dim: dim, noise: 0.3, seed: 31)
        // Replace 20 rows of B by random directions: their A latents have no true partner.
        var g = Xoshiro256StarStar(seed: 32)
        for i in 0 ..< 20 { for j in 0 ..< dim { b[i * dim + j] = g.nextGaussian() } }
        let orphans = Set(perm.prefix(20))
        let opts = AlignmentOptions(minimumSimilarity: 0.5)
        let dense = try LatentAlignment.byDecoder(a: a, b: b, dim: dim, options: opts)
        var sparseOpts = opts
        sparseOpts.denseLimit = 0
        let sparse = try LatentAlignment.byDecoder(a: a, b: b, dim: dim, options: sparseOpts)
        XCTAssertEqual(dense.summary.solver, "dense")
        XCTAssertEqual(sparse.summary.solver, "sparse")
        XCTAssertEqual(Set(dense.unmatchedA), orphans)
        XCTAssertEqual(Set(sparse.unmatchedA), orphans)
        XCTAssertEqual(Set(dense.unmatchedB), Set(0 ..< 20))
        XCTAssertEqual(dense.matches.count, n - 20)
        for m in dense.matches { XCTAssertEqual(perm[m.b], m.a) }
        // The same pairs; similarities to float rounding (the sparse search multiplies in other tiles).
        XCTAssertEqual(dense.matches.map { [$0.a, $0.b] }, sparse.matches.map { [$0.a, $0.b] })
        for (d, s) in zip(dense.matches, sparse.matches) { XCTAssertEqual(d.similarity, s.similarity, accuracy: 1e-5) }
        XCTAssertEqual(dense.summary.pairsAbove["0.9"], dense.matches.filter { $0.similarity >= 0.9 }.count)
    }
}
