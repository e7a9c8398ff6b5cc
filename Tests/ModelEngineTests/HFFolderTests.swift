import Foundation
@testable import ModelEngine
import XCTest

/// Tiny random-initialised Hugging Face checkpoints (Tests/Fixtures/tiny-models/<family>/, made with
/// scripts/make-tiny-models.py) load from their folders and match transformers float32: logits of the whole
/// vocabulary at every position, top-1 where decisive, hook_z and hook_resid_post of every layer, and greedy
/// tokens through the KV cache. A missing fixture fails.
final class HFFolderTests: XCTestCase {
    func testGPT2() throws { try check("gpt2", .gpt2) }
    func testGPTNeoXParallelPartialRotary() throws { try check("gpt_neox", .gptNeoX) }
    func testGemma2SoftcapsAndSlidingWindow() throws { try check("gemma2", .gemma2) }
    func testLlama3RopeScalingBF16() throws { try check("llama3", .llama) }
    func testQwen2BiasesF16() throws { try check("qwen2", .qwen2) }
    func testGemma3ShardedLocalGlobal() throws { try check("gemma3", .gemma3) }

    static var root: String { FamilyFixture.fixturesDirectory + "/tiny-models" }

    func check(_ family: String, _ arch: ModelArchitecture) throws {
        let folder = Self.root + "/" + family
        let fixturePath = folder + "/reference.json"
        guard FileManager.default.fileExists(atPath: fixturePath) else {
            return XCTFail("\(fixturePath) is missing (scripts/make-tiny-models.py writes it)")
        }
        let fixture = try JSONDecoder().decode(FamilyFixture.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath)))
        let model = try TransformerModel(path: folder)
        XCTAssertEqual(model.config.architecture, arch)
        XCTAssertEqual(fixture.layers, Array(0 ..< model.config.layerCount), "\(family): reference covers every layer")
        let generation = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/generation_config.json")))
        let eos = try XCTUnwrap((generation as? [String: Any])?["eos_token_id"] as? Int, "\(family): generation_config.json eos_token_id")
        XCTAssertEqual(model.eosTokenID, Int32(eos))
        XCTAssertTrue(model.stopTokenIDs.contains(Int32(eos)))
        for prompt in fixture.prompts {
            let captures = Set(fixture.layers.flatMap { [HookPoint.z($0), HookPoint.residPost($0)] })
            let result = try model.forward(tokens: prompt.ids, captures: captures, logits: .all)
            var logits = Mismatch()
            var decisive = 0
            for (t, row) in prompt.logits.enumerated() {
                let mine = Array(result.logitsRow(t))
                XCTAssertEqual(row.ids.count, model.config.vocabSize)
                for (id, value) in zip(row.ids, row.values) {
                    logits.check(mine[id], value, abs: 1e-3, rel: 1e-4, index: t * model.config.vocabSize + id)
                }
                if row.top2[0] - row.top2[1] > 0.05 {
                    decisive += 1
                    XCTAssertEqual(argmax(mine), row.top1, "\(family)/\(prompt.name): top-1 differs at position \(t)")
                }
            }
            print("[tiny \(family)/\(prompt.name)] \(prompt.ids.count) tokens; logits \(logits); top-1 checked at \(decisive)")
            XCTAssertEqual(logits.violations, 0, "\(family)/\(prompt.name) logits: \(logits)")
            XCTAssertGreaterThan(logits.checked, 0)
            for layer in fixture.layers {
                guard let ref = prompt.hooks[layer] else { XCTFail("no reference for layer \(layer)"); continue }
                for (label, hook, rows) in [("z", HookPoint.z(layer), ref.z), ("resid_post", HookPoint.residPost(layer), ref.resid)] {
                    let act = try XCTUnwrap(result.activation(hook))
                    let maxRef = rows.flatMap { $0 }.map { abs($0) }.max() ?? 0
                    var m = Mismatch()
                    for (i, pos) in prompt.hookPositions.enumerated() {
                        let mine = act.row(pos)
                        XCTAssertEqual(mine.count, rows[i].count, "\(hook) width")
                        for (j, expected) in rows[i].enumerated() where j < mine.count {
                            m.check(mine[mine.startIndex + j], expected, abs: 1e-4 * maxRef, rel: 0, index: pos * mine.count + j)
                        }
                    }
                    print("[tiny \(family)/\(prompt.name)] L\(layer) \(label) (max|ref| \(maxRef)): \(m)")
                    XCTAssertEqual(m.violations, 0, "\(family)/\(prompt.name) layer \(layer) \(label): \(m)")
                    XCTAssertGreaterThan(m.checked, 0)
                }
            }
            let generator = Generator(model: model, maxLength: prompt.ids.count + 16, quantizedSteps: false)
            var next = argmax(try generator.append(prompt.ids))
            var greedy: [Int] = []
            for _ in prompt.greedy.indices {
                greedy.append(next)
                next = argmax(try generator.append([Int32(next)]))
            }
            XCTAssertEqual(greedy, prompt.greedy, "\(family)/\(prompt.name): greedy continuation")
        }
    }
}
