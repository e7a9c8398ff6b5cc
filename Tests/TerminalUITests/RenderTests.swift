import XCTest
@testable import TerminalUI

final class RenderTests: XCTestCase {
    static let sizes = [Size(width: 80, height: 24), Size(width: 120, height: 40)]

    /// Cells of row `y` whose text is part of `needle`'s first occurrence.
    func cells(_ s: Screen, _ needle: String) -> [Cell] {
        guard let p = s.find(needle) else { return [] }
        return (0..<DisplayText.width(needle)).map { s[p.x + $0, p.y] }
    }

    func testListViewAtBothSizes() async {
        for size in Self.sizes {
            let d = Driver(size: size)
            let s = d.render()
            XCTAssertEqual(s.size, size)
            // Tab bar with the active tab highlighted.
            XCTAssertTrue(s.rowText(0).contains("1 Latents"))
            let tab = cells(s, "1 Latents")
            XCTAssertTrue(tab.allSatisfy { $0.style.bg == .tabActive })
            // Column headers with the sort arrow, styled as header.
            XCTAssertTrue(s.rowText(1).contains("latent▲"), s.rowText(1))
            XCTAssertTrue(s.rowText(1).contains("detect"))
            XCTAssertEqual(s[3, 1].style.bg, .header)
            // The selected first row: marker, latent number, selection background across the row.
            XCTAssertTrue(s.rowText(2).hasPrefix("▶"))
            XCTAssertTrue(s.rowText(2).contains("#0"))
            XCTAssertTrue((0..<size.width).allSatisfy { s[$0, 2].style.bg == .selection })
            XCTAssertNotEqual(s[1, 3].style.bg, .selection)
            // Explanations or the top tokens appear, sanitised (newline tokens as ↵).
            let summary1 = d.data.summary(part: 0, latent: 1)
            XCTAssertTrue(s.rowText(3).contains(summary1.explanation.map { String($0.prefix(10)) } ?? "top:"), s.rowText(3))
            // Footer and status line hints from the key table.
            XCTAssertTrue(s.rowText(size.height - 2).contains("row 1 of 1000"))
            XCTAssertEqual(s[0, size.height - 1].style.bg, .status)
            // One row per visible latent, nothing more.
            XCTAssertTrue(s.rowText(size.height - 3).contains("#\(size.height - 5)"))
        }
    }

    func testScoresCarryRolesAndNumbers() {
        let d = Driver(size: Size(width: 120, height: 40))
        let s = d.render()
        for row in 0..<30 {
            let m = d.data.summary(part: 0, latent: row)
            guard let det = m.detection else { continue }
            let text = Widgets.score(det)
            let y = row + 2
            let line = s.rowText(y)
            XCTAssertTrue(line.contains(text), "\(line) lacks \(text)")
            let col = ListColumns(width: 120).columns.first { $0.column == .detection }!
            let cell = s[col.x + col.width - 1, y]
            XCTAssertEqual(cell.style.fg, Widgets.scoreRole(det))
        }
    }

    func testStatusHintsComeFromTheKeyTable() {
        var d = Driver()
        XCTAssertTrue(d.render().rowText(23).contains("press ? for help"), "the welcome message shows first")
        d.state.message = nil
        let status = d.render().rowText(23)
        for h in KeyBindings.hints(for: d.state).prefix(3) {
            XCTAssertTrue(status.contains("\(h.key) \(h.label)"), status)
        }
        let keyCell = cells(d.render(), "Enter")
        XCTAssertTrue(keyCell.allSatisfy { $0.style.fg == .statusKey && $0.style.bold })
    }

    func testDetailViewColoursContextsAndShowsTheSelectedToken() async {
        for size in Self.sizes {
            var d = Driver(size: size)
            await d.keys(.enter)
            let s = d.render()
            let detail = try! XCTUnwrap(d.state.detail.content.value)
            XCTAssertTrue(s.text.contains("Latent #0"))
            XCTAssertTrue(s.text.contains("Explanation"))
            XCTAssertTrue(s.text.contains("Top activations"), "contexts are on the first screen at \(size)")
            // Heat roles on activating tokens and exactly one cursor token group.
            let heat = s.cells.filter { Role.heatRamp.contains($0.style.bg) }
            XCTAssertFalse(heat.isEmpty, "activations are coloured at \(size)")
            let cursor = s.cells.filter { $0.style.bg == .cursorToken }
            XCTAssertFalse(cursor.isEmpty)
            XCTAssertTrue(cursor.allSatisfy { $0.style.underline && $0.style.bold }, "the selected token is marked beyond colour")
            // The footer names the selected token's activation.
            let w = detail.windowGroups[0].windows[0]
            let a = w.activations[d.state.detail.token]
            XCTAssertTrue(s.rowText(size.height - 2).contains("act \(Widgets.activation(a))"), s.rowText(size.height - 2))
            if size.width >= 110 {
                XCTAssertTrue(s.text.contains("│"), "two panes on wide screens")
                XCTAssertTrue(s.text.contains("Activations"), "the breakdown is in the left pane")
            } else {
                XCTAssertTrue(s.text.contains("breakdown below the contexts") || s.text.contains("not scored yet"))
            }
        }
    }

    func testDetailTogglesChangeTheContexts() async {
        var d = Driver(size: Size(width: 120, height: 40))
        await d.keys(.enter)
        let narrowLines = DetailDocument(detail: d.state.detail.content.value!, state: d.state.detail, width: 70).contexts.count
        await d.keys(.char("x"))
        XCTAssertTrue(d.state.detail.wideContext)
        let wideLines = DetailDocument(detail: d.state.detail.content.value!, state: d.state.detail, width: 70).contexts.count
        XCTAssertGreaterThan(wideLines, narrowLines, "whole windows wrap over more lines")
        await d.keys(.char("w"))
        XCTAssertTrue(d.render().text.contains("·"), "spaces are shown")
    }

    func testSamplesViewMarksMistakes() async {
        var d = Driver(size: Size(width: 120, height: 40))
        var latent = 0
        while d.data.summary(part: 0, latent: latent).detection == nil { latent += 1 }
        await d.send(.key(.char(":")))
        await d.type("\(latent)")
        await d.keys(.enter, .char("3"))
        let samples = try! XCTUnwrap(d.state.samples.content.value)
        XCTAssertEqual(samples.count, 100)
        var s = d.render()
        XCTAssertTrue(s.text.contains("scorer detection"))
        XCTAssertTrue(s.text.contains("✓") || s.text.contains("✗"))
        await d.keys(.char("m"))
        let mistakes = samples.filter { !$0.correct }.count
        XCTAssertEqual(Update.visibleSamples(d.state.samples).count, mistakes)
        s = d.render()
        XCTAssertTrue(s.text.contains("mistakes only"))
        XCTAssertFalse(s.rowText(3).contains(" ✓ "), "only mistakes are listed")
        await d.keys(.char("c"))
        XCTAssertEqual(d.state.samples.scorer, "fuzz")
        s = d.render()
        XCTAssertTrue(s.cells.contains { $0.style.bg == .match && $0.style.underline }, "fuzz highlights are shown underlined")
    }

    func testHeadsAndPromptViewsRender() async {
        for size in Self.sizes {
            var d = Driver(size: size)
            await d.keys(.char("P"), .enter, .char("4"))
            var s = d.render()
            XCTAssertTrue(s.text.contains("attribution"))
            XCTAssertTrue(s.text.contains("h8"), "nine heads listed at \(size)")
            XCTAssertTrue(s.text.contains("DFA"))
            XCTAssertTrue(s.text.contains("█") || s.text.contains("▏"), "bars drawn")
            await d.keys(.char("5"))
            await d.type("Paris is in France. Paris")
            s = d.render()
            XCTAssertEqual(s.cursor?.y, 2, "the editor shows a text cursor")
            await d.keys(.enter)
            s = d.render()
            XCTAssertTrue(s.text.contains("Top latents at"))
            XCTAssertTrue(s.text.contains("Next token"))
            XCTAssertNil(s.cursor)
            XCTAssertTrue(s.cells.contains { $0.style.bg == .cursorToken })
        }
    }

    func testHelpOverlayListsEveryBindingScope() async {
        var d = Driver(size: Size(width: 120, height: 40))
        await d.keys(.char("?"))
        let s = d.render()
        XCTAssertTrue(s.text.contains("Keys"))
        XCTAssertTrue(s.text.contains("Everywhere"))
        XCTAssertTrue(s.text.contains("Quit"))
        XCTAssertTrue(s.cells.contains { $0.style.bg == .overlay })
        await d.keys(.escape)
        XCTAssertFalse(d.state.showHelp)
    }

    func testTooSmallIsOneClearScreen() async {
        var d = Driver()
        await d.send(.resize(Size(width: 40, height: 10)))
        let s = d.render()
        XCTAssertTrue(s.text.contains("Terminal too small"))
        XCTAssertTrue(s.text.contains("40×10"))
        XCTAssertFalse(s.text.contains("Latents"))
        await d.send(.resize(Size(width: 80, height: 24)))
        XCTAssertTrue(d.render().text.contains("Latents"))
    }

    func testMismatchedLengthsAreNormalised() {
        let w = TokenWindow(tokens: ["a", "b", "c"], activations: [1])
        XCTAssertEqual(w.activations, [1, 0, 0])
        XCTAssertEqual(TokenWindow(tokens: ["a"], activations: [1, 2, 3]).activations, [1])
        let run = PromptRun(text: "x", part: 0, tokens: ["x", "y"], topLatents: [], nextTokens: [])
        XCTAssertEqual(run.topLatents.count, 2)
        let sample = BrowserScoredSample(tokens: ["a", "b"], highlighted: [true, true, true], activating: true, prediction: nil)
        XCTAssertEqual(sample.highlighted, [true, true])
    }

    func testMaliciousDataCannotEscapeTheScreen() {
        final class Evil: BrowserDataSource, @unchecked Sendable {
            let parts = [PartInfo(hookName: "blocks.0.\u{1B}[2Jhook", dSAE: 3)]
            func summary(part: Int, latent: Int) -> BrowserLatentSummary {
                BrowserLatentSummary(index: latent, explanation: "\u{1B}]0;owned\u{07}" + String(repeating: "東", count: 5000),
                              density: .nan, maxActivation: .infinity, detection: .nan, fuzz: nil,
                              topTokens: [String(decoding: [0xFF, 0x1B] as [UInt8], as: UTF8.self)])
            }
            func detail(part: Int, latent: Int) throws -> LatentDetail { throw BrowserError("x") }
            func scorers(part: Int, latent: Int) -> [String] { [] }
            func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] { [] }
            func headAttribution(part: Int, latent: Int) -> [Float]? { nil }
            func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws {}
        }
        let data = Evil()
        var state = BrowserEnvironment(data: data).initialState(size: Size(width: 80, height: 24))
        _ = Update.start(&state)
        let s = Render.frame(state, data: data)
        for c in s.cells { XCTAssertFalse(c.text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) }
        XCTAssertTrue(s.text.contains("␛"))
        // Every row is exactly the screen width.
        for y in 0..<24 { XCTAssertEqual(DisplayText.width(s.rowText(y)), 80, "row \(y): \(s.rowText(y))") }
    }
}
