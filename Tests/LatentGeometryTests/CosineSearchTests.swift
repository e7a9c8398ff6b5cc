import FeaturescopeCore
import XCTest
@testable import LatentGeometry

final class CosineSearchTests: XCTestCase {
    static func randomMatrix(_ rows: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var rng = Xoshiro256StarStar(seed: seed)
        return (0 ..< rows * dim).map { _ in rng.nextGaussian() }
    }

    /// Top-k by brute force in Double, ties broken by the smaller index.
    static func bruteForce(_ q: [Float], _ k: [Float], dim: Int, top: Int, excludeSelf: Bool) -> [[(index: Int, value: Float)]] {
        let nq = q.count / dim, nk = k.count / dim
        func norm(_ m: [Float], _ r: Int) -> Double { (0 ..< dim).reduce(0.0) { $0 + Double(m[r * dim + $1]) * Double(m[r * dim + $1]) }.squareRoot() }
        return (0 ..< nq).map { i in
            var all: [(index: Int, value: Double)] = []
            for j in 0 ..< nk where !(excludeSelf && i == j) {
                let d = (0 ..< dim).reduce(0.0) { $0 + Double(q[i * dim + $1]) * Double(k[j * dim + $1]) }
                let n = norm(q, i) * norm(k, j)
                all.append((j, n > 0 ? d / n : 0))
            }
            all.sort { $0.value != $1.value ? $0.value > $1.value : $0.index < $1.index }
            return all.prefix(top).map { ($0.index, Float($0.value)) }
        }
    }

    func testTopKListKeepsTheLargestInOrder() {
        var list = TopKList(capacity: 3)
        for (v, i) in [(0.5, 4), (0.9, 1), (0.1, 0), (0.9, 0), (0.7, 2), (-1, 3)] as [(Float, Int32)] { list.insert(v, i) }
        XCTAssertEqual(Array(list.values.prefix(list.count)), [0.9, 0.9, 0.7])
        XCTAssertEqual(Array(list.indices.prefix(list.count)), [0, 1, 2])
        XCTAssertEqual(list.threshold, 0.7)
    }

    func testExactBlockedSearchMatchesBruteForce() throws {
        let dim = 24
        let q = Self.randomMatrix(70, dim, seed: 1), k = Self.randomMatrix(53, dim, seed: 2)
        // Blocks smaller than both matrices (and not dividing them) so every edge of the tiling is exercised.
        let opts = CosineSearchOptions(k: 5, blockRows: 16, blockColumns: 12)
        let t = try CosineSearch.topK(queries: q, keys: k, dim: dim, options: opts)
        let ref = Self.bruteForce(q, k, dim: dim, top: 5, excludeSelf: false)
        for r in 0 ..< 70 {
            let got = t.neighbours(of: r)
            XCTAssertEqual(got.map(\.index), ref[r].map(\.index), "row \(r)")
            for (g, e) in zip(got, ref[r]) { XCTAssertEqual(g.value, e.value, accuracy: 1e-5) }
        }
    }

    func testSelfSearchExcludesTheRowAndHandlesZeroRows() throws {
        let dim = 16
        var m = Self.randomMatrix(40, dim, seed: 3)
        for j in 0 ..< dim { m[7 * dim + j] = 0 }  // a dead latent: similarity 0 to everything
        let t = try CosineSearch.topK(queries: m, keys: m, dim: dim, options: CosineSearchOptions(k: 4, excludeSelf: true, blockRows: 9, blockColumns: 11))
        let ref = Self.bruteForce(m, m, dim: dim, top: 4, excludeSelf: true)
        for r in 0 ..< 40 {
            XCTAssertFalse(t.neighbours(of: r).contains { $0.index == r })
            XCTAssertEqual(t.neighbours(of: r).map(\.index), ref[r].map(\.index), "row \(r)")
        }
        XCTAssertTrue(t.neighbours(of: 0).allSatisfy { $0.index != 7 || $0.value == 0 })
    }

    func testProjectedSearchFindsPlantedNeighbours() throws {
        // Keys are noisy copies of the queries in shuffled order: each query's true neighbour (cos ≈ 0.95) must
        // survive the 32-dimensional sketch and come first after exact re-scoring.
        let dim = 256, n = 3000
        let q = Self.randomMatrix(n, dim, seed: 4)
        var perm = Array(0 ..< n)
        var rng = SplitMix64(seed: 5)
        rng.shuffle(&perm)
        var g = Xoshiro256StarStar(seed: 6)
        var k = [Float](repeating: 0, count: n * dim)
        for i in 0 ..< n { for j in 0 ..< dim { k[perm[i] * dim + j] = q[i * dim + j] + 0.3 * g.nextGaussian() } }
        let t = try CosineSearch.topK(queries: q, keys: k, dim: dim, options: CosineSearchOptions(k: 3, projection: 32, candidates: 16))
        var hits = 0
        for i in 0 ..< n where t.neighbours(of: i).first?.index == perm[i] { hits += 1 }
        XCTAssertEqual(hits, n)
        let first = t.neighbours(of: 0)[0]
        let ref = Self.bruteForce(Array(q[0 ..< dim]), k, dim: dim, top: 1, excludeSelf: false)[0][0]
        XCTAssertEqual(first.value, ref.value, accuracy: 1e-5)
    }

    func testBothWaysInOnePassEqualsTwoSearches() throws {
        let dim = 20
        let a = Self.randomMatrix(45, dim, seed: 7), b = Self.randomMatrix(38, dim, seed: 8)
        for projection in [nil, 8] as [Int?] {
            // Tiles that cut both matrices unevenly, and a width that is not a multiple of 16 (the column path's lanes).
            let o = CosineSearchOptions(k: 4, projection: projection, candidates: 12, blockRows: 13, blockColumns: 21)
            let (ab, ba) = try CosineSearch.topKBothWays(a, b, dim: dim, options: o)
            // Same neighbours; scores equal up to the rounding of a·b against b·a in BLAS.
            for (got, want) in [(ab, try CosineSearch.topK(queries: a, keys: b, dim: dim, options: o)),
                                (ba, try CosineSearch.topK(queries: b, keys: a, dim: dim, options: o))] {
                XCTAssertEqual(got.indices, want.indices)
                for (x, y) in zip(got.values, want.values) { XCTAssertEqual(x, y, accuracy: 1e-6) }
            }
        }
        let ref = Self.bruteForce(b, a, dim: dim, top: 4, excludeSelf: false)
        let (_, ba) = try CosineSearch.topKBothWays(a, b, dim: dim, options: CosineSearchOptions(k: 4, blockRows: 13, blockColumns: 21))
        for r in 0 ..< 38 { XCTAssertEqual(ba.neighbours(of: r).map(\.index), ref[r].map(\.index)) }
    }

    func testShapeErrors() {
        XCTAssertThrowsError(try CosineSearch.topK(queries: [1, 2, 3], keys: [1, 2], dim: 2, options: CosineSearchOptions()))
        XCTAssertThrowsError(try CosineSearch.topK(queries: [1, 2], keys: [1, 2, 3, 4], dim: 2, options: CosineSearchOptions(excludeSelf: true)))
    }
}
