import Foundation
import ModelEngine
import XCTest

/// `LogitsMode.positions` and `Logits.klDivergence` on the tiny Qwen2 checkpoint.
final class LogitPositionsTests: XCTestCase {
    func model() throws -> TransformerModel {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 2 { url.deleteLastPathComponent() }
        return try TransformerModel(path: url.appendingPathComponent("Fixtures/tiny-models/qwen2").path)
    }

    func testPositionsAreThoseRowsOfAll() throws {
        let m = try model()
        let tokens: [Int32] = [3, 9, 27, 81, 243, 100]
        let all = try m.forward(tokens: tokens, logits: .all)
        let some = try m.forward(tokens: tokens, logits: .positions([4, 0, 4]))
        XCTAssertEqual(some.logitsRows, 3)
        // The same rows up to BLAS blocking (a different number of rows goes through the output projection).
        for (a, b) in zip(some.logitsRow(0), all.logitsRow(4)) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        for (a, b) in zip(some.logitsRow(1), all.logitsRow(0)) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(Array(some.logitsRow(0)), Array(some.logitsRow(2)))
        XCTAssertThrowsError(try m.forward(tokens: tokens, logits: .positions([6])))
    }

    func testKLDivergence() {
        let p: [Float] = [1, 2, 3], q: [Float] = [3, 2, 1]
        XCTAssertEqual(Logits.klDivergence(p[...], p[...]), 0)
        // Σ p_i log(p_i / q_i) with p = softmax([1,2,3]), q = softmax([3,2,1]) (numpy: 1.150420765208883).
        XCTAssertEqual(Logits.klDivergence(p[...], q[...]), 1.150420765208883, accuracy: 1e-6)
        XCTAssertTrue(Logits.klDivergence(p[...], [1, 2][...]).isNaN)
        XCTAssertEqual(Logits.logProbability([0, 0][...], of: 1), log(0.5), accuracy: 1e-12)
    }
}
