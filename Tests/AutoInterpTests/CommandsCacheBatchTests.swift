import XCTest
import LatentCache
import TestSupport
@testable import AutoInterp

/// The explain/score library path behind `featurescope explain` / `score`, end to end on a tiny
/// real cache: results stored as annotations and read back after reopening, resume, failures.
final class CommandsCacheBatchTests: XCTestCase {
    private var path = ""
    private var delphi = ""

    override func setUpWithError() throws {
        path = try CacheFixture.build()
        delphi = NSTemporaryDirectory() + "autointerp-delphi-out-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: delphi)
    }

    private func options(min: Int = 50) -> CacheBatchOptions {
        var o = CacheBatchOptions()
        o.minActiveWindows = min
        o.concurrency = 2
        o.delphiRun = DelphiRun(root: delphi)
        return o
    }

    private func part() throws -> LatentCachePart {
        try LatentSelection.part(named: nil, in: LatentCacheDirectory.open(path))
    }

    func testExplainThenScoreWithScriptedClientStoresAndResumes() async throws {
        let client = CacheFixture.knowingClient()
        let explainer = Explainer(client: client)
        let s1 = await CacheAutoInterp.explain(part: try part(), latents: [0, 1, 2, 3], explainer: explainer, options: options())
        XCTAssertEqual(s1.total, 4)
        XCTAssertEqual(s1.completed, 2)
        XCTAssertEqual(s1.skippedTooFewExamples, 2)  // latent 1 is rare, latent 2 dead
        XCTAssertEqual(s1.failures, [])
        XCTAssertEqual(client.requests.count, 2)

        // Reopened, the explanation is there with its provenance.
        let reopened = try part()
        let anns = try reopened.annotations(0)
        XCTAssertEqual(anns.count, 1)
        let a = try XCTUnwrap(anns.first)
        XCTAssertEqual(a.kind, .explanation)
        XCTAssertEqual(a.text, "the word ACT")
        XCTAssertEqual(a.method, "explainer")
        XCTAssertEqual(a.model, "scripted-model")
        XCTAssertEqual(a.endpoint, "scripted://local")
        XCTAssertEqual(a.promptVersion, explainer.promptVersion)
        XCTAssertNotNil(ISO8601DateFormatter().date(from: a.date))
        XCTAssertEqual(try reopened.summary(0).explanationPreview, "the word ACT")
        XCTAssertEqual(try DelphiRun(root: delphi).readExplanation(hook: CacheFixture.hook, latent: 0), "the word ACT")
        // The prompt showed cached tokens with " ACT" highlighted.
        XCTAssertTrue(client.requests[0].messages.last?.content.contains("<< ACT>>") ?? false)

        // Resume: nothing is asked again.
        let s2 = await CacheAutoInterp.explain(part: reopened, latents: [0, 1, 2, 3], explainer: explainer, options: options())
        XCTAssertEqual(s2.alreadyDone, 2)
        XCTAssertEqual(s2.completed, 0)
        XCTAssertEqual(client.requests.count, 2)

        // --redo asks again and appends a second explanation by the same model.
        var redo = options()
        redo.redo = true
        let sr = await CacheAutoInterp.explain(part: reopened, latents: [0], explainer: explainer, options: redo)
        XCTAssertEqual(sr.completed, 1)
        XCTAssertEqual(sr.alreadyDone, 0)
        XCTAssertEqual(client.requests.count, 3)
        XCTAssertEqual(try reopened.annotations(0).filter { $0.kind == .explanation && $0.model == "scripted-model" }.count, 2)

        // A different model explains again: the two coexist.
        let other = FixedReplyClient(modelName: "other-model", reply: "[EXPLANATION]: other words")
        let s3 = await CacheAutoInterp.explain(part: reopened, latents: [0], explainer: Explainer(client: other),
                                               options: options())
        XCTAssertEqual(s3.completed, 1)
        XCTAssertEqual(try reopened.annotations(0).filter { $0.kind == .explanation }.count, 3)

        // Detection with the knowing client, using explanations by scripted-model.
        var o = options()
        o.explanationModel = "scripted-model"
        let scorer = ClassifierScorer(method: .detection, client: client)
        let before = client.requests.count
        let d1 = await CacheAutoInterp.score(part: reopened, latents: [0, 1, 3], scorer: scorer, options: o)
        XCTAssertEqual(d1.completed, 2)
        XCTAssertEqual(d1.skippedTooFewExamples, 1)
        XCTAssertEqual(d1.failures, [])
        XCTAssertEqual(client.requests.count - before, 2 * 14)  // (50 test + 20 negatives) / 5 per batch
        XCTAssertEqual(d1.pooled?.balancedAccuracy, 1)
        XCTAssertEqual(d1.pooled?.truePositives, 100)
        XCTAssertEqual(d1.pooled?.trueNegatives, 40)

        let scored = try part()
        let score = try XCTUnwrap(scored.annotations(0).last)
        XCTAssertEqual(score.kind, .score)
        XCTAssertEqual(score.method, "detection")
        XCTAssertEqual(score.explanation, "the word ACT")
        XCTAssertEqual(score.samples?.count, 70)
        XCTAssertEqual(score.metrics?.score, 1)
        // Detection shows each text as it is: stored slim (no shown_text), read back as the tokens joined.
        XCTAssertTrue(score.samples?.allSatisfy { $0.shownText == nil } ?? false)
        XCTAssertTrue(CacheBridge.scoredSamples(score).allSatisfy { $0.shownText == $0.strTokens.joined() })
        XCTAssertEqual(try scored.summary(0).bestDetection, 1)
        let files = try DelphiRun(root: delphi).readClassifierScores(scorer: "detection", hook: CacheFixture.hook, latent: 0)
        XCTAssertEqual(files.count, 70)

        // Resume: pooled metrics still cover the stored scores, no requests.
        let mid = client.requests.count
        let d2 = await CacheAutoInterp.score(part: scored, latents: [0, 3], scorer: scorer, options: o)
        XCTAssertEqual(d2.alreadyDone, 2)
        XCTAssertEqual(d2.pooled?.truePositives, 100)
        XCTAssertEqual(client.requests.count, mid)

        // A newer explanation by the explanation model is not scored yet: its score is not the older one's.
        let newer = FixedReplyClient(modelName: "scripted-model", reply: "[EXPLANATION]: the word ACT, in plays")
        var again = options()
        again.redo = true
        _ = await CacheAutoInterp.explain(part: scored, latents: [3], explainer: Explainer(client: newer), options: again)
        let d3 = await CacheAutoInterp.score(part: scored, latents: [0, 3], scorer: scorer, options: o)
        XCTAssertEqual(d3.alreadyDone, 1, "latent 0's explanation is unchanged")
        XCTAssertEqual(d3.completed, 1, "latent 3 has a new explanation")
        XCTAssertEqual(try part().annotations(3).last?.explanation, "the word ACT, in plays")
        XCTAssertEqual(client.requests.count - mid, 14)

        // Fuzzing is another method: it runs and coexists.
        let f = await CacheAutoInterp.score(part: scored, latents: [0], scorer: ClassifierScorer(method: .fuzz, client: client),
                                            options: o)
        XCTAssertEqual(f.completed, 1)
        XCTAssertEqual(try part().annotations(0).filter { $0.kind == .score }.map(\.method), ["detection", "fuzz"])
        XCTAssertTrue(try part().annotations(0).last?.samples?.contains { $0.shownText?.contains("<<") ?? false } ?? false)
    }

    func testFailuresAreRecordedAndRetriedOnResume() async throws {
        final class Switch: @unchecked Sendable {
            let lock = NSLock()
            var broken = true
            var isBroken: Bool { lock.withLock { broken } }
        }
        let sw = Switch()
        let flaky = ScriptedClient { _, _ in
            if sw.isBroken { throw LLMClientError.httpStatus(code: 503, endpoint: "scripted", bodyExcerpt: "\u{1B}[31mdown") }
            return ChatResponse(text: "[EXPLANATION]: ACT")
        }
        let s1 = await CacheAutoInterp.explain(part: try part(), latents: [0, 3], explainer: Explainer(client: flaky), options: options())
        XCTAssertEqual(s1.completed, 0)
        XCTAssertEqual(s1.failures.map(\.latent), [0, 3])
        XCTAssertTrue(s1.failures[0].reason.contains("HTTP 503"))
        XCTAssertEqual(try part().annotations(0), [])

        sw.lock.withLock { sw.broken = false }
        let s2 = await CacheAutoInterp.explain(part: try part(), latents: [0, 3], explainer: Explainer(client: flaky), options: options())
        XCTAssertEqual(s2.completed, 2)
        XCTAssertEqual(s2.failures, [])

        // An unparsable reply is stored (flagged) but is not an explanation to score.
        let mute = ScriptedClient { _, _ in ChatResponse(text: "I cannot tell.") }
        let mutePart = try part()
        var contrastive = Explainer.Options()
        contrastive.variant = .contrastive  // another method: the same scripted model name is not "already done"
        let s3 = await CacheAutoInterp.explain(part: mutePart, latents: [0], explainer: Explainer(client: mute, options: contrastive),
                                               options: options())
        XCTAssertEqual(s3.unparsedExplanations, 1)
        XCTAssertEqual(try mutePart.annotations(0).last?.extra?["parsed"], "false")
        var o = options()
        o.explanationModel = "scripted-model"
        let d = await CacheAutoInterp.score(part: mutePart, latents: [0], scorer: ClassifierScorer(method: .detection, client: mute), options: o)
        XCTAssertEqual(d.completed, 1)  // the parsed "ACT" explanation (same model) is used
        XCTAssertEqual(try mutePart.annotations(0).last?.explanation, "ACT")
        // Its replies do not parse: every batch null, stored with the reasons.
        let last = try XCTUnwrap(mutePart.annotations(0).last)
        XCTAssertEqual(last.metrics?.values["nullPredictions"], 70)
        if case .object(let raw) = last.raw, case .array(let reasons) = raw["batchFailures"] {
            XCTAssertEqual(reasons.count, 14)
        } else {
            XCTFail("batch failures missing")
        }
        // No explanation at all → a clear failure.
        let none = await CacheAutoInterp.score(part: mutePart, latents: [0], scorer: ClassifierScorer(method: .fuzz, client: mute),
                                               options: { var x = options(); x.explanationModel = "nobody"; return x }())
        XCTAssertEqual(none.failures.count, 1)
        XCTAssertTrue(none.failures[0].reason.contains("no usable explanation by nobody"))
    }

    func testAgainstLocalOpenAICompatibleServer() async throws {
        func completion(_ text: String) -> LocalHTTPServer.Reply {
            let content = String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
            return .respond(status: 200, body: #"{"id":"c","model":"served","choices":[{"index":0,"message":{"role":"assistant","content":"#
                            + content + #"},"finish_reason":"stop"}]}"#)
        }
        // One explanation, then every classifier batch answered "all yes".
        let server = try LocalHTTPServer(replies: [completion("Thinking.\n[EXPLANATION]: capitalised ACT")],
                                         fallback: completion("[1, 1, 1, 1, 1]"), maxConnections: 40)
        defer { server.stop() }
        let settings = LLMProviderSettings(baseURL: server.baseURL.absoluteString, model: "served-model", timeout: 5,
                                           retries: 0, concurrency: 1)
        let client = try settings.makeClient(environment: [:])
        XCTAssertEqual(client.modelName, "served-model")
        var o = options()
        o.concurrency = 1
        let e = await CacheAutoInterp.explain(part: try part(), latents: [0], explainer: Explainer(client: client), options: o)
        XCTAssertEqual(e.completed, 1)
        let d = await CacheAutoInterp.score(part: try part(), latents: [0], scorer: ClassifierScorer(method: .detection, client: client),
                                            options: o)
        XCTAssertEqual(d.completed, 1, "\(d.failures)")
        XCTAssertEqual(server.requests.count, 1 + 14)
        let body = try XCTUnwrap(server.requests.first?.body)
        XCTAssertTrue(String(decoding: body, as: UTF8.self).contains("served-model"))

        let anns = try part().annotations(0)
        XCTAssertEqual(anns.map(\.kind), [.explanation, .score])
        XCTAssertEqual(anns[0].text, "capitalised ACT")
        XCTAssertEqual(anns[0].endpoint, client.endpointName)
        XCTAssertEqual(anns[1].metrics?.truePositives, 50)
        XCTAssertEqual(anns[1].metrics?.falsePositives, 20)
        XCTAssertEqual(anns[1].metrics?.score, 0.5)

        // The endpoint goes away: the latent fails with the reason and nothing is stored.
        let gone = try LocalHTTPServer.unusedPort()
        let down = try LLMProviderSettings(baseURL: "http://127.0.0.1:\(gone)/v1", model: "served-model", timeout: 2, retries: 0)
            .makeClient(environment: [:])
        let f = await CacheAutoInterp.score(part: try part(), latents: [3], scorer: ClassifierScorer(method: .detection, client: down),
                                            options: o)
        XCTAssertEqual(f.failures.count, 1)  // latent 3 has no explanation yet
        let x = await CacheAutoInterp.explain(part: try part(), latents: [3], explainer: Explainer(client: down), options: o)
        XCTAssertEqual(x.failures.count, 1)
        XCTAssertTrue(x.failures[0].reason.contains("refused"), x.failures[0].reason)
        XCTAssertEqual(try part().annotations(3), [])
    }

    /// Every fault an endpoint can throw at a concurrent batch — 500, 429 with Retry-After, a hang past the timeout, a
    /// truncated reply, a closed connection — loses no finished result: each latent ends stored or listed as a failure
    /// (not stored), and a rerun against a healthy server explains exactly the failed ones.
    func testFaultsDuringAConcurrentBatchLoseNoFinishedResult() async throws {
        func completion(_ text: String) -> LocalHTTPServer.Reply {
            .respond(status: 200, body: #"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"[EXPLANATION]: "#
                     + text + #""},"finish_reason":"stop"}]}"#)
        }
        // 4 latents × 2 attempts: one good answer among the first 8 replies, so 3 latents run out of attempts.
        let faults: [LocalHTTPServer.Reply] = [
            .respond(status: 500, body: "{}"), completion("first"), .respond(status: 429, headers: ["Retry-After": "1"], body: "{}"),
            .truncated(declaredLength: 400, body: #"{"choices":[{"mess"#), .hang(seconds: 4), .close,
            .respond(status: 503, body: "{}"), .respond(status: 500, body: "{}"),
        ]
        let server = try LocalHTTPServer(replies: faults, fallback: completion("later"), maxConnections: 60)
        let flaky = try LLMProviderSettings(baseURL: server.baseURL.absoluteString, model: "m", timeout: 1.5, retries: 1, concurrency: 3)
            .makeClient(environment: [:])
        let latents = [0, 1, 2, 3]
        var o = options(min: 1)
        o.concurrency = 3
        let first = await CacheAutoInterp.explain(part: try part(), latents: latents, explainer: Explainer(client: flaky), options: o)
        server.stop()
        let explained = try latents.filter { try !part().annotations($0).filter { $0.kind == .explanation }.isEmpty }
        XCTAssertEqual(first.completed + first.failures.count + first.skippedTooFewExamples, latents.count, "\(first)")
        XCTAssertEqual(explained.count, first.completed, "every finished explanation is stored, nothing else")
        XCTAssertGreaterThan(first.failures.count, 0, "the faults exhausted some latent's retries")
        XCTAssertGreaterThan(first.completed, 0)

        let healthy = try LocalHTTPServer(replies: [], fallback: completion("healthy"), maxConnections: 40)
        defer { healthy.stop() }
        let good = try LLMProviderSettings(baseURL: healthy.baseURL.absoluteString, model: "m", timeout: 5, retries: 0, concurrency: 3)
            .makeClient(environment: [:])
        let second = await CacheAutoInterp.explain(part: try part(), latents: latents, explainer: Explainer(client: good), options: o)
        XCTAssertEqual(second.alreadyDone, first.completed, "finished results are kept, not redone")
        XCTAssertEqual(second.completed, first.failures.count)
        XCTAssertEqual(healthy.requests.count, first.failures.count)
        for l in latents where !first.failures.contains(where: { $0.latent == l }) && explained.contains(l) {
            XCTAssertEqual(try part().annotations(l).filter { $0.kind == .explanation }.count, 1, "latent \(l) explained once")
        }
    }

    func testProviderSettingsPrecedence() throws {
        let dir = NSTemporaryDirectory() + "autointerp-config-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/featurescope", withIntermediateDirectories: true)
        let config = dir + "/featurescope/config.json"
        try Data(#"{"llm": {"baseURL": "http://file/v1", "model": "file-model", "timeout": 9, "threads": 2}, "other": 1}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let env = ["XDG_CONFIG_HOME": dir, "FEATURESCOPE_LLM_MODEL": "env-model"]
        XCTAssertEqual(LLMProviderSettings.defaultConfigPath(environment: env), config)
        let r = try LLMProviderSettings.resolve(flags: LLMProviderSettings(timeout: 3), environment: env)
        XCTAssertEqual(r.baseURL, "http://file/v1")
        XCTAssertEqual(r.model, "env-model")
        XCTAssertEqual(r.timeout, 3)
        XCTAssertEqual(r.threads, 2)
        XCTAssertEqual(r.effectiveProvider, .openai)
        let flagged = try LLMProviderSettings.resolve(flags: LLMProviderSettings(provider: .embedded, model: "flag"), environment: env)
        XCTAssertEqual(flagged.effectiveProvider, .embedded)
        XCTAssertEqual(flagged.model, "flag")
        // Nothing anywhere: the embedded model.
        XCTAssertEqual(try LLMProviderSettings.resolve(flags: LLMProviderSettings(), environment: ["HOME": dir + "/none"]).effectiveProvider,
                       .embedded)
        // Bad inputs are clear errors.
        try Data("{\"llm\": {\"timeout\": \"soon\"}}".utf8).write(to: URL(fileURLWithPath: config))
        XCTAssertThrowsError(try LLMProviderSettings.resolve(flags: LLMProviderSettings(), environment: env)) { e in
            XCTAssertTrue("\(e)".contains("llm.timeout"), "\(e)")
        }
        XCTAssertThrowsError(try LLMProviderSettings.fromEnvironment(["FEATURESCOPE_LLM_PROVIDER": "gpt"]))
        XCTAssertThrowsError(try LLMProviderSettings(provider: .openai, model: "m").makeClient(environment: [:]))
        XCTAssertThrowsError(try LLMProviderSettings(baseURL: "http://h/v1").makeClient(environment: [:]))
        XCTAssertThrowsError(try LLMProviderSettings(embeddedModel: dir + "/missing.gguf").makeClient(environment: [:])) { e in
            XCTAssertTrue("\(e)".contains("missing.gguf"))
        }
    }
}
