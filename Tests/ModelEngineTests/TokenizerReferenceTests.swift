import TensorFormats
import XCTest
@testable import ModelEngine

/// Every test string's ids equal llama.cpp's (GGUF) or the `tokenizers` library's
/// (tokenizer.json) exactly; decode(encode(s)) gives s back wherever the reference does.
final class TokenizerReferenceTests: XCTestCase {
    private func checkGGUF(_ tokenizer: Tokenizer, fixture: String, label: String) throws {
        let strings = try TokenizerReference.strings()
        let reference = try TokenizerReference.load(fixture, as: TokenizerReference.Ids.self)
        let plain: (Tokenizer, String) -> [Int32] = { $0.encode($1, parseSpecial: false, addBos: false) }
        TokenizerReference.check(tokenizer, reference: reference, strings: strings, label: label,
                                 encode: plain, encodePlain: plain)
    }

    func testSmolLM2MatchesLlamaCpp() throws {
        try checkGGUF(try TokenizerFixtures.tokenizer(), fixture: "llamacpp-smollm2.json", label: "SmolLM2 (smollm)")
    }

    func testQwen2MatchesLlamaCpp() throws {
        let tok = try TokenizerReference.ggufTokenizer(envKey: "FEATURESCOPE_QWEN_GGUF", nameParts: ["qwen2.5", "0.5b"],
                                                       fetchName: "qwen2.5-coder-0.5b-instruct")
        XCTAssertEqual(tok.preTokenizerName, "qwen2")
        XCTAssertFalse(tok.addBosToken)
        try checkGGUF(tok, fixture: "llamacpp-qwen2.json", label: "Qwen2.5 (qwen2)")
    }

    func testGemma3SentencePieceMatchesLlamaCpp() throws {
        let tok = try TokenizerReference.ggufTokenizer(envKey: "FEATURESCOPE_GEMMA_GGUF", nameParts: ["gemma", "270m"],
                                                       fetchName: "gemma-3-270m")
        XCTAssertEqual(tok.algorithm, .sentencePiece)
        XCTAssertTrue(tok.addBosToken)
        XCTAssertEqual(tok.encode("hello").first, 2, "Gemma adds <bos>")
        XCTAssertEqual(tok.encode("<start_of_turn>user", parseSpecial: true, addBos: false).first, 105)
        try checkGGUF(tok, fixture: "llamacpp-gemma3.json", label: "Gemma 3 (SentencePiece)")
    }

    /// The vocabulary-only GGUFs cut from the real models (committed: these always run).
    private func checkTiny(_ name: String, algorithm: Tokenizer.Algorithm) throws -> Tokenizer {
        let path = TokenizerReference.directory + "/gguf/\(name).gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("missing fixture \(path); run scripts/make-tokenizer-reference.py")
            throw CocoaError(.fileNoSuchFile)
        }
        let tok = try Tokenizer(gguf: GGUFFile(path: path))
        XCTAssertEqual(tok.algorithm, algorithm)
        let fixture = "llamacpp-tiny-\(name).json"
        let bos = try TokenizerReference.load(fixture, as: BOSReference.self).bosOfX
        XCTAssertEqual(tok.encode("x", parseSpecial: false), bos, "\(name): add_bos as llama.cpp")
        try checkGGUF(tok, fixture: fixture, label: "tiny \(name)")
        return tok
    }

    private struct BOSReference: Decodable { let bosOfX: [Int32] }

    func testTinyLlamaBPEMatchesLlamaCpp() throws {
        let tok = try checkTiny("llama-bpe", algorithm: .byteLevelBPE)
        XCTAssertTrue(tok.options.ignoreMerges)
        XCTAssertTrue(tok.addBosToken)
    }

    func testTinyGPT2MatchesLlamaCpp() throws { _ = try checkTiny("gpt-2", algorithm: .byteLevelBPE) }

    func testTinySentencePieceWithSpacePrefixMatchesLlamaCpp() throws {
        let tok = try checkTiny("spm-prefix", algorithm: .sentencePiece)
        XCTAssertTrue(tok.options.addSpacePrefix)
    }

    private func checkHuggingFace(_ name: String) throws {
        let path = TokenizerReference.directory + "/hf/\(name)/tokenizer.json"
        guard FileManager.default.fileExists(atPath: path) else {
            return XCTFail("missing fixture \(path); run scripts/make-tokenizer-reference.py")
        }
        let tok = try Tokenizer(huggingFaceJSON: path)
        let strings = try TokenizerReference.strings()
        let reference = try TokenizerReference.load("hf-\(name).json", as: TokenizerReference.Ids.self)
        TokenizerReference.check(tok, reference: reference, strings: strings, label: "tokenizer.json \(name)",
                                 encode: { $0.encode($1) }, encodePlain: { $0.encode($1, addBos: false) })
    }

    func testHuggingFaceGPT2ByteLevel() throws { try checkHuggingFace("gpt2") }
    func testHuggingFaceSmolLM2DigitsByteLevel() throws { try checkHuggingFace("smollm2") }
    func testHuggingFaceLlama3SplitByteLevelIgnoreMerges() throws { try checkHuggingFace("llama3") }
    func testHuggingFaceQwen25NFCSplitByteLevel() throws { try checkHuggingFace("qwen2.5") }
    func testHuggingFaceGemmaReplaceByteFallback() throws { try checkHuggingFace("gemma") }
    func testHuggingFaceMetaspace() throws { try checkHuggingFace("metaspace") }
}
