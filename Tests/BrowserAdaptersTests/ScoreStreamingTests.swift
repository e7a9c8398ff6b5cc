import AutoInterp
import Foundation
import LatentCache
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// Collects a job's partial results.
final class PartialLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ActionPartial] = []
    func append(_ p: ActionPartial) { lock.withLock { list.append(p) } }
    var items: [ActionPartial] { lock.withLock { list } }
    /// (scorer, sample count) of every `.samples` partial.
    var sampleCounts: [(String, Int)] {
        items.compactMap { if case let .samples(s, v) = $0 { return (s, v.count) } else { return nil } }
    }
}

/// Answers the first `answered` scorer requests like `ScriptedLLM` ("1" for every example), then waits (until the job
/// is cancelled).
struct StallingJudge: LLMClient {
    var modelName = "stalling-judge"
    var endpointName = "test"
    let counter = MessageLog()
    var answered: Int

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let last = request.messages.last?.content ?? ""
        counter.append("request")
        if counter.items.count > answered { try await Task.sleep(for: .seconds(60)) }
        let n = last.components(separatedBy: "\nExample ").count - 1
        return ChatResponse(text: "[" + Array(repeating: "1", count: n).joined(separator: ", ") + "]")
    }
}

/// Writes "token<TAB>n" for every token line with n cycling 0, 5, 10 (the simulation scorer's endpoint format).
struct ScriptedSimulator: LLMClient {
    var modelName = "scripted-simulator"
    var endpointName = "test"
    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let last = request.messages.last?.content ?? ""
        guard let r = last.range(of: "Tokens:\n") else { return ChatResponse(text: "[EXPLANATION]: Every fourth token") }
        let lines = last[r.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        return ChatResponse(text: lines.enumerated().map { "\($0.element)\t\(($0.offset % 3) * 5)" }.joined(separator: "\n"))
    }
}

final class ScoreStreamingTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("streaming") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func explained(_ judge: any LLMClient) async throws -> (CacheBrowserData, CacheActionRunner) {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root, rows: 40, examples: CacheFixtures.actionExamples))
        let runner = CacheActionRunner(data: data, environment: [:], explainClient: ScriptedLLM(), scoreClient: judge)
        _ = try await runner.run(.explain, part: 0, latent: 39) { _ in }
        return (data, runner)
    }

    func testEveryFinishedBatchReachesViewThree() async throws {
        let (data, runner) = try await explained(ScriptedLLM())
        let log = PartialLog()
        _ = try await runner.run(.score, part: 0, latent: 39, progress: { _ in }, partial: { log.append($0) })
        let detection = log.sampleCounts.filter { $0.0 == "detection" }.map(\.1)
        let stored = try data.scoredSamples(part: 0, latent: 39, scorer: "detection")
        // Empty at the start, then 5 more per batch, then the stored samples.
        XCTAssertEqual(detection.first, 0)
        XCTAssertEqual(Array(detection.dropFirst().dropLast()), Array(stride(from: 5, through: stored.count, by: 5)).map { min($0, stored.count) })
        XCTAssertEqual(detection.last, stored.count)
        XCTAssertTrue(log.sampleCounts.contains { $0.0 == "fuzz" && $0.1 == 5 })
        // The live samples are the stored ones, as view 3 shows them.
        guard case let .samples(_, last)? = log.items.last(where: { if case .samples("detection", _) = $0 { return true } else { return false } }) else {
            return XCTFail("no detection samples")
        }
        XCTAssertEqual(last, stored)
    }

    func testStoppingKeepsTheFinishedBatchesAsAPartialScore() async throws {
        let judge = StallingJudge(answered: 3)
        let (data, runner) = try await explained(judge)
        let log = PartialLog()
        let job = Task { try await runner.run(.score, part: 0, latent: 39, progress: { _ in }, partial: { log.append($0) }) }
        let deadline = Date().addingTimeInterval(20)
        while log.sampleCounts.last?.1 != 15, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        XCTAssertEqual(log.sampleCounts.last?.1, 15, "three batches of five reached view 3")
        job.cancel()
        do { _ = try await job.value; XCTFail("the job was stopped") } catch is CancellationError {} catch { XCTFail("\(error)") }
        let annotations = try data.cache.parts[0].annotations(39).filter { $0.kind == .score }
        XCTAssertEqual(annotations.map(\.method), ["detection-partial"])
        let kept = try XCTUnwrap(annotations.first)
        XCTAssertEqual(kept.samples?.filter { $0.prediction != nil }.count, 15)
        XCTAssertTrue(kept.extra?["partial"]?.hasPrefix("3/") ?? false, "\(kept.extra ?? [:])")
        // Not a finished score: no list column, no best detection; shown (marked) in the detail and view 3.
        XCTAssertNil(data.summary(part: 0, latent: 39).detection)
        let detail = try data.detail(part: 0, latent: 39)
        XCTAssertEqual(detail.scores.map(\.scorer), ["detection-partial"])
        XCTAssertNotNil(detail.scores.first?.partial)
        XCTAssertEqual(data.scorers(part: 0, latent: 39), ["detection-partial"])
        XCTAssertEqual(try data.scoredSamples(part: 0, latent: 39, scorer: "detection-partial").count, 15)
    }

    func testSimulationRunsFromTheBrowserAndFillsItsColumn() async throws {
        let (data, runner) = try await explained(ScriptedSimulator())
        let log = PartialLog()
        let text = try await runner.run(.scoreSimulation, part: 0, latent: 39, progress: { _ in }, partial: { log.append($0) })
        XCTAssertTrue(text.contains("simulation"), text)
        let counts = log.sampleCounts.map(\.1)
        XCTAssertEqual(Array(counts.prefix(4)), [0, 1, 2, 3], "one example at a time")
        let s = data.summary(part: 0, latent: 39)
        let r = try XCTUnwrap(s.simulation)
        XCTAssertTrue(r >= -1 && r <= 1)
        XCTAssertEqual(data.sortValue(part: 0, latent: 39, column: .simulation), r)
        let result = try XCTUnwrap(try data.detail(part: 0, latent: 39).scores.first { $0.scorer == "simulation" })
        XCTAssertEqual(result.score, r, accuracy: 1e-12)
        let samples = try data.scoredSamples(part: 0, latent: 39, scorer: "simulation")
        XCTAssertTrue(samples.contains { $0.correlation != nil })
        XCTAssertTrue(samples.contains { $0.highlighted.contains(true) }, "tokens simulated at 5 or more are underlined")
    }

    func testEmbeddingNeedsAnEmbedderAndSaysSo() async throws {
        let (data, runner) = try await explained(ScriptedLLM())
        do {
            _ = try await runner.run(.scoreEmbedding, part: 0, latent: 39) { _ in }
            XCTFail("a plain chat client cannot embed")
        } catch { XCTAssertTrue("\(error)".contains("embedded model or an OpenAI-compatible endpoint"), "\(error)") }
        XCTAssertNil(data.summary(part: 0, latent: 39).embedding)
    }
}
