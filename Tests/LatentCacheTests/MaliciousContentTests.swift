import Foundation
import XCTest
@testable import LatentCache

/// Untrusted strings are stored and returned byte for byte; sanitising is the UI's job.
final class MaliciousContentTests: XCTestCase {
    func testHostileTokensAndAnnotationsRoundTrip() throws {
        let tmp = TempDir()
        var vocab = (0 ..< 100).map { Array("t\($0)".utf8) }
        vocab[1] = Array("\u{1B}[2J\u{1B}]0;pwned\u{07}".utf8)             // clear screen + set title
        vocab[2] = [0xFF, 0xFE, 0x41, 0xC3]                                    // invalid UTF-8
        vocab[3] = Array(String(repeating: "ж", count: 10_000).utf8)          // 10,000 characters
        vocab[4] = Array("\u{202E}evil\u{200B}\r\n\0".utf8)                    // bidi override, zero width, CR LF NUL
        vocab[5] = []
        let corpus = DenseCorpus.random(rows: 2, rowLength: 32, latentCounts: [3], vocab: 6, seed: 9)
        try corpus.build(at: tmp.sub("cache"), vocabulary: vocab)
        let cache = try LatentCacheDirectory.open(tmp.sub("cache"))
        for i in 0 ..< 6 { XCTAssertEqual(cache.vocabulary.bytes(i), vocab[i], "token \(i)") }
        XCTAssertEqual(cache.displayString(1), "\u{1B}[2J\u{1B}]0;pwned\u{07}")
        XCTAssertEqual(cache.displayString(3).count, 10_000)
        XCTAssertEqual(cache.displayString(2), "\u{FFFD}\u{FFFD}A\u{FFFD}")

        let hostile = "\u{1B}[31mred\u{1B}[0m \u{9B}6n \u{202E}gnp.exe " + String(repeating: "x", count: 20_000)
        let part = cache.parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: hostile, model: hostile, endpoint: hostile, text: hostile))
        let back = try LatentCacheDirectory.open(tmp.sub("cache")).parts[0].annotations(1)
        XCTAssertEqual(back.first?.text, hostile)
        XCTAssertEqual(back.first?.method, hostile)
        XCTAssertEqual(try part.summary(1).explanationPreview, hostile)
    }

    func testByteLevelDisplayStrings() {
        let s = DisplayStrings.fromByteLevel(["Ġhello", "Ċ", "<|im_start|>", "Ã©", "Ã", "âĢ"])
        XCTAssertEqual(s[0], Array(" hello".utf8))
        XCTAssertEqual(s[1], [0x0A])
        XCTAssertEqual(s[2], Array("<|im_start|>".utf8))
        XCTAssertEqual(s[3], Array("é".utf8))
        XCTAssertEqual(String(decoding: s[4], as: UTF8.self), "\\xC3")      // half a character
        XCTAssertEqual(String(decoding: s[5], as: UTF8.self), "\\xE2\\x80")
        XCTAssertEqual(String(decoding: DisplayStrings.tokenIDs(count: 3)[2], as: UTF8.self), "⟨2⟩")
    }
}
