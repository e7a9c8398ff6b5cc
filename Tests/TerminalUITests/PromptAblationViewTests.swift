import XCTest
@testable import TerminalUI

/// The prompt view's ablation rows: tokens coloured by |Δ log p(next)|, the traced token's Δ and its tokens.
final class PromptAblationViewTests: XCTestCase {
    func testAblationRows() {
        var screen = Screen(size: Size(width: 60, height: 4))
        let run = PromptRun(text: "a b c", part: 0, tokens: ["a", " b", " c"], topLatents: [], nextTokens: [])
        let a = PromptAblation(deltaLogProb: [-0.5, 0.25, 0], promoted: ["up"], suppressed: ["down"])
        let next = PromptView.ablationLines(&screen, a, run, token: 1, rect: Rect(x: 0, y: 0, width: 60, height: 4), y: 0)
        XCTAssertEqual(next, 2)
        XCTAssertTrue(screen.rowText(0).hasPrefix("ablate a"), screen.rowText(0))
        XCTAssertTrue(screen.rowText(1).contains("next log p +0.250  ↑ up  ↓ down"), screen.rowText(1))
        XCTAssertTrue(screen[7, 0].style.underline, "the token whose next-token probability fell when ablated is underlined")
        XCTAssertFalse(screen[9, 0].style.underline)
    }
}
