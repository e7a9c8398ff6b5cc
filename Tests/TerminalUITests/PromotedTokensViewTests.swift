import Foundation
import XCTest
@testable import TerminalUI

/// Cells of one screen row and where a text starts in it (cells hold one grapheme or a wide one's continuation).
func column(of text: String, inRow y: Int, of screen: Screen) -> Int? {
    var graphemes: [(x: Int, text: String)] = []
    for x in 0..<screen.size.width where !screen[x, y].isContinuation { graphemes.append((x, screen[x, y].text)) }
    let needle = Array(text).map(String.init)
    guard !needle.isEmpty, graphemes.count >= needle.count else { return nil }
    for i in 0...(graphemes.count - needle.count) where (0..<needle.count).allSatisfy({ graphemes[i + $0].text == needle[$0] }) {
        return graphemes[i].x
    }
    return nil
}

final class PromotedTokensViewTests: XCTestCase {
    /// The detail view lists the promoted and suppressed tokens with their logits, promoted in the
    /// "good" colour, suppressed in the "bad" one; they arrive after the detail itself.
    func testDetailViewShowsPromotedAndSuppressedTokens() async throws {
        var d = Driver(latents: 200, size: Size(width: 160, height: 70))
        let effects = d.sendOnly(.key(.enter))
        XCTAssertEqual(effects, [.loadDetail(LatentRef(part: 0, latent: 0)), .loadPromoted(LatentRef(part: 0, latent: 0))])
        XCTAssertTrue(d.state.detail.promoted.isLoading)
        // The detail arrives first: the section says it is still computing.
        let box = MsgBox()
        await EffectPerformer.perform(.loadDetail(LatentRef(part: 0, latent: 0)), env: d.env) { box.append($0) }
        for m in box.messages { _ = d.sendOnly(m) }
        XCTAssertTrue(d.render().text.contains("Promoted tokens") && d.render().text.contains("  computing…"), d.render().text)
        await EffectPerformer.perform(.loadPromoted(LatentRef(part: 0, latent: 0)), env: d.env) { box.append($0) }
        for m in box.messages { _ = d.sendOnly(m) }

        let expected = try d.data.promotedTokens(part: 0, latent: 0, count: Update.promotedTokenCount)
        XCTAssertEqual(d.state.detail.promoted.value, expected)
        XCTAssertEqual(expected.promoted.count, 10)
        let screen = d.render()
        let rows = (0..<screen.size.height).map(screen.rowText)
        let up = try XCTUnwrap(rows.firstIndex { $0.contains("promotes ") }, screen.text)
        let down = try XCTUnwrap(rows.firstIndex { $0.contains("suppresses ") }, screen.text)
        XCTAssertTrue(rows.contains { $0.contains("Promoted tokens") })
        XCTAssertLessThan(up, down)
        let first = Widgets.token(expected.promoted[0].token, showWhitespace: true, maxWidth: 14)
        let x = try XCTUnwrap(column(of: first + " +3.00", inRow: up, of: screen), rows[up])
        XCTAssertEqual(screen[x, up].style.fg, .good)
        XCTAssertTrue(screen[x, up].style.bold)
        let worst = Widgets.token(expected.suppressed[0].token, showWhitespace: true, maxWidth: 14)
        let xd = try XCTUnwrap(column(of: worst + " -3.00", inRow: down, of: screen), rows[down])
        XCTAssertEqual(screen[xd, down].style.fg, .bad)
        XCTAssertTrue(rows.contains { $0.contains("synthetic (made-up values)") })
    }

    /// Without model weights the section says why instead of staying empty.
    func testDetailViewSaysWhyPromotedTokensAreUnavailable() async {
        var d = Driver(data: HiddenTokensData(latents: 50, special: 3), size: Size(width: 160, height: 70))
        await d.keys(.enter)
        guard case let .failed(why) = d.state.detail.promoted else { return XCTFail("\(d.state.detail.promoted)") }
        XCTAssertTrue(why.contains("no model weights"), why)
        let text = d.render().text
        XCTAssertTrue(text.contains("unavailable: this session has no model weights"), text)
    }

    /// A result for a latent that is no longer open is dropped.
    func testStalePromotedTokensAreDropped() {
        var d = Driver(latents: 20)
        _ = d.sendOnly(.key(.enter))
        let other = LatentRef(part: 0, latent: 5)
        _ = d.sendOnly(.promotedLoaded(other, .success(PromotedTokens(promoted: [], suppressed: [], method: "x"))))
        XCTAssertTrue(d.state.detail.promoted.isLoading)
    }
}
