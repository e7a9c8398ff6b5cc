import Foundation
import ModelEngine
import XCTest
@testable import HeadRoles

final class HeadRoleTests: XCTestCase {
    /// A [heads, T, T] pattern whose head h puts all weight on key `target(h, q)` (clamped to 0…q).
    static func pattern(heads: Int, tokens t: Int, target: (Int, Int) -> Int) -> [Float] {
        var p = [Float](repeating: 0, count: heads * t * t)
        for h in 0 ..< heads {
            for q in 0 ..< t { p[h * t * t + q * t + min(max(target(h, q), 0), q)] = 1 }
        }
        return p
    }

    func testHandBuiltHeadsGetTheirRoles() throws {
        let layout = RepeatedSequenceLayout(prefix: 1, period: 10)
        let t = layout.length
        // head 0 previous-token, 1 induction, 2 first-token, 3 self, 4 uniform.
        var p = Self.pattern(heads: 5, tokens: t) { h, q in
            switch h {
            case 0: return q - 1
            case 1: return q >= layout.prefix + layout.period ? q - layout.period + 1 : 0
            case 2: return 0
            default: return q
            }
        }
        for q in 0 ..< t {
            for k in 0 ..< t { p[4 * t * t + q * t + k] = k <= q ? 1 / Float(q + 1) : 0 }
        }
        var acc = HeadRoleAccumulator(layers: 2, heads: 5)
        try acc.add(layer: 0, pattern: p, layout: layout)
        try acc.add(layer: 1, pattern: p, layout: layout)
        let s = acc.scores
        XCTAssertEqual(s.count, 10)
        XCTAssertEqual(s[0].previousToken, 1, accuracy: 1e-9)
        XCTAssertEqual(s[0].induction, 0, accuracy: 1e-9)
        XCTAssertEqual(s[0].entropy, 0, accuracy: 1e-9)
        XCTAssertEqual(s[1].induction, 1, accuracy: 1e-9)
        XCTAssertEqual(s[1].previousToken, 0, accuracy: 1e-9)
        // The induction head sits on position 0 in the first repeat: queries 2…10 of the 19 scored queries 2…20.
        XCTAssertEqual(s[1].firstToken, 9.0 / 19.0, accuracy: 1e-9)
        XCTAssertEqual(s[2].firstToken, 1, accuracy: 1e-9)
        XCTAssertEqual(s[3].selfAttention, 1, accuracy: 1e-9)
        XCTAssertEqual(s[3].dominantRole, "self")
        let uniformEntropy = (2 ..< t).map { log(Double($0 + 1)) }.reduce(0, +) / Double(t - 2)
        XCTAssertEqual(s[4].entropy, uniformEntropy, accuracy: 1e-6)
        XCTAssertEqual(s[4].previousToken, (2 ..< t).map { 1 / Double($0 + 1) }.reduce(0, +) / Double(t - 2), accuracy: 1e-6)
        XCTAssertNil(s[4].dominantRole)
        XCTAssertEqual(s[5].layer, 1)
        XCTAssertEqual(s[6].dominantRole, "induction")
    }

    func testWrongShapesAreErrors() {
        var acc = HeadRoleAccumulator(layers: 1, heads: 2)
        XCTAssertThrowsError(try acc.add(layer: 0, pattern: [Float](repeating: 0, count: 7), layout: RepeatedSequenceLayout(prefix: 0, period: 3)))
        XCTAssertThrowsError(try acc.add(layer: 1, pattern: [Float](repeating: 0, count: 72), layout: RepeatedSequenceLayout(prefix: 0, period: 3)))
    }

    func testProbeRunsOnATinyCheckpoint() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent("Tests/Fixtures/tiny-models/gpt2").path
        let (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: path)
        let probe = HeadRoleProbe(sequences: 2, period: 12)
        let (batch, layout) = try probe.tokens(tokenizer: tokenizer)
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(batch[0].count, layout.length)
        XCTAssertEqual(Array(batch[0][layout.prefix ..< layout.prefix + 12]), Array(batch[0][layout.prefix + 12 ..< layout.length]))
        let scores = try probe.run(model: model, tokenizer: tokenizer)
        XCTAssertEqual(scores.count, model.config.layerCount * model.config.headCount)
        for s in scores {
            for v in [s.previousToken, s.induction, s.firstToken, s.selfAttention] { XCTAssert(v >= 0 && v <= 1 + 1e-6, "\(s)") }
            XCTAssertLessThanOrEqual(s.previousToken + s.firstToken + s.selfAttention, 1 + 1e-5)
            XCTAssertLessThanOrEqual(s.entropy, log(Double(layout.length)) + 1e-6)
        }
    }
}

extension HeadRoleTests {
    func testScoresAreMeansPerLayerEvenWhenOnlySomeLayersAreAdded() throws {
        let layout = RepeatedSequenceLayout(prefix: 0, period: 4)
        let t = layout.length
        let prev = Self.pattern(heads: 1, tokens: t) { _, q in q - 1 }
        let bos = Self.pattern(heads: 1, tokens: t) { _, _ in 0 }
        var acc = HeadRoleAccumulator(layers: 3, heads: 1)
        for _ in 0 ..< 3 { try acc.add(layer: 2, pattern: prev, layout: layout) }
        try acc.add(layer: 1, pattern: bos, layout: layout)
        try acc.add(layer: 1, pattern: prev, layout: layout)
        let s = acc.scores
        XCTAssertEqual(s[2].previousToken, 1, accuracy: 1e-12)
        XCTAssertEqual(s[1].previousToken, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s[1].firstToken, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s[0].previousToken, 0)
    }
}
