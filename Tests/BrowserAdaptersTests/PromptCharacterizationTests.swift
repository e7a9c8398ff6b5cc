import Foundation
import LatentCache
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// Characterization of the live prompt (tokenize → forward with hooks → SAE encode → top latents, next tokens, and a
/// trace with DFA by source and per head) on the tiny Llama checkpoint with a seeded hook_z SAE, written as text
/// and compared with Tests/Fixtures/pipeline/prompt.txt, recorded before the pipeline moved into
/// ActivationPipeline. FEATURESCOPE_UPDATE_PIPELINE=1 rewrites it after a deliberate change.
final class PromptCharacterizationTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testPromptRunAndTraceGiveTheRecordedValues() async throws {
        let root = CacheFixtures.temporaryDirectory("prompt")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root, latents: 40, hook: "blocks.1.attn.hook_z", dIn: 64))
        let model = Self.fixtures.appendingPathComponent("tiny-models/llama3").path
        let data = CacheBrowserData(cache: cache, engine: EngineHost(cache: cache, modelPath: model))
        let runner = EnginePromptRunner(host: data.engine, hooks: ["blocks.1.attn.hook_z"], topLatentCount: 3, nextTokenCount: 4)
        let run = try await runner.run(text: "The river ran low in August, and the heron stood", part: 0)
        func f(_ x: Float) -> String { String(format: "%.5g", Double(x)) }
        var lines = ["tokens: " + run.tokens.map { "\"\($0)\"" }.joined(separator: " ")]
        for (t, top) in run.topLatents.enumerated() {
            lines.append("token \(t): " + top.map { "\($0.latent)=\(f($0.activation))" }.joined(separator: " "))
        }
        lines.append("next: " + run.nextTokens.map { "\"\($0.token)\"=\(f($0.probability))" }.joined(separator: " "))
        let strongest = try XCTUnwrap(run.topLatents.last?.first).latent
        let trace = try await runner.trace(run: run, latent: strongest, token: run.tokens.count - 1)
        lines.append("trace latent \(strongest): " + trace.activations.map(f).joined(separator: " "))
        lines.append("dfa by source: " + (trace.dfaBySource ?? []).map(f).joined(separator: " "))
        lines.append("per head: " + (trace.perHead ?? []).map(f).joined(separator: " "))
        let text = lines.joined(separator: "\n") + "\n"
        let file = Self.fixtures.appendingPathComponent("pipeline/prompt.txt").path
        if ProcessInfo.processInfo.environment["FEATURESCOPE_UPDATE_PIPELINE"] == "1" {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = FileManager.default.contents(atPath: file) else {
            return XCTFail("no \(file); run this test with FEATURESCOPE_UPDATE_PIPELINE=1 to record it")
        }
        XCTAssertEqual(text, String(decoding: expected, as: UTF8.self), "the live prompt gives other values than recorded in \(file)")
    }
}
