import Foundation
@testable import ModelEngine
import XCTest

/// Hooks, interventions, batching, early stop, cross-entropy and the KV cache on the real model.
final class HookAndForwardTests: XCTestCase {
    /// "The quick brown fox jumps over the lazy dog." in SmolLM2 ids.
    let fox: [Int32] = [504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30]

    func testHookNamesParseAndPrint() throws {
        XCTAssertEqual(try HookPoint("blocks.5.hook_resid_post"), .residPost(5))
        XCTAssertEqual(try HookPoint("layers.7"), .residPost(7))
        XCTAssertEqual(try HookPoint("blocks.3.attn.hook_z"), .z(3))
        XCTAssertEqual(try HookPoint("blocks.0.attn.hook_pattern").site, .pattern)
        for site in HookPoint.Site.allCases {
            let h = HookPoint(layer: 12, site: site)
            XCTAssertEqual(try HookPoint(h.description), h)
        }
        XCTAssertEqual(HookPoint.z(3).description, "blocks.3.attn.hook_z")
        for bad in ["blocks.x.hook_resid_post", "blocks.1.hook_nope", "resid", "layers.-1", "blocks.2"] {
            XCTAssertThrowsError(try HookPoint(bad), bad)
        }
        XCTAssertLessThan(HookPoint.residPre(2), HookPoint.z(2))
        XCTAssertLessThan(HookPoint.residPost(1), HookPoint.residPre(2))
    }

    func testEarlyStopGivesTheSameActivations() throws {
        let model = try EngineFixtures.requireModel()
        let full = try model.forward(tokens: fox, captures: [.residPost(2), .mlpOut(2)], logits: .all)
        let early = try model.forward(tokens: fox, captures: [.residPost(2), .mlpOut(2)], logits: .none)
        XCTAssertTrue(early.logits.isEmpty)
        XCTAssertEqual(full.activation(.residPost(2)), early.activation(.residPost(2)))
        XCTAssertEqual(early.activation(.mlpOut(2))?.shape, [fox.count, model.config.dim])
    }

    func testResidualBookkeeping() throws {
        let model = try EngineFixtures.requireModel()
        let hooks: Set<HookPoint> = [.residPre(4), .attnOut(4), .residMid(4), .mlpOut(4), .residPost(4), .residPost(3)]
        let r = try model.forward(tokens: fox, captures: hooks, logits: .none)
        let pre = try XCTUnwrap(r.activation(.residPre(4))), attn = try XCTUnwrap(r.activation(.attnOut(4)))
        let mid = try XCTUnwrap(r.activation(.residMid(4))), mlp = try XCTUnwrap(r.activation(.mlpOut(4)))
        let post = try XCTUnwrap(r.activation(.residPost(4)))
        XCTAssertEqual(pre, r.activation(.residPost(3)))
        for i in pre.data.indices {
            XCTAssertEqual(mid.data[i], pre.data[i] + attn.data[i])
            XCTAssertEqual(post.data[i], mid.data[i] + mlp.data[i])
        }
    }

    /// Captured q/k/v (pre-RoPE) rotated and attended by the naive reference give the engine's pattern and z.
    func testAttentionMatchesNaiveReference() throws {
        let model = try EngineFixtures.requireModel()
        let c = model.config
        let l = 1
        let r = try model.forward(tokens: fox, captures: [HookPoint(layer: l, site: .q), HookPoint(layer: l, site: .k),
                                                          HookPoint(layer: l, site: .v), .pattern(l), .z(l)], logits: .none)
        let q = try XCTUnwrap(r.activation(HookPoint(layer: l, site: .q)))
        let k = try XCTUnwrap(r.activation(HookPoint(layer: l, site: .k)))
        let v = try XCTUnwrap(r.activation(HookPoint(layer: l, site: .v)))
        XCTAssertEqual(q.shape, [fox.count, c.headCount, c.headDim])
        XCTAssertEqual(k.shape, [fox.count, c.kvHeadCount, c.headDim])
        var qr: [Float] = [], kr: [Float] = []
        for t in 0 ..< fox.count {
            qr += referenceRope(Array(q.row(t)), heads: c.headCount, headDim: c.headDim, position: t, base: c.ropeBase)
            kr += referenceRope(Array(k.row(t)), heads: c.kvHeadCount, headDim: c.headDim, position: t, base: c.ropeBase)
        }
        let ref = referenceAttention(q: qr, k: kr, v: v.data, tokens: fox.count, heads: c.headCount,
                                     kvHeads: c.kvHeadCount, headDim: c.headDim)
        let pattern = try XCTUnwrap(r.activation(.pattern(l)))
        XCTAssertEqual(pattern.shape, [c.headCount, fox.count, fox.count])
        let z = try XCTUnwrap(r.activation(.z(l)))
        let worstP = zip(pattern.data, ref.pattern).map { abs($0 - $1) }.max() ?? 0
        let worstZ = zip(z.data, ref.z).map { abs($0 - $1) }.max() ?? 0
        print("[attention] pattern worst |Δ| \(worstP), z worst |Δ| \(worstZ)")
        XCTAssertLessThan(worstP, 2e-4)
        XCTAssertLessThan(worstZ, 2e-4)
        // Causal: nothing above the diagonal; rows sum to 1.
        for h in 0 ..< c.headCount {
            for i in 0 ..< fox.count {
                let row = pattern.data[(h * fox.count + i) * fox.count ..< (h * fox.count + i + 1) * fox.count]
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                for j in i + 1 ..< fox.count { XCTAssertEqual(row[row.startIndex + j], 0) }
            }
        }
    }

    func testBatchEqualsSeparateForwards() throws {
        let model = try EngineFixtures.requireModel()
        let a = fox, b: [Int32] = [1, 9690, 28, 314, 2]
        let batch = try model.forward(batch: [a, b], captures: [.z(3)], logits: .all)
        XCTAssertEqual(batch.count, 2)
        for (i, seq) in [a, b].enumerated() {
            let single = try model.forward(tokens: seq, captures: [.z(3)], logits: .all)
            XCTAssertEqual(batch[i].logitsRows, seq.count)
            let worst = zip(batch[i].logits, single.logits).map { abs($0 - $1) }.max() ?? 0
            let worstZ = zip(batch[i].activation(.z(3))!.data, single.activation(.z(3))!.data).map { abs($0 - $1) }.max() ?? 0
            print("[batch] sequence \(i): worst logit |Δ| \(worst), z |Δ| \(worstZ)")
            XCTAssertLessThan(worst, 1e-3)
            XCTAssertLessThan(worstZ, 1e-4)
        }
    }

    func testInterventions() throws {
        let model = try EngineFixtures.requireModel()
        let base = try model.forward(tokens: fox, logits: .last)
        // An identity intervention changes nothing.
        let same = try model.forward(tokens: fox, logits: .last, interventions: [.z(5): { _ in }])
        XCTAssertEqual(base.logits, same.logits)
        // Zero-ablating head 4 of block 5 changes the logits, and the captured z shows the zeros.
        let dHead = model.config.headDim
        let ablated = try model.forward(tokens: fox, captures: [.z(5)], logits: .last, interventions: [.z(5): { t in
            for p in 0 ..< t.shape[0] { for j in 0 ..< dHead { t.data[p * t.shape[1] + 4 * dHead + j] = 0 } }
        }])
        XCTAssertNotEqual(base.logits, ablated.logits)
        XCTAssertEqual(ablated.activation(.z(5))?.row(3)[3 * 576 + 4 * dHead], 0)
        // Replacing the residual stream after the last block with zeros gives uniform logits.
        let zeroed = try model.forward(tokens: fox, logits: .last, interventions: [.residPost(29): { t in
            t.data = [Float](repeating: 0, count: t.data.count)
        }])
        XCTAssertEqual(zeroed.logits.max() ?? 1, zeroed.logits.min() ?? 0, accuracy: 1e-6)
        // Changing the shape is refused.
        XCTAssertThrowsError(try model.forward(tokens: fox, interventions: [.residPre(0): { t in t.data.removeLast() }]))
        XCTAssertThrowsError(try model.forward(tokens: fox, interventions: [.pattern(0): { _ in }]))
    }

    func testBadInputIsAnError() throws {
        let model = try EngineFixtures.requireModel()
        XCTAssertThrowsError(try model.forward(tokens: [])) { XCTAssertEqual($0 as? EngineError, .emptyInput(what: "sequence 0 of the batch")) }
        XCTAssertThrowsError(try model.forward(tokens: [1, 49152])) {
            XCTAssertEqual($0 as? EngineError, .tokenOutOfRange(token: 49152, position: 1, vocabSize: 49152))
        }
        XCTAssertThrowsError(try model.forward(tokens: [1, -3]))
        XCTAssertThrowsError(try model.forward(tokens: [1], captures: [.residPost(30)]))
    }

    func testCrossEntropyMatchesLogits() throws {
        let model = try EngineFixtures.requireModel()
        let ce = try model.nextTokenCrossEntropy(tokens: fox)
        XCTAssertEqual(ce.count, fox.count - 1)
        let r = try model.forward(tokens: fox, logits: .all)
        for t in [0, 4, 8] {
            let row = Array(r.logitsRow(t)).map { Double($0) }
            let m = row.max() ?? 0
            let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
            XCTAssertEqual(Double(ce[t]), lse - row[Int(fox[t + 1])], accuracy: 1e-4)
        }
        // "lazy" → " dog" is easy for the model.
        XCTAssertLessThan(ce[7], 1.0)
        // Only the tail's positions: the same numbers, logits computed for those positions alone.
        let tail = try model.nextTokenCrossEntropy(tokens: fox, from: 5)
        XCTAssertEqual(tail.count, fox.count - 1 - 5)
        for (i, v) in tail.enumerated() { XCTAssertEqual(v, ce[5 + i], accuracy: 1e-4) }
        XCTAssertEqual(try model.nextTokenCrossEntropy(tokens: fox, from: fox.count - 1), [])
        // The batched form gives the same numbers per sequence.
        let batch = try model.nextTokenCrossEntropy(batch: [fox, Array(fox.prefix(4)), [fox[0]]])
        XCTAssertEqual(batch.map(\.count), [fox.count - 1, 3, 0])
        for t in 0 ..< ce.count { XCTAssertEqual(batch[0][t], ce[t], accuracy: 1e-3) }
        for t in 0 ..< 3 { XCTAssertEqual(batch[1][t], ce[t], accuracy: 1e-3) }
    }

    /// Prefill + Float steps in the KV cache give the logits of a full forward; quantized steps stay close.
    func testKVCacheStepsMatchFullForward() throws {
        let model = try EngineFixtures.requireModel()
        let prompt = Array(fox.prefix(6)), next = Array(fox[6 ..< 8])
        let full = try model.forward(tokens: prompt + next, logits: .last)
        for quantized in [false, true] {
            let gen = Generator(model: model, maxLength: 32, quantizedSteps: quantized)
            _ = try gen.append(prompt)
            _ = try gen.append([next[0]])
            let logits = try gen.append([next[1]])
            XCTAssertEqual(gen.cache.length, 8)
            let worst = zip(logits, full.logits).map { abs($0 - $1) }.max() ?? 0
            print("[kv cache] \(quantized ? "quantized" : "float") steps: worst logit |Δ| \(worst)")
            // Quantized steps round each mat-vec input to int8 per 32 values (as llama.cpp does): about 1 % of the
            // block's max|x| per value, which over 30 layers moves SmolLM2's logits by up to ~0.75 (the greedy token
            // and the reference's greedy_16 stay identical).
            XCTAssertLessThan(worst, quantized ? 1.0 : 1e-3)
            XCTAssertEqual(argmax(logits), argmax(full.logits))
        }
    }

    /// Several tokens appended to a non-empty cache (multi-row attention starting past position 0).
    func testAppendingABlockToTheCache() throws {
        let model = try EngineFixtures.requireModel()
        let full = try model.forward(tokens: fox, logits: .last)
        let gen = Generator(model: model, maxLength: 16)
        _ = try gen.append(Array(fox.prefix(3)))
        let logits = try gen.append(Array(fox[3...]))
        XCTAssertEqual(gen.tokens, fox)
        let worst = zip(logits, full.logits).map { abs($0 - $1) }.max() ?? 0
        print("[kv cache] block append: worst logit |Δ| \(worst)")
        XCTAssertLessThan(worst, 1e-3)
        XCTAssertThrowsError(try gen.append(Array(repeating: 1, count: 7)))  // 10 + 7 > 16
    }

    /// Truncating to a shared prefix and appending a different tail equals a fresh pass over the new prompt.
    func testTruncatingToASharedPrefixMatchesAFreshPass() throws {
        let model = try EngineFixtures.requireModel()
        let other: [Int32] = Array(fox.prefix(4)) + Array(fox.suffix(3))
        let full = try model.forward(tokens: other, logits: .last)
        let gen = Generator(model: model, maxLength: 32)
        _ = try gen.append(fox)
        gen.truncate(to: 4)
        XCTAssertEqual(gen.tokens, Array(fox.prefix(4)))
        XCTAssertEqual(gen.cache.length, 4)
        let logits = try gen.append(Array(fox.suffix(3)))
        XCTAssertEqual(gen.tokens, other)
        let worst = zip(logits, full.logits).map { abs($0 - $1) }.max() ?? 0
        print("[kv cache] truncate + append: worst logit |Δ| \(worst)")
        XCTAssertLessThan(worst, 1e-3)
        gen.truncate(to: 100)  // past the end: a no-op
        XCTAssertEqual(gen.cache.length, other.count)
        gen.truncate(to: 0)
        XCTAssertTrue(gen.tokens.isEmpty)
    }

    func testGeneratorStopsAndSamplesReproducibly() throws {
        let model = try EngineFixtures.requireModel()
        XCTAssertTrue(model.stopTokenIDs.contains(2))  // <|im_end|>
        let gen = Generator(model: model, maxLength: 32)
        let a = try gen.generate(prompt: fox, maxNewTokens: 3, sampling: .temperature(0.8, seed: 5), stopTokens: [])
        gen.reset()
        let b = try gen.generate(prompt: fox, maxNewTokens: 3, sampling: .temperature(0.8, seed: 5), stopTokens: [])
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 3)
        gen.reset()
        var seen: [Int32] = []
        let c = try gen.generate(prompt: fox, maxNewTokens: 5, onToken: { seen.append($0); return seen.count < 2 })
        XCTAssertEqual(c, seen)
        XCTAssertEqual(c.count, 2)
    }
}
