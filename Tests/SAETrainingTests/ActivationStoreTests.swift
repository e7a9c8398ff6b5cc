import XCTest
@testable import SAETraining

final class ActivationStoreTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "fs-acts-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Deterministic activation value of (hook, row, position, dim).
    func value(_ h: Int, _ row: Int, _ pos: Int, _ j: Int) -> Float {
        Float((h * 7 + row * 13 + pos * 5 + j * 3) % 97) / 8 - 6
    }

    func rowValues(hook h: Int, row: Int, ctx: Int, dIn: Int) -> [Float] {
        var v = [Float](repeating: 0, count: ctx * dIn)
        for p in 0 ..< ctx { for j in 0 ..< dIn { v[p * dIn + j] = value(h, row, p, j) } }
        return v
    }

    func testWriteInterruptResumeAndReadBack() throws {
        let hooks = [ActivationManifest.Hook(name: "blocks.3.attn.hook_z", dIn: 6),
                     ActivationManifest.Hook(name: "blocks.12.attn.hook_z", dIn: 4)]
        let ctx = 3
        func open() throws -> ActivationShardWriter {
            try ActivationShardWriter(directory: dir, hooks: hooks, modelName: "m", contextSize: ctx,
                                      tokensFile: "t.tokens", rowsRequested: 7, shardRows: 2)
        }
        // First run: 5 rows appended, only 4 committed (2 shards); the 5th is lost on "crash".
        do {
            let w = try open()
            for r in 0 ..< 5 {
                let a = rowValues(hook: 0, row: r, ctx: ctx, dIn: 6), b = rowValues(hook: 1, row: r, ctx: ctx, dIn: 4)
                try a.withUnsafeBufferPointer { pa in try b.withUnsafeBufferPointer { pb in try w.append(row: [pa, pb]) } }
            }
            XCTAssertEqual(w.manifest.rowsDone, 4)
            XCTAssertEqual(w.nextRow, 5)
        }
        // Resume: continues at row 4.
        let w = try open()
        XCTAssertEqual(w.nextRow, 4)
        for r in w.nextRow ..< 7 {
            let a = rowValues(hook: 0, row: r, ctx: ctx, dIn: 6), b = rowValues(hook: 1, row: r, ctx: ctx, dIn: 4)
            try a.withUnsafeBufferPointer { pa in try b.withUnsafeBufferPointer { pb in try w.append(row: [pa, pb]) } }
        }
        try w.finish()
        let m = try ActivationManifest.load(directory: dir)
        XCTAssertTrue(m.complete)
        XCTAssertEqual(m.rowsDone, 7)
        XCTAssertEqual(m.shards.map(\.rows), [2, 2, 2, 1])
        XCTAssertEqual(m.totalTokens, 21)

        let reader = try ActivationShardReader(directory: dir)
        for (h, hook) in hooks.enumerated() {
            let acts = try reader.hook(hook.name)
            XCTAssertEqual(acts.tokenCount, 21)
            var out = [Float](repeating: 0, count: hook.dIn)
            for t in 0 ..< 21 {
                out.withUnsafeMutableBufferPointer { acts.copyToken(t, scale: 2, into: $0.baseAddress!) }
                for j in 0 ..< hook.dIn {
                    let expected = Float(Float16(value(h, t / ctx, t % ctx, j))) * 2
                    XCTAssertEqual(out[j], expected, "hook \(h) token \(t) dim \(j)")
                }
            }
        }
        XCTAssertThrowsError(try reader.hook("blocks.5.attn.hook_z")) { e in
            guard case TrainingError.unknownHook = e else { return XCTFail("wrong error \(e)") }
        }
    }

    func testResumeWithDifferentHooksIsRejected() throws {
        _ = try ActivationShardWriter(directory: dir, hooks: [.init(name: "blocks.3.attn.hook_z", dIn: 4)], modelName: "m",
                                      contextSize: 2, tokensFile: "t", rowsRequested: 1, shardRows: 1)
        XCTAssertThrowsError(try ActivationShardWriter(directory: dir, hooks: [.init(name: "blocks.4.attn.hook_z", dIn: 4)],
                                                       modelName: "m", contextSize: 2, tokensFile: "t", rowsRequested: 1,
                                                       shardRows: 1)) { e in
            guard case TrainingError.resumeMismatch = e else { return XCTFail("wrong error \(e)") }
        }
    }

    func testTruncatedShardIsReported() throws {
        let hook = ActivationManifest.Hook(name: "h", dIn: 4)
        let w = try ActivationShardWriter(directory: dir, hooks: [hook], modelName: "m", contextSize: 2,
                                          tokensFile: "t", rowsRequested: 1, shardRows: 1)
        let v = [Float](repeating: 1, count: 8)
        try v.withUnsafeBufferPointer { try w.append(row: [$0]) }
        let path = dir + "/" + ActivationManifest.shardPath(hook: "h", index: 0)
        try Data(count: 10).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ActivationShardReader(directory: dir).hook("h")) { e in
            XCTAssertTrue("\(e)".contains("expected 2 × 4 halves"), "\(e)")
        }
    }

    func testSpreadRowSelectionCoversTheFileAndPinsResume() throws {
        let hook = ActivationManifest.Hook(name: "h", dIn: 2)
        let w = try ActivationShardWriter(directory: dir, hooks: [hook], modelName: "m", contextSize: 1,
                                          tokensFile: "t", rowsRequested: 4, shardRows: 2, spreadOverFileRows: 100)
        XCTAssertEqual((0 ..< 4).map { w.manifest.fileRow(ofStoredRow: $0) }, [0, 25, 50, 75])
        XCTAssertThrowsError(try ActivationShardWriter(directory: dir, hooks: [hook], modelName: "m", contextSize: 1,
                                                       tokensFile: "t", rowsRequested: 5, shardRows: 2,
                                                       spreadOverFileRows: 100)) { e in
            guard case TrainingError.resumeMismatch = e else { return XCTFail("wrong error \(e)") }
        }
        XCTAssertNoThrow(try ActivationShardWriter(directory: dir, hooks: [hook], modelName: "m", contextSize: 1,
                                                   tokensFile: "t", rowsRequested: 4, shardRows: 2, spreadOverFileRows: 100))
    }

    func testUnsafeHookNamesAreRejected() {
        XCTAssertFalse(ActivationManifest.isSafeHookName("../etc"))
        XCTAssertFalse(ActivationManifest.isSafeHookName("a/b"))
        XCTAssertTrue(ActivationManifest.isSafeHookName("blocks.12.attn.hook_z"))
    }

    func testSamplerIsAPermutationAndReproducible() throws {
        var s1 = try ShuffledBatchSampler(tokenCount: 1000, batchSize: 100, seed: 7)
        var s2 = try ShuffledBatchSampler(tokenCount: 1000, batchSize: 100, seed: 7)
        var seen = Set<Int32>()
        for step in 0 ..< 10 {
            let a = Array(s1.indices(forStep: step))
            XCTAssertEqual(a, Array(s2.indices(forStep: step)))
            seen.formUnion(a)
        }
        XCTAssertEqual(seen.count, 1000, "one epoch visits every token once")
        let epoch0 = Array(s1.indices(forStep: 0)), epoch1 = Array(s1.indices(forStep: 10))
        XCTAssertNotEqual(epoch0, epoch1, "each epoch is shuffled anew")
        // Jumping straight to a step (resume) gives the same batch.
        var s3 = try ShuffledBatchSampler(tokenCount: 1000, batchSize: 100, seed: 7)
        XCTAssertEqual(Array(s3.indices(forStep: 13)), Array(s2.indices(forStep: 13)))
        XCTAssertThrowsError(try ShuffledBatchSampler(tokenCount: 10, batchSize: 11, seed: 0))
    }
}
