import XCTest
@testable import TerminalUI

final class UpdateTests: XCTestCase {
    func testCursorMovesAndScrollsWithinBounds() async {
        var d = Driver()
        await d.keys(.down, .down, .char("j"))
        XCTAssertEqual(d.state.list.cursor, 3)
        await d.keys(.up, .char("k"), .up, .up, .up)
        XCTAssertEqual(d.state.list.cursor, 0, "stops at the top")
        await d.keys(.pageDown)
        let page = Update.listPageSize(d.state)
        XCTAssertEqual(d.state.list.cursor, page)
        XCTAssertGreaterThan(d.state.list.top, 0, "scrolled to keep the cursor visible")
        XCTAssertLessThan(d.state.list.cursor - d.state.list.top, page)
        await d.keys(.end)
        XCTAssertEqual(d.state.list.cursor, 999)
        XCTAssertEqual(d.state.list.top, 1000 - page)
        await d.keys(.home)
        XCTAssertEqual(d.state.list.cursor, 0)
        XCTAssertEqual(d.state.list.top, 0)
    }

    func testSortBuildsAPermutationInTheBackgroundAndKeepsTheSelection() async {
        var d = Driver()
        await d.keys(.down, .down, .down, .down, .down)
        XCTAssertNil(d.state.list.rows, "index order needs no permutation")
        // '>' moves from index to explanation, '>' again to density (descending).
        await d.keys(.char(">"), .char(">"))
        XCTAssertEqual(d.state.list.sort, SortSpec(column: .density, descending: true))
        let rows = try! XCTUnwrap(d.state.list.rows)
        XCTAssertEqual(rows.count, 1000)
        let densities = rows.map { d.data.summary(part: 0, latent: Int($0)).density }
        XCTAssertEqual(densities, densities.sorted(by: >))
        XCTAssertEqual(d.state.latent(atRow: d.state.list.cursor), 5, "the selected latent stays selected")
        await d.keys(.char("r"))
        let asc = d.state.list.rows!.map { d.data.summary(part: 0, latent: Int($0)).density }
        XCTAssertEqual(asc, asc.sorted())
        await d.keys(.char("c"))
        XCTAssertNil(d.state.list.rows)
        XCTAssertEqual(d.state.list.cursor, 5)
    }

    func testStaleRowResultsAreDropped() {
        var d = Driver()
        let e1 = d.sendOnly(.key(.char(">")))
        let e2 = d.sendOnly(.key(.char(">")))
        guard case let .computeRows(_, g1)? = e1.first, case let .computeRows(_, g2)? = e2.first else {
            return XCTFail("sorting must ask for rows in the background: \(e1) \(e2)")
        }
        XCTAssertTrue(d.state.list.computing)
        XCTAssertTrue(d.state.isBusy, "the spinner runs while sorting")
        _ = d.sendOnly(.rowsComputed(generation: g1, rows: [3, 2, 1]))
        XCTAssertNil(d.state.list.rows, "an old generation's result is ignored")
        _ = d.sendOnly(.rowsComputed(generation: g2, rows: [7, 8]))
        XCTAssertEqual(d.state.list.rows, [7, 8])
        XCTAssertFalse(d.state.list.computing)
    }

    func testIncrementalSearchFiltersAndEscRestores() async {
        var d = Driver()
        await d.keys(.char("/"))
        XCTAssertNotNil(d.state.list.input)
        await d.type("python")
        XCTAssertEqual(d.state.list.search, "python")
        let rows = try! XCTUnwrap(d.state.list.rows)
        XCTAssertFalse(rows.isEmpty)
        for r in rows {
            let s = d.data.summary(part: 0, latent: Int(r))
            let hay = ((s.explanation ?? "") + s.topTokens.joined()).lowercased()
            XCTAssertTrue(hay.contains("python"), "row \(r) does not match")
        }
        // 'q' typed into the search field is text, not quit.
        await d.keys(.char("q"))
        XCTAssertFalse(d.state.quitting)
        XCTAssertEqual(d.state.list.search, "pythonq")
        await d.keys(.backspace, .enter)
        XCTAssertNil(d.state.list.input)
        XCTAssertEqual(d.state.list.search, "python")
        await d.keys(.char("/"), .char("x"), .escape)
        XCTAssertEqual(d.state.list.search, "python", "Esc restores the accepted search")
    }

    func testFilterWordsParseAndApply() async {
        var d = Driver()
        await d.keys(.char("f"))
        await d.type("detect>=0.8 explained")
        await d.keys(.enter)
        let rows = try! XCTUnwrap(d.state.list.rows)
        XCTAssertFalse(rows.isEmpty)
        for r in rows {
            let s = d.data.summary(part: 0, latent: Int(r))
            XCTAssertNotNil(s.explanation)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(s.detection), 0.8)
        }
        await d.keys(.char("f"), .ctrl("u"))
        await d.type("density<<3")
        await d.keys(.enter)
        XCTAssertEqual(d.state.message?.isError, true)
        XCTAssertTrue(d.state.message?.text.contains("density<<3") ?? false, d.state.message?.text ?? "")
        guard case let .success(f) = ListFilter.parse("unscored density<1e-3") else { return XCTFail() }
        XCTAssertTrue(f.accepts(BrowserLatentSummary(index: 0, explanation: nil, density: 1e-4, maxActivation: 1, detection: nil, fuzz: nil)))
        XCTAssertFalse(f.accepts(BrowserLatentSummary(index: 0, explanation: nil, density: 1e-2, maxActivation: 1, detection: nil, fuzz: nil)))
        XCTAssertFalse(f.accepts(BrowserLatentSummary(index: 0, explanation: nil, density: 1e-4, maxActivation: 1, detection: 0.9, fuzz: nil)))
        guard case let .success(g) = ListFilter.parse("score>0.9 score<0.5") else { return XCTFail() }
        XCTAssertFalse(g.accepts(BrowserLatentSummary(index: 0, explanation: "x", density: 0.1, maxActivation: 1, detection: 0.95, fuzz: 0.3)),
                       "contradictory ranges match nothing")
    }

    func testJumpMovesTheCursorOrExplains() async {
        var d = Driver()
        await d.keys(.char(":"))
        await d.type("4a2")
        await d.keys(.enter)
        XCTAssertEqual(d.state.list.cursor, 42, "non-digits are ignored in the jump field")
        await d.keys(.char("g"))
        await d.type("5000")
        await d.keys(.enter)
        XCTAssertEqual(d.state.list.cursor, 42)
        XCTAssertEqual(d.state.message?.isError, true)
        XCTAssertTrue(d.state.message?.text.contains("0…999") ?? false)
    }

    func testResizeKeepsTheCursorVisible() async {
        var d = Driver(size: Size(width: 120, height: 40))
        await d.keys(.pageDown, .pageDown)
        let cursor = d.state.list.cursor
        await d.send(.resize(Size(width: 80, height: 15)))
        XCTAssertEqual(d.state.size, Size(width: 80, height: 15))
        XCTAssertEqual(d.state.list.cursor, cursor)
        let page = Update.listPageSize(d.state)
        XCTAssertTrue(d.state.list.top <= cursor && cursor < d.state.list.top + page)
    }

    func testOpenDetailLoadsItAndBackReturns() async {
        var d = Driver()
        await d.keys(.down, .down, .enter)
        XCTAssertEqual(d.state.view, .detail)
        XCTAssertEqual(d.state.detail.ref, LatentRef(part: 0, latent: 2))
        let detail = try! XCTUnwrap(d.state.detail.content.value)
        XCTAssertEqual(detail.summary.index, 2)
        // The selected token starts on the strongest activation of the first window.
        let w = detail.windowGroups[0].windows[0]
        XCTAssertEqual(w.activations[d.state.detail.token], w.activations.max())
        await d.keys(.down, .right)
        XCTAssertEqual(d.state.detail.window, 1)
        await d.keys(.escape)
        XCTAssertEqual(d.state.view, .list)
        XCTAssertEqual(d.state.list.cursor, 2)
    }

    func testUnavailableActionsSayWhy() async {
        var d = Driver(engines: false)
        await d.keys(.char("4"))
        XCTAssertEqual(d.state.view, .list)
        XCTAssertTrue(d.state.message?.text.contains("hook_z") ?? false, d.state.message?.text ?? "")
        await d.keys(.char("5"))
        XCTAssertTrue(d.state.message?.text.contains("model engine") ?? false)
        await d.keys(.char("e"))
        XCTAssertTrue(d.state.message?.text.contains("LLM") ?? false)
        XCTAssertTrue(d.state.jobs.isEmpty)
    }

    func testHeadsViewOnAnAttentionPart() async {
        var d = Driver()
        await d.keys(.char("P"), .down, .enter, .char("4"))
        XCTAssertEqual(d.state.part, 1)
        XCTAssertEqual(d.state.view, .heads)
        let attr = try! XCTUnwrap(d.state.heads.attribution.value)
        XCTAssertEqual(attr.count, 9)
        XCTAssertEqual(Double(attr.reduce(0, +)), 1, accuracy: 1e-4)
        XCTAssertNotNil(d.state.heads.split.value, "per-head split of the selected token loaded")
        let before = d.state.heads.splitToken
        await d.keys(.right)
        XCTAssertNotEqual(d.state.heads.splitToken, before)
        XCTAssertNotNil(d.state.heads.split.value)
        await d.keys(.down, .enter)
        XCTAssertEqual(d.state.view, .detail)
        XCTAssertEqual(d.state.detail.ref?.latent, d.state.heads.table?[1].topLatents.first?.latent)
    }

    func testExplainRunsInTheBackgroundAndRefreshesTheDetail() async {
        var d = Driver()
        await d.keys(.enter)
        let effects = d.sendOnly(.key(.char("e")))
        guard case let .runAction(.explain, ref, id)? = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(d.state.jobs.count, 1)
        XCTAssertTrue(d.state.isBusy)
        _ = d.sendOnly(.actionProgress(id: id, "asking the explainer"))
        XCTAssertEqual(d.state.jobs.first?.progress, "asking the explainer")
        XCTAssertTrue(d.render().text.contains("asking the explainer"), "progress on the status line")
        d.data.setExplanation(part: ref.part, latent: ref.latent, text: "new words")
        await d.send(.actionFinished(id: id, .success("explained latent 0")))
        XCTAssertTrue(d.state.jobs.isEmpty)
        XCTAssertEqual(d.state.detail.content.value?.explanations.first?.text, "new words")
    }

    func testExplanationStreamsIntoTheDetailAndEscStopsTheJob() async {
        var d = Driver(size: Size(width: 120, height: 40))
        await d.keys(.enter)
        XCTAssertEqual(d.state.view, .detail)
        let effects = d.sendOnly(.key(.char("e")))
        guard case let .runAction(.explain, _, id)? = effects.first else { return XCTFail("\(effects)") }
        _ = d.sendOnly(.actionPartial(id: id, .explanation("Names of")))
        XCTAssertEqual(d.state.detail.liveExplanation, "Names of")
        XCTAssertTrue(d.render().text.contains("Names of"), "the partial explanation is drawn")
        _ = d.sendOnly(.actionPartial(id: id, .explanation("Names of contributors")))
        XCTAssertTrue(d.render().text.contains("Names of contributors"))
        // Esc stops the job instead of leaving the view; a second Esc goes back.
        let stop = d.sendOnly(.key(.escape))
        XCTAssertEqual(stop, [.cancelAction(id: id)])
        XCTAssertEqual(d.state.view, .detail)
        XCTAssertEqual(d.state.jobs.first?.cancelling, true)
        _ = d.sendOnly(.actionFinished(id: id, .failure(BrowserError("stopped"))))
        XCTAssertNil(d.state.detail.liveExplanation)
        XCTAssertTrue(d.state.jobs.isEmpty)
        _ = d.sendOnly(.key(.escape))
        XCTAssertEqual(d.state.view, .list)
    }

    func testScoreLinesFillTheDetailAsBatchesFinish() async {
        var d = Driver(size: Size(width: 120, height: 40))
        await d.keys(.enter)
        let effects = d.sendOnly(.key(.char("s")))
        guard case let .runAction(.score, _, id)? = effects.first else { return XCTFail("\(effects)") }
        _ = d.sendOnly(.actionPartial(id: id, .scores(["detection: batch 2/8 · 9/10 correct so far"])))
        XCTAssertTrue(d.render().text.contains("batch 2/8"))
        _ = d.sendOnly(.actionPartial(id: id, .scores(["detection 0.85", "fuzz: batch 1/8 · 4/5 correct so far"])))
        XCTAssertEqual(d.state.detail.liveScores.count, 2)
        XCTAssertTrue(d.render().text.contains("detection 0.85"))
    }

    func testBlindSpotCheckSavesAVerdict() async {
        var d = Driver()
        // Find an explained latent.
        var latent = 0
        while d.data.summary(part: 0, latent: latent).explanation == nil { latent += 1 }
        for _ in 0..<latent { await d.keys(.down) }
        await d.keys(.char("v"))
        let sc = try! XCTUnwrap(d.state.spotCheck)
        XCTAssertEqual(sc.items.count, 10)
        XCTAssertEqual(sc.items.filter(\.activating).count, 5)
        XCTAssertTrue(d.render().text.contains("Blind spot-check"))
        // Answer truthfully for all but the first.
        for (i, item) in sc.items.enumerated() {
            await d.keys(.char((i == 0) != item.activating ? "y" : "n"))
        }
        XCTAssertNil(d.state.spotCheck)
        XCTAssertEqual(d.data.summary(part: 0, latent: latent).verdict, HumanVerdict(judged: 10, agreed: 9))
        XCTAssertTrue(d.state.message?.text.contains("9/10") ?? false)
    }

    func testPromptEditorRunsAndTraces() async {
        var d = Driver()
        await d.keys(.char("5"))
        XCTAssertTrue(d.state.prompt.editing)
        await d.type("The cat")
        await d.keys(.ctrl("j"))
        await d.type("sat q")
        XCTAssertFalse(d.state.quitting, "q is text in the editor")
        XCTAssertEqual(d.state.prompt.lines, ["The cat", "sat q"])
        await d.keys(.backspace, .backspace, .enter)
        let run = try! XCTUnwrap(d.state.prompt.run.value)
        XCTAssertEqual(run.text, "The cat\nsat")
        XCTAssertFalse(d.state.prompt.editing)
        XCTAssertEqual(d.state.prompt.token, run.tokens.count - 1)
        let trace = try! XCTUnwrap(d.state.prompt.trace.value)
        XCTAssertEqual(trace.activations.count, run.tokens.count)
        await d.keys(.down)
        XCTAssertEqual(d.state.prompt.latentCursor, 1)
        XCTAssertEqual(d.state.prompt.trace.value?.latent, run.topLatents[run.tokens.count - 1][1].latent)
        await d.keys(.enter)
        XCTAssertEqual(d.state.view, .detail)
        // History: back in the editor, Ctrl-P recalls the prompt.
        await d.keys(.char("5"), .char("i"), .ctrl("p"))
        XCTAssertEqual(d.state.prompt.text, "The cat\nsat")
    }

    func testMouseClicksSelectSortAndSwitch() async {
        var d = Driver()
        let layout = Layout(size: d.state.size)
        await d.send(.mouse(MouseEvent(kind: .press, x: 10, y: layout.body.y + 4)))
        XCTAssertEqual(d.state.list.cursor, 3)
        await d.send(.mouse(MouseEvent(kind: .wheelDown, x: 10, y: 5)))
        XCTAssertEqual(d.state.list.cursor, 6)
        let fuzzColumn = ListColumns(width: 80).columns.first { $0.column == .fuzz }!
        await d.send(.mouse(MouseEvent(kind: .press, x: fuzzColumn.x + 1, y: layout.body.y)))
        XCTAssertEqual(d.state.list.sort, SortSpec(column: .fuzz, descending: true))
        let tab = Layout.tabs(width: 80).first { $0.view == .prompt }!
        await d.send(.mouse(MouseEvent(kind: .press, x: tab.x + 1, y: 0)))
        XCTAssertEqual(d.state.view, .prompt)
    }

    func testClickingAPromptTokenSelectsAndTracesIt() async {
        var d = Driver(size: Size(width: 100, height: 30))
        await d.keys(.char("5"))
        await d.type("alpha beta gamma delta")
        await d.keys(.enter)
        let screen = d.render()
        let p = try! XCTUnwrap(screen.find("·gamma"))
        await d.send(.mouse(MouseEvent(kind: .press, x: p.x + 2, y: p.y)))
        XCTAssertEqual(d.state.prompt.token, 2)
        XCTAssertEqual(d.state.prompt.trace.value?.token, 2)
        await d.send(.mouse(MouseEvent(kind: .press, x: 5, y: 2)))
        XCTAssertTrue(d.state.prompt.editing, "a click in the editor goes back to editing")
    }

    func testQuitAndSignalsEndTheSession() {
        var d = Driver()
        XCTAssertEqual(d.sendOnly(.key(.char("q"))), [.quit])
        var e = Driver()
        XCTAssertEqual(e.sendOnly(.terminate(signal: 15)), [.quit])
        XCTAssertTrue(e.state.quitting)
        var f = Driver()
        _ = f.sendOnly(.key(.char("/")))
        XCTAssertEqual(f.sendOnly(.key(.ctrl("c"))), [.quit], "Ctrl-C quits even from a text field")
        XCTAssertEqual(f.sendOnly(.key(.ctrl("z"))), [.suspend])
    }
}
