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
