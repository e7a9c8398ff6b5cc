import FeaturescopeCore
import XCTest
@testable import TerminalUI

final class DisplayTextTests: XCTestCase {
    /// No glyph may carry a control character to the terminal.
    func assertNoControls(_ glyphs: [DisplayGlyph], file: StaticString = #filePath, line: UInt = #line) {
        for g in glyphs {
            for s in g.text.unicodeScalars {
                XCTAssertFalse(s.value < 0x20 || (0x7F...0x9F).contains(s.value),
                               "control U+\(String(s.value, radix: 16)) reached the screen", file: file, line: line)
            }
        }
    }

    func testEscapeSequencesBecomeVisible() {
        let evil = "\u{1B}[31mred\u{1B}[0m \u{1B}]0;pwned\u{07} \u{9B}2J \u{1B}P+q\u{1B}\\ tab\there\r\n"
        let gs = DisplayText.glyphs(evil)
        assertNoControls(gs)
        let text = gs.map(\.text).joined()
        XCTAssertTrue(text.contains("␛[31mred"), text)
        XCTAssertTrue(text.contains("⇥"))
        XCTAssertTrue(text.contains("↵"))
        XCTAssertTrue(text.contains("␇"), "BEL is shown as a symbol")
    }

    func testInvalidUTF8IsReplaced() {
        let s = String(decoding: [0x41, 0xFF, 0xFE, 0xC3, 0x28, 0x42] as [UInt8], as: UTF8.self)
        let gs = DisplayText.glyphs(s)
        assertNoControls(gs)
        XCTAssertEqual(gs.first?.text, "A")
        XCTAssertEqual(gs.last?.text, "B")
        XCTAssertTrue(gs.contains { $0.text == "�" })
        XCTAssertEqual(DisplayText.width(s), gs.count, "every replacement is one column")
    }

    func testWidthsOfWideAndCombiningCharacters() {
        XCTAssertEqual(DisplayText.width("東京"), 4)
        XCTAssertEqual(DisplayText.width("🙂"), 2)
        XCTAssertEqual(DisplayText.width("🇫🇷"), 2)
        XCTAssertEqual(DisplayText.width("e\u{301}"), 1, "e + combining acute is one cell")
        XCTAssertEqual(DisplayText.width("\u{301}x"), 1, "a lone leading combining mark takes no cell")
        XCTAssertEqual(DisplayText.width("café"), 4)
        XCTAssertEqual(DisplayText.width("ｆｕｌｌ"), 8, "fullwidth forms")
        XCTAssertEqual(DisplayText.width("한국어"), 6)
        XCTAssertEqual(DisplayText.width("abc"), 3)
    }

    func testBidiAndZeroWidthControlsAreNeutralised() {
        let s = "a\u{202E}evil\u{200B}b\u{FEFF}"
        let t = DisplayText.glyphs(s).map(\.text).joined()
        XCTAssertFalse(t.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x200B || $0.value == 0xFEFF })
    }

    func testHugeTokenIsTruncatedWithEllipsis() {
        let huge = String(repeating: "x", count: 10_000)
        let t = DisplayText.truncate(huge, width: 24)
        XCTAssertEqual(DisplayText.width(t), 24)
        XCTAssertTrue(t.hasSuffix("…"))
        let wide = String(repeating: "東", count: 10_000)
        let tw = DisplayText.truncate(wide, width: 9)
        XCTAssertLessThanOrEqual(DisplayText.width(tw), 9)
        XCTAssertTrue(tw.hasSuffix("…"))
        XCTAssertEqual(Widgets.token(huge, showWhitespace: false, maxWidth: 16).count, 16)
    }

    func testFitPadsAndAligns() {
        XCTAssertEqual(DisplayText.fit("ab", width: 5), "ab   ")
        XCTAssertEqual(DisplayText.fit("ab", width: 5, alignRight: true), "   ab")
        XCTAssertEqual(DisplayText.width(DisplayText.fit("東京東京", width: 5)), 5)
    }

    func testWhitespaceCanBeShown() {
        let opts = SafeText.Options(showSpaces: true, showNewlines: true)
        XCTAssertEqual(DisplayText.glyphs(" a\n", options: opts).map(\.text).joined(), "·a↵")
    }

    func testScreenWriteClipsWideGlyphsAndRepairsHalves() {
        var s = Screen(size: Size(width: 5, height: 1))
        let used = s.write("ab東京", x: 0, y: 0, style: .plain)
        XCTAssertEqual(used, 5)
        XCTAssertEqual(s.rowText(0), "ab東…", "the second wide glyph does not fit: ellipsis")
        XCTAssertTrue(s[3, 0].isContinuation)
        // Overwriting the right half of a wide glyph blanks its left half.
        s.write("z", x: 3, y: 0, style: .plain)
        XCTAssertEqual(s[2, 0].text, " ")
        XCTAssertEqual(s[3, 0].text, "z")
        // Writing a wide glyph at the last column does not overflow.
        var t = Screen(size: Size(width: 3, height: 1))
        t.write("ab🙂", x: 0, y: 0, style: .plain, ellipsis: false)
        XCTAssertEqual(t.rowText(0), "ab ")
    }

    func testScreenNeverReceivesControlCharacters() {
        var s = Screen(size: Size(width: 40, height: 2))
        s.write("\u{1B}[2J\u{1B}[H\u{07}\u{0}", x: 0, y: 0, style: .plain)
        for c in s.cells { XCTAssertFalse(c.text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }) }
    }
}
