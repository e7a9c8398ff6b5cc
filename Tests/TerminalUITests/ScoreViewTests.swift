import XCTest
@testable import TerminalUI

/// `s` fills view 3 batch by batch, Esc there stops the job, `S` picks the scorer, and the newer scorers' scores
/// appear in the list columns, the detail and view 3 with their breakdowns.
final class ScoreViewTests: XCTestCase {
    /// The first latent of part 0 with embedding, simulation and intervention scores.
    func latentWithNewScores(_ d: Driver) -> Int {
        var l = 0
        while d.data.summary(part: 0, latent: l).embedding == nil { l += 1 }
        return l
    }

    func open(_ d: inout Driver, latent: Int) async {
        for _ in 0..<latent { await d.keys(.down) }
        await d.keys(.enter)
    }

    func testScoreFillsViewThreeAsBatchesFinishAndEscKeepsWhatFinished() async throws {
        var d = Driver(size: Size(width: 120, height: 40))
        let l = latentWithNewScores(d)
        await open(&d, latent: l)
        await d.keys(.char("3"))
        XCTAssertEqual(d.state.view, .samples)
        let effects = d.sendOnly(.key(.char("s")))
        guard case let .runAction(.score, ref, id)? = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(d.state.samples.following, id)
        let all = try d.data.scoredSamples(part: 0, latent: l, scorer: "detection")
        _ = d.sendOnly(.actionProgress(id: id, "detection: batch 1/8"))
        _ = d.sendOnly(.actionPartial(id: id, .samples(scorer: "detection", Array(all.prefix(5)))))
        XCTAssertEqual(d.state.samples.content.value?.count, 5)
        XCTAssertEqual(d.state.samples.scorer, "detection")
        var text = d.render().text
        XCTAssertTrue(text.contains("live"), text)
        XCTAssertTrue(text.contains("detection: batch 1/8"), text)
        _ = d.sendOnly(.actionPartial(id: id, .samples(scorer: "detection", Array(all.prefix(10)))))
        XCTAssertEqual(d.state.samples.content.value?.count, 10)
        // A stored scorer's samples arriving now do not replace the live ones.
        _ = d.sendOnly(.samplesLoaded(ref, scorer: "fuzz", scorers: ["detection", "fuzz"], .success([])))
        XCTAssertEqual(d.state.samples.content.value?.count, 10)
        // Esc in view 3 stops the job; the view stays.
        let stop = d.sendOnly(.key(.escape))
        XCTAssertEqual(stop, [.cancelAction(id: id)])
        XCTAssertEqual(d.state.view, .samples)
        text = d.render().text
        XCTAssertTrue(text.contains("stopping"), text)
        // When it ends, view 3 reloads what is stored.
        let after = d.sendOnly(.actionFinished(id: id, .failure(BrowserError("stopped"))))
        XCTAssertNil(d.state.samples.following)
        XCTAssertTrue(after.contains(.loadSamples(ref, scorer: "detection")), "\(after)")
    }

    func testViewThreeOpenedDuringAJobShowsItsSamplesSoFar() async throws {
        var d = Driver(size: Size(width: 80, height: 24))
        let l = latentWithNewScores(d)
        await open(&d, latent: l)
        let effects = d.sendOnly(.key(.char("s")))
        guard case let .runAction(.score, _, id)? = effects.first else { return XCTFail("\(effects)") }
        let all = try d.data.scoredSamples(part: 0, latent: l, scorer: "fuzz")
        _ = d.sendOnly(.actionPartial(id: id, .samples(scorer: "fuzz", Array(all.prefix(15)))))
        XCTAssertNil(d.state.samples.following, "view 3 was not open")
        let shown = d.sendOnly(.key(.char("3")))
        XCTAssertFalse(shown.contains { if case .loadSamples = $0 { return true } else { return false } }, "\(shown)")
        XCTAssertEqual(d.state.samples.following, id)
        XCTAssertEqual(d.state.samples.scorer, "fuzz")
        XCTAssertEqual(d.state.samples.content.value?.count, 15)
        // `c` goes back to the stored scores.
        _ = d.sendOnly(.actionPartial(id: id, .samples(scorer: "detection", Array(all.prefix(5)))))
        XCTAssertEqual(d.state.samples.scorers, ["fuzz", "detection"])
        _ = d.sendOnly(.key(.char("c")))
        XCTAssertNil(d.state.samples.following)
    }

    func testShiftSChoosesTheScorerThatSRuns() async {
        var d = Driver()
        await d.keys(.enter)
        XCTAssertEqual(d.state.scoreKind, .score)
        var seen: [BrowserAction] = []
        for _ in 0..<4 {
            _ = d.sendOnly(.key(.char("S")))
            seen.append(d.state.scoreKind)
        }
        XCTAssertEqual(seen, [.scoreEmbedding, .scoreSimulation, .scoreIntervention, .score])
        _ = d.sendOnly(.key(.char("S")))
        XCTAssertTrue(d.state.message?.text.contains("embedding") ?? false)
        let effects = d.sendOnly(.key(.char("s")))
        guard case .runAction(.scoreEmbedding, _, _)? = effects.first else { return XCTFail("\(effects)") }
    }

    func testSyntheticRunnerStreamsEveryScorerIntoViewThree() async {
        var d = Driver(size: Size(width: 120, height: 40))
        let l = latentWithNewScores(d)
        await open(&d, latent: l)
        await d.keys(.char("3"), .char("S"), .char("S"))
        XCTAssertEqual(d.state.scoreKind, .scoreSimulation)
        await d.keys(.char("s"))  // the synthetic job runs inline to the end
        XCTAssertTrue(d.state.jobs.isEmpty)
        XCTAssertNil(d.state.samples.following)
        XCTAssertTrue(d.effectsSeen.contains(.loadSamples(LatentRef(part: 0, latent: l), scorer: "simulation")))
        XCTAssertEqual(d.state.samples.scorer, "simulation")
    }

    func testNewScoreColumnsAreShownWhenWideAndSortable() async {
        XCTAssertEqual(ListColumns(width: 80).columns.map(\.column), [.index, .explanation, .density, .maxActivation, .detection, .fuzz, .verdict])
        let wide = ListColumns(width: 120).columns.map(\.column)
        XCTAssertEqual(Array(wide.suffix(3)), [.embedding, .simulation, .intervention])
        var d = Driver(latents: 500, size: Size(width: 120, height: 40))
        XCTAssertTrue(d.render().text.contains("embed"))
        // Sort by the embedding column: `>` until it is the sort column.
        while d.state.list.sort.column != .embedding { await d.keys(.char(">")) }
        XCTAssertTrue(d.state.list.sort.descending)
        let rows = (0..<20).compactMap { d.state.latent(atRow: $0) }
        let values = rows.map { d.data.summary(part: 0, latent: $0).embedding ?? -1 }
        XCTAssertEqual(values, values.sorted(by: >))
        XCTAssertGreaterThan(values[0], 0)
    }

    func testDetailAndViewThreeShowEachNewScorersBreakdown() async throws {
        var d = Driver(size: Size(width: 120, height: 40))
        let l = latentWithNewScores(d)
        await open(&d, latent: l)
        let detail = try XCTUnwrap(d.state.detail.content.value)
        XCTAssertEqual(detail.scores.map(\.scorer), ["detection", "fuzz", "embedding", "simulation", "intervention"])
        let doc = DetailDocument.scoreLines(detail.scores[3]).map { $0.spans.map(\.text).joined() }.joined(separator: "\n")
        XCTAssertTrue(doc.contains("Pearson r") && doc.contains("r per quantile"), doc)
        let inv = DetailDocument.scoreLines(detail.scores[4]).map { $0.spans.map(\.text).joined() }.joined(separator: "\n")
        XCTAssertTrue(inv.contains("steered completions identified"), inv)
        let emb = DetailDocument.scoreLines(detail.scores[2]).map { $0.spans.map(\.text).joined() }.joined(separator: "\n")
        XCTAssertTrue(emb.contains("AUROC"), emb)
        // View 3: cycle to each scorer and check its breakdown line.
        await d.keys(.char("3"))
        var seen: [String: String] = [:]
        for _ in 0..<5 {
            seen[d.state.samples.scorer] = d.render().text
            await d.keys(.char("c"))
        }
        XCTAssertEqual(Set(seen.keys), ["detection", "fuzz", "embedding", "simulation", "intervention"])
        XCTAssertTrue(seen["embedding"]!.contains("AUROC"))
        XCTAssertTrue(seen["simulation"]!.contains("Pearson r") && seen["simulation"]!.contains("by quantile"))
        XCTAssertTrue(seen["intervention"]!.contains("steered identified") && seen["intervention"]!.contains("steer "))
        XCTAssertTrue(seen["detection"]!.contains("balanced acc"))
    }

    func testEscOutsideAJobStillGoesBackFromViewThree() async {
        var d = Driver()
        await d.keys(.enter, .char("3"))
        XCTAssertEqual(d.state.view, .samples)
        await d.keys(.escape)
        XCTAssertEqual(d.state.view, .detail)
    }
}

final class SnapshotLatentTests: XCTestCase {
    /// The snapshot scenes of the newer scorers open latent 6 of the 500-latent synthetic data.
    func testLatentSixHasTheNewerScores() {
        let d = Driver(latents: 500)
        XCTAssertNotNil(d.data.summary(part: 0, latent: 6).embedding)
        XCTAssertEqual(d.data.scorers(part: 0, latent: 6), ["detection", "fuzz", "embedding", "simulation", "intervention"])
    }
}
