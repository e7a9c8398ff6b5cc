import XCTest
@testable import AutoInterp

/// The compact explainer prompt for small models and the constrained list answers of the scorers.
final class CompactPromptTests: XCTestCase {
    let tokens = ["The", " cat", " sat", " on", " the", " mat", ".", "\n"]
    let acts: [Float] = [0, 5, 1.5, 0, 3, 2, 0, 0]

    func compact(demos: Int? = nil) -> Explainer {
        var o = Explainer.Options()
        o.promptStyle = .compact
        o.demoCount = demos
        return Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") }, options: o)
    }

    func testMarkedTallyCountsExamplesNotTokens() {
        let a = ActivationWindow(tokens: tokens, activations: acts, distance: 0)
        // " cat" twice in one example counts once for that example.
        let b = ActivationWindow(tokens: [" cat", " and", " cat"], activations: [4, 0, 4], distance: 0)
        XCTAssertEqual(ExplainerFormatting.markedTally([a, b]),
                       "Marked tokens: \" cat\" in 2 of 2 examples, \" the\" in 1 of 2 examples, \" mat\" in 1 of 2 examples")
        XCTAssertEqual(ExplainerFormatting.markedTally([a, b], limit: 1), "Marked tokens: \" cat\" in 2 of 2 examples")
        XCTAssertEqual(ExplainerFormatting.markedTally([]), "Marked tokens: none")
    }

    func testMarkedContextNamesThePreviousTokenAndTheWord() {
        let a = ActivationWindow(tokens: ["Speak", ",", " Th", "ou", " art", " in", " the", " house"],
                                 activations: [0, 0, 0, 8, 0, 0, 6, 0], distance: 0)
        let b = ActivationWindow(tokens: ["O", " Th", "ou", "!", " in", " the", " end"], activations: [0, 0, 9, 0, 0, 5, 0], distance: 0)
        XCTAssertEqual(ExplainerFormatting.markedContext([a, b]),
                       "Marked tokens, most frequent first: \"ou\" (after \" Th\", in \"Thou\"), \" the\" (after \" in\")")
        XCTAssertEqual(ExplainerFormatting.markedContext([]), "Marked tokens, most frequent first: none")
        var o = Explainer.Options()
        o.promptStyle = .compactV2
        let e = Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") }, options: o)
        XCTAssertEqual(e.promptVersion, "featurescope-explainer-compact-v2")
        let msgs = e.messages(train: [a, b], maxActivation: 9)
        XCTAssertEqual(msgs[0].content, ExplainerPrompts.compactV2System)
        XCTAssertEqual(msgs.count, 1 + 2 * ExplainerPrompts.compactV2Demos.count + 1)
        XCTAssertTrue(msgs.last?.content.hasSuffix("\n\nMarked tokens, most frequent first: \"ou\" (after \" Th\", in \"Thou\"), \" the\" (after \" in\")\n") ?? false)
    }

    func testCompactUserMessageExactText() {
        let w = ActivationWindow(tokens: tokens, activations: acts, distance: 0)
        let msgs = compact().messages(train: [w, w], maxActivation: 5)
        XCTAssertEqual(msgs.last?.content, """
        Example 1: The<< cat>> sat on<< the mat>>.\\n
        Example 2: The<< cat>> sat on<< the mat>>.\\n

        Marked tokens: " cat" in 2 of 2 examples, " the" in 2 of 2 examples, " mat" in 2 of 2 examples

        """)
        XCTAssertEqual(msgs[0].content, ExplainerPrompts.compactSystem)
        XCTAssertEqual(msgs.map(\.role), ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"])
        for demo in msgs where demo.role == "assistant" {
            XCTAssertTrue(demo.content.hasPrefix("[EXPLANATION]: "), "one-line answers, as the primed reply")
            XCTAssertFalse(demo.content.contains("\n"))
        }
        XCTAssertTrue(msgs[1].content.contains("Marked tokens: "))
    }

    func testDemoCountAndPromptVersion() {
        let w = ActivationWindow(tokens: tokens, activations: acts, distance: 0)
        XCTAssertEqual(compact(demos: 0).messages(train: [w], maxActivation: 5).map(\.role), ["system", "user"])
        XCTAssertEqual(compact(demos: 1).messages(train: [w], maxActivation: 5).count, 4)
        XCTAssertEqual(compact().promptVersion, "featurescope-explainer-compact-v1")
        XCTAssertEqual(compact(demos: 0).promptVersion, "featurescope-explainer-compact-v1-demos0")
        XCTAssertEqual(Explainer(client: ScriptedClient { _, _ in ChatResponse(text: "") }).promptVersion,
                       "featurescope-explainer-v1")
    }

    /// P(choice) depends on the item and on the answers already written.
    final class ListFake: NextTokenProbabilityClient, @unchecked Sendable {
        let modelName = "fake"
        let endpointName = "embedded"
        var prefixes: [String] = []
        func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: "") }
        func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String, candidates: [String]) async throws -> [Double] {
            prefixes.append(assistantPrefix)
            XCTAssertEqual(candidates, ["0", "1", "2"])
            switch prefixes.count {
            case 1: return [0.1, 0.3, 0.1]
            case 2: return [0.6, 0.2, 0.2]
            default: return [0, 0, 0.5]
            }
        }
    }

    func testConstrainedListForcesTheFormat() async throws {
        let fake = ListFake()
        let slots = try await fake.constrainedList(ChatRequest(messages: [.user("q")]), count: 3, choices: ["0", "1", "2"])
        XCTAssertEqual(fake.prefixes, ["[", "[1, ", "[1, 0, "])
        XCTAssertEqual(slots.map(\.chosen), [1, 0, 2])
        XCTAssertEqual(slots[0].probabilities[1], 0.6, accuracy: 1e-12)
        XCTAssertEqual(slots[2].probabilities, [0, 0, 1])
    }

    final class BrokenFake: NextTokenProbabilityClient, @unchecked Sendable {
        let modelName = "fake"
        let endpointName = "embedded"
        func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: "") }
        func nextTokenProbabilities(_ request: ChatRequest, assistantPrefix: String, candidates: [String]) async throws -> [Double] {
            [Double.nan, 1]
        }
    }

    func testMalformedProbabilitiesMakeTheBatchNull() async throws {
        do {
            _ = try await BrokenFake().constrainedList(ChatRequest(messages: [.user("q")]), count: 2, choices: ["0", "1"])
            XCTFail("expected an error")
        } catch let e as ConstrainedListError {
            XCTAssertTrue(e.description.contains("list item 0"))
        }
        let record = try await ClassifierScorer(method: .detection, client: BrokenFake())
            .score(try ExampleSampler.sample(Fixtures.latent(9, activating: 300)), explanation: "x")
        XCTAssertTrue(record.samples.allSatisfy { $0.prediction == nil })
        XCTAssertFalse(record.batchFailures.isEmpty)
    }

    func testEmbeddedDefaults() {
        XCTAssertEqual(EmbeddedDefaults.model(explicit: nil, forScoring: false, environment: [:]), "qwen2.5-coder-0.5b-instruct")
        XCTAssertEqual(EmbeddedDefaults.model(explicit: nil, forScoring: true, environment: [:]), "qwen2.5-coder-1.5b-instruct")
        XCTAssertEqual(EmbeddedDefaults.model(explicit: "/m.gguf", forScoring: true, environment: ["FEATURESCOPE_MODEL": "/e.gguf"]), "/m.gguf")
        // $FEATURESCOPE_MODEL names the embedded model everywhere: nil lets ModelLocator resolve it.
        XCTAssertNil(EmbeddedDefaults.model(explicit: nil, forScoring: false, environment: ["FEATURESCOPE_MODEL": "/e.gguf"]))
        let o = EmbeddedDefaults.explainerOptions()
        XCTAssertEqual(o.promptStyle, .compact)
        XCTAssertEqual(o.maxTokens, 48)
    }
}
