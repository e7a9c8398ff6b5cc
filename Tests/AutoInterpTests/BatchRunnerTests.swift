import XCTest
import TestSupport
@testable import AutoInterp

final class BatchRunnerTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "autointerp-batch-\(UUID().uuidString)"
    }
    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [BatchProgress] = []
        func add(_ p: BatchProgress) { lock.withLock { items.append(p) } }
        var all: [BatchProgress] { lock.withLock { items } }
    }

    func testExplainThenScoreResumably() async throws {
        let latents = [Fixtures.latent(0, activating: 300), Fixtures.latent(1, activating: 50),
                       Fixtures.latent(2, activating: 220), Fixtures.latent(3, activating: 400)]
        let run = DelphiRun(root: dir)
        let explainClient = ScriptedClient { _, _ in ChatResponse(text: "Looks like ACT.\n[EXPLANATION]: The token ACT.") }
        var options = BatchOptions()
        options.concurrency = 2
        let events = Events()
        let first = await AutoInterpBatch.explain(latents, explainer: Explainer(client: explainClient), run: run,
                                                  options: options, progress: { events.add($0) })
        XCTAssertEqual(first.completed, 3)
        XCTAssertEqual(first.skippedTooFewExamples, 1)
        XCTAssertEqual(first.failures, [])
        XCTAssertEqual(events.all.map(\.done), [1, 2, 3, 4])
        XCTAssertEqual(try run.readExplanation(hook: latents[0].hook, latent: 0), "The token ACT.")
        XCTAssertNil(try run.readExplanation(hook: latents[1].hook, latent: 1), "too few examples → no file (delphi)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/records/explanations/blocks.3.hook_resid_post_latent0.json"))

        let again = await AutoInterpBatch.explain(latents, explainer: Explainer(client: explainClient), run: run, options: options)
        XCTAssertEqual(again.alreadyDone, 3)
        XCTAssertEqual(explainClient.requests.count, 3, "a resumed run sends nothing for finished latents")

        // Scoring: latent 3's scorer call fails once, so its file is not written; a rerun finishes it.
        let scoreClient = ScriptedClient { req, i in
            if req.messages.last?.content.contains("w300") == true && i < 1000 { throw LLMClientError.timedOut(endpoint: "e", seconds: 1) }
            return ChatResponse(text: Fixtures.correctAnswer(req))
        }
        var scoreOptions = ClassifierScorer.Options()
        scoreOptions.topLogprobs = 0
        let scorer = ClassifierScorer(method: .detection, client: scoreClient, options: scoreOptions)
        let scored = await AutoInterpBatch.score(latents, scorer: scorer, run: run, options: options)
        XCTAssertEqual(scored.completed, 2)
        XCTAssertEqual(scored.failures.map(\.latent), [3])
        XCTAssertTrue(scored.failures[0].reason.contains("not written"), scored.failures[0].reason)
        XCTAssertEqual(scored.pooled?.balancedAccuracy, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: try run.scorePath(scorer: "detection", hook: latents[3].hook, latent: 3)))

        let fixedClient = ScriptedClient { req, _ in ChatResponse(text: Fixtures.correctAnswer(req)) }
        let resumed = await AutoInterpBatch.score(latents, scorer: ClassifierScorer(method: .detection, client: fixedClient, options: scoreOptions),
                                                  run: run, options: options)
        XCTAssertEqual(resumed.alreadyDone, 2)
        XCTAssertEqual(resumed.completed, 1)
        XCTAssertEqual(resumed.skippedTooFewExamples, 1)
        XCTAssertEqual(resumed.pooled?.scoredCount, 300, "pooled metrics include the latents scored earlier")
        XCTAssertEqual(fixedClient.requests.count, 20)
    }

    func testScoreWithoutExplanationFails() async throws {
        let run = DelphiRun(root: dir)
        let client = ScriptedClient { req, _ in ChatResponse(text: Fixtures.correctAnswer(req)) }
        let summary = await AutoInterpBatch.score([Fixtures.latent(0, activating: 300)],
                                                  scorer: ClassifierScorer(method: .fuzz, client: client), run: run)
        XCTAssertEqual(summary.failures.count, 1)
        XCTAssertTrue(summary.failures[0].reason.contains("no explanation file"))
        XCTAssertNil(summary.pooled)
    }

    func testEndpointDownDuringBatchLosesNothing() async throws {
        // A server that answers the first explanation, then dies (refuses connections).
        let server = try LocalHTTPServer(replies: [.respond(status: 200, body: #"{"choices":[{"message":{"content":"[EXPLANATION]: ACT tokens."}}]}"#)],
                                         maxConnections: 1)
        let config = OpenAIClientConfiguration(baseURL: server.baseURL, model: "m", requestTimeout: 2, maxAttempts: 2,
                                               initialBackoff: 0.01, maxBackoff: 0.02)
        let client = try OpenAIClient(configuration: config, environment: [:])
        let run = DelphiRun(root: dir)
        var options = BatchOptions()
        options.concurrency = 1
        let latents = [Fixtures.latent(0, activating: 300), Fixtures.latent(1, activating: 300)]
        let summary = await AutoInterpBatch.explain(latents, explainer: Explainer(client: client), run: run, options: options)
        server.stop()
        XCTAssertEqual(summary.completed, 1)
        XCTAssertEqual(summary.failures.count, 1)
        XCTAssertTrue(summary.failures[0].reason.contains("gave up after 2 tries") || summary.failures[0].reason.contains("refused"),
                      summary.failures[0].reason)
        XCTAssertEqual(try run.readExplanation(hook: latents[0].hook, latent: 0), "ACT tokens.")
        XCTAssertNil(try run.readExplanation(hook: latents[1].hook, latent: 1))
    }
}
