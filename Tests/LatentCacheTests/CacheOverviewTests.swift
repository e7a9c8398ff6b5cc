import Foundation
import XCTest
@testable import LatentCache

/// `CacheOverview`: counts and distributions from the index and annotation logs, computed by hand here.
final class CacheOverviewTests: XCTestCase {
    func testCountsAndScoreDistributions() throws {
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [6], vocab: 100, seed: 5)
        let path = tmp.sub("cache")
        try corpus.build(at: path, examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        let part = try LatentCacheDirectory.open(path).parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "explainer", model: "m", text: "one"))
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "explainer", model: "m", text: "two"))
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "explainer", model: "big", text: "2b"))
        // Detection on latent 1: an older 0.5 replaced by a newer 1.0; on latent 2: 0.5. Fuzz on latent 2: 0.5.
        try part.appendAnnotation(score(latent: 1, method: "detection", correct: [true, false, true, false]))
        try part.appendAnnotation(score(latent: 1, method: "detection", correct: [true, true, true, true]))
        try part.appendAnnotation(score(latent: 2, method: "detection", correct: [false, true, true, false]))
        try part.appendAnnotation(score(latent: 2, method: "fuzz", correct: [false, false, true, true]))

        let o = try CacheOverview(cache: try LatentCacheDirectory.open(path))
        XCTAssertEqual(o.parts.count, 1)
        let p = o.parts[0]
        XCTAssertEqual(p.latents, 6)
        XCTAssertEqual(p.tokens, 128)
        XCTAssertEqual(p.explainedLatents, 2)
        XCTAssertEqual(p.explanations, ["explainer · m": 2, "explainer · big": 1])
        XCTAssertEqual(p.scores.map { $0.method }, ["detection", "fuzz"])
        let det = p.scores[0]
        XCTAssertEqual(det.latents, 2)
        XCTAssertEqual(det.samples, 8)
        XCTAssertEqual(det.mistakes, 2)
        XCTAssertEqual(det.score?.count, 2)
        XCTAssertEqual(det.score?.mean ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(det.score?.min, 0.5)
        XCTAssertEqual(det.score?.max, 1.0)
        XCTAssertEqual(det.score?.median ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(p.scores[1].score?.mean, 0.5)
        // Firing latents and densities come from the index.
        let cache = try LatentCacheDirectory.open(path)
        let firing = try (0 ..< 6).filter { try cache.parts[0].statistics($0).firingCount > 0 }.count
        XCTAssertEqual(p.firingLatents, firing)
        XCTAssertEqual(p.density?.count, firing)
    }

    func score(latent: Int, method: String, correct: [Bool]) -> Annotation {
        let samples = correct.enumerated().map { i, c in
            AnnotationSample(strTokens: ["a", " b"], activations: [0, 1.5], distance: i % 2 == 0 ? 0 : -1, activating: i % 2 == 0,
                             prediction: c ? (i % 2 == 0) : (i % 2 != 0), probability: 0.7, correct: c, shownText: "a <<b>>")
        }
        return Annotation(kind: .score, latent: latent, method: method, model: "m", explanation: "the letter b", samples: samples,
                          metrics: ScoreMetrics.balancedAccuracy(of: samples))
    }

    func testDistributionQuartiles() throws {
        let d = try XCTUnwrap(CacheOverview.Distribution([4, 1, 3, 2, .nan]))
        XCTAssertEqual(d.count, 4)
        XCTAssertEqual(d.mean, 2.5)
        XCTAssertEqual(d.median, 2.5)
        XCTAssertEqual(d.lowerQuartile, 1.75)
        XCTAssertEqual(d.upperQuartile, 3.25)
        XCTAssertNil(CacheOverview.Distribution([]))
    }
}
