import XCTest
@testable import AutoInterp

/// The explainer's example selections and the template baseline.
final class ExplainerExamplesTests: XCTestCase {
    static func window(_ id: Int32, peak: Float, quantile: Int, token: String = "x") -> ActivationWindow {
        ActivationWindow(tokens: ["a", token, "b"], tokenIDs: [1, id, 2], activations: [0, peak, 0], distance: quantile)
    }

    func testSelectionsNeverShowTheScorersTestExamples() {
        let quantileTrain = (0 ..< 10).map { Self.window(Int32(100 + $0), peak: Float(10 - $0), quantile: $0) }
        let test = [Self.window(7, peak: 9.5, quantile: 0)]
        let top = [Self.window(7, peak: 9.5, quantile: 0)] + (0 ..< 12).map { Self.window(Int32(200 + $0), peak: 9, quantile: 0) }
        let strongest = ExplainerExampleSelection.select(.strongest, count: 8, quantileTrain: quantileTrain, top: top, test: test)
        XCTAssertEqual(strongest.count, 8)
        XCTAssertFalse(strongest.contains { $0.tokenIDs == [1, 7, 2] }, "a test example reached the explainer")
        XCTAssertEqual(strongest.first?.tokenIDs, [1, 200, 2], "strongest first")

        let q = ExplainerExampleSelection.select(.quantiles, count: 5, quantileTrain: quantileTrain, top: top, test: test)
        XCTAssertEqual(q.map(\.distance), [0, 2, 4, 6, 8], "spread over the quantiles")
        XCTAssertEqual(ExplainerExampleSelection.select(.quantiles, count: nil, quantileTrain: quantileTrain, top: top, test: test),
                       quantileTrain)

        let mixed = ExplainerExampleSelection.select(.mixed, count: 12, quantileTrain: quantileTrain, top: top, test: test)
        XCTAssertEqual(mixed.count, 12)
        XCTAssertEqual(mixed.filter { $0.distance > 0 }.count, 3, "a quarter from the weaker quantiles")
    }

    func testTemplateNamesThePeakTokensMostFrequentFirst() async throws {
        let train = [Self.window(1, peak: 5, quantile: 0, token: " St"), Self.window(2, peak: 4, quantile: 0, token: " Vic"),
                     Self.window(3, peak: 3, quantile: 0, token: " St")]
        let sampled = SampledExamples(latent: 5, hook: "h", maxActivation: 5, train: train, test: [], nonActivating: [])
        let r = try await TemplateExplainer().explain(sampled)
        XCTAssertEqual(r.explanation, "The token \"St\" (also \"Vic\")")
        XCTAssertEqual(r.provenance.method, "template")
        XCTAssertEqual(TemplateExplainer.explanation([]), "No token stands out.")
    }
}
