import XCTest
import TensorFormats

/// Opens the real SmolLM2 GGUF when it is present (CI fetches it first).
final class RealModelSmokeTests: XCTestCase {
    static var modelPath: String {
        let env = ProcessInfo.processInfo.environment
        let dir = env["FEATURESCOPE_CACHE_DIR"] ?? (env["XDG_CACHE_HOME"].map { $0 + "/featurescope" } ?? NSHomeDirectory() + "/.cache/featurescope")
        return dir + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    func testRealGGUFHeaderAndTensors() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else { throw XCTSkip("model not fetched") }
        let g = try GGUFFile(path: Self.modelPath)
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(try g.int("llama.block_count"), 30)
        XCTAssertEqual(try g.int("llama.embedding_length"), 576)
        XCTAssertEqual(try g.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try g.stringArray("tokenizer.ggml.tokens").count, 49152)
        let emb = try g.info("token_embd.weight")
        XCTAssertEqual(emb.dims, [576, 49152])
        XCTAssertEqual(emb.type, .q8_0)
        XCTAssertEqual(try g.info("blk.0.attn_q.weight").type, .q4_1)
        let norm = try g.dequantize("blk.0.attn_norm.weight")
        XCTAssertEqual(norm.count, 576)
        XCTAssertTrue(norm.allSatisfy { $0.isFinite })
    }
}
