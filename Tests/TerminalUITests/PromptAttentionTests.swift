import XCTest
@testable import TerminalUI

/// The prompt view's attention pattern: keys pick layer and head, the cursor token's weights over its sources
/// (top sources with values) and the q × k grid, on the synthetic engine's hand-made patterns.
final class PromptAttentionTests: XCTestCase {
    func testSyntheticPatternsAreCausalAndKnown() throws {
        let tokens = ["the", " cat", " saw", " the", " cat"]
        let att = try XCTUnwrap(SyntheticPromptEngine.attention(tokens: tokens))
        XCTAssertEqual(att.layers, [5, 6])
        XCTAssertEqual(att.preferredLayerIndex, 1)
        for li in 0 ..< 2 {
            for h in 0 ..< att.headCount {
                for q in 0 ..< tokens.count {
                    let r = att.row(layerIndex: li, head: h, query: q)
                    XCTAssertEqual(Double(r.reduce(0, +)), 1, accuracy: 1e-5)
                    XCTAssertTrue(r[(q + 1)...].allSatisfy { $0 == 0 }, "causal")
                }
            }
        }
        XCTAssertEqual(att.row(layerIndex: 1, head: 0, query: 3)[2], 1, "previous-token head")
        XCTAssertEqual(att.row(layerIndex: 1, head: 2, query: 4)[1], 1, "same-token head: the earlier ' cat'")
        XCTAssertNil(PromptAttention(layers: [0], headCount: 2, tokenCount: 3, patterns: [[Float](repeating: 0, count: 17)]),
                     "a pattern of the wrong size is rejected")
        XCTAssertEqual(att.row(layerIndex: 2, head: 0, query: 0), [], "out of range gives nothing, not a crash")
    }

    func testKeysToggleAndPickLayerAndHead() async {
        var d = Driver()
        await d.keys(.char("5"))
        await d.type("the cat saw the cat")
        await d.keys(.enter)
        XCTAssertNotNil(d.state.prompt.run.value?.attention)
        XCTAssertFalse(d.state.prompt.showAttention)
        XCTAssertEqual(d.state.prompt.attentionLayer, 1, "starts at the part's layer (6)")
        await d.keys(.char("a"))
        XCTAssertTrue(d.state.prompt.showAttention)
        await d.keys(.char("]"), .char("]"), .char("]"), .char("]"), .char("]"))
        XCTAssertEqual(d.state.prompt.attentionHead, 3, "stops at the last head")
        await d.keys(.char("["))
        XCTAssertEqual(d.state.prompt.attentionHead, 2)
        await d.keys(.char("{"), .char("{"))
        XCTAssertEqual(d.state.prompt.attentionLayer, 0)
        await d.keys(.char("}"))
        XCTAssertEqual(d.state.prompt.attentionLayer, 1)
        await d.keys(.left)
        XCTAssertEqual(d.state.prompt.token, 3, "←/→ still move the query token")
        await d.keys(.char("a"))
        XCTAssertFalse(d.state.prompt.showAttention)
        XCTAssertEqual(KeyBindings.action(for: .char("a"), in: d.state), .toggleAttention)
        XCTAssertTrue(KeyBindings.markdown().contains("Attention: next head"))
    }

    func testRenderShowsTopSourcesAndGrid() async {
        var d = Driver()
        await d.keys(.char("5"))
        await d.type("the cat saw the cat")
        await d.keys(.enter, .char("a"), .char("]"), .char("]"))
        let screen = d.render()
        let rows = (0 ..< 24).map { screen.rowText($0) }
        let all = rows.joined(separator: "\n")
        XCTAssertTrue(all.contains("L6 H2 · attention of “·cat” (#4)"), all)
        // The same-token head puts all its weight on the earlier " cat": the first source listed, value 1.
        let first = try! XCTUnwrap(rows.first { $0.contains("1.000") })
        XCTAssertTrue(first.contains("#1 “·cat”"), first)
        // The grid: the cursor's row has a full block over key 1 only.
        let gridRow = try! XCTUnwrap(rows.first { $0.contains("▶·cat") }, all)
        let cells = Array(gridRow.split(separator: "▶")[1].dropFirst(7).prefix(5))
        XCTAssertFalse(all.contains("0.000"), "sources without weight are not listed")
        XCTAssertEqual(String(cells), " █   ", gridRow)
        XCTAssertTrue(all.contains("q × k"))
    }

    func testLongPromptsListSourcesWithoutGrid() {
        let tokens = (0 ..< 40).map { " t\($0 % 7)" }
        let run = PromptRun(text: tokens.joined(), part: 0, tokens: tokens, topLatents: [], nextTokens: [],
                            attention: SyntheticPromptEngine.attention(tokens: tokens))
        let att = run.attention!
        var screen = Screen(size: Size(width: 80, height: 12))
        PromptView.attentionView(&screen, run, att, layerIndex: 1, head: 3, query: 39, rect: Rect(x: 0, y: 0, width: 80, height: 12))
        let all = (0 ..< 12).map { screen.rowText($0) }.joined(separator: "\n")
        XCTAssertTrue(all.contains("0.025"), all)  // uniform over 40 sources
        XCTAssertTrue(all.contains("q × k grid for prompts of ≤ 30 tokens") || !all.contains("q × k"), all)
        XCTAssertFalse(all.contains("▶"), "no grid for 40 tokens")
    }

    func testShades() {
        XCTAssertEqual(PromptView.shade(0), " ")
        XCTAssertEqual(PromptView.shade(1), "█")
        XCTAssertEqual(PromptView.shade(0.5), "▒")
        XCTAssertEqual(ASCIIFallback.map("▒", width: 1), ":")
    }
}
