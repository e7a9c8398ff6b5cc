import Foundation
import XCTest
@testable import LatentCache

final class AnnotationTests: XCTestCase {
    func makeCache(_ tmp: TempDir) throws -> String {
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [6], vocab: 100, seed: 5)
        try corpus.build(at: tmp.sub("cache"), examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        return tmp.sub("cache")
    }

    func sampleScore(latent: Int, method: String, correct: [Bool]) -> Annotation {
        let samples = correct.enumerated().map { i, c in
            AnnotationSample(strTokens: ["a", " b"], activations: [0, 1.5], distance: i % 2 == 0 ? 0 : -1, activating: i % 2 == 0,
                         prediction: c ? (i % 2 == 0) : (i % 2 != 0), probability: 0.7, correct: c, shownText: "a <<b>>")
        }
        return Annotation(kind: .score, latent: latent, method: method, model: "m", endpoint: "http://x", promptVersion: "v1",
                          date: "2026-11-21T00:00:00Z", explanation: "the letter b", samples: samples,
                          metrics: ScoreMetrics.balancedAccuracy(of: samples))
    }

    func testAppendThenReopen() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let recordsBefore = try Data(contentsOf: URL(fileURLWithPath: try LatentCacheDirectory.open(path).parts[0].directory + "/records.bin"))
        do {
            let part = try LatentCacheDirectory.open(path).parts[0]
            try part.appendAnnotation(Annotation(kind: .explanation, latent: 3, method: "delphi-default", model: "m", date: "2026-11-21T00:00:00Z", text: "first"))
            try part.appendAnnotation(sampleScore(latent: 3, method: "detection", correct: [true, true, false, true]))
            try part.appendAnnotation(sampleScore(latent: 3, method: "detection", correct: [true, true, true, true]))
            try part.appendAnnotation(sampleScore(latent: 3, method: "fuzz", correct: [false, true, false, true]))
            try part.appendAnnotation(Annotation(kind: .explanation, latent: 3, method: "delphi-default", model: "m2", text: "second"))
            try part.appendAnnotation(Annotation(kind: .explanation, latent: 5, method: "delphi-default", model: "m", text: "other"))
            // Visible to the same handle right away.
            XCTAssertEqual(try part.summary(3).explanationPreview, "second")
        }
        let part = try LatentCacheDirectory.open(path).parts[0]
        let a = try part.annotations(3)
        XCTAssertEqual(a.map(\.kind), [.explanation, .score, .score, .score, .explanation])
        XCTAssertEqual(a.first?.text, "first")
        XCTAssertEqual(a[1].samples?.count, 4)
        XCTAssertEqual(a[1].samples?.first?.shownText, "a <<b>>")
        XCTAssertEqual(a[1], sampleScore(latent: 3, method: "detection", correct: [true, true, false, true]))
        let s = try part.summary(3)
        XCTAssertEqual(s.explanationPreview, "second")
        XCTAssertEqual(s.annotationCount, 5)
        XCTAssertEqual(s.bestDetection, 1.0)
        XCTAssertEqual(s.bestFuzz, 0.5)
        XCTAssertEqual(try part.annotations(5).map(\.text), ["other"])
        XCTAssertEqual(try part.annotations(0), [])
        XCTAssertNil(try part.summary(0).explanationPreview)
        XCTAssertThrowsError(try part.appendAnnotation(Annotation(kind: .explanation, latent: 6, method: "x", model: "m", text: "t")))
        // Nothing but the annotation files changed.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: part.directory + "/records.bin")), recordsBefore)
    }

    func testBalancedAccuracy() {
        func s(_ act: Bool, _ pred: Bool?) -> AnnotationSample {
            AnnotationSample(strTokens: [], activations: [], distance: act ? 0 : -1, activating: act, prediction: pred, probability: nil, correct: nil)
        }
        // pos: 3 (2 right), neg: 2 (1 right), one null prediction ignored
        let m = ScoreMetrics.balancedAccuracy(of: [s(true, true), s(true, true), s(true, false), s(false, false), s(false, true), s(true, nil)])
        XCTAssertEqual(m.score!, (2.0 / 3 + 1.0 / 2) / 2, accuracy: 1e-12)
        XCTAssertEqual(m.truePositives, 2); XCTAssertEqual(m.falseNegatives, 1)
        XCTAssertEqual(m.trueNegatives, 1); XCTAssertEqual(m.falsePositives, 1)
        XCTAssertEqual(ScoreMetrics.balancedAccuracy(of: [s(true, true)]).score, 0.5)  // zero denominator term is 0
    }

    /// A writer that died after syncing its record but before updating the index.
    func testRecordNotYetIndexedIsFoundAndAdopted() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let part = try LatentCacheDirectory.open(path).parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "e", model: "m", text: "one"))
        let idxPath = part.directory + "/annotations.idx"
        let idxBefore = try Data(contentsOf: URL(fileURLWithPath: idxPath))
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "e", model: "m", text: "two"))
        try idxBefore.write(to: URL(fileURLWithPath: idxPath))   // roll the index back

        let reopened = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertEqual(try reopened.annotations(2).map(\.text), ["one", "two"])
        XCTAssertEqual(try reopened.summary(2).explanationPreview, "two")
        try reopened.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "e", model: "m", text: "three"))
        XCTAssertEqual(try LatentCacheDirectory.open(path).parts[0].annotations(2).map(\.text), ["one", "two", "three"])
        XCTAssertEqual(try LatentCacheDirectory.open(path).parts[0].summary(2).annotationCount, 3)
    }

    /// A writer that died in the middle of writing its record: earlier data intact, the torn tail ignored and cut.
    func testTornTailIsIgnoredAndCut() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let part = try LatentCacheDirectory.open(path).parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "e", model: "m", text: "kept"))
        let log = part.directory + "/annotations.log"
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try h.seekToEnd()
        try h.write(contentsOf: Data("ANNR\u{01}\u{00}garbage".utf8))
        try h.close()
        let reopened = try LatentCacheDirectory.open(path).parts[0]
        XCTAssertEqual(try reopened.annotations(1).map(\.text), ["kept"])
        try reopened.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "e", model: "m", text: "next"))
        XCTAssertEqual(try LatentCacheDirectory.open(path).parts[0].annotations(1).map(\.text), ["kept", "next"])
    }

    func testNonFiniteNumbersSurvive() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let part = try LatentCacheDirectory.open(path).parts[0]
        let sample = AnnotationSample(strTokens: ["a"], activations: [.nan], distance: 0, activating: true, prediction: nil,
                                      probability: .infinity, correct: nil)
        try part.appendAnnotation(Annotation(kind: .score, latent: 4, method: "simulation", model: "m", samples: [sample],
                                             metrics: ScoreMetrics(score: .nan, values: ["auc": -.infinity])))
        let back = try XCTUnwrap(try LatentCacheDirectory.open(path).parts[0].annotations(4).first)
        XCTAssertTrue(back.metrics?.score?.isNaN == true)
        XCTAssertEqual(back.metrics?.values["auc"], -.infinity)
        XCTAssertTrue(back.samples?.first?.activations.first?.isNaN == true)
        XCTAssertEqual(back.samples?.first?.probability, .infinity)
        XCTAssertNil(try part.summary(4).bestDetection)
    }
}
