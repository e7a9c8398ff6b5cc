import Foundation
import XCTest
import TensorFormats
@testable import ModelEngine

/// SmolLM2's tokenizer against llama.cpp's ids (Tests/Fixtures/smollm2).
final class TokenizerTests: XCTestCase {
    func testVocabularyMetadata() throws {
        let tok = try TokenizerFixtures.tokenizer()
        XCTAssertEqual(tok.vocabSize, 49152)
        XCTAssertEqual(tok.bosId, 1)
        XCTAssertEqual(tok.eosId, 2)
        XCTAssertEqual(tok.unknownId, 0)
        XCTAssertEqual(tok.paddingId, 2)
        XCTAssertFalse(tok.addBosToken)
        XCTAssertEqual(tok.preTokenizerName, "smollm")
        XCTAssertEqual(tok.tokenString(2), "<|im_end|>")
        XCTAssertEqual(tok.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(tok.id(of: "Ġthe"), 260)
        XCTAssertTrue(tok.isControl(0))
        XCTAssertFalse(tok.isControl(260))
        XCTAssertNil(tok.tokenString(49152))
        XCTAssertNil(tok.tokenString(-1))
    }

    /// Every string of tokenization.json (285 hand-picked + 1000 random) gives llama.cpp's ids.
    func testReferenceStringsMatchLlamaCpp() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let ref = try TokenizerFixtures.refdata("tokenization.json", as: TokenizationReference.self)
        var cases = 0, matched = 0, specialFalseCases = 0
        var failures: [String] = []
        for (key, entries) in [("entries", ref.entries), ("fuzz_entries", ref.fuzzEntries)] {
            XCTAssertFalse(entries.isEmpty)
            for entry in entries {
                let text = entry.text
                let expected = entry.llamacppIds
                cases += 1
                let got = tok.encode(text)
                if got == expected { matched += 1 } else if failures.count < 10 {
                    failures.append("\(key) \(text.debugDescription): got \(got), expected \(expected)")
                }
                if let noSpecial = entry.llamacppIdsSpecialFalse {
                    specialFalseCases += 1
                    XCTAssertEqual(tok.encode(text, parseSpecial: false), noSpecial, "parseSpecial false: \(text.debugDescription)")
                }
            }
        }
        XCTAssertEqual(cases, 1285)
        XCTAssertGreaterThan(specialFalseCases, 0)
        XCTAssertEqual(matched, cases, "mismatches:\n" + failures.joined(separator: "\n"))
        print("tokenization.json: \(matched)/\(cases) match llama.cpp; \(specialFalseCases) parse-special=false cases checked")
    }

    /// The prompts of the per-prompt reference files give llama.cpp's ids, with and without special parsing.
    func testPromptFilesMatchLlamaCpp() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let names = ["fox", "lily", "fibonacci", "swift_code", "numbers", "unicode_emoji",
                     "leading_spaces", "long_paragraph", "chat_template"]
        for name in names {
            let file = try TokenizerFixtures.refdata(name + ".json", as: PromptReference.self)
            let text = file.text
            let expected = file.tokens.llamacppIdsAddBosTrueSpecialTrue
            XCTAssertEqual(tok.encode(text), expected, name)
            if let noSpecial = file.tokens.llamacppIdsAddBosTrueSpecialFalse {
                XCTAssertEqual(tok.encode(text, parseSpecial: false), noSpecial, name + " (special false)")
            }
            XCTAssertEqual(Array(tok.decode(expected).utf8), Array(text.utf8), name + " decode")
        }
    }

    /// Many threads sharing one tokenizer (and its word cache) get llama.cpp's ids.
    func testConcurrentEncodingMatchesReference() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let ref = try TokenizerFixtures.refdata("tokenization.json", as: TokenizationReference.self)
        let entries = ref.entries + ref.fuzzEntries
        let mismatches = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for (i, entry) in entries.enumerated() where i % 2 == worker % 2 {
                if tok.encode(entry.text) != entry.llamacppIds { mismatches.increment() }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }

    func testRoundTripsOfReferenceStrings() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let ref = try TokenizerFixtures.refdata("tokenization.json", as: TokenizationReference.self)
        var count = 0
        for entries in [ref.entries, ref.fuzzEntries] {
            for entry in entries {
                let text = entry.text
                XCTAssertEqual(Array(tok.decode(tok.encode(text)).utf8), Array(text.utf8), text.debugDescription)
                XCTAssertEqual(Array(tok.decode(tok.encode(text, parseSpecial: false)).utf8), Array(text.utf8))
                count += 1
            }
        }
        XCTAssertEqual(count, 1285)
    }

    func testChatTemplateMatchesGGUFTemplateAndReference() throws {
        let tok = try TokenizerFixtures.tokenizer()
        XCTAssertEqual(tok.chatTemplate, ChatTemplate.smolLM2Jinja)
        let file = try TokenizerFixtures.refdata("chat_template.json", as: PromptReference.self)
        let messages = try XCTUnwrap(file.chatMessages)
        XCTAssertEqual(messages.count, 1)
        let prompt = ChatTemplate.smolLM2(messages: messages.map { ($0.role, $0.content) }, addGenerationPrompt: true)
        XCTAssertEqual(prompt, file.text)
        XCTAssertEqual(tok.encode(prompt), file.tokens.llamacppIdsAddBosTrueSpecialTrue)
    }

    func testSpecialTokens() throws {
        let tok = try TokenizerFixtures.tokenizer()
        XCTAssertEqual(tok.encode("<|im_start|>"), [1])
        XCTAssertEqual(tok.encode("<|im_end|><|im_start|>"), [2, 1])
        XCTAssertEqual(tok.encode("<|endoftext|>"), [0])
        let plain = tok.encode("<|im_end|>", parseSpecial: false)
        XCTAssertGreaterThan(plain.count, 1)
        XCTAssertFalse(plain.contains(2))
        XCTAssertEqual(tok.decode(plain), "<|im_end|>")
        // `<reponame>` (10 bytes) must not be confused with `<repo_name>` (11 bytes).
        XCTAssertEqual(tok.encode("<repo_name><reponame>"), [3, 4])
        XCTAssertEqual(tok.decode([1, 4093, 198, 2]), "<|im_start|>user\n<|im_end|>")
        XCTAssertEqual(tok.decode([1, 4093, 198, 2], skipSpecial: true), "user\n")
        XCTAssertEqual(tok.encode(""), [])
    }

    func testDisplayStrings() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let the = try XCTUnwrap(tok.id(of: "Ġthe"))
        XCTAssertEqual(tok.displayString(the), " the")
        XCTAssertEqual(tok.displayString(the, showWhitespace: true), "·the")
        XCTAssertEqual(tok.tokenBytes(the), Array(" the".utf8))
        XCTAssertEqual(tok.displayString(198, showWhitespace: true), "↵")
        XCTAssertEqual(tok.displayString(197, showWhitespace: true), "⇥")
        XCTAssertEqual(tok.displayString(2), "<|im_end|>")
        // "â" in the byte-level alphabet is the lone byte 0xE2, the start of a 3-byte character.
        let e2 = try XCTUnwrap(tok.id(of: "â"))
        XCTAssertEqual(tok.tokenBytes(e2), [0xE2])
        XCTAssertEqual(tok.displayString(e2), "<0xE2>")
        // The emoji 🚀 (F0 9F 9A 80) splits into partial tokens; their displays rebuild the bytes.
        let rocket = tok.encode("🚀")
        XCTAssertGreaterThan(rocket.count, 1)
        XCTAssertTrue(rocket.allSatisfy { tok.displayString($0).hasPrefix("<0x") })
        XCTAssertEqual(rocket.flatMap { tok.tokenBytes($0) }, Array("🚀".utf8))
        XCTAssertEqual(tok.displayString(-5), "<bad id -5>")
    }

    /// Long words (beyond the direct-scan limit) and random words agree with a plain string BPE.
    func testMergingAgreesWithReferenceBPE() throws {
        let tok = try TokenizerFixtures.tokenizer()
        let path = TokenizerFixtures.modelPath
        let reference = ReferenceBPE(merges: try GGUFFile(path: path).stringArray("tokenizer.ggml.merges"))
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "b", "e", "th", "in", "=", "-", "*", " ", "\n", "é", "中", "ab", "er"]
        var words: [String] = [String(repeating: " ", count: 300), String(repeating: "=", count: 200),
                               String(repeating: "ab", count: 150), String(repeating: "-*", count: 99)]
        for _ in 0 ..< 60 {
            let len = Int.random(in: 1 ... 120, using: &rng)
            let letters = (0 ..< len).map { _ in ["a", "b", "e", "th", "in", "er", "é", "中"].randomElement(using: &rng) ?? "a" }
            words.append(letters.joined())
            let symbols = (0 ..< len).map { _ in pieces.randomElement(using: &rng) ?? "=" }.filter { $0 != " " && $0 != "\n" }
            words.append(symbols.joined())
        }
        for word in words where !word.isEmpty {
            let symbols = word.utf8.map { b in String(UnicodeScalar(ByteLevelAlphabet.scalarForByte[Int(b)]) ?? "?") }
            let expected = reference.merge(symbols).compactMap { tok.id(of: $0) }
            let initial = word.utf8.map { tok.byteSymbol[Int($0)] }
            var merger = BytePairMerger()
            var got: [Int32] = []
            initial.withUnsafeBufferPointer { merger.merge($0, table: tok.merges, into: &got) }
            XCTAssertEqual(got, expected, "word of \(word.utf8.count) bytes: \(word.prefix(40).debugDescription)")
        }
    }
}

/// A counter that threads may bump.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
