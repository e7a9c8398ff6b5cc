import Foundation
import LatentCache
import ModelEngine
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// The prompt view's attention patterns from a real forward pass on the tiny Llama checkpoint: every layer is
/// captured for a short prompt, rows are causal distributions, and the part's layer equals an independent capture.
final class PromptAttentionCaptureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testRunCapturesEveryLayersPattern() async throws {
        let root = CacheFixtures.temporaryDirectory("prompt-attention")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root, latents: 40, hook: "blocks.1.attn.hook_z", dIn: 64))
        let modelPath = Self.fixtures.appendingPathComponent("tiny-models/llama3").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: modelPath), "missing fixture \(modelPath)")
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: modelPath))
        let runner = EnginePromptRunner(host: data.engine, hooks: ["blocks.1.attn.hook_z"], topLatentCount: 3, nextTokenCount: 4)
        let text = "the heron stood in the river, the heron stood"
        let run = try await runner.run(text: text, part: 0)
        let att = try XCTUnwrap(run.attention)
        let (model, tokenizer) = try data.engine.loadModel()
        XCTAssertEqual(att.layers, Array(0 ..< model.config.layerCount))
        XCTAssertEqual(att.headCount, model.config.headCount)
        XCTAssertEqual(att.tokenCount, run.tokens.count)
        XCTAssertEqual(att.layers[att.preferredLayerIndex], 1, "starts at the part's layer")
        for li in att.layers.indices {
            for h in 0 ..< att.headCount {
                for q in 0 ..< att.tokenCount {
                    let r = att.row(layerIndex: li, head: h, query: q)
                    XCTAssertEqual(Double(r.reduce(0, +)), 1, accuracy: 1e-3, "layer \(li) head \(h) query \(q)")
                    XCTAssertTrue(r[(q + 1)...].allSatisfy { $0 == 0 }, "causal")
                    XCTAssertTrue(r.allSatisfy { $0 >= 0 && $0.isFinite })
                }
            }
        }
        let reference = try AttentionCapture.run(model: model, tokens: tokenizer.encode(text), layer: 1)
        let t = att.tokenCount
        for h in 0 ..< att.headCount {
            for q in 0 ..< t {
                let expected = Array(reference.pattern[(h * t + q) * t ..< (h * t + q + 1) * t])
                let got = att.row(layerIndex: 1, head: h, query: q)
                for k in 0 ..< t { XCTAssertEqual(got[k], expected[k], accuracy: 1e-5) }
            }
        }
        // Long prompts keep only the part's layer once all layers would exceed the budget.
        let config = model.config
        let long = Int((Double(AttentionCapture.promptPatternBudget) / Double(config.headCount * config.layerCount)).squareRoot()) + 1
        XCTAssertEqual(AttentionCapture.patternLayers(config: config, tokenCount: long, partLayer: 1), [1])
    }
}
