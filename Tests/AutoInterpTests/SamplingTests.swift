import FeaturescopeCore
import XCTest
@testable import AutoInterp

final class SamplingTests: XCTestCase {
    func testCountsPerQuantileAndDistances() throws {
        let latent = Fixtures.latent(7, activating: 1003, negatives: 120)
        let s = try ExampleSampler.sample(latent)
        XCTAssertEqual(s.train.count, 40)
        XCTAssertEqual(s.test.count, 50)
        XCTAssertEqual(s.nonActivating.count, 50)
        for q in 0..<10 {
            XCTAssertEqual(s.train.filter { $0.distance == q }.count, 4)
            XCTAssertEqual(s.test.filter { $0.distance == q }.count, 5)
        }
        XCTAssertTrue(s.nonActivating.allSatisfy { $0.distance == -1 && !$0.isActivating })
        // Quantile q holds windows ranked q·100 ..< (q+1)·100 (slice size ⌊1003/10⌋): their max is 1003 − rank.
        for w in s.train + s.test {
            let rank = 1003 - Int(w.maxActivation)
            XCTAssertEqual(rank / 100, w.distance)
        }
    }

    func testDisjointByDefaultAndDeterministic() throws {
        let latent = Fixtures.latent(3, activating: 250)
        let a = try ExampleSampler.sample(latent)
        let b = try ExampleSampler.sample(latent)
        XCTAssertEqual(a, b, "same seed → same sample")
        XCTAssertTrue(Set(a.train.map(\.text)).isDisjoint(with: Set(a.test.map(\.text))))
        var other = SamplingOptions()
        other.seed = 23
        let c = try ExampleSampler.sample(latent, options: other)
        XCTAssertNotEqual(a.train.map(\.text), c.train.map(\.text))
    }

    func testOverlappingFlagReproducesDelphiDefect() throws {
        var options = SamplingOptions()
        options.overlappingTrainTest = true
        let s = try ExampleSampler.sample(Fixtures.latent(3, activating: 250), options: options)
        let overlap = Set(s.train.map(\.text)).intersection(Set(s.test.map(\.text)))
        XCTAssertEqual(overlap.count, 40, "every training example reappears in the test set")
    }

    func testMinExamplesSkip() throws {
        XCTAssertThrowsError(try ExampleSampler.sample(Fixtures.latent(1, activating: 199))) { error in
            XCTAssertEqual(error as? SamplingError, .tooFewActivatingWindows(latent: 1, found: 199, required: 200))
        }
        var options = SamplingOptions()
        options.minExamples = 20
        let s = try ExampleSampler.sample(Fixtures.latent(1, activating: 25), options: options)
        XCTAssertEqual(s.train.count, 20, "slices of 2 windows: 2 train each")
        XCTAssertEqual(s.test.count, 0, "nothing left for the test set in disjoint mode")
    }

    func testSplitMix64IsStable() {
        var g = SplitMix64(seed: 0)
        // Reference values of SplitMix64 with seed 0.
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        var h = SplitMix64(seed: 42)
        let picks = (0..<1000).map { _ in h.below(7) }
        XCTAssertEqual(Set(picks), Set(0..<7))
    }
}
