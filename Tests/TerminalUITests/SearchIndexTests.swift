import Foundation
import XCTest
@testable import TerminalUI
import TestSupport

/// Synthetic latents whose list rows show no top tokens (like a real cache's rows before they are
/// displayed); only `searchTokens` knows them. Latent `special` has the token " Pythonista".
final class HiddenTokensData: BrowserDataSource, @unchecked Sendable {
    let base: SyntheticBrowserData
    let special: Int
    init(latents: Int, special: Int) { base = SyntheticBrowserData(latentCount: latents); self.special = special }
    var parts: [PartInfo] { base.parts }
    func summary(part: Int, latent: Int) -> BrowserLatentSummary {
        var s = base.summary(part: part, latent: latent)
        s.topTokens = []
        if latent == special { s.explanation = "Something unrelated" }
        return s
    }
    func detail(part: Int, latent: Int) throws -> LatentDetail { try base.detail(part: part, latent: latent) }
    func scorers(part: Int, latent: Int) -> [String] { [] }
    func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] { [] }
    func headAttribution(part: Int, latent: Int) -> [Float]? { nil }
    func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws {}
    func searchTokens(part: Int, latent: Int) -> [String] {
        latent == special ? [" and", " Pythonista", "\n"] : base.searchTokens(part: part, latent: latent)
    }
}

final class SearchIndexTests: XCTestCase {
    /// The index answers exactly what a plain scan of every latent's tokens answers, across chunk
    /// boundaries, and a match never spans two tokens or two latents.
    func testIndexMatchesAPlainScan() {
        let data = SyntheticBrowserData(latentCount: 5000)
        let index = TopTokenIndex(reportInterval: .zero)
        var reports: [TokenIndexProgress] = []
        index.build(part: 0, data: data) { reports.append($0) }
        XCTAssertEqual(reports.last, TokenIndexProgress(indexed: 5000, total: 5000))
        XCTAssertEqual(reports.map(\.indexed), reports.map(\.indexed).sorted(), "progress only grows")
        XCTAssertGreaterThan(reports.count, 1, "progress is reported while building (chunks of \(TopTokenIndex.chunkSize))")
        for needle in ["paris", " the", "É", "ramen", "東京", "e", ")"] {
            let plain = (0..<5000).filter { l in
                data.searchTokens(part: 0, latent: l).contains { $0.lowercased().contains(needle.lowercased()) }
            }.map { Int32($0) }
            let (indexed, hits) = index.matches(part: 0, search: needle)
            XCTAssertEqual(indexed, 5000)
            XCTAssertEqual(hits, plain, needle)
        }
        // Parallel slices give the same chunk as one thread.
        let one = TopTokenIndex.makeChunk(start: 100, end: 1100, workers: 1) { data.searchTokens(part: 1, latent: $0) }
        let four = TopTokenIndex.makeChunk(start: 100, end: 1100, workers: 4) { data.searchTokens(part: 1, latent: $0) }
        XCTAssertEqual(one.bytes, four.bytes)
        XCTAssertEqual(one.offsets, four.offsets)
        // Tokens " of" and " and" follow each other in some latent; "of an" must not match across them.
        let chunk = TopTokenIndex.makeChunk(start: 10, end: 13) { l in l == 11 ? [" of", " and"] : [" x"] }
        var hits: [Int32] = []
        TopTokenIndex.scan(chunk, needle: TopTokenIndex.needleBytes("of an"), into: &hits)
        XCTAssertEqual(hits, [])
        TopTokenIndex.scan(chunk, needle: TopTokenIndex.needleBytes(" AN"), into: &hits)
        XCTAssertEqual(hits, [11])
        hits = []
        TopTokenIndex.scan(chunk, needle: TopTokenIndex.needleBytes("x x"), into: &hits)
        XCTAssertEqual(hits, [], "no match across latents")
    }

    /// `/pythonista` finds the latent whose top tokens contain it although its list row shows no
    /// tokens and it is far off screen; the index is built on first search and reported in the status line.
    func testSearchFindsALatentByATopTokenThatIsNotOnScreen() async {
        var d = Driver(data: HiddenTokensData(latents: 3000, special: 2717))
        await d.keys(.char("/"))
        XCTAssertTrue(d.effectsSeen.contains(.buildTokenIndex(part: 0)), "the index is built when search is first used")
        XCTAssertEqual(d.state.tokenIndex[0], TokenIndexProgress(indexed: 3000, total: 3000))
        await d.type("pythonista")
        XCTAssertEqual(d.state.list.rows, [2717])
        // Without the index only explanations would match: nothing.
        let plain = EffectPerformer.computeRows(RowQuery(part: 0, sort: SortSpec(), filter: ListFilter(), search: "pythonista"), data: d.env.data)
        XCTAssertEqual(plain, [])
        XCTAssertTrue(d.render().text.contains("#2717"))
        // A second search does not rebuild the index.
        let builds = d.effectsSeen.filter { $0 == .buildTokenIndex(part: 0) }.count
        await d.keys(.enter, .char("/"), .backspace)
        XCTAssertEqual(d.effectsSeen.filter { $0 == .buildTokenIndex(part: 0) }.count, builds)
    }

    /// Progress messages re-run an active search (results stream in), but not over a scan still running,
    /// except for the final one; the status line shows the percentage.
    func testIndexProgressStreamsResultsAndShowsInTheStatusLine() {
        var s = AppState(size: Size(width: 100, height: 30), parts: SyntheticBrowserData(latentCount: 1000).parts)
        s.list.input = LineInput(purpose: .search, text: "x", previous: "")
        var effects = Update.update(&s, .key(.char("p")))
        XCTAssertTrue(effects.contains(.buildTokenIndex(part: 0)))
        XCTAssertTrue(effects.contains { if case .computeRows = $0 { return true } else { return false } })
        XCTAssertTrue(s.list.computing)
        effects = Update.update(&s, .tokenIndexProgress(part: 0, TokenIndexProgress(indexed: 340, total: 1000)))
        XCTAssertEqual(effects, [], "a scan is running: wait for it")
        XCTAssertTrue(s.isBusy)
        let screen = Render.frame(s, data: SyntheticBrowserData(latentCount: 1000)).text
        XCTAssertTrue(screen.contains("indexing top tokens 34 %"), screen)
        _ = Update.update(&s, .rowsComputed(generation: s.list.generation, rows: [1, 2]))
        effects = Update.update(&s, .tokenIndexProgress(part: 0, TokenIndexProgress(indexed: 700, total: 1000)))
        XCTAssertEqual(effects.count, 1, "idle: the search re-runs over the grown index")
        effects = Update.update(&s, .tokenIndexProgress(part: 0, TokenIndexProgress(indexed: 1000, total: 1000)))
        XCTAssertEqual(effects.count, 1, "the final report always re-runs the search")
        XCTAssertFalse(s.isIndexing)
        // Another part's progress does not touch this part's list.
        XCTAssertEqual(Update.update(&s, .tokenIndexProgress(part: 1, TokenIndexProgress(indexed: 5, total: 1000))), [])
    }

    /// Typing a search over 10⁶ latents while the index builds: every key is answered with a frame at once.
    func testIncrementalSearchNeverBlocksOnAMillionLatents() throws {
        let data = SyntheticBrowserData(latentCount: 1_000_000)
        var script: [TestTerminal.Step] = [.event(.key(.char("/")))]
        for c in "ramen" { script.append(.event(.key(.char(c)))) }
        script.append(.waitFor("indexing top tokens", timeout: .seconds(30)))
        for c in "\u{8}\u{8}fe\u{8}\u{8}en" { script.append(.event(.key(c == "\u{8}" ? .backspace : .char(c)))) }
        // Results arrive in the background: the hint loses its "…" when a scan is done.
        script.append(.waitFor("matches   ", timeout: .seconds(60)))
        script.append(.event(.key(.enter)))
        let term = TestTerminal(size: Size(width: 100, height: 30), script: script)
        let runtime = BrowserRuntime(backend: term, environment: BrowserEnvironment(data: data))
        var seen: [(search: String, at: ContinuousClock.Instant)] = []
        runtime.onFrame = { _, state in
            if seen.last?.search != state.list.search { seen.append((state.list.search, ContinuousClock.now)) }
        }
        let start = ContinuousClock.now
        try runtime.run()
        XCTAssertTrue(term.frames.contains { $0.text.contains("indexing top tokens") }, "progress in the status line")
        // Keys are queued back to back, so the time from one search text's first frame to the next one's is
        // the UI's answer time for a key (except across the wait for the progress line).
        let typed = ["r", "ra", "ram", "rame", "ramen", "rame", "ram", "ramf", "ramfe", "ramf", "ram", "rame", "ramen"]
        XCTAssertEqual(Array(seen.map(\.search).filter { typed.contains($0) }.prefix(typed.count)), typed)
        var worst: Duration = .zero
        for (a, b) in zip(typed, typed.dropFirst()) where a != "ramen" {
            guard let ta = seen.first(where: { $0.search == a })?.at, let tb = seen.first(where: { $0.search == b })?.at else { continue }
            worst = max(worst, tb - ta)
        }
        let rows = try XCTUnwrap(runtime.state.list.rows)
        XCTAssertEqual(runtime.state.list.search, "ramen")
        XCTAssertGreaterThan(rows.count, 1000)
        for r in rows.prefix(200) {
            let s = data.summary(part: 0, latent: Int(r))
            XCTAssertTrue(((s.explanation ?? "") + s.topTokens.joined()).lowercased().contains("ramen"), "row \(r)")
        }
        print("[search 10⁶] \(term.frames.count) frames in \(ContinuousClock.now - start); slowest key-to-frame \(worst)")
        XCTAssertLessThan(worst, .seconds(1), "a key waited on background work")
    }
}
