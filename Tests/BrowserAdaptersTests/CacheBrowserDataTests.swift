import FeaturescopeCore
import Foundation
import LatentCache
import TerminalUI
import TestSupport
import XCTest
@testable import BrowserAdapters

final class CacheBrowserDataTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("data") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func makeData(latents: Int = 40) throws -> CacheBrowserData {
        let path = try CacheFixtures.build(at: root, latents: latents)
        return try CacheBrowserData(path: path)
    }

    func testPartsAndSummariesComeFromTheCache() throws {
        let data = try makeData()
        XCTAssertEqual(data.parts.count, 1)
        let p = data.parts[0]
        XCTAssertEqual(p.hookName, "blocks.3.attn.hook_z")
        XCTAssertEqual(p.latentCount, 40)
        XCTAssertTrue(p.isHookZ)
        XCTAssertEqual(p.nHeads, 9)
        XCTAssertEqual(p.dHead, 64)

        try CacheFixtures.annotate(data.cache, latent: 3, explanation: "Words three\nsecond line")
        let s = data.summary(part: 0, latent: 3)
        XCTAssertEqual(s.explanation, "Words three")
        XCTAssertEqual(s.detection ?? -1, (3.0 / 4 + 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(s.fuzz ?? -1, (1.0 + 0) / 2, accuracy: 1e-6)
        let stats = try data.cache.parts[0].statistics(3)
        XCTAssertEqual(s.density, stats.densityPerToken)
        XCTAssertEqual(s.maxActivation, stats.maxActivation)
        XCTAssertGreaterThan(s.maxActivation, 0)
        // Latent 3 fires on ids ≡ 3 (mod 10): its peak tokens are such words.
        XCTAssertFalse(s.topTokens.isEmpty)
        for t in s.topTokens { XCTAssertEqual((Int(t.dropFirst(2)) ?? -1) % 10, 3, t) }
        XCTAssertNil(data.summary(part: 0, latent: 4).explanation)
        XCTAssertNil(data.sortValue(part: 0, latent: 4, column: .detection))
        XCTAssertEqual(data.sortValue(part: 0, latent: 3, column: .maxActivation), Double(stats.maxActivation))
    }

    func testDetailScoresAndSamples() throws {
        let data = try makeData()
        try CacheFixtures.annotate(data.cache, latent: 5, explanation: "Fives")
        let d = try data.detail(part: 0, latent: 5)
        XCTAssertEqual(d.explanations.first?.text, "Fives")
        XCTAssertEqual(d.explanations.first?.model, "fixture-llm")
        XCTAssertEqual(d.scores.map(\.scorer), ["detection", "fuzz"])
        let det = d.scores[0]
        XCTAssertEqual(det.counts, ConfusionCounts(tp: 3, tn: 4, fp: 0, fn: 1))
        XCTAssertEqual(det.precision, 1)
        XCTAssertEqual(det.recall, 0.75)
        XCTAssertEqual(det.balancedAccuracy, 0.875)
        XCTAssertEqual(det.auc, 1.0)  // every positive probability (0.9, 0.2) is above every negative one (0.1)
        XCTAssertEqual(det.quantileAccuracy, [1.0, 0.5])
        // Windows: top, one group per quantile, random; strings are the cache's display strings.
        XCTAssertEqual(d.windowGroups.first?.kind, .top)
        XCTAssertEqual(d.windowGroups.last?.kind, .random)
        XCTAssertEqual(d.windowGroups.count, 4)
        let top = try XCTUnwrap(d.windowGroups[0].windows.first)
        XCTAssertEqual(top.tokens.count, 16)
        XCTAssertTrue(top.tokens.allSatisfy { $0.hasPrefix(" w") })
        XCTAssertEqual(top.activations, try data.cache.parts[0].record(5).top[0].activations)
        XCTAssertEqual(d.histogram.counts.reduce(0, +), try data.cache.parts[0].statistics(5).firingCount)

        XCTAssertEqual(data.scorers(part: 0, latent: 5), ["detection", "fuzz"])
        let fuzz = try data.scoredSamples(part: 0, latent: 5, scorer: "fuzz")
        XCTAssertEqual(fuzz.map(\.highlighted), [[false, true, false], [true, false, false]])
        XCTAssertEqual(fuzz.map(\.correct), [true, false])
        let detSamples = try data.scoredSamples(part: 0, latent: 5, scorer: "detection")
        XCTAssertEqual(detSamples.count, 8)
        XCTAssertEqual(detSamples[0].probability, 0.9)
        XCTAssertEqual(detSamples[0].quantile, 0)
        XCTAssertTrue(detSamples.allSatisfy { $0.highlighted.allSatisfy { !$0 } })
        XCTAssertThrowsError(try data.scoredSamples(part: 0, latent: 6, scorer: "fuzz"))
        XCTAssertThrowsError(try data.detail(part: 0, latent: 40))
    }

    func testVerdictIsStoredAsHumanScore() throws {
        let data = try makeData()
        try CacheFixtures.annotate(data.cache, latent: 2, explanation: "Twos")
        XCTAssertNil(data.summary(part: 0, latent: 2).verdict)
        try data.saveVerdict(part: 0, latent: 2, verdict: HumanVerdict(judged: 10, agreed: 7))
        XCTAssertEqual(data.summary(part: 0, latent: 2).verdict, HumanVerdict(judged: 10, agreed: 7))
        XCTAssertEqual(data.sortValue(part: 0, latent: 2, column: .verdict) ?? -1, 0.7, accuracy: 1e-9)
        let stored = try XCTUnwrap(data.cache.parts[0].annotations(2).last)
        XCTAssertEqual(stored.method, "human")
        XCTAssertEqual(stored.explanation, "Twos")
        XCTAssertEqual(stored.metrics?.score ?? -1, 0.7, accuracy: 1e-9)
        // A fresh reader sees it too, and the human check is not listed as a classifier score.
        let again = try CacheBrowserData(path: data.cache.path)
        XCTAssertEqual(again.summary(part: 0, latent: 2).verdict, HumanVerdict(judged: 10, agreed: 7))
        XCTAssertEqual(try again.detail(part: 0, latent: 2).scores.map(\.scorer), ["detection", "fuzz"])
    }

    func testHeadViewsFromTheSAEDecoder() throws {
        let data = try makeData()
        let attr = try XCTUnwrap(data.headAttribution(part: 0, latent: 7))
        XCTAssertEqual(attr.count, 9)
        XCTAssertEqual(attr.reduce(0, +), 1, accuracy: 1e-4)
        let table = try XCTUnwrap(data.headTable(part: 0))
        XCTAssertEqual(table.count, 9)
        for row in table {
            XCTAssertEqual(row.topLatents.count, 8)
            let best = try XCTUnwrap(row.topLatents.first)
            XCTAssertEqual(best.fraction, try XCTUnwrap(data.headAttribution(part: 0, latent: best.latent))[row.head], accuracy: 1e-5)
        }
    }

    func testHeadViewsAbsentWithoutTheSAE() throws {
        let path = try CacheFixtures.build(at: root, withSAE: false)
        let data = try CacheBrowserData(path: path)
        XCTAssertNil(data.headAttribution(part: 0, latent: 1))
        XCTAssertNil(data.headTable(part: 0))
        XCTAssertThrowsError(try data.engine.sae(part: 0)) { e in
            XCTAssertTrue("\(e)".contains("not found"), "\(e)")
        }
    }

    func testHighlightParsing() {
        XCTAssertEqual(CacheBrowserData.highlights(tokens: ["a", "b", "c"], shown: "a<<bc>>"), [false, true, true])
        XCTAssertNil(CacheBrowserData.highlights(tokens: ["a", "b"], shown: "a<<x>>"))
        XCTAssertNil(CacheBrowserData.highlights(tokens: ["a"], shown: "a"))
    }
}

final class MemoTests: XCTestCase {
    func testRateBudgetRationsBursts() {
        let budget = RateBudget(perSecond: 50)
        var granted = 0
        for _ in 0 ..< 200 where budget.take() { granted += 1 }
        XCTAssertGreaterThanOrEqual(granted, 50)
        XCTAssertLessThan(granted, 60, "a tight loop gets about one second's worth")
    }

    func testBoundedMemoNeverExceedsItsCapacity() {
        let memo = BoundedMemo<Int, Int>(capacity: 10)
        for i in 0 ..< 1000 { memo.set(i, i) }
        XCTAssertLessThanOrEqual(memo.count, 10)
        XCTAssertEqual(memo.value(999), 999)
    }

    func testSummariesDuringAScanStayCheapButRowsOnScreenGetTopTokens() throws {
        let root = CacheFixtures.temporaryDirectory("scan")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root))
        // Exhaust the record budget as a whole-list scan would.
        while data.recordBudget.take() {}
        XCTAssertEqual(data.summary(part: 0, latent: 1).topTokens, [], "no record read while rationed")
        XCTAssertGreaterThan(data.summary(part: 0, latent: 1).maxActivation, 0, "index statistics are still read")
        Thread.sleep(forTimeInterval: 0.05)  // the budget refills; the row is asked again when drawn
        XCTAssertFalse(data.summary(part: 0, latent: 1).topTokens.isEmpty)
    }
}
