import Foundation
@testable import ModelEngine
import TensorFormats
import XCTest

/// How a Hugging Face folder's tensors reach the engine: stored precision kept where no transform is needed,
/// other checkpoint layouts of the same family, and block tensors beyond the declared layers.
final class HFFolderLayoutTests: XCTestCase {
    private func source(_ family: String, folder: String? = nil) throws -> HFFolderWeightSource {
        let dir = folder ?? HFFolderTests.root + "/" + family
        let config = try ModelConfig(huggingFaceConfig: dir + "/config.json")
        return try HFFolderWeightSource(folder: dir, config: config, tied: nil)
    }

    func testMatricesStayInStoredPrecisionUnlessTransformed() throws {
        for (family, name, type) in [("llama3", "blk.0.attn_q.weight", GGMLType.bf16), ("qwen2", "blk.1.ffn_down.weight", .f16),
                                     ("gemma3", "token_embd.weight", .f32), ("gpt_neox", "blk.0.attn_output.weight", .f32)] {
            let s = try source(family)
            let m = try s.matrix(name)
            XCTAssertEqual(m.type, type, "\(family) \(name)")
            XCTAssertTrue(m.owner is MappedFile, "\(family) \(name) is a view of the mapping")
            XCTAssertEqual(m.decoded(), try s.floats(name), "\(family) \(name)")
            XCTAssertEqual([m.cols, m.rows], try s.dims(name))
        }
        // Transformed: GPT-2 Conv1D (transposed) and NeoX fused QKV (regrouped) are owned Float copies.
        let gpt2 = try source("gpt2")
        let qkv = try gpt2.matrix("blk.0.attn_qkv.weight")
        XCTAssertEqual(qkv.type, .f32)
        XCTAssertFalse(qkv.owner is MappedFile)
        XCTAssertEqual([qkv.rows, qkv.cols], [192, 64])
        let st = try SafetensorsFile(path: HFFolderTests.root + "/gpt2/model.safetensors")
        let conv = try st.floats("transformer.h.0.attn.c_attn.weight")  // [in 64, out 192]
        let mine = qkv.decoded()
        for (r, c) in [(0, 0), (5, 17), (191, 63), (100, 3)] { XCTAssertEqual(mine[r * 64 + c], conv[c * 192 + r]) }
        let neox = try source("gpt_neox")
        let fused = try SafetensorsFile(path: HFFolderTests.root + "/gpt_neox/model.safetensors")
            .floats("gpt_neox.layers.0.attention.query_key_value.bias")
        let regrouped = try neox.floats("blk.0.attn_qkv.bias")
        // Head 1, key row 2: HF row (1·3 + 1)·16 + 2, engine row (1·4 + 1)·16 + 2 (4 heads of 16).
        XCTAssertEqual(regrouped[(1 * 4 + 1) * 16 + 2], fused[(1 * 3 + 1) * 16 + 2])
        // Gemma norms get 1 + w.
        let gemma = try source("gemma2")
        let w = try SafetensorsFile(path: HFFolderTests.root + "/gemma2/model.safetensors").floats("model.layers.1.post_feedforward_layernorm.weight")
        XCTAssertEqual(try gemma.floats("blk.1.post_ffw_norm.weight"), w.map { 1 + $0 })
    }

    /// openai-community/gpt2's layout: no `transformer.` prefix, plus `h.N.attn.bias` causal masks.
    func testGPT2WithoutPrefixAndWithMasks() throws {
        let dir = NSTemporaryDirectory() + "hf-gpt2-layout-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = HFFolderTests.root + "/gpt2"
        try FileManager.default.copyItem(atPath: original + "/config.json", toPath: dir + "/config.json")
        let st = try SafetensorsFile(path: original + "/model.safetensors")
        var writer = SafetensorsWriter()
        for name in st.tensorNames {
            try writer.add(String(name.dropFirst("transformer.".count)), floats: try st.floats(name), shape: try st.info(name).shape)
        }
        for l in 0 ..< 2 {
            try writer.add("h.\(l).attn.bias", floats: [Float](repeating: 1, count: 64 * 64), shape: [1, 1, 64, 64])
        }
        try writer.write(to: dir + "/model.safetensors")
        let ids: [Int32] = [1, 2, 3, 50, 400, 7]
        let a = try TransformerModel(path: original).forward(tokens: ids, logits: .all).logits
        let b = try TransformerModel(path: dir).forward(tokens: ids, logits: .all).logits
        XCTAssertEqual(a.count, 6 * 512)
        XCTAssertEqual(a, b)
    }

    func testTensorOfUndeclaredLayerIsRejected() throws {
        let dir = NSTemporaryDirectory() + "hf-extra-layer-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: HFFolderTests.root + "/qwen2", toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let st = try SafetensorsFile(path: dir + "/model.safetensors")
        var writer = SafetensorsWriter()
        for name in st.tensorNames { try writer.add(name, floats: try st.floats(name), shape: try st.info(name).shape) }
        try writer.add("model.layers.7.input_layernorm.weight", floats: [Float](repeating: 1, count: 64), shape: [64])
        try writer.write(to: dir + "/model.safetensors")
        XCTAssertThrowsError(try TransformerModel(path: dir)) { error in
            XCTAssertTrue("\(error)".contains("model.layers.7.input_layernorm.weight belongs to block 7"), "\(error)")
        }
    }

    /// A multimodal Gemma 3 config.json: the text model's keys under `text_config`.
    func testGemma3NestedTextConfig() throws {
        let path = NSTemporaryDirectory() + "gemma3-config-\(getpid())-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json: [String: Any] = ["model_type": "gemma3", "text_config": [
            "model_type": "gemma3_text", "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 6,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
            "max_position_embeddings": 4096, "sliding_window": 16, "query_pre_attn_scalar": 64,
            "rope_parameters": ["full_attention": ["rope_type": "default", "rope_theta": 1000000.0],
                                "sliding_attention": ["rope_type": "default", "rope_theta": 10000.0]]]]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let c = try ModelConfig(huggingFaceConfig: path)
        XCTAssertEqual(c.architecture, .gemma3)
        XCTAssertEqual((0 ..< 6).map { c.isSliding($0) }, [true, true, true, true, true, false])
        XCTAssertEqual(c.ropeBase, 1_000_000)
        XCTAssertEqual(c.ropeLocalBase, 10000)
        XCTAssertEqual(c.slidingWindow, 16)
        XCTAssertTrue(c.qkNorm)
    }
}
