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
        try fixture.check(model, label: "tiny \(family)", fullVocabulary: true)
    }
}
