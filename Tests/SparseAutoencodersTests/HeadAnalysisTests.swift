import FeaturescopeCore
import Foundation
import SparseAutoencoders
import TestSupport
import XCTest

/// hook_z analysis: head attribution from decoder weights, per-head pre-activation split, DFA.
final class HeadAnalysisTests: XCTestCase {
    func sae(dIn: Int, dSAE: Int, seed: UInt64, wDec: [Float]? = nil, applyBDec: Bool = true) throws -> SparseAutoencoder {
        var r = SplitMix64(seed: seed)
        let cfg = SAEConfig(dIn: dIn, dSAE: dSAE, architecture: .standard, applyBDecToInput: applyBDec, reshapeActivations: "hook_z",
                            metadata: SAEMetadata(hookName: "blocks.0.attn.hook_z"))
        return try SparseAutoencoder(config: cfg, encoderWeight: r.floats(dIn * dSAE), encoderBias: r.floats(dSAE),
                                     decoderWeight: wDec ?? r.floats(dSAE * dIn), decoderBias: r.floats(dIn, -0.5, 0.5))
    }

    func testHeadAttributionHandComputed() throws {
        // 3 heads × 2: latent 0's row [3, 4 | 0, 0 | 0, 1] → norms [5, 0, 1] → [5/6, 0, 1/6].
        let wDec: [Float] = [3, 4, 0, 0, 0, 1,
                             0, 0, 1, 0, 0, 0,
                             0, 0, 0, 0, 0, 0]
        let s = try sae(dIn: 6, dSAE: 3, seed: 1, wDec: wDec)
        let layout = try AttentionHeadLayout(headCount: 3, headDim: 2, kvHeadCount: 1)
        let a = try s.headAttribution(latent: 0, layout: layout)
        XCTAssertEqual(a[0], 5.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(a[1], 0)
        XCTAssertEqual(a[2], 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(try s.headAttribution(latent: 1, layout: layout), [0, 1, 0])
        XCTAssertEqual(try s.headAttribution(latent: 2, layout: layout), [0, 0, 0], "an all-zero row owns no head")
        let top = try s.topLatentsPerHead(layout: layout, count: 2)
        XCTAssertEqual(top[0].map(\.latent), [0])
        XCTAssertEqual(top[1].map(\.latent), [1])
        XCTAssertEqual(top[1].first?.fraction, 1)
        XCTAssertEqual(top[2].map(\.latent), [0])
    }

    func testHeadAttributionSumsToOne() throws {
        let s = try sae(dIn: 9 * 8, dSAE: 50, seed: 2)
        let layout = try AttentionHeadLayout(headCount: 9, headDim: 8, kvHeadCount: 3)
        let m = try s.headAttributionMatrix(layout: layout)
        for f in 0 ..< 50 {
            let row = m[f * 9 ..< (f + 1) * 9]
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertTrue(row.allSatisfy { $0 >= 0 })
        }
        let top = try s.topLatentsPerHead(layout: layout, count: 5)
        XCTAssertEqual(top.count, 9)
        for (h, list) in top.enumerated() {
            XCTAssertEqual(list.count, 5)
            XCTAssertEqual(list.map(\.fraction), list.map(\.fraction).sorted(by: >))
            let best = (0 ..< 50).max { m[$0 * 9 + h] < m[$1 * 9 + h] }
            XCTAssertEqual(list.first?.latent, best)
        }
    }

    func testLayoutErrors() throws {
        XCTAssertThrowsError(try AttentionHeadLayout(headCount: 9, headDim: 64, kvHeadCount: 2))
        let s = try sae(dIn: 8, dSAE: 4, seed: 3)
        let bad = try AttentionHeadLayout(headCount: 3, headDim: 2, kvHeadCount: 1)
        assertSAEError(try s.headAttribution(latent: 0, layout: bad), "width") {
            if case let .invalidArgument(m) = $0 { return m.contains("d_in 8") }
            return false
        }
        let ok = try AttentionHeadLayout(headCount: 4, headDim: 2, kvHeadCount: 2)
        assertSAEError(try s.headAttribution(latent: 4, layout: ok), "latent") {
            if case .invalidArgument = $0 { return true }
            return false
        }
    }

    /// Random attention with z = A·v, grouped-query heads.
    struct AttentionSample {
        let layout: AttentionHeadLayout
        let positions: Int
        let pattern: [Float]  // [heads, dest, src]
        let v: [Float]        // [pos, kvHeads, dHead]
        let z: [Float]        // [pos, heads·dHead]

        init(layout: AttentionHeadLayout, positions p: Int, seed: UInt64) {
            var r = SplitMix64(seed: seed)
            let h = layout.headCount, dh = layout.headDim, kvw = layout.kvHeadCount * dh
            var pattern = [Float](repeating: 0, count: h * p * p)
            for head in 0 ..< h {
                for d in 0 ..< p {
                    let w = (0 ... d).map { _ in r.float(0.01, 1) }
                    let total = w.reduce(0, +)
                    for s in 0 ... d { pattern[(head * p + d) * p + s] = w[s] / total }
                }
            }
            let v = r.floats(p * kvw, -2, 2)
            var z = [Float](repeating: 0, count: p * h * dh)
            for d in 0 ..< p {
                for head in 0 ..< h {
                    let kv = layout.kvHead(forQueryHead: head)
                    for s in 0 ..< p {
                        let a = pattern[(head * p + d) * p + s]
                        for j in 0 ..< dh { z[d * h * dh + head * dh + j] += a * v[s * kvw + kv * dh + j] }
                    }
                }
            }
            self.layout = layout
            self.positions = p
            self.pattern = pattern
            self.v = v
            self.z = z
        }
    }

    func testDFAIdentityWithGroupedQueryHeads() throws {
        let layout = try AttentionHeadLayout(headCount: 6, headDim: 4, kvHeadCount: 2)
        let sample = AttentionSample(layout: layout, positions: 7, seed: 77)
        for applyBDec in [true, false] {
            let s = try sae(dIn: 24, dSAE: 10, seed: 5, applyBDec: applyBDec)
            let pre = try s.preActivations(sample.z, count: 7)
            var worst: Float = 0
            for d in 0 ..< 7 {
                for f in 0 ..< 10 {
                    let dfa = try s.directFeatureAttribution(latent: f, destination: d, pattern: sample.pattern, destinationCount: 7,
                                                             values: sample.v, layout: layout)
                    XCTAssertEqual(dfa.sourceCount, 7)
                    // Σ_s Σ_h DFA − b_dec·W_enc[:, f] + b_enc[f] = pre_f[d]
                    worst = max(worst, abs(dfa.total - pre[d * 10 + f]))
                    XCTAssertEqual(dfa.perSource.reduce(0, +), dfa.perHead.reduce(0, +), accuracy: 1e-4)
                    // Causal pattern: sources after d contribute nothing.
                    for src in (d + 1) ..< 7 { XCTAssertEqual(dfa.perSource[src], 0) }
                    // The per-head split of pre agrees with the per-head DFA plus each head's b_dec share.
                    let split = try s.preActivationByHead(latent: f, z: Array(sample.z[d * 24 ..< (d + 1) * 24]), layout: layout)
                    XCTAssertEqual(split.total, pre[d * 10 + f], accuracy: 1e-4)
                }
            }
            XCTAssertLessThan(worst, 1e-4, "DFA identity, worst mismatch \(worst)")
        }
    }

    func testDFAUsesTheRightKVHead() throws {
        // Only query head 5 attends anywhere; its KV head is 5 / (6/2) = 1.
        let layout = try AttentionHeadLayout(headCount: 6, headDim: 1, kvHeadCount: 2)
        var pattern = [Float](repeating: 0, count: 6 * 1 * 2)
        pattern[(5 * 1 + 0) * 2 + 1] = 1   // head 5, dest 0, src 1
        let v: [Float] = [10, 20,   // pos 0: kv0, kv1
                          30, 40]   // pos 1: kv0, kv1
        let cfg = SAEConfig(dIn: 6, dSAE: 1, architecture: .standard, applyBDecToInput: false, metadata: SAEMetadata(hookName: "blocks.0.attn.hook_z"))
        let s = try SparseAutoencoder(config: cfg, encoderWeight: [1, 1, 1, 1, 1, 2], encoderBias: [0.5], decoderWeight: [Float](repeating: 1, count: 6),
                                      decoderBias: [Float](repeating: 0, count: 6))
        let dfa = try s.directFeatureAttribution(latent: 0, destination: 0, pattern: pattern, destinationCount: 1, values: v, layout: layout)
        XCTAssertEqual(dfa.value(source: 1, head: 5), 80, "A = 1 · v_kv1[1] = 40 · W_enc[5] = 2")
        XCTAssertEqual(dfa.perHead, [0, 0, 0, 0, 0, 80])
        XCTAssertEqual(dfa.perSource, [0, 80])
        XCTAssertEqual(dfa.total, 80.5)
    }

    func testDFAInputErrors() throws {
        let layout = try AttentionHeadLayout(headCount: 2, headDim: 2, kvHeadCount: 1)
        let s = try sae(dIn: 4, dSAE: 3, seed: 6)
        assertSAEError(try s.directFeatureAttribution(latent: 0, destination: 0, pattern: [1, 2, 3], destinationCount: 1,
                                                      values: [1, 2], layout: layout), "pattern") {
            if case .inputShape = $0 { return true }
            return false
        }
        assertSAEError(try s.directFeatureAttribution(latent: 0, destination: 3, pattern: [1, 1], destinationCount: 1,
                                                      values: [1, 2], layout: layout), "destination") {
            if case .invalidArgument = $0 { return true }
            return false
        }
    }
}
