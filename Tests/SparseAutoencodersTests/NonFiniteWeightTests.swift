import Foundation
@testable import SparseAutoencoders
import TestSupport
import XCTest

/// SAEs with NaN or ±Inf weights are refused at load, naming the tensor (issue 16, D8).
final class NonFiniteWeightTests: XCTestCase {
    var scratch: SAEScratch!
    override func setUpWithError() throws { scratch = try SAEScratch() }
    override func tearDown() { scratch = nil }

    private func assertRefused(_ folder: String, tensor: String, index: Int, file: StaticString = #filePath, line: UInt = #line) {
        assertSAEError(try SparseAutoencoder.load(folder: folder), tensor, file: file, line: line) {
            if case let .nonFiniteWeight(p, t, i, _) = $0 { return t == tensor && i == index && p.hasSuffix(".safetensors") }
            return false
        }
    }

    func testNaNAndInfinityInSAELensWeightsAreRefused() throws {
        let cases: [(String, Int, Float, WritableKeyPath<SAEFixtureWeights, [Float]>)] = [
            ("W_enc", 5, .nan, \.wEnc), ("W_dec", 17, .infinity, \.wDec), ("b_dec", 0, -.infinity, \.bDec), ("b_enc", 2, .nan, \.bEnc),
        ]
        for (name, index, value, path) in cases {
            var w = SAEFixtureWeights.random(dIn: 4, dSAE: 6, seed: 3)
            w[keyPath: path][index] = value
            let folder = scratch.folder(name)
            try SAEFixtures.writeSAELens(folder: folder, weights: w)
            assertRefused(folder, tensor: name, index: index)
        }
    }

    func testNonFiniteSparsifyAndHalfPrecisionWeightsAreRefused() throws {
        var w = SAEFixtureWeights.random(dIn: 4, dSAE: 6, seed: 4)
        w.bDec[3] = .nan
        let sparsify = scratch.folder("sp") + "/layers.2"
        try SAEFixtures.writeSparsify(folder: sparsify, weights: w, k: 2)
        assertRefused(sparsify, tensor: "b_dec", index: 3)
        // 70,000 overflows F16 to +Inf when written.
        var h = SAEFixtureWeights.random(dIn: 4, dSAE: 6, seed: 5)
        h.wEnc[9] = 70_000
        let half = scratch.folder("f16")
        try SAEFixtures.writeSAELens(folder: half, weights: h, dtype: .F16)
        assertRefused(half, tensor: "W_enc", index: 9)
    }

    func testFiniteWeightsStillLoad() throws {
        let folder = scratch.folder("ok")
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 4, dSAE: 6, seed: 6))
        XCTAssertEqual(try SparseAutoencoder.load(folder: folder).config.dSAE, 6)
    }

    /// The scan finds the first bad value anywhere and costs well under the file read it follows.
    func testScanFindsEveryPositionAndItsCost() {
        var values = [Float](repeating: 0.5, count: 4_000_000)
        XCTAssertNil(TensorSource.firstNonFinite(values))
        for i in [0, 63, 64, 1_000_001, values.count - 1] {
            values[i] = .nan
            XCTAssertEqual(TensorSource.firstNonFinite(values), i)
            values[i] = 0.5
        }
        // Best of five, so a loaded machine (another build beside the tests) does not fail it; the bound is for an
        // unoptimised debug build and catches a scan that went quadratic or per-element allocating, not a few %.
        var best = Double.infinity
        for _ in 0 ..< 5 {
            let start = DispatchTime.now().uptimeNanoseconds
            XCTAssertNil(TensorSource.firstNonFinite(values))
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(values.count))
        }
        print("non-finite scan: \(String(format: "%.3f", best)) ns per weight (best of 5)")
        XCTAssertLessThan(best, 50, "the scan must stay a small fraction of decoding the weights")
    }
}
