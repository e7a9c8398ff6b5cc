import Foundation
import XCTest
@testable import TerminalUI

/// Bracketed paste (issue 16): pasted text reaches a text field as text, never as keys.
final class BracketedPasteTests: XCTestCase {
    private func keys(_ s: String) -> [TerminalEvent] {
        s.map { c -> TerminalEvent in
            switch c {
            case "\u{1B}": return .key(.escape)
            case "\r": return .key(.enter)
            case "\n": return .key(.ctrl("j"))
            default: return .key(.char(c))
            }
        }
    }

    private func decode(_ chunks: [String]) -> [TerminalEvent] {
        var d = BracketedPasteDecoder()
        var out: [TerminalEvent] = []
        for chunk in chunks {
            for e in keys(chunk) { out += d.feed(e) }
            out += d.endOfInput()
        }
        return out
    }

    func testPasteBecomesOneEventWithEscapesAndNewlinesInside() {
        let out = decode(["x\u{1B}[200~q\u{1B}:wq\rline2\u{1B}[201~y"])
        XCTAssertEqual(out, [.key(.char("x")), .paste("q\u{1B}:wq\nline2"), .key(.char("y"))])
    }

    func testPasteSplitAcrossReadsAndEndMarkerSplitToo() {
        let out = decode(["\u{1B}[200~ab", "c\u{1B}[2", "01~", "\u{1B}"])
        XCTAssertEqual(out, [.paste("abc"), .key(.escape)], "a lone Esc after the paste is still Esc")
    }

    func testIncompleteStartMarkerIsReleasedAsKeys() {
        XCTAssertEqual(decode(["\u{1B}[2"]), [.key(.escape), .key(.char("[")), .key(.char("2"))])
        XCTAssertEqual(decode(["\u{1B}\u{1B}[200~z\u{1B}[201~"]), [.key(.escape), .paste("z")])
    }

    func testPasteIntoTheSearchFieldIsText() async {
        var d = Driver()
        await d.keys(.char("/"))
        await d.send(.paste("py\u{1B}thon\nq"))
        XCTAssertFalse(d.state.quitting)
        XCTAssertNotNil(d.state.list.input, "the Esc inside the paste does not close the field")
        XCTAssertEqual(d.state.list.search, "python q")
    }

    func testPasteIntoTheJumpFieldKeepsDigits() async {
        var d = Driver()
        await d.keys(.char(":"))
        await d.send(.paste("4x2\u{1B}"))
        XCTAssertEqual(d.state.list.input?.text, "42")
    }

    func testPasteIntoThePromptEditorInsertsLinesAtTheCursor() async {
        var d = Driver()
        await d.keys(.char("5"))
        XCTAssertTrue(d.state.prompt.editing)
        await d.type("AZ")
        await d.keys(.left)
        await d.send(.paste("b\r\nc\u{1B}q\td"))
        XCTAssertTrue(d.state.prompt.editing, "Esc inside a paste does not end editing")
        XCTAssertFalse(d.state.quitting)
        XCTAssertEqual(d.state.prompt.lines, ["Ab", "cq dZ"])
        XCTAssertEqual(d.state.prompt.row, 1)
        XCTAssertEqual(d.state.prompt.column, 4)
    }

    func testPasteOutsideATextFieldRunsNoCommands() async {
        var d = Driver()
        let before = d.state.view
        await d.send(.paste("q5/"))
        XCTAssertFalse(d.state.quitting)
        XCTAssertEqual(d.state.view, before)
        XCTAssertNil(d.state.list.input)
        XCTAssertTrue(d.state.message?.text.contains("paste ignored") ?? false)
    }
}
