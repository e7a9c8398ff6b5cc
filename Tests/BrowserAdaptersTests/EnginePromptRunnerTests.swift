import Foundation
import LatentCache
import ModelEngine
import TerminalUI
import XCTest
@testable import BrowserAdapters

final class EnginePromptRunnerTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("engine") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testMissingModelGivesAClearError() async throws {
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root))
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: root + "/no-such-model.gguf"))
        let runner = EnginePromptRunner(data: data)
        do {
            _ = try await runner.run(text: "hello", part: 0)
            XCTFail("expected an error")
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.contains("model") && text.contains("no-such-model.gguf"), text)
        }
        // Without a model the token split is unavailable, not a crash.
        XCTAssertNil(data.tokenHeadSplit(part: 0, latent: 0, group: 0, window: 0, token: 3))
    }

    func testMissingSAEGivesAClearError() async throws {
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root, withSAE: false))
        let host = EngineHost(cache: cache)
        XCTAssertFalse(host.hasSAE(part: 0))
        XCTAssertThrowsError(try host.sae(part: 0)) { e in XCTAssertTrue("\(e)".contains("is not found; tried: \(root)/sae"), "\(e)") }
        XCTAssertThrowsError(try host.sae(part: 5)) { e in XCTAssertTrue("\(e)".contains("no part 5"), "\(e)") }
    }

    /// Runs SmolLM2 for real (slow in debug builds): only with FEATURESCOPE_MODEL_TESTS=1 and the model present.
    func testRealPromptAndTrace() async throws {
        guard ProcessInfo.processInfo.environment["FEATURESCOPE_MODEL_TESTS"] == "1" else {
            throw XCTSkip("set FEATURESCOPE_MODEL_TESTS=1 to run the model")
        }
        let modelPath = ModelLocator.resolve(explicit: nil)
        guard FileManager.default.fileExists(atPath: modelPath) else { throw XCTSkip("no model at \(modelPath)") }
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root))
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: modelPath))
        let runner = EnginePromptRunner(data: data)
        let run = try await runner.run(text: "The cat sat on the mat", part: 0)
        XCTAssertEqual(run.tokens.count, run.topLatents.count)
        XCTAssertGreaterThan(run.tokens.count, 3)
        XCTAssertEqual(run.nextTokens.count, 10)
        XCTAssertEqual(Double(run.nextTokens.map(\.probability).reduce(0, +)), 1, accuracy: 1.0)
        let latent = try XCTUnwrap(run.topLatents.last?.first).latent
        let trace = try await runner.trace(run: run, latent: latent, token: run.tokens.count - 1)
        let heads = try XCTUnwrap(trace.perHead)
        XCTAssertEqual(heads.count, 9)
        XCTAssertEqual(trace.activations.count, run.tokens.count)
        XCTAssertEqual(try XCTUnwrap(trace.dfaBySource).count, run.tokens.count)
        // Ablation effect per token: zero at the last token (no next token), some change where the latent fires.
        let ablation = try XCTUnwrap(trace.ablation)
        XCTAssertEqual(ablation.deltaLogProb.count, run.tokens.count)
        XCTAssertEqual(ablation.deltaLogProb.last, 0)
        XCTAssertTrue(ablation.deltaLogProb.dropLast().contains { $0 != 0 })
        // The per-head split adds up to the pre-activation (fixture SAE: random b_enc).
        XCTAssertGreaterThan(trace.activations.last ?? 0, 0)
        let split = try XCTUnwrap(data.tokenHeadSplit(part: 0, latent: 0, group: 0, window: 0, token: 5))
        XCTAssertEqual(split.perHead.count, 9)
        XCTAssertEqual(split.dfaBySource.count, 16)
        XCTAssertTrue(split.dfaBySource[6...].allSatisfy { $0 == 0 })
    }
}
