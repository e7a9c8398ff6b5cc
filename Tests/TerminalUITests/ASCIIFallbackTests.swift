import FeaturescopeCore
import Foundation
import XCTest
@testable import TerminalUI

final class ASCIIFallbackTests: XCTestCase {
    static func isPrintableASCII(_ s: String) -> Bool { s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }

    func testKeyGlyphsMapAsDocumented() {
        let expected: [(String, String)] = [
            ("▲", "^"), ("▼", "v"), ("↑", "^"), ("↓", "v"), ("▶", ">"), ("►", ">"), ("→", ">"),
            ("◀", "<"), ("◄", "<"), ("←", "<"),
            ("─", "-"), ("│", "|"), ("┃", "|"), ("┌", "+"), ("┐", "+"), ("└", "+"), ("┘", "+"), ("┼", "+"), ("├", "+"),
            ("═", "-"), ("║", "|"), ("╭", "+"),
            ("▁", "_"), ("▄", "="), ("█", "#"), ("▏", "."), ("▌", "-"), ("▉", "#"), ("░", "."), ("▒", ":"), ("▓", "#"),
            ("·", "."), ("•", "*"), ("…", "."), ("“", "\""), ("”", "\""), ("„", "\""), ("‘", "'"), ("’", "'"),
            ("«", "\""), ("–", "-"), ("—", "-"), ("×", "x"), ("✓", "+"), ("✗", "x"), ("∅", "-"),
            ("↵", "$"), ("⏎", "$"), ("␊", "$"), ("⇥", ">"), ("␉", ">"), ("␛", "^"), ("␍", "^"), ("␀", "^"), ("␡", "^"),
            ("�", "?"), ("é", "e"), ("É", "E"), ("ï", "i"), ("ñ", "n"), ("ç", "c"), ("ß", "s"), ("ø", "o"),
            ("e\u{301}", "e"), ("²", "2"), ("\u{A0}", " "), ("α", "?"),
        ]
        for (glyph, ascii) in expected {
            XCTAssertEqual(ASCIIFallback.map(glyph, width: 1), ascii, "\(glyph) (U+\(String(glyph.unicodeScalars.first!.value, radix: 16)))")
        }
        // Wide glyphs fill both columns.
        XCTAssertEqual(ASCIIFallback.map("東", width: 2), "??")
        XCTAssertEqual(ASCIIFallback.map("🙂", width: 2), "??")
        XCTAssertEqual(ASCIIFallback.map("\u{FF21}", width: 2), "A ", "fullwidth A keeps its letter")
        // ASCII passes through; the spinner turns.
        XCTAssertEqual(ASCIIFallback.map("a", width: 1), "a")
        XCTAssertEqual(ASCIIFallback.map(" ", width: 1), " ")
        let frames = (0..<4).map { ASCIIFallback.map(Widgets.spinner($0), width: 1) }
        XCTAssertEqual(frames, ["|", "/", "-", "\\"])
        XCTAssertEqual(ASCIIFallback.map("naïve café"), "naive cafe")
    }

    func testEveryResultIsExactlyWidthPrintableASCII() {
        var ranges: [ClosedRange<UInt32>] = [0x00...0x2FFF, 0x3000...0x30FF, 0x4E00...0x4E40, 0xFF00...0xFFFF, 0x1F300...0x1F64F]
        ranges.append(0xE000...0xE010)
        for range in ranges {
            for v in range {
                guard let s = Unicode.Scalar(v) else { continue }
                for width in [1, 2] {
                    let out = ASCIIFallback.map(String(s), width: width)
                    XCTAssertEqual(out.utf8.count, width, "U+\(String(v, radix: 16)) at width \(width) → \(out.debugDescription)")
                    XCTAssertTrue(Self.isPrintableASCII(out), "U+\(String(v, radix: 16)) → \(out.debugDescription)")
                }
            }
        }
        // Grapheme clusters and odd inputs.
        for text in ["", "🇫🇷", "👩‍💻", "ab", "a\u{301}\u{302}", "\u{1B}", "\u{7F}", "\u{301}"] {
            for width in [0, 1, 2, 3] {
                let out = ASCIIFallback.map(text, width: width)
                XCTAssertEqual(out.utf8.count, min(2, max(1, width)), text.debugDescription)
                XCTAssertTrue(Self.isPrintableASCII(out), text.debugDescription)
            }
        }
    }

    /// Every non-ASCII character written in the TerminalUI sources (outside comments, synthetic data and theme
    /// files) has a real stand-in, so a glyph added to a view without a mapping fails here.
    func testEveryNonASCIILiteralInTheViewsHasAStandIn() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources/TerminalUI")
        let files = try XCTUnwrap(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "swift" }
            .filter { url in !["Data", "Theme"].contains(url.deletingLastPathComponent().lastPathComponent) }
            .filter { $0.lastPathComponent != "ASCIIFallback.swift" }
        XCTAssertGreaterThan(files.count, 10)
        var seen = Set<Character>()
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                var code = Substring(line)
                if code.trimmingCharacters(in: .whitespaces).hasPrefix("//") { continue }
                if let comment = code.range(of: " // ") { code = code[..<comment.lowerBound] }
                for ch in code where !ch.isASCII && !seen.contains(ch) {
                    seen.insert(ch)
                    let out = ASCIIFallback.map(String(ch), width: DisplayText.width(of: ch))
                    XCTAssertFalse(out.contains("?"), "\(ch) in \(file.lastPathComponent) has no ASCII stand-in")
                }
            }
        }
        // The glyphs this test exists for were found (the scan is not vacuous).
        for glyph in ["▲", "▼", "▶", "─", "│", "┃", "…", "—", "“", "✗", "█", "∅", "←"] {
            XCTAssertTrue(seen.contains(Character(glyph)), "\(glyph) no longer found in the views")
        }
    }

    func testSafeTextSymbolsHaveStandIns() {
        let shown = SafeText.Options(showSpaces: true, showNewlines: true)
        XCTAssertEqual(ASCIIFallback.map(SafeText.visible("\n", options: shown), width: 1), "$")
        XCTAssertEqual(ASCIIFallback.map(SafeText.visible("\t", options: shown), width: 1), ">")
        XCTAssertEqual(ASCIIFallback.map(SafeText.visible(" ", options: shown), width: 1), ".")
        for v in UInt32(0)..<0x20 where v != 0x0A && v != 0x09 {
            let symbol = SafeText.visible(Unicode.Scalar(v)!, options: shown)
            XCTAssertEqual(ASCIIFallback.map(symbol, width: 1), "^", "control 0x\(String(v, radix: 16)) shown as \(symbol)")
        }
        XCTAssertEqual(ASCIIFallback.map(SafeText.visible("\u{7F}"), width: 1), "^")
        XCTAssertEqual(ASCIIFallback.map(SafeText.visible("\u{9B}"), width: 1), "?", "C1 controls stay unknown")
        XCTAssertEqual(ASCIIFallback.map(Widgets.token("", showWhitespace: true), width: 1), "-", "the empty token")
    }

    func testCodesetNames() {
        for name in ["UTF-8", "utf-8", "utf8", "UTF8"] { XCTAssertTrue(ASCIIFallback.isUTF8(codeset: name), name) }
        for name in ["ANSI_X3.4-1968", "ISO-8859-1", "", "UTF-16", "C"] { XCTAssertFalse(ASCIIFallback.isUTF8(codeset: name), name) }
    }

    /// Asserts every row of `screen` maps to exactly its width of printable ASCII; returns the rows.
    func asciiRows(_ screen: Screen, _ what: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        (0..<screen.size.height).map { y in
            let row = ASCIIFallback.rowText(screen, y: y)
            XCTAssertEqual(row.utf8.count, screen.size.width, "\(what) row \(y): \(row)", file: file, line: line)
            XCTAssertTrue(Self.isPrintableASCII(row), "\(what) row \(y): \(row)", file: file, line: line)
            return row
        }
    }

    func testEveryViewRendersAsPrintableASCII() async {
        for size in [Size(width: 80, height: 24), Size(width: 120, height: 40)] {
            var d = Driver(size: size)
            var rows = asciiRows(d.render(), "list at \(size)")
            XCTAssertTrue(rows[1].contains("latent^"), rows[1])
            XCTAssertTrue(rows[2].hasPrefix(">"), rows[2])
            XCTAssertTrue(rows[2].contains("#0"), rows[2])
            await d.keys(.char("r"))
            XCTAssertTrue(asciiRows(d.render(), "list reversed")[1].contains("latentv"), "descending sort shows v")
            await d.keys(.char("r"))

            await d.keys(.enter)
            rows = asciiRows(d.render(), "detail at \(size)")
            XCTAssertTrue(rows.joined().contains("Latent #0"))
            if size.width >= 110 { XCTAssertTrue(rows.contains { $0.contains("|") }, "the pane divider") }
            await d.keys(.char("w"), .char("x"))
            rows = asciiRows(d.render(), "detail with spaces shown at \(size)")
            XCTAssertTrue(rows.joined().contains("token \""), "the selected token is quoted with ASCII quotes")

            await d.keys(.char("3"))
            _ = asciiRows(d.render(), "samples at \(size)")
            await d.keys(.char("1"), .char("P"), .enter, .char("4"))
            rows = asciiRows(d.render(), "heads at \(size)")
            XCTAssertTrue(rows.joined().contains("h8"))
            await d.keys(.char("5"))
            await d.type("Paris is in France. Paris")
            rows = asciiRows(d.render(), "prompt editor at \(size)")
            XCTAssertTrue(rows.contains { $0.hasPrefix("+-") && $0.contains("Prompt - Enter run . Ctrl-J newline") }, "box and title in ASCII")
            await d.keys(.enter)
            _ = asciiRows(d.render(), "prompt tokens at \(size)")
            await d.keys(.char("?"))
            rows = asciiRows(d.render(), "help at \(size)")
            XCTAssertTrue(rows.joined().contains("Everywhere"))
            XCTAssertTrue(rows.contains { $0.contains("Keys - ^/v scroll") }, "the help title's arrows")
            await d.keys(.escape)
        }
        var small = Driver()
        await small.send(.resize(Size(width: 40, height: 10)))
        XCTAssertTrue(asciiRows(small.render(), "too small").joined().contains("40x10"))
    }

    func testWideGlyphsKeepTheirColumns() {
        var screen = Screen(size: Size(width: 10, height: 1))
        screen.write("a東京🙂b", x: 0, y: 0, style: .plain)
        XCTAssertEqual(ASCIIFallback.rowText(screen, y: 0), "a??????b  ")
        XCTAssertEqual(ASCIIFallback.cellWidth(in: screen, x: 1, y: 0), 2)
        XCTAssertEqual(ASCIIFallback.cellWidth(in: screen, x: 0, y: 0), 1)
        XCTAssertEqual(ASCIIFallback.cellWidth(in: screen, x: 9, y: 0), 1)
    }

    func testTheKeybindingsDocExplainsTheFallback() {
        let doc = KeyBindings.markdown()
        XCTAssertTrue(doc.contains("## Terminals without UTF-8"))
        XCTAssertTrue(doc.contains("LANG=C.UTF-8"))
    }
}
