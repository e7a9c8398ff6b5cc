import Foundation
import ModelEngine
import TensorFormats
import XCTest

/// The batched logit lens (one pass over W_U, one sgemm per block of rows; what `export neuronpedia` uses)
/// gives the same tokens and logits as the one-row lens the browser uses.
extension PromotedTokensTests {
    func testBatchedLensEqualsOneRowAtATime() throws {
        let lens = try DecoderLogitLens(file: GGUFFile(path: writeTinyModel()), chunkRows: 2)
        let rows: [[Float]] = [[2, -1, 3, 0.5], [1, 0, 0, 0], [0, 0, 1, 1], [-3, 2, 0.25, -1]]
        let hook = try HookPoint("blocks.1.attn.hook_z")
        let batched = try lens.topTokens(decoderRows: rows, hook: hook, count: 3)
        XCTAssertEqual(batched.count, rows.count)
        for (row, b) in zip(rows, batched) {
            let single = try lens.topTokens(decoderRow: row, hook: hook, count: 3)
            XCTAssertEqual(b.promoted.map(\.token), single.promoted.map(\.token))
            XCTAssertEqual(b.suppressed.map(\.token), single.suppressed.map(\.token))
            for (x, y) in zip(b.promoted + b.suppressed, single.promoted + single.suppressed) { XCTAssertEqual(x.logit, y.logit, accuracy: 1e-5) }
        }
        // Hand-computed first row (see PromotedTokensTests): logits (2, 6, −0.5, 7.5, −2).
        XCTAssertEqual(batched[0].promoted.map(\.token), [3, 1, 0])
        XCTAssertEqual(batched[0].promoted.map(\.logit), [7.5, 6, 2])
        XCTAssertTrue(try lens.topTokens(decoderRows: [], hook: hook, count: 3).isEmpty)
    }
}
