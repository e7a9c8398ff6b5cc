import FeaturescopeCore
import Foundation
import ModelEngine
import XCTest

/// The logits helpers against plain Double formulas.
final class LogitsTests: XCTestCase {
    func testLogSumExpIsStableAndRejectsRowsWithoutAFiniteMaximum() {
        let row: [Float] = [1000, 999, -5, 0.5]
        let expected = 1000 + log(row.map { exp(Double($0) - 1000) }.reduce(0, +))
        XCTAssertEqual(Logits.logSumExp(row), expected, accuracy: 1e-9)
        XCTAssertTrue(Logits.logSumExp([]).isNaN)
        XCTAssertTrue(Logits.logSumExp([-.infinity, -.infinity]).isNaN)
    }

    func testCrossEntropyOfEachRowAtItsTarget() {
        // Two rows of a vocabulary of 3; targets 2 and 0.
        let logits: [Float] = [0, 1, 2, 3, -1, 0.5]
        let ce = Logits.crossEntropy(logits: logits, vocab: 3, targets: [2, 0])
        XCTAssertEqual(ce.count, 2)
        XCTAssertEqual(Double(ce[0]), log(exp(0.0) + exp(1.0) + exp(2.0)) - 2, accuracy: 1e-6)
        XCTAssertEqual(Double(ce[1]), log(exp(3.0) + exp(-1.0) + exp(0.5)) - 3, accuracy: 1e-6)
        XCTAssertEqual(Logits.crossEntropy(logits: logits, vocab: 3, targets: [0, 0, 0]), [], "too few rows")
    }

    func testTopIndicesOrderTiesAndNonFiniteValues() {
        XCTAssertEqual(Logits.topIndices([1, .nan, 3, 3, -.infinity], count: 3, largest: true), [2, 3, 0],
                       "ties: lower index first; non-finite skipped")
        XCTAssertEqual(Logits.topIndices([1, .nan, 3, 3, -.infinity, -2], count: 2, largest: false), [5, 0])
        XCTAssertEqual(Logits.topIndices([1, 2], count: 0), [])
        XCTAssertEqual(Logits.topIndices([1, 2], count: 5), [1, 0])
    }

    func testTopKSoftmaxProbabilities() {
        let top = Logits.topKSoftmax([0, 2, 1, -1], count: 2)
        XCTAssertEqual(top.map(\.id), [1, 2])
        let z = [0.0, 2, 1, -1].map { exp($0) }.reduce(0, +)
        XCTAssertEqual(Double(top[0].probability), exp(2) / z, accuracy: 1e-6)
        XCTAssertEqual(Double(top[1].probability), exp(1) / z, accuracy: 1e-6)
        XCTAssertTrue(Logits.topKSoftmax([], count: 3).isEmpty)
        XCTAssertTrue(Logits.topKSoftmax([.infinity, 1], count: 1).isEmpty)
    }

    func testSamplingIsGreedyAtZeroTemperatureAndFollowsTheSoftmaxOtherwise() {
        var rng = SplitMix64(seed: 1)
        XCTAssertEqual(Logits.sample([0, 3, 1], temperature: 0, using: &rng), 1)
        XCTAssertEqual(Logits.sample([0, 3, 1], temperature: .infinity, using: &rng), 1)
        let row: [Float] = [0, 1, 2]
        var counts = [0, 0, 0]
        let draws = 20000
        for _ in 0 ..< draws { counts[Int(Logits.sample(row, temperature: 2, using: &rng))] += 1 }
        let weights = row.map { exp(Double($0) / 2) }
        let z = weights.reduce(0, +)
        for i in 0 ..< 3 { XCTAssertEqual(Double(counts[i]) / Double(draws), weights[i] / z, accuracy: 0.015, "id \(i)") }
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        let first = (0 ..< 50).map { _ in Logits.sample(row, temperature: 1, using: &a) }
        XCTAssertEqual(first, (0 ..< 50).map { _ in Logits.sample(row, temperature: 1, using: &b) }, "seeded draws repeat")
    }
}
