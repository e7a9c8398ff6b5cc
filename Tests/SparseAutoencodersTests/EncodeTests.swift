import FeaturescopeCore
import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// Encode/decode against hand-computed values per architecture, and the BLAS path against the reference.
final class EncodeTests: XCTestCase {
    var scratch: SAEScratch!
    override func setUpWithError() throws { scratch = try SAEScratch() }
    override func tearDown() { scratch = nil }

    func tiny(_ arch: String, k: Int? = nil, extra: [String: any Sendable] = [:]) throws -> SparseAutoencoder {
        let folder = scratch.folder("\(arch)-\(k ?? 0)-\(extra.count)")
        try SAEFixtures.writeSAELens(folder: folder, weights: TinySAE.weights(), architecture: arch, k: k, extraConfig: extra)
        return try SparseAutoencoder.load(folder: folder)
    }

    func testStandard() throws {
        let sae = try tiny("standard")
        let c = try sae.encode(TinySAE.x, count: 2)
        assertEntries(c, 0, [(2, 4), (0, 2.5), (1, 1.5)])
        assertEntries(c, 1, [(2, 1)])
        XCTAssertEqual(c.offsets, [0, 3, 4])
        // Decode: 2.5·[1,0] + 1.5·[0,1] + 4·[1,1] + [1,0] = [7.5, 5.5]; token 2: [1,1] + [1,0] = [2, 1].
        XCTAssertEqual(try sae.decode(c), [7.5, 5.5, 2, 1])
        XCTAssertEqual(try sae.decodeDense(sae.encodeDense(TinySAE.x, count: 2), count: 2), [7.5, 5.5, 2, 1])
        XCTAssertEqual(try sae.preActivations(TinySAE.x, count: 2), [2.5, 1.5, 4, -0.5, -0.5, 1])
    }

    func testTopK() throws {
        let sae = try tiny("topk", k: 2)
        let c = try sae.encode(TinySAE.x, count: 2)
        assertEntries(c, 0, [(2, 4), (0, 2.5)])
        // top-2 of [−0.5, −0.5, 1] is {1, −0.5}; relu leaves only latent 2.
        assertEntries(c, 1, [(2, 1)])
        XCTAssertEqual(try sae.decode(c), [7.5, 4, 2, 1])
    }

    func testJumpReLUIsStrictAboveThreshold() throws {
        let sae = try tiny("jumprelu")
        let c = try sae.encode(TinySAE.x, count: 2)
        // thresholds [3, 1, 1]: 2.5 ≤ 3 is off, 1.5 > 1 and 4 > 1 are on; token 2's 1 is not > 1.
        assertEntries(c, 0, [(2, 4), (1, 1.5)])
        assertEntries(c, 1, [])
    }

    func testGated() throws {
        let sae = try tiny("gated")
        let c = try sae.encode(TinySAE.x, count: 2)
        // gate = raw + b_gate = [2.5, 1.5, 4] all open; mag = raw·exp(r_mag) + b_mag = [2, 2·2 − 1, 4 − 0.5].
        assertEntries(c, 0, [(2, 3.5), (1, 3), (0, 2)])
        // gate = [−0.5, −0.5, 1]: only latent 2; mag = 1 − 0.5.
        assertEntries(c, 1, [(2, 0.5)])
    }

    func testSparsifyReluBeforeTopK() throws {
        let folder = scratch.folder("layers.3")
        try SAEFixtures.writeSparsify(folder: folder, weights: TinySAE.weights(), k: 2)
        let sae = try SparseAutoencoder.load(folder: folder)
        XCTAssertTrue(sae.config.reluBeforeTopK)
        let c = try sae.encode(TinySAE.x, count: 2)
        assertEntries(c, 0, [(2, 4), (0, 2.5)])
        // relu first: [0, 0, 1], then top-2 keeps latent 2 and a zero, which is not stored.
        assertEntries(c, 1, [(2, 1)])
        XCTAssertEqual(try sae.decode(c), [7.5, 4, 2, 1])
    }

    func testApplyBDecToInputOff() throws {
        let sae = try tiny("standard", extra: ["apply_b_dec_to_input": false])
        // x·W_enc + b_enc for x₁ = [3, 2]: [3, 2, 3] + [0.5, −0.5, 0].
        XCTAssertEqual(try sae.preActivations([3, 2], count: 1), [3.5, 1.5, 3])
    }

    func testRescaleActsByDecoderNorm() throws {
        var w = TinySAE.weights()
        w.wDec = [3, 4, 0, 1, 1, 0]   // row norms 5, 1, 1
        let folder = scratch.folder("rescale")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, architecture: "topk", k: 2,
                                     extraConfig: ["rescale_acts_by_decoder_norm": true])
        let sae = try SparseAutoencoder.load(folder: folder)
        let c = try sae.encode([3, 2], count: 1)
        // pre·‖W_dec‖ = [12.5, 1.5, 4] → top-2 {0, 2}.
        assertEntries(c, 0, [(0, 12.5), (2, 4)], accuracy: 1e-4)
        // decode divides by the norm again: 12.5/5·[3,4] + 4·[1,0] + [1,0] = [12.5, 10].
        let r = try sae.decode(c)
        XCTAssertEqual(r[0], 12.5, accuracy: 1e-4)
        XCTAssertEqual(r[1], 10, accuracy: 1e-4)
    }

    func identitySAE(norm: String) throws -> SparseAutoencoder {
        let w = SAEFixtureWeights(dIn: 2, dSAE: 2, wEnc: [1, 0, 0, 1], bEnc: [0, 0], wDec: [1, 0, 0, 1], bDec: [0, 0])
        let folder = scratch.folder("norm-\(norm)")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, extraConfig: ["normalize_activations": norm])
        return try SparseAutoencoder.load(folder: folder)
    }

    func testConstantNormRescale() throws {
        let sae = try identitySAE(norm: "constant_norm_rescale")
        let c = try sae.encode([3, 4], count: 1)
        // x·√2/5
        assertEntries(c, 0, [(1, 4 * Float(2).squareRoot() / 5), (0, 3 * Float(2).squareRoot() / 5)])
        let r = try sae.decode(c)
        XCTAssertEqual(r[0], 3, accuracy: 1e-5)
        XCTAssertEqual(r[1], 4, accuracy: 1e-5)
    }

    func testLayerNorm() throws {
        let sae = try identitySAE(norm: "layer_norm")
        let c = try sae.encode([1, 3], count: 1)
        // mean 2, unbiased std √2: [−1, 1]/(√2 + 1e-5) → only latent 1 ≈ 0.7071.
        assertEntries(c, 0, [(1, 1 / (Float(2).squareRoot() + 1e-5))])
        let r = try sae.decode(c)
        XCTAssertEqual(r[0], 2, accuracy: 1e-4, "the relu dropped the negative half, so x₀ decodes to the mean")
        XCTAssertEqual(r[1], 3, accuracy: 1e-4)
    }

    func testExpectedAverageOnlyInNeedsAndFoldsScale() throws {
        let w = TinySAE.weights()
        let folder = scratch.folder("eaoi")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, extraConfig: ["normalize_activations": "expected_average_only_in"])
        assertSAEError(try SparseAutoencoder.load(folder: folder), "no factor") {
            if case .needsScalingFactor = $0 { return true }
            return false
        }
        let scaled = try SparseAutoencoder.load(folder: folder, options: SAELoadOptions(activationScale: 2))
        XCTAssertEqual(scaled.foldedActivationScale, 2)
        XCTAssertEqual(scaled.config.normalizeActivations, .none)
        let plain = try tiny("standard")
        // Scaled SAE on x equals the unscaled SAE on 2x; its reconstruction is in x's units (÷2).
        let a = try scaled.encode([1.5, 1], count: 1)
        let b = try plain.encode([3, 2], count: 1)
        XCTAssertEqual(a.indices, b.indices)
        XCTAssertLessThan(maxAbsDiff(a.values, b.values), 1e-5)
        XCTAssertLessThan(maxAbsDiff(try scaled.decode(a), try plain.decode(b).map { $0 / 2 }), 1e-5)
    }

    func testKeepTopCapsNonTopK() throws {
        let sae = try tiny("standard")
        let c = try sae.encode(TinySAE.x, count: 2, keepTop: 1)
        assertEntries(c, 0, [(2, 4)])
        assertEntries(c, 1, [(2, 1)])
    }

    func testInputShapeErrors() throws {
        let sae = try tiny("standard")
        assertSAEError(try sae.encode([1, 2, 3], count: 2), "short input") {
            if case let .inputShape(_, e, f) = $0 { return e == 4 && f == 3 }
            return false
        }
        assertSAEError(try sae.decodeDense([1], count: 1), "dense decode") {
            if case .inputShape = $0 { return true }
            return false
        }
        let empty = try sae.encode([], count: 0)
        XCTAssertEqual(empty.tokenCount, 0)
        XCTAssertEqual(try sae.decode(empty), [])
    }

    // MARK: - BLAS path vs reference on random data

    func testFastMatchesReferenceForEveryArchitecture() throws {
        let dIn = 24, dSAE = 96, n = 300   // 300 rows spans three encoder chunks
        var rng = SplitMix64(seed: 42)
        let x = rng.floats(n * dIn, -2, 2)
        let cases: [(String, Int?, [String: any Sendable])] = [
            ("standard", nil, [:]), ("topk", 8, [:]), ("jumprelu", nil, [:]), ("gated", nil, [:]),
            ("standard", nil, ["normalize_activations": "constant_norm_rescale"]),
            ("topk", 5, ["normalize_activations": "layer_norm"]),
            ("standard", nil, ["apply_b_dec_to_input": false]),
        ]
        for (i, (arch, k, extra)) in cases.enumerated() {
            let folder = scratch.folder("rand\(i)")
            try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: dIn, dSAE: dSAE, seed: UInt64(i)),
                                         architecture: arch, k: k, extraConfig: extra)
            let sae = try SparseAutoencoder.load(folder: folder)
            for keep in [nil, 3] as [Int?] {
                let fast = try sae.encode(x, count: n, keepTop: keep)
                let ref = try sae.referenceEncode(x, count: n, keepTop: keep)
                XCTAssertEqual(fast.offsets, ref.offsets, "\(arch) \(extra) keep \(String(describing: keep))")
                XCTAssertEqual(fast.indices, ref.indices, "\(arch) \(extra)")
                let diff = maxAbsDiff(fast.values, ref.values)
                XCTAssertLessThan(diff, 1e-4, "\(arch) \(extra): worst value mismatch \(diff)")
                XCTAssertLessThan(maxAbsDiff(try sae.decode(fast), sae.referenceDecode(ref)), 1e-3, "\(arch) decode")
                if let k { XCTAssertLessThanOrEqual(fast.meanL0, Double(k)) }
                XCTAssertGreaterThan(fast.entryCount, 0)
            }
        }
    }

    func testSparsifyMatchesSAELensTopKOnSameWeights() throws {
        let w = SAEFixtureWeights.random(dIn: 16, dSAE: 64, seed: 9)
        let a = scratch.folder("layers.5"), b = scratch.folder("saelens")
        try SAEFixtures.writeSparsify(folder: a, weights: w, k: 6)
        try SAEFixtures.writeSAELens(folder: b, weights: w, architecture: "topk", k: 6)
        var rng = SplitMix64(seed: 3)
        let x = rng.floats(40 * 16)
        let ca = try SparseAutoencoder.load(folder: a).encode(x, count: 40)
        let cb = try SparseAutoencoder.load(folder: b).encode(x, count: 40)
        XCTAssertEqual(ca.indices, cb.indices)
        XCTAssertLessThan(maxAbsDiff(ca.values, cb.values), 1e-5)
    }
}

final class EncodeArgumentTests: XCTestCase {
    func testAbsurdCountsThrowInsteadOfTrapping() throws {
        let w = TinySAE.weights()
        let cfg = SAEConfig(dIn: 2, dSAE: 3, architecture: .standard, metadata: SAEMetadata(hookName: "h"))
        let sae = try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec)
        for n in [Int.max, Int.max / 2, -1] {
            XCTAssertThrowsError(try sae.encode([1, 2], count: n))
            XCTAssertThrowsError(try sae.referenceEncode([1, 2], count: n))
            XCTAssertThrowsError(try sae.preActivations([1, 2], count: n))
            XCTAssertThrowsError(try sae.decodeDense([1, 2, 3], count: n))
        }
        let foreign = SparseCodes(tokenCount: 1, latentCount: 5, offsets: [0, 0], indices: [], values: [])
        XCTAssertThrowsError(try sae.decode(foreign))
        let broken = SparseCodes(tokenCount: 2, latentCount: 3, offsets: [0, 2], indices: [0, 1], values: [1, 1])
        XCTAssertFalse(broken.isWellFormed)
        XCTAssertThrowsError(try sae.decode(broken))
        let badIndex = SparseCodes(tokenCount: 1, latentCount: 3, offsets: [0, 1], indices: [7], values: [1])
        XCTAssertThrowsError(try sae.decode(badIndex))
        XCTAssertTrue(try sae.encode(TinySAE.x, count: 2).isWellFormed)
    }
}
