import FeaturescopeCore
import XCTest
@testable import AutoInterp

final class MetricsTests: XCTestCase {
    private func s(_ activating: Bool, _ pred: Bool?, prob: Double? = nil, q: Int = 0) -> ScoredSample {
        ScoredSample(strTokens: ["a"], activations: [0], distance: activating ? q : -1, activating: activating,
                     prediction: pred, probability: prob, correct: pred.map { $0 == activating }, shownText: "a")
    }

    func testConfusionCountsAndDerivedMetrics() {
        // positives: T, T, F, nil ; negatives: F, F, T
        let samples = [s(true, true, q: 0), s(true, true, q: 1), s(true, false, q: 1), s(true, nil, q: 2),
                       s(false, false), s(false, false), s(false, true)]
        let m = ClassifierMetrics(samples: samples)
        XCTAssertEqual([m.truePositives, m.falseNegatives, m.trueNegatives, m.falsePositives, m.nullPredictions],
                       [2, 1, 2, 1, 1])
        XCTAssertEqual(m.precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.recall, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.f1, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(m.accuracy, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(m.balancedAccuracy, (2.0 / 3 + 2.0 / 3) / 2, accuracy: 1e-12)
        XCTAssertNil(m.auc, "no probabilities → no AUC")
        // Per quantile: q0 1/1, q1 1/2; q2 has only a null prediction → not counted.
        XCTAssertEqual(m.perQuantile.map(\.quantile), [0, 1])
        XCTAssertEqual(m.perQuantile.map(\.accuracy), [1.0, 0.5])
    }

    func testUnbalancedScoreIsBalancedAccuracy() {
        // 1 of 1 positives right, 1 of 4 negatives right: balanced = (1 + 0.25)/2.
        let samples = [s(true, true), s(false, false), s(false, true), s(false, true), s(false, true)]
        let m = ClassifierMetrics(samples: samples)
        XCTAssertEqual(m.balancedAccuracy, 0.625, accuracy: 1e-12)
        XCTAssertEqual(m.precision, 0.25, accuracy: 1e-12)
        XCTAssertEqual(m.recall, 1, accuracy: 1e-12)
        XCTAssertEqual(m.f1, 0.4, accuracy: 1e-12)
    }

    func testZeroDenominatorsAreZero() {
        let m = ClassifierMetrics(samples: [s(false, false), s(false, false)])
        XCTAssertEqual(m.precision, 0)
        XCTAssertEqual(m.recall, 0)
        XCTAssertEqual(m.f1, 0)
        XCTAssertEqual(m.balancedAccuracy, 0.5, "TP/pos term is 0, TN/neg is 1")
        let empty = ClassifierMetrics(samples: [])
        XCTAssertEqual([empty.precision, empty.recall, empty.f1, empty.accuracy, empty.balancedAccuracy], [0, 0, 0, 0, 0])
    }

    func testAUCWithTiesIsMannWhitney() {
        // Positives 0.9, 0.5, 0.5; negatives 0.5, 0.1.
        // Pairs: (0.9>0.5)=1 (0.9>0.1)=1 (0.5=0.5)=½ (0.5>0.1)=1 twice → 1+1+½+1+½+1 = 5 of 6.
        let pairs: [(Double, Bool)] = [(0.9, true), (0.5, true), (0.5, true), (0.5, false), (0.1, false)]
        XCTAssertEqual(ConfusionCounts.auc(pairs) ?? -1, 5.0 / 6, accuracy: 1e-12)
        // All tied → ½; perfectly separated → 1; reversed → 0; one class → nil.
        XCTAssertEqual(ConfusionCounts.auc([(0.3, true), (0.3, false)]) ?? -1, 0.5, accuracy: 1e-12)
        XCTAssertEqual(ConfusionCounts.auc([(0.8, true), (0.2, false)]) ?? -1, 1, accuracy: 1e-12)
        XCTAssertEqual(ConfusionCounts.auc([(0.1, true), (0.2, false)]) ?? -1, 0, accuracy: 1e-12)
        XCTAssertNil(ConfusionCounts.auc([(0.1, true)]))
        let viaSamples = ClassifierMetrics(samples: [s(true, true, prob: 0.9), s(true, false, prob: 0.5),
                                                     s(true, false, prob: 0.5), s(false, false, prob: 0.5),
                                                     s(false, false, prob: 0.1)])
        XCTAssertEqual(viaSamples.auc ?? -1, 5.0 / 6, accuracy: 1e-12)
    }

    func testPoolingIsMicroAverage() {
        let p = Provenance(method: "detection", model: "m", endpoint: "e", promptVersion: "v")
        let a = ScoreRecord(latent: 0, hook: "h", provenance: p, explanation: "x",
                            samples: [s(true, true), s(false, true)])          // TP 1, FP 1
        let b = ScoreRecord(latent: 1, hook: "h", provenance: p, explanation: "x",
                            samples: [s(true, false), s(true, true), s(false, false), s(false, false)])  // FN 1 TP 1 TN 2
        let pooled = ClassifierMetrics(pooling: [a, b])
        XCTAssertEqual([pooled.truePositives, pooled.falsePositives, pooled.falseNegatives, pooled.trueNegatives], [2, 1, 1, 2])
        XCTAssertEqual(pooled.precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(pooled.balancedAccuracy, (2.0 / 3 + 2.0 / 3) / 2, accuracy: 1e-12)
        // Not the mean of per-latent scores: (0.5 + 0.75)/2 = 0.625.
        XCTAssertNotEqual(pooled.balancedAccuracy, (a.metrics.balancedAccuracy + b.metrics.balancedAccuracy) / 2, accuracy: 1e-6)
    }
}
