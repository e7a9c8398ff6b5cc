import Foundation
import ModelEngine
import TensorFormats
import XCTest

/// Hugging Face folders that are wrong in one way each, `config.json` layouts of transformers 4 and 5, the
/// stop tokens of a folder, and repo ids in the hub cache.
final class HFFolderErrorTests: XCTestCase {
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "hf-folder-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// A copy of the tiny model `family` whose config.json is changed by `edit`.
    private func copy(_ family: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let source = HFFolderTests.root + "/" + family
        guard FileManager.default.fileExists(atPath: source + "/config.json") else {
            XCTFail("\(source)/config.json is missing (scripts/make-tiny-models.py writes it)")
            throw CocoaError(.fileNoSuchFile)
        }
        let folder = scratch + "/" + family
        try FileManager.default.copyItem(atPath: source, toPath: folder)
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json"))) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        return folder
    }

    /// The description of the error `body` throws (fails when it throws none).
    private func message(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    private func config(_ json: [String: Any]) throws -> ModelConfig {
        let path = scratch + "/config-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return try ModelConfig(huggingFaceConfig: path)
    }

    func testMissingConfigKeyNamesFileAndKey() throws {
        let folder = try copy("qwen2") { $0["hidden_size"] = nil }
        let m = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(m.contains(folder + "/config.json") && m.contains("'hidden_size'") && m.contains("missing"), m)
    }

    func testUnknownModelType() throws {
        let folder = try copy("gpt2") { $0["model_type"] = "mamba" }
        let m = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(m.contains("config.json") && m.contains("'model_type'") && m.contains("mamba") && m.contains("gpt_neox"), m)
    }

    func testShapeMismatchNamesTensorAndShapes() throws {
        let folder = try copy("llama3") { $0["intermediate_size"] = 256 }
        let m = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(m.contains("blk.0.ffn_up.weight") && m.contains("[64, 128]") && m.contains("[64, 256]"), m)
    }

    func testMissingShardNamesIndexAndShard() throws {
        let folder = try copy("gemma3")
        try FileManager.default.removeItem(atPath: folder + "/model-00002-of-00003.safetensors")
        let m = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(m.contains("model.safetensors.index.json") && m.contains("model-00002-of-00003.safetensors") && m.contains("missing"), m)
    }

    func testFolderWithoutWeightsOrConfig() throws {
        let folder = try copy("gpt2")
        try FileManager.default.removeItem(atPath: folder + "/model.safetensors")
        XCTAssertTrue(message { _ = try TransformerModel(path: folder) }.contains("no model.safetensors"))
        try FileManager.default.removeItem(atPath: folder + "/config.json")
        XCTAssertTrue(message { _ = try TransformerModel(path: folder) }.contains("needs config.json"))
    }

    func testMissingTensors() throws {
        let folder = try copy("gpt_neox")
        let file = folder + "/model.safetensors"
        let original = try SafetensorsFile(path: file)
        /// Rewrites the file without `dropped`.
        func write(without dropped: String) throws {
            var writer = SafetensorsWriter()
            for name in original.tensorNames where name != dropped {
                try writer.add(name, floats: try original.floats(name), shape: try original.info(name).shape)
            }
            try writer.write(to: file)
        }
        // Untied (tie_word_embeddings false) but without embed_out.
        try write(without: "embed_out.weight")
        let untied = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(untied.contains("tie_word_embeddings false") && untied.contains("embed_out.weight"), untied)
        try write(without: "gpt_neox.layers.1.mlp.dense_4h_to_h.weight")
        let block = message { _ = try TransformerModel(path: folder) }
        XCTAssertTrue(block.contains("missing tensor blk.1.ffn_down.weight"), block)
    }

    func testTransformers4Keys() throws {
        let pythia = try config(["model_type": "gpt_neox", "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                                 "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 2048,
                                 "rotary_pct": 0.25, "rotary_emb_base": 10000, "use_parallel_residual": false,
                                 "layer_norm_eps": 1e-5, "hidden_act": "gelu"])
        XCTAssertEqual(pythia.ropeDims, 8)
        XCTAssertFalse(pythia.parallelResidual)
        XCTAssertEqual(pythia.mlpKind, .geluErf)
        XCTAssertEqual(pythia.normKind, .layer)
        let llama = try config(["model_type": "llama", "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
                                "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000,
                                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                                "rope_scaling": ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192]])
        XCTAssertEqual(llama.ropeScaling, Llama3RopeScaling(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192))
        XCTAssertEqual(llama.ropeBase, 500000)
        XCTAssertEqual(llama.kvHeadCount, 2)
        let gemma3 = try config(["model_type": "gemma3_text", "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 12,
                                 "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 64, "vocab_size": 1000,
                                 "max_position_embeddings": 32768, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
                                 "sliding_window": 512, "sliding_window_pattern": 6, "query_pre_attn_scalar": 256])
        XCTAssertEqual((0 ..< 12).filter { !gemma3.isSliding($0) }, [5, 11])
        XCTAssertEqual(gemma3.ropeBase(layer: 0), 10000)
        XCTAssertEqual(gemma3.ropeBase(layer: 5), 1000000)
        XCTAssertEqual(gemma3.attentionScale, 1.0 / 16.0)
        let gemma2 = try config(["model_type": "gemma2", "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 4,
                                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
                                 "max_position_embeddings": 8192, "query_pre_attn_scalar": 144, "sliding_window": 4096,
                                 "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0])
        XCTAssertEqual((0 ..< 4).map { gemma2.isSliding($0) }, [true, false, true, false])
        XCTAssertEqual(gemma2.attentionScale, 1.0 / 12.0)
        XCTAssertEqual(gemma2.attentionSoftcap, 50)
        XCTAssertEqual(gemma2.finalSoftcap, 30)
        let gpt2 = try config(["model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 64,
                               "vocab_size": 1000, "n_inner": NSNull()])
        XCTAssertEqual(gpt2.hiddenDim, 256)
        XCTAssertTrue(gpt2.learnedPositions)
        XCTAssertEqual(gpt2.mlpKind, .geluTanh)
    }

    func testUnsupportedRopeTypeAndBadValues() throws {
        var json: [String: Any] = ["model_type": "llama", "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
                                   "num_attention_heads": 4, "vocab_size": 1000, "max_position_embeddings": 4096,
                                   "rope_scaling": ["rope_type": "yarn", "factor": 4.0]]
        let yarn = message { _ = try config(json) }
        XCTAssertTrue(yarn.contains("rope_type") && yarn.contains("yarn"), yarn)
        json["rope_scaling"] = nil
        json["num_hidden_layers"] = "two"
        let bad = message { _ = try config(json) }
        XCTAssertTrue(bad.contains("'num_hidden_layers'") && bad.contains("integer"), bad)
    }

    func testStopTokensFromGenerationConfigAndTokenizer() throws {
        let folder = try copy("gemma2")
        let tokenizer: [String: Any] = ["added_tokens": [["id": 7, "content": "<end_of_turn>", "special": true],
                                                         ["id": 8, "content": "<start_of_turn>", "special": true]]]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: folder + "/tokenizer.json"))
        let model = try TransformerModel(path: folder)
        XCTAssertEqual(model.eosTokenID, 1)  // generation_config.json of the tiny Gemma 2
        XCTAssertEqual(model.stopTokenIDs, [1, 7])
        // Without eos_token_id anywhere, tokenizer_config.json's eos_token names it.
        let bare = try copy("qwen2") { $0["eos_token_id"] = nil }
        try FileManager.default.removeItem(atPath: bare + "/generation_config.json")
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: bare + "/tokenizer.json"))
        try JSONSerialization.data(withJSONObject: ["eos_token": ["content": "<start_of_turn>"]])
            .write(to: URL(fileURLWithPath: bare + "/tokenizer_config.json"))
        let qwen = try TransformerModel(path: bare)
        XCTAssertEqual(qwen.eosTokenID, 8)
        XCTAssertEqual(qwen.stopTokenIDs, [7, 8])
    }

    func testRepoIDResolvesInHubCacheOffline() throws {
        let hub = scratch + "/hub"
        let snapshot = hub + "/models--tiny-org--tiny.gpt2/snapshots/0123abcd"
        try FileManager.default.createDirectory(atPath: hub + "/models--tiny-org--tiny.gpt2/refs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: hub + "/models--tiny-org--tiny.gpt2/snapshots", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: HFFolderTests.root + "/gpt2", toPath: snapshot)
        try "0123abcd".write(toFile: hub + "/models--tiny-org--tiny.gpt2/refs/main", atomically: true, encoding: .utf8)
        for env in [["HF_HUB_CACHE": hub], ["HF_HOME": scratch, "HF_HUB_CACHE": ""]] {
            let path = try ModelLocator.locate(explicit: "tiny-org/tiny.gpt2", environment: env)
            XCTAssertEqual(path, snapshot)
            XCTAssertEqual(try TransformerModel(path: path).config.architecture, .gpt2)
        }
        let missing = message { _ = try ModelLocator.locate(explicit: "tiny-org/absent", environment: ["HF_HUB_CACHE": hub]) }
        XCTAssertTrue(missing.contains("not in the Hugging Face cache") && missing.contains("huggingface-cli download tiny-org/absent"), missing)
        XCTAssertEqual(ModelLocator.huggingFaceCache(environment: ["HOME": "/home/u"]), "/home/u/.cache/huggingface/hub")
        XCTAssertFalse(ModelLocator.isRepoID("../x"))
        XCTAssertFalse(ModelLocator.isRepoID("/abs/model.gguf"))
    }
}
