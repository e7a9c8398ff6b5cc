import XCTest
import LatentCache
@testable import AutoInterp

/// LatentCache records → examples, and results → annotations, on a real tiny cache.
final class CacheBridgeTests: XCTestCase {
    private var path = ""

    override func setUpWithError() throws { path = try CacheFixture.build() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: path) }

    func testExamplesComeFromQuantileGroupsWithDisplayStrings() throws {
        let cache = try LatentCacheDirectory.open(path)
        let part = try LatentSelection.part(named: nil, in: cache)
        let record = try part.record(0)
        let stats = try part.statistics(0)
        let cached = try CacheBridge.examples(part: part, latent: 0)

        XCTAssertEqual(cached.activeWindowCount, record.activeWindowCount)
        XCTAssertGreaterThan(cached.activeWindowCount, 100)
        XCTAssertEqual(cached.quantiles, 10)
        XCTAssertEqual(cached.examples.hook, CacheFixture.hook)
        XCTAssertEqual(cached.examples.maxActivation, stats.maxActivation)
        // Every quantile group kept whole, quantile-major, each window's distance its quantile.
        let groupSize = record.quantiles.map(\.windows.count).min() ?? 0
        XCTAssertEqual(groupSize, 10)
        XCTAssertEqual(cached.examples.activating.count, 10 * groupSize)
        for (i, w) in cached.examples.activating.enumerated() {
            XCTAssertEqual(w.distance, i / groupSize)
            XCTAssertEqual(w.tokens.count, 16)
            XCTAssertTrue(w.isActivating)
            // Token strings are the vocabulary's display strings; " ACT" is exactly where it fires.
            for (t, a) in zip(w.tokens, w.activations) { XCTAssertEqual(a > 0, t == " ACT") }
        }
        // Sorted by maximum, strongest first (groups come from disjoint slices).
        let maxima = cached.examples.activating.map(\.maxActivation)
        XCTAssertEqual(maxima, maxima.sorted(by: >))
        XCTAssertEqual(cached.examples.nonActivating.count, 20)
        XCTAssertTrue(cached.examples.nonActivating.allSatisfy { !$0.isActivating && $0.distance == -1 })
        XCTAssertFalse(cached.examples.nonActivating.contains { $0.tokens.contains(" ACT") })
    }

    func testSamplingCutsTheCachedGroupsDisjointly() throws {
        let cache = try LatentCacheDirectory.open(path)
        let part = try LatentSelection.part(named: nil, in: cache)
        let cached = try CacheBridge.examples(part: part, latent: 0)
        let s = try CacheBridge.sample(cached, options: SamplingOptions())
        XCTAssertEqual(s.train.count, 40)
        XCTAssertEqual(s.test.count, 50)
        XCTAssertEqual(s.nonActivating.count, 20)
        for q in 0 ..< 10 {
            XCTAssertEqual(s.train.filter { $0.distance == q }.count, 4)
            XCTAssertEqual(s.test.filter { $0.distance == q }.count, 5)
        }
        // Disjoint, and each drawn from its own cached group.
        let trainIDs = Set(s.train.map { $0.tokenIDs ?? [] })
        XCTAssertTrue(s.test.allSatisfy { !trainIDs.contains($0.tokenIDs ?? []) })
        for w in s.train + s.test {
            let group = cached.examples.activating.filter { $0.distance == w.distance }
            XCTAssertTrue(group.contains { $0.tokenIDs == w.tokenIDs })
        }
        // The rare latent has small groups: sampling still works (min examples lowered to Q).
        let rare = try CacheBridge.examples(part: part, latent: 1)
        XCTAssertLessThan(rare.activeWindowCount, 30)
        XCTAssertGreaterThanOrEqual(rare.activeWindowCount, 10)
        XCTAssertNoThrow(try CacheBridge.sample(rare, options: SamplingOptions()))
    }

    /// A compact cache (4 windows per quantile) cannot hold 4 + 5 disjoint examples: both shrink in proportion.
    func testSmallQuantileGroupsScaleTrainAndTestDown() throws {
        func fit(_ train: Int, _ test: Int, _ group: Int) -> (Int, Int) {
            var o = SamplingOptions()
            o.trainPerQuantile = train
            o.testPerQuantile = test
            let f = CacheBridge.fitted(o, groupSize: group)
            return (f.trainPerQuantile, f.testPerQuantile)
        }
        XCTAssertTrue(fit(4, 5, 4) == (2, 2))
        XCTAssertTrue(fit(2, 2, 4) == (2, 2))   // fits: unchanged
        XCTAssertTrue(fit(4, 5, 10) == (4, 5))
        XCTAssertTrue(fit(4, 5, 2) == (1, 1))
        XCTAssertTrue(fit(4, 5, 1) == (1, 0))
        XCTAssertTrue(fit(1, 9, 5) == (1, 4))

        // On the fixture cache's groups of 10, cut to 4 per group, the default options give 2 + 2 disjoint.
        let cache = try LatentCacheDirectory.open(path)
        let part = try LatentSelection.part(named: nil, in: cache)
        var cached = try CacheBridge.examples(part: part, latent: 0)
        cached.examples.activating = (0 ..< 10).flatMap { q in cached.examples.activating.filter { $0.distance == q }.prefix(4) }
        let s = try CacheBridge.sample(cached, options: SamplingOptions())
        XCTAssertEqual(s.train.count, 20)
        XCTAssertEqual(s.test.count, 20)
        let trainIDs = Set(s.train.map { $0.tokenIDs ?? [] })
        XCTAssertTrue(s.test.allSatisfy { !trainIDs.contains($0.tokenIDs ?? []) })
    }

    func testAnnotationsCarryProvenanceSamplesAndMetrics() throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let prov = Provenance(method: "detection", model: "m", endpoint: "http://h/v1", promptVersion: "p1", date: date)
        let samples = [
            AutoInterpScoredSample(strTokens: ["a", "b"], activations: [0, 2], distance: 3, activating: true,
                         prediction: true, probability: 0.9, correct: true, shownText: "ab"),
            AutoInterpScoredSample(strTokens: ["c"], activations: [0], distance: -1, activating: false,
                         prediction: true, probability: 0.6, correct: false, shownText: "c"),
            AutoInterpScoredSample(strTokens: ["d"], activations: [0], distance: -1, activating: false, shownText: "d"),
        ]
        var rec = ScoreRecord(latent: 5, hook: "h", provenance: prov, explanation: "expl", samples: samples,
                              batchFailures: ["batch 1: reply is not a list"])
        rec.requestFailures = 0
        let a = CacheBridge.annotation(rec)
        XCTAssertEqual(a.kind, .score)
        XCTAssertEqual(a.method, "detection")
        XCTAssertEqual(a.model, "m")
        XCTAssertEqual(a.endpoint, "http://h/v1")
        XCTAssertEqual(a.promptVersion, "p1")
        XCTAssertEqual(a.date, "2023-11-14T22:13:20Z")
        XCTAssertEqual(a.explanation, "expl")
        XCTAssertEqual(a.samples?.count, 3)
        XCTAssertNil(a.samples?[0].shownText, "the tokens joined: stored slim")
        XCTAssertEqual(CacheBridge.scoredSamples(a).first?.shownText, "ab")
        XCTAssertEqual(a.samples?[0].distance, 3)
        XCTAssertNil(a.samples?[2].prediction)
        // TP 1, FP 1, TN 0, FN 0 → balanced accuracy (1 + 0) / 2.
        XCTAssertEqual(a.metrics?.score, 0.5)
        XCTAssertEqual(a.metrics?.truePositives, 1)
        XCTAssertEqual(a.metrics?.falsePositives, 1)
        XCTAssertEqual(a.metrics?.values["precision"], 0.5)
        XCTAssertEqual(a.metrics?.values["nullPredictions"], 1)
        XCTAssertEqual(a.metrics?.values["auc"], 1)
        XCTAssertEqual(a.raw, .object(["batchFailures": .array([.string("batch 1: reply is not a list")]),
                                       "requestFailures": .number(0)]))
        // Back to AutoInterp samples.
        XCTAssertEqual(CacheBridge.scoredSamples(a), samples)

        // Surprisal: the headline figure is the AUC.
        var sur = rec
        sur.provenance.method = "surprisal"
        XCTAssertEqual(CacheBridge.annotation(sur).metrics?.score, 1)

        let e = CacheBridge.annotation(ExplanationRecord(latent: 5, hook: "h", provenance: prov, explanation: "cats",
                                                         parsed: true, rawReply: "hm\n[EXPLANATION]: cats"))
        XCTAssertEqual(e.kind, .explanation)
        XCTAssertEqual(e.text, "cats")
        XCTAssertTrue(CacheBridge.isUsableExplanation(e))
        let bad = CacheBridge.annotation(ExplanationRecord(latent: 5, hook: "h", provenance: prov,
                                                           explanation: Explainer.unparsedExplanation,
                                                           parsed: false, rawReply: "no idea"))
        XCTAssertFalse(CacheBridge.isUsableExplanation(bad))
        XCTAssertEqual(CacheBridge.newestExplanation([e, bad])?.text, "cats")

        // Stored slim: a reply that is exactly the primed "[EXPLANATION]: " + text is not repeated; others are kept.
        XCTAssertEqual(e.raw, .object(["rawReply": .string("hm\n[EXPLANATION]: cats"), "parsed": .bool(true)]))
        XCTAssertEqual(CacheBridge.rawReply(of: e), "hm\n[EXPLANATION]: cats")
        let primed = CacheBridge.annotation(ExplanationRecord(latent: 5, hook: "h", provenance: prov, explanation: "cats",
                                                              parsed: true, rawReply: "[EXPLANATION]: cats"))
        XCTAssertEqual(primed.raw, .object(["parsed": .bool(true)]))
        XCTAssertEqual(CacheBridge.rawReply(of: primed), "[EXPLANATION]: cats")
        let spaced = CacheBridge.annotation(ExplanationRecord(latent: 5, hook: "h", provenance: prov, explanation: "cats",
                                                              parsed: true, rawReply: "[EXPLANATION]:  cats "))
        XCTAssertEqual(CacheBridge.rawReply(of: spaced), "[EXPLANATION]:  cats ", "only an exact match is left out")
        XCTAssertEqual(CacheBridge.slimmed(CacheBridge.slimmed(primed)), primed)
        XCTAssertNil(CacheBridge.rawReply(of: CacheBridge.annotation(sur)))

        // A score sample's shown text is left out when it is the tokens joined; readers give it back.
        let plain = ScoredSample(strTokens: ["a", " b"], activations: [0, 1], distance: 0, activating: true, shownText: "a b")
        let marked = ScoredSample(strTokens: ["a", " b"], activations: [0, 1], distance: 0, activating: true, shownText: "a<< b>>")
        var fuzzRecord = ScoreRecord(latent: 5, hook: "h", provenance: prov, explanation: "cats", samples: [plain, marked])
        fuzzRecord.provenance.method = "fuzz"
        let stored = CacheBridge.annotation(fuzzRecord)
        XCTAssertEqual(stored.samples?.map { $0.shownText }, [nil, "a<< b>>"])
        XCTAssertEqual(CacheBridge.scoredSamples(stored).map(\.shownText), ["a b", "a<< b>>"])
        XCTAssertEqual(CacheBridge.slimmed(stored), stored)
    }

    func testLatentSelection() throws {
        XCTAssertEqual(try LatentSelection.parse("0-3,7, 2", latentCount: 10), [0, 1, 2, 3, 7])
        XCTAssertThrowsError(try LatentSelection.parse("0-30", latentCount: 10)) { e in
            XCTAssertEqual(e as? LatentSelectionError, .outOfRange(spec: "0-30", latent: 30, latentCount: 10))
        }
        for bad in ["", "a", "3-1", "1-2-3", "-4", "1,,2"] {
            XCTAssertThrowsError(try LatentSelection.parse(bad, latentCount: 10), bad)
        }
        let cache = try LatentCacheDirectory.open(path)
        let part = try LatentSelection.part(named: CacheFixture.hook, in: cache)
        XCTAssertEqual(try LatentSelection(spec: nil).latents(in: part), [0, 1, 2, 3])
        // A sample draws only latents with enough active windows, reproducibly.
        let s = LatentSelection(sample: 5, seed: 3, minActiveWindows: 50)
        XCTAssertEqual(try s.latents(in: part), [0, 3])
        XCTAssertEqual(try LatentSelection(sample: 1, seed: 3, minActiveWindows: 50).latents(in: part).count, 1)
        XCTAssertThrowsError(try LatentSelection.part(named: "nope", in: cache))
    }
}
