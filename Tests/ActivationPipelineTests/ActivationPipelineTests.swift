import Foundation
import ModelEngine
import SAETraining
import SparseAutoencoders
import TestSupport
import XCTest
@testable import ActivationPipeline

/// The pipeline on the tiny Llama checkpoint (Tests/Fixtures/tiny-models/llama3: 2 blocks, d_model 64, 4 heads × 16)
/// with seeded fixture SAEs: every path (batch, prompt, activation store, collector) gives the codes a direct
/// forward-then-encode gives.
final class ActivationPipelineTests: XCTestCase {
    static let modelFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-models/llama3").path
    static let model: Result<TransformerModel, Error> = Result { try TransformerModel(huggingFaceFolder: modelFolder) }

    var root = ""
    override func setUp() {
        root = NSTemporaryDirectory() + "fs-pipeline-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func encoder(_ hook: String, dSAE: Int, seed: UInt64, topK: Int? = nil) throws -> HookEncoder {
        let folder = root + "/sae-\(seed)"
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 64, dSAE: dSAE, seed: seed),
                                     architecture: topK == nil ? "standard" : "topk", k: topK, hookName: hook)
        return try HookEncoder.load(folder: folder)
    }

    static func dense(_ c: SparseCodes) -> [Float] {
        var out = [Float](repeating: 0, count: c.tokenCount * c.latentCount)
        for t in 0 ..< c.tokenCount { for e in c.range(ofToken: t) { out[t * c.latentCount + Int(c.indices[e])] = c.values[e] } }
        return out
    }

    static func rows(_ count: Int, length: Int, seed: Int) -> [[Int32]] {
        (0 ..< count).map { r in (0 ..< length).map { Int32((seed + r * 37 + $0 * 11) % 512) } }
    }

    func testBatchCodesEqualAForwardPassThenEncode() throws {
        let model = try Self.model.get()
        let z = try encoder("blocks.1.attn.hook_z", dSAE: 96, seed: 1, topK: 5)
        let r0 = try encoder("blocks.0.hook_resid_post", dSAE: 80, seed: 2)
        let z2 = try encoder("blocks.1.attn.hook_z", dSAE: 48, seed: 3)  // a second SAE on the same hook
        let rows = Self.rows(3, length: 10, seed: 5)
        let codes = try ActivationPipeline(model: model, encoders: [z, r0, z2]).codes(rows: rows)
        XCTAssertEqual(codes.count, 3)
        // The same batched pass (a batch's matrix products round differently from single-row ones).
        let passes = try model.forward(batch: rows, captures: [z.hook, r0.hook], logits: .none)
        for ((row, perEncoder), pass) in zip(zip(rows, codes), passes) {
            for (e, got) in zip([z, r0, z2], perEncoder) {
                let x = try XCTUnwrap(pass.activation(e.hook)).data
                XCTAssertEqual(got, try e.sae.encode(x, count: row.count), "\(e.hook)")
            }
            XCTAssertTrue(perEncoder[0].offsets.enumerated().dropFirst().allSatisfy { $1 - perEncoder[0].offsets[$0 - 1] <= 5 })
        }
    }

    func testPromptCodesEqualBatchCodesAndKeepThePass() throws {
        let model = try Self.model.get()
        let z = try encoder("blocks.1.attn.hook_z", dSAE: 96, seed: 1, topK: 5)
        let row = Self.rows(1, length: 12, seed: 9)[0]
        let prompt = try ActivationPipeline.encode(prompt: row, model: model, encoders: [z], alsoCapture: [.pattern(1)], logits: .last)
        XCTAssertEqual(prompt.codes, try ActivationPipeline(model: model, encoders: [z]).codes(rows: [row])[0])
        XCTAssertEqual(prompt.pass.logitsRows, 1)
        XCTAssertNotNil(prompt.pass.activation(.pattern(1)))
        XCTAssertThrowsError(try ActivationPipeline.encode(prompt: [], model: model, encoders: [z])) {
            XCTAssertEqual("\($0)", "the prompt has no tokens")
        }
        XCTAssertThrowsError(try ActivationPipeline.encode(prompt: [Int32](repeating: 1, count: model.config.contextLength + 1),
                                                          model: model, encoders: [z])) {
            XCTAssertTrue("\($0)".contains("the model takes \(model.config.contextLength)"), "\($0)")
        }
    }

    func testAnSAEOfAnotherWidthIsAClearError() throws {
        let model = try Self.model.get()
        let folder = root + "/wide"
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 32, dSAE: 16, seed: 4), hookName: "blocks.0.hook_resid_post")
        let wide = try HookEncoder.load(folder: folder)
        XCTAssertThrowsError(try ActivationPipeline(model: model, encoders: [wide]).codes(rows: Self.rows(1, length: 4, seed: 1))) {
            XCTAssertEqual("\($0)", "the SAE reads 32 values per token; blocks.0.hook_resid_post gives 64")
        }
        let odd = root + "/odd"
        try SAEFixtures.writeSAELens(folder: odd, weights: .random(dIn: 64, dSAE: 16, seed: 4), hookName: "blocks.0.hook_nonsense")
        XCTAssertThrowsError(try HookEncoder.load(folder: odd)) {
            XCTAssertTrue("\($0)".contains("'blocks.0.hook_nonsense' is not a hook point of the engine"), "\($0)")
        }
    }

    /// A per-head SAE (`hook_head_index`) reads its head's slice of hook_z; other widths are a clear error.
    func testAPerHeadSAEReadsItsHeadsSlice() throws {
        let model = try Self.model.get()
        let folder = root + "/head2"
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 16, dSAE: 24, seed: 8), hookName: "blocks.1.attn.hook_z",
                                     extraConfig: ["hook_head_index": 2])
        let e = try HookEncoder.load(folder: folder)
        XCTAssertEqual(e.sae.config.metadata.hookHeadIndex, 2)
        let row = Self.rows(1, length: 7, seed: 3)[0]
        let z = try XCTUnwrap(model.forward(tokens: row, captures: [e.hook], logits: .none).activation(e.hook)).data
        let slice = (0 ..< 7).flatMap { t in z[t * 64 + 32 ..< t * 64 + 48] }
        XCTAssertEqual(try ActivationPipeline.encode(prompt: row, model: model, encoders: [e], logits: .none).codes[0],
                       try e.sae.encode(slice, count: 7))
    }

    /// The collector stores what the engine captures (to f16), resumes, and a pipeline over the store gives the
    /// codes of the live pass (to f16 rounding).
    func testCollectedStoreFeedsThePipelineLikeTheEngine() throws {
        let model = try Self.model.get()
        let ctx = 12
        let rows = Self.rows(3, length: ctx, seed: 100)
        let source = InMemoryTokenRows(rows: rows, contextLength: ctx)
        let dir = root + "/store"
        var options = CollectionOptions(hooks: ["blocks.1.attn.hook_z", "blocks.0.hook_resid_post"], outputDirectory: dir,
                                        tokensFile: "mem.tokens", modelName: "llama3")
        options.showProgress = false
        options.shardTokens = ctx
        options.rowsPerForward = 2
        options.maxTokens = 2 * ctx
        options.spreadRows = false  // the first rows, so a later run can extend the store
        let first = try ActivationCollector.collect(model: model, tokens: source, options: options)
        XCTAssertEqual(first.tokensStored, 2 * ctx)
        XCTAssertEqual(first.dIn, [64, 64])
        options.maxTokens = nil
        let second = try ActivationCollector.collect(model: model, tokens: source, options: options)
        XCTAssertEqual(second.tokensThisRun, ctx, "the resumed run only processes the missing row")
        XCTAssertEqual(second.tokensStored, 3 * ctx)
        XCTAssertTrue(second.complete)

        let z = try encoder("blocks.1.attn.hook_z", dSAE: 96, seed: 1)
        let store = try StoreHookSource(directory: dir, hooks: [z.hook], tokensPath: "/elsewhere/mem.tokens", contextLength: ctx)
        let stored = try store.activations(rows: rows, firstRow: 0)
        for (r, row) in rows.enumerated() {
            let want = try XCTUnwrap(model.forward(tokens: row, captures: [z.hook], logits: .none).activation(z.hook)).data
            let worst = zip(stored[r][0], want).map { abs($0 - $1) / max(abs($1), 1e-2) }.max() ?? 1
            XCTAssertLessThan(worst, 2e-3, "row \(r): stored f16 activations differ from the engine's by \(worst) (relative)")
        }
        let fromStore = try ActivationPipeline(source: store, encoders: [z]).codes(rows: rows)
        let live = try ActivationPipeline(model: model, encoders: [z]).codes(rows: rows)
        for r in rows.indices {
            XCTAssertEqual(fromStore[r][0], try z.sae.encode(stored[r][0], count: ctx))
            let a = Self.dense(fromStore[r][0]), b = Self.dense(live[r][0])
            let scale = b.map(abs).max() ?? 1
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-2 * scale, "row \(r): store and live codes differ")
        }
        XCTAssertEqual(fromStore[1], try ActivationPipeline(source: store, encoders: [z]).codes(rows: [rows[1]], firstRow: 1)[0])
        XCTAssertThrowsError(try store.activations(rows: rows, firstRow: 1)) {
            XCTAssertTrue("\($0)".contains("covers rows 0..<3, asked for 1..<4"), "\($0)")
        }
        XCTAssertThrowsError(try StoreHookSource(directory: dir, hooks: [z.hook], tokensPath: "mem.tokens", contextLength: 8)) {
            XCTAssertTrue("\($0)".contains("collected with context 12"), "\($0)")
        }
        XCTAssertThrowsError(try StoreHookSource(directory: dir, hooks: [z.hook], tokensPath: "other.tokens", contextLength: ctx)) {
            XCTAssertTrue("\($0)".contains("not other.tokens"), "\($0)")
        }
    }
}
