import XCTest
@testable import ModelEngine

/// Tokenizer behaviour on a small hand-made vocabulary (needs no model file).
final class TokenizerUnitTests: XCTestCase {
    /// All 256 byte characters, then merges Ġ+t, h+e, Ġt+he, special tokens.
    private func makeTokenizer(pre: String = "smollm") throws -> Tokenizer {
        var tokens = (0 ..< 256).map { String(UnicodeScalar(ByteLevelAlphabet.scalarForByte[$0]) ?? "?") }
        var types = [Int](repeating: 1, count: 256)
        tokens += ["Ġt", "he", "Ġthe", "<|x|>", "<u>"]
        types += [1, 1, 1, 3, 4]
        return try Tokenizer(tokens: tokens, tokenTypes: types, merges: ["Ġ t", "h e", "Ġt he"],
                             preTokenizer: pre, bosId: 259, eosId: 259)
    }

    private func words(_ text: String, isolateNumbers: Bool = true) -> [String] {
        var text = text
        return text.withUTF8 { buf in
            var scratch = PreTokenizer.Scratch()
            var ends: [Int] = []
            PreTokenizer(isolateNumbers: isolateNumbers).split(buf, scratch: &scratch, wordEnds: &ends)
            var start = 0
            return ends.map { e in
                defer { start = e }
                return String(decoding: UnsafeBufferPointer(rebasing: buf[start ..< e]), as: UTF8.self)
            }
        }
    }

    func testPreTokenizerFollowsGPT2PatternWithIsolatedNumbers() {
        XCTAssertEqual(words("Hello world"), ["Hello", " world"])
        XCTAssertEqual(words("I'm don't we'll"), ["I", "'m", " don", "'t", " we", "'ll"])
        XCTAssertEqual(words("a  b"), ["a", " ", " b"])
        XCTAssertEqual(words("x \n\ny"), ["x", " \n", "\n", "y"])
        XCTAssertEqual(words("end  "), ["end", "  "])
        XCTAssertEqual(words("(hi) ?!"), ["(", "hi", ")", " ?!"])
        // Numbers: every numeric scalar alone; the white space before it ends its segment.
        XCTAssertEqual(words("  1"), ["  ", "1"])
        XCTAssertEqual(words("x 12"), ["x", " ", "1", "2"])
        XCTAssertEqual(words("٣x²½"), ["٣", "x", "²", "½"])
        XCTAssertEqual(words("  1", isolateNumbers: false), [" ", " 1"])
        XCTAssertEqual(words("x 12", isolateNumbers: false), ["x", " 12"])
        // Non-breaking space and ideographic space are white space; a letter after a
        // non-space white space does not take it.
        XCTAssertEqual(words("a\u{00A0}b"), ["a", "\u{00A0}", "b"])
        XCTAssertEqual(words("中文\u{3000}x"), ["中文", "\u{3000}", "x"])
        XCTAssertEqual(words("é😀"), ["é", "😀"])
        XCTAssertEqual(words(""), [])
    }

    func testEncodeMergesAndSpecialTokens() throws {
        let tok = try makeTokenizer()
        let the = try XCTUnwrap(tok.id(of: "Ġthe"))
        let x = try XCTUnwrap(tok.id(of: "<|x|>"))
        let u = try XCTUnwrap(tok.id(of: "<u>"))
        XCTAssertEqual(tok.encode(" the"), [the])
        XCTAssertEqual(tok.encode("a<|x|> the"), [tok.byteSymbol[0x61], x, the])
        XCTAssertEqual(tok.encode("<|x|>", parseSpecial: false).count, 5)
        // User-defined tokens are matched even without special parsing.
        XCTAssertEqual(tok.encode("<u>", parseSpecial: false), [u])
        XCTAssertEqual(tok.decode(tok.encode("a<|x|> the<u>")), "a<|x|> the<u>")
        XCTAssertEqual(tok.decode(tok.encode("a<|x|> the"), skipSpecial: true), "a the")
    }

    func testDisplayOfPartialAndWhitespaceBytes() {
        XCTAssertEqual(Tokenizer.displayString(bytes: [0xE2, 0x82], showWhitespace: false), "<0xE2><0x82>")
        XCTAssertEqual(Tokenizer.displayString(bytes: [0xE2, 0x82, 0xAC], showWhitespace: false), "€")
        XCTAssertEqual(Tokenizer.displayString(bytes: [0x20, 0x0A, 0x09, 0x61], showWhitespace: true), "·↵⇥a")
        XCTAssertEqual(Tokenizer.displayString(bytes: [0x20, 0x61], showWhitespace: false), " a")
        XCTAssertEqual(Tokenizer.displayString(bytes: [0xC0, 0x80], showWhitespace: false), "<0xC0><0x80>")  // overlong
        XCTAssertEqual(Tokenizer.displayString(bytes: [0x0F], showWhitespace: false), "\u{0F}")
    }

    func testBadVocabulariesAreRejected() {
        XCTAssertThrowsError(try makeTokenizer(pre: "no-such-pre")) { error in
            XCTAssertTrue("\(error)".contains("no-such-pre"))
        }
        XCTAssertThrowsError(try Tokenizer(tokens: ["a", "b"], tokenTypes: [1], merges: [], preTokenizer: "smollm"))
        XCTAssertThrowsError(try Tokenizer(tokens: ["a", "b"], tokenTypes: nil, merges: ["ab"], preTokenizer: "smollm"))
        XCTAssertThrowsError(try Tokenizer(tokens: ["a", "b"], tokenTypes: [1, 9], merges: [], preTokenizer: "smollm"))
        XCTAssertThrowsError(try Tokenizer(tokens: ["a", "b"], tokenTypes: nil, merges: [], preTokenizer: "smollm", bosId: 7))
        XCTAssertThrowsError(try Tokenizer(tokens: [], tokenTypes: nil, merges: [], preTokenizer: "smollm"))
    }

    /// A byte whose character is not in the vocabulary is dropped, as llama.cpp does.
    func testMissingByteCharactersAreDropped() throws {
        let tokens = ["a", "b", "Ġ"]
        let tok = try Tokenizer(tokens: tokens, tokenTypes: nil, merges: [], preTokenizer: "gpt-2")
        XCTAssertEqual(tok.encode("a\u{04}b a"), [0, 1, 2, 0])
    }

    func testWordCacheStoresLooksUpAndEmptiesWhenFull() {
        let cache = WordCache(maxEntries: 64)
        func key(_ i: Int) -> [UInt8] { Array("word\(i)".utf8) }
        for i in 0 ..< 60 {
            key(i).withUnsafeBufferPointer { w in
                cache.insert(w, hash: WordCache.hash(w), ids: [Int32(i), Int32(i + 1)][...])
            }
        }
        for i in 0 ..< 60 {
            var out: [Int32] = [-7]
            let hit = key(i).withUnsafeBufferPointer { w in cache.lookup(w, hash: WordCache.hash(w), into: &out) }
            XCTAssertTrue(hit)
            XCTAssertEqual(out, [-7, Int32(i), Int32(i + 1)])
        }
        var out: [Int32] = []
        XCTAssertFalse(Array("absent".utf8).withUnsafeBufferPointer { cache.lookup($0, hash: WordCache.hash($0), into: &out) })
        XCTAssertEqual(out, [])
        // Past 64 entries the cache starts over; it keeps answering correctly.
        for i in 60 ..< 200 {
            key(i).withUnsafeBufferPointer { w in cache.insert(w, hash: WordCache.hash(w), ids: [Int32(i)][...]) }
        }
        var last: [Int32] = []
        XCTAssertTrue(key(199).withUnsafeBufferPointer { cache.lookup($0, hash: WordCache.hash($0), into: &last) })
        XCTAssertEqual(last, [199])
        var first: [Int32] = []
        XCTAssertFalse(key(0).withUnsafeBufferPointer { cache.lookup($0, hash: WordCache.hash($0), into: &first) })
    }

    func testRepeatedWordsComeFromTheCacheUnchanged() throws {
        let tok = try makeTokenizer()
        let once = tok.encode(" the the thee")
        XCTAssertEqual(tok.encode(" the the thee"), once)
        XCTAssertEqual(tok.decode(once), " the the thee")
    }

    func testChatTemplate() {
        let defaultSystem = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        XCTAssertEqual(ChatTemplate.smolLM2(messages: [("user", "Hi")], addGenerationPrompt: true),
                       defaultSystem + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.smolLM2(messages: [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello")],
                                            addGenerationPrompt: false),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n")
        // A system message that is not first does not stop the default one.
        XCTAssertTrue(ChatTemplate.smolLM2(messages: [("user", "a"), ("system", "b")], addGenerationPrompt: false)
            .hasPrefix(defaultSystem))
        XCTAssertEqual(ChatTemplate.smolLM2(messages: [], addGenerationPrompt: true), "<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.smolLM2(messages: [], addGenerationPrompt: false), "")
    }
}

/// The Llama 3 / Qwen2 pre-tokenizer, the SentencePiece merger and tokenizer.json errors
/// on small hand-made inputs.
final class TokenizerFamilyUnitTests: XCTestCase {
    private func words(_ text: String, maxDigits: Int) -> [String] {
        var text = text
        return text.withUTF8 { buf in
            var scratch = PreTokenizer.Scratch()
            var ends: [Int] = []
            PreTokenizer(pattern: .llama3(maxDigits: maxDigits)).split(buf, scratch: &scratch, wordEnds: &ends)
            var start = 0
            return ends.map { e in
                defer { start = e }
                return String(decoding: UnsafeBufferPointer(rebasing: buf[start ..< e]), as: UTF8.self)
            }
        }
    }

    func testLlama3PatternSplits() {
        XCTAssertEqual(words("I'M here", maxDigits: 3), ["I", "'M", " here"])
        XCTAssertEqual(words("12345 x", maxDigits: 3), ["123", "45", " x"])
        XCTAssertEqual(words("12345", maxDigits: 1), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(words("(hello)", maxDigits: 3), ["(hello", ")"])
        XCTAssertEqual(words("a  \n\n b", maxDigits: 3), ["a", "  \n\n", " b"])
        XCTAssertEqual(words("x   y", maxDigits: 3), ["x", "  ", " y"])
        XCTAssertEqual(words(" ..\r\nz", maxDigits: 3), [" ..\r\n", "z"])
        XCTAssertEqual(words("\thi  ", maxDigits: 3), ["\thi", "  "])
    }

    func testSentencePieceMergesByScore() throws {
        // Pieces: bytes, "a", "b", "c", "ab" (score -2), "bc" (score -1), "▁".
        var tokens = (0 ..< 256).map { String(format: "<0x%02X>", $0) }
        var types = [Int](repeating: 6, count: 256)
        var scores = [Float](repeating: 0, count: 256)
        tokens += ["a", "b", "c", "ab", "bc", "▁"]
        types += [1, 1, 1, 1, 1, 1]
        scores += [-10, -10, -10, -2, -1, -5]
        var spec = Tokenizer.Spec(tokens: tokens, algorithm: .sentencePiece, source: "unit")
        spec.types = types
        spec.scores = scores
        let tok = try Tokenizer(spec: spec)
        XCTAssertEqual(tok.encode("abc"), [256, 260])  // "bc" outscores "ab"
        XCTAssertEqual(tok.encode("é b"), [0xC3, 0xA9, 261, 257])  // byte fallback, space as ▁
        XCTAssertEqual(tok.decode(tok.encode("é b")), "é b")
    }

    func testUnsupportedTokenizerJSONIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokjson-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tokenizer.json").path
        try #"{"model": {"type": "WordPiece", "vocab": {}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Tokenizer(huggingFaceJSON: path)) { XCTAssertTrue("\($0)".contains("WordPiece")) }
        try #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Tokenizer(huggingFaceJSON: path)) { XCTAssertTrue("\($0)".contains("pre_tokenizer 'Whitespace'")) }
    }
}

/// tokenizer_config.json and chat_template.jinja beside a tokenizer.json.
final class TokenizerConfigTests: XCTestCase {
    func testConfigGivesEOSAndTemplate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = TokenizerReference.directory + "/hf/gemma/tokenizer.json"
        try FileManager.default.copyItem(atPath: source, toPath: dir.appendingPathComponent("tokenizer.json").path)
        let config = #"{"bos_token": "<bos>", "eos_token": {"content": "<end_of_turn>"}, "pad_token": "<pad>", "chat_template": "{{ '<start_of_turn>' }}"}"#
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        var tok = try Tokenizer(huggingFaceJSON: dir.appendingPathComponent("tokenizer.json").path)
        XCTAssertEqual(tok.bosId, 2)
        XCTAssertEqual(tok.eosId, tok.id(of: "<end_of_turn>"))
        XCTAssertEqual(tok.paddingId, 0)
        XCTAssertTrue(tok.addBosToken)
        XCTAssertEqual(ChatTemplate.format(forTemplate: tok.chatTemplate), .gemma)
        try "<|im_start|>x".write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        tok = try Tokenizer(huggingFaceJSON: dir.appendingPathComponent("tokenizer.json").path)
        XCTAssertEqual(tok.chatTemplate, "<|im_start|>x")
    }
}
