import AutoInterp
import Foundation
import LatentCache
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// Answers explainer requests with a fixed explanation and scorer requests with "1" for every example.
struct ScriptedLLM: LLMClient {
    var modelName = "scripted-llm"
    var endpointName = "test"
    var explanation = "Every fourth token of even rows"
    var failWith: LLMClientError?

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        if let e = failWith { throw e }
        let last = request.messages.last?.content ?? ""
        if last.contains("Latent explanation:") {
            let n = last.components(separatedBy: "\nExample ").count - 1
            return ChatResponse(text: "[" + Array(repeating: "1", count: n).joined(separator: ", ") + "]")
        }
        return ChatResponse(text: "[EXPLANATION]: \(explanation)")
    }
}

final class CacheActionRunnerTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("actions") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testExplainThenScoreStoresAnnotations() async throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root, rows: 40, examples: CacheFixtures.actionExamples))
        let latent = 39  // fires in half of the windows
        let llm = ScriptedLLM()
        let runner = CacheActionRunner(data: data, environment: [:], explainClient: llm, scoreClient: llm)
        let steps = MessageLog()
        do {
            _ = try await runner.run(.score, part: 0, latent: latent) { steps.append($0) }
            XCTFail("scoring without an explanation must fail")
        } catch { XCTAssertTrue("\(error)".contains("press e"), "\(error)") }

        let explained = try await runner.run(.explain, part: 0, latent: latent) { steps.append($0) }
        XCTAssertTrue(explained.contains("Every fourth token"), explained)
        XCTAssertEqual(data.summary(part: 0, latent: latent).explanation, "Every fourth token of even rows")

        let scored = try await runner.run(.score, part: 0, latent: latent) { steps.append($0) }
        XCTAssertTrue(scored.contains("detection 0.50") && scored.contains("fuzz 0.50"), scored)
        let s = data.summary(part: 0, latent: latent)
        XCTAssertEqual(s.detection ?? -1, 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.fuzz ?? -1, 0.5, accuracy: 1e-6)
        let detail = try data.detail(part: 0, latent: latent)
        XCTAssertEqual(detail.scores.map(\.scorer), ["detection", "fuzz"])
        XCTAssertEqual(detail.scores[0].counts.fp, detail.scores[0].counts.fp + detail.scores[0].counts.tn)  // always "yes"
        XCTAssertGreaterThan(detail.scores[0].counts.tp, 0)
        let fuzz = try data.scoredSamples(part: 0, latent: latent, scorer: "fuzz")
        XCTAssertTrue(fuzz.contains { $0.highlighted.contains(true) })
        XCTAssertTrue(steps.items.contains { $0.contains("detection") })
    }

    func testEndpointDownIsReportedAndNothingStored() async throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root, rows: 40, examples: CacheFixtures.actionExamples))
        let down = ScriptedLLM(failWith: .connectionRefused(endpoint: "http://127.0.0.1:9", detail: "refused"))
        let runner = CacheActionRunner(data: data, environment: [:], explainClient: down, scoreClient: down)
        do {
            _ = try await runner.run(.explain, part: 0, latent: 39) { _ in }
            XCTFail("expected an error")
        } catch { XCTAssertTrue("\(error)".contains("explainer"), "\(error)") }
        XCTAssertEqual(try data.cache.parts[0].annotations(39).count, 0)
    }

    func testUnparsableExplanationIsReportedNotStored() async throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root, rows: 40, examples: CacheFixtures.actionExamples))
        struct Rambler: LLMClient {
            var modelName = "rambler"
            var endpointName = "test"
            func complete(_ request: ChatRequest) async throws -> ChatResponse { ChatResponse(text: "I am not sure what this is.") }
        }
        let runner = CacheActionRunner(data: data, environment: [:], explainClient: Rambler(), scoreClient: Rambler())
        do {
            _ = try await runner.run(.explain, part: 0, latent: 39) { _ in }
            XCTFail("expected an error")
        } catch { XCTAssertTrue("\(error)".contains("not stored"), "\(error)") }
        XCTAssertEqual(try data.cache.parts[0].annotations(39).count, 0)
    }

    func testEmbeddedModelFlagChoosesTheModel() throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root))
        let runner = CacheActionRunner(data: data, environment: ["XDG_CONFIG_HOME": root + "/no-config"],
                                       flags: LLMProviderSettings(embeddedModel: root + "/no-such-model.gguf"))
        XCTAssertEqual(try runner.settings().embeddedModel, root + "/no-such-model.gguf")
        XCTAssertThrowsError(try runner.client(forExplaining: true)) { e in XCTAssertTrue("\(e)".contains("no-such-model"), "\(e)") }
    }

    func testOpenAISettingsComeFromTheEnvironment() throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root))
        let runner = CacheActionRunner(data: data, environment: ["FEATURESCOPE_LLM_BASE_URL": "http://127.0.0.1:9/v1"])
        // A base URL without a model name is a configuration error, reported before any request.
        XCTAssertThrowsError(try runner.client(forExplaining: true)) { e in XCTAssertTrue("\(e)".contains("model"), "\(e)") }
        let ok = CacheActionRunner(data: data, environment: ["FEATURESCOPE_LLM_BASE_URL": "http://127.0.0.1:9/v1",
                                                             "FEATURESCOPE_LLM_MODEL": "some/model"])
        XCTAssertEqual(try ok.client(forExplaining: false).modelName, "some/model")
    }
}

final class MessageLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.withLock { list.append(s) } }
    var items: [String] { lock.withLock { list } }
}

/// `e`, `s` and `explain` on a cache marked as the bundled sample leave it byte-identical: the results go to the
/// per-user overlay and are shown together with the cache's own.
final class PristineCacheActionTests: XCTestCase {
    func testExplainAndScoreOnAPristineCacheLeaveItByteIdentical() async throws {
        let root = CacheFixtures.temporaryDirectory("pristine")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = try CacheFixtures.build(at: root, rows: 40, examples: CacheFixtures.actionExamples)
        try Data("bundled sample\n".utf8).write(to: URL(fileURLWithPath: path + "/PRISTINE"))
        setenv("FEATURESCOPE_DATA_DIR", root + "/userdata", 1)
        defer { unsetenv("FEATURESCOPE_DATA_DIR") }
        func digests() throws -> [String: Data] {
            var out: [String: Data] = [:]
            for case let rel as String in FileManager.default.enumerator(atPath: path)?.allObjects ?? [] {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path + "/" + rel, isDirectory: &isDir), !isDir.boolValue else { continue }
                out[rel] = try Data(contentsOf: URL(fileURLWithPath: path + "/" + rel))
            }
            return out
        }
        let before = try digests()
        let data = try CacheBrowserData(path: path)
        let latent = 39
        let llm = ScriptedLLM()
        let runner = CacheActionRunner(data: data, environment: [:], explainClient: llm, scoreClient: llm)
        _ = try await runner.run(.explain, part: 0, latent: latent) { _ in }
        _ = try await runner.run(.score, part: 0, latent: latent) { _ in }
        XCTAssertEqual(data.summary(part: 0, latent: latent).explanation, "Every fourth token of even rows")
        XCTAssertEqual(data.summary(part: 0, latent: latent).detection ?? -1, 0.5, accuracy: 1e-6)

        // `featurescope explain`'s library call on the same cache.
        let cache = try LatentCacheDirectory.open(path)
        let summary = await CacheAutoInterp.explain(part: cache.parts[0], latents: [38, 39], explainer: Explainer(client: llm),
                                                    options: { var o = CacheBatchOptions(); o.minActiveWindows = 1; o.redo = true; return o }())
        XCTAssertEqual(summary.results?.filter { $0.outcome == .completed }.count, 2, "\(summary)")
        XCTAssertEqual(try digests(), before, "the pristine cache changed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/userdata/overlays"))
        XCTAssertEqual(try LatentCacheDirectory.open(path).parts[0].annotations(latent).filter { $0.kind == .explanation }.count, 2)
    }
}
