import XCTest
@testable import AutoInterp

final class FormattingTests: XCTestCase {
    let tokens = ["The", " cat", " sat", " on", " the", " mat", "."]
    // Example max 5 → threshold 1.5: " cat" (5), " the" (3), " mat" (2) are > 1.5; " sat" (1.5) is not.
    let acts: [Float] = [0, 5, 1.5, 0, 3, 2, 0]

    func testNormalizedActivationsAreCeilClamped() {
        XCTAssertEqual(ExplainerFormatting.normalized([0, 0.01, 2.5, 5, 10, 12, -1], maxActivation: 10),
                       [0, 1, 3, 5, 10, 10, 0])
        XCTAssertEqual(ExplainerFormatting.normalized([1, 2], maxActivation: 0), [0, 0])
    }

    func testExplainerHighlightIsStrictlyAboveThreshold() {
        XCTAssertEqual(ExplainerFormatting.highlight(tokens, activations: acts), "The<< cat>> sat on<< the mat>>.")
    }

    func testActivationsLine() {
        let norm = ExplainerFormatting.normalized(acts, maxActivation: 10)
        XCTAssertEqual(ExplainerFormatting.activationsLine(tokens, activations: acts, normalized: norm),
                       "Activations: (\" cat\" : 5), (\" the\" : 3), (\" mat\" : 2), ")
        // At most 11 tokens are listed.
        let many = (0..<20).map { "t\($0)" }
        let ones = [Float](repeating: 1, count: 20)
        let line = ExplainerFormatting.activationsLine(many, activations: ones,
                                                       normalized: ExplainerFormatting.normalized(ones, maxActivation: 1))
        XCTAssertEqual(line.components(separatedBy: "(\"").count - 1, 11)
        XCTAssertTrue(line.hasSuffix("(\"t10\" : 10), "))
    }

    func testExplainerUserMessageExactText() {
        let explainer = Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") })
        let window = ActivationWindow(tokens: tokens, activations: acts, distance: 0)
        let msgs = explainer.messages(train: [window, window], maxActivation: 10)
        let expectedLine = "The<< cat>> sat on<< the mat>>.\nActivations: (\" cat\" : 5), (\" the\" : 3), (\" mat\" : 2), "
        XCTAssertEqual(msgs.last?.content, "\n" + expectedLine + "\n" + expectedLine + "\n")
        // system + 3 few-shot pairs + the question.
        XCTAssertEqual(msgs.map(\.role), ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"])
        for demo in msgs where demo.role == "assistant" {
            XCTAssertNotNil(Explainer.parseExplanation(demo.content), "few-shot answers end in [EXPLANATION]:")
        }
        XCTAssertTrue(msgs[1].content.contains("<<") && msgs[1].content.contains("Activations: "))
        XCTAssertTrue(msgs[0].content.contains("[EXPLANATION]:"))
    }

    func testContrastiveLayout() {
        var options = Explainer.Options()
        options.variant = .contrastive
        let explainer = Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") }, options: options)
        let pos = ActivationWindow(tokens: tokens, activations: acts, distance: 0)
        let neg = ActivationWindow(tokens: ["A", "\n", " dog"], activations: [0, 0, 0], distance: -1)
        let msgs = explainer.messages(train: [pos], maxActivation: 10, nonActivating: [neg])
        XCTAssertEqual(msgs.last?.content,
                       "ACTIVATING EXAMPLES:\nExample 0:  The<< cat>> sat on<< the mat>>.\n\n\nNON-ACTIVATING EXAMPLES:\nExample 0:  A dog")
    }

    func testParseExplanation() {
        XCTAssertEqual(Explainer.parseExplanation("Thinking…\n[EXPLANATION]:  Cats and dogs.\n"), "Cats and dogs.")
        XCTAssertEqual(Explainer.parseExplanation("[EXPLANATION]: a\n[EXPLANATION]: b"), "a\n[EXPLANATION]: b")
        XCTAssertNil(Explainer.parseExplanation("EXPLANATION: nothing"))
    }

    func testExplainRecordsFailureString() async throws {
        let client = ScriptedClient { _, i in ChatResponse(text: i == 0 ? "no marker here" : "[EXPLANATION]: Felines.") }
        let explainer = Explainer(client: client)
        let sampled = try ExampleSampler.sample(Fixtures.latent(1, activating: 300))
        let first = try await explainer.explain(sampled)
        XCTAssertEqual(first.explanation, "Explanation could not be parsed.")
        XCTAssertFalse(first.parsed)
        let second = try await explainer.explain(sampled)
        XCTAssertEqual(second.explanation, "Felines.")
        XCTAssertEqual(second.provenance.model, "scripted-model")
        XCTAssertEqual(client.requests.first?.temperature, 0)
    }

    func testScorerPromptExactText() {
        let scorer = ClassifierScorer(method: .detection, client: ScriptedClient { _, _ in ChatResponse(text: "") })
        let msgs = scorer.messages(explanation: "Cats.", batch: ["a cat", "a dog"])
        XCTAssertEqual(msgs.last?.content, "Latent explanation: Cats.\n\nText examples:\n\nExample 0: a cat\nExample 1: a dog\n")
        XCTAssertEqual(msgs.map(\.role), ["system", "user", "assistant", "user"])
    }
}
