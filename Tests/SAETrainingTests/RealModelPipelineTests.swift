import XCTest
import ModelEngine
@testable import SAETraining

/// Evaluation through the engine, on the tiny Llama checkpoint (Tests/Fixtures/tiny-models/llama3: always present,
/// fast in debug builds).
final class RealModelPipelineTests: XCTestCase {
    static let modelFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-models/llama3").path

    func loadModel() throws -> TransformerModel { try TransformerModel(huggingFaceFolder: Self.modelFolder) }

    static func syntheticRows(count: Int, length: Int, seed: Int) -> [[Int32]] {
        var rows: [[Int32]] = []
        for r in 0 ..< count {
            var row: [Int32] = []
            for p in 0 ..< length { row.append(Int32(seed + r * 37 + p * 11)) }
            rows.append(row)
        }
        return rows
    }

    /// A perfect reconstruction recovers all the loss; a zero one recovers none.
    func testEvaluatorBoundaryCases() throws {
        let model = try loadModel()
        let ctx = 10
        let rows = Self.syntheticRows(count: 3, length: ctx, seed: 200)
        let source = InMemoryTokenRows(rows: rows, contextLength: ctx)
        let d = model.config.headCount * model.config.headDim
        let identity = SAEUnderTest(name: "identity", hook: .z(1), dIn: d, dSAE: 4) { x, rows in
            (x, [Int32](repeating: 0, count: rows))
        }
        let zero = SAEUnderTest(name: "zero", hook: .z(1), dIn: d, dSAE: 4) { x, _ in
            ([Float](repeating: 0, count: x.count), [])
        }
        var options = SAEEvalOptions()
        options.showProgress = false
        options.bootstrapSamples = 50
        options.ceTokens = 2 * ctx  // the third row only feeds the reconstruction statistics
        let report = try SAEEvaluator.evaluate(model: model, tokens: source, tokensFile: "mem", saes: [identity, zero], options: options)
        let id = report.results[0], z = report.results[1]
        XCTAssertEqual(id.fvu, 0, accuracy: 1e-9)
        XCTAssertEqual(id.deltaCE, 0, accuracy: 1e-4)
        XCTAssertEqual(id.lossRecovered, 1, accuracy: 1e-3)
        XCTAssertEqual(id.meanL0, 1, accuracy: 1e-9)
        XCTAssertEqual(id.deadLatents, 3)
        XCTAssertEqual(id.denseLatents, 1)
        XCTAssertGreaterThanOrEqual(z.fvu, 1 - 1e-9)
        XCTAssertEqual(z.ceSpliced, z.ceZeroAblated, accuracy: 1e-4)
        XCTAssertEqual(z.lossRecovered, 0, accuracy: 1e-3)
        XCTAssertEqual(id.tokens, 3 * ctx)
        XCTAssertEqual(id.ceRows, 2)
        XCTAssertTrue(SAEEvalTable.render(report).contains("loss recovered"))
    }
}
