import Foundation
import LatentCache
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// The steering panel's engine adapter on the tiny random Qwen2 checkpoint (Tests/Fixtures/tiny-models/qwen2) with a
/// random SAE at blocks.0.hook_resid_post: events in order, strength 0 reproduces the default, a strong latent
/// diverges, cancellation stops the run.
final class EngineSteeringRunnerTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("steer") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    static var tinyModel: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 2 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/tiny-models/qwen2").path
    }

    /// Collects events (called from the engine queue).
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [SteerEvent] = []
        func add(_ e: SteerEvent) { lock.withLock { items.append(e) } }
        var all: [SteerEvent] { lock.withLock { items } }
        func tokens(_ s: SteerStream) -> [Int32] {
            all.compactMap { if case let .token(stream, t) = $0, stream == s { return t.id } else { return nil } }
        }
    }

    func runner() throws -> EngineSteeringRunner {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.tinyModel + "/config.json"), "missing \(Self.tinyModel)")
        let cache = try LatentCacheDirectory.open(try CacheFixtures.build(at: root, hook: "blocks.0.hook_resid_post", dIn: 64))
        return EngineSteeringRunner(host: EngineHost(cache: cache, modelPath: Self.tinyModel))
    }

    func testEventsInOrderAndStrengthZeroIsTheDefault() async throws {
        let r = try runner()
        let events = Events()
        try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 0)],
                                       mode: .add, maxTokens: 6)) { events.add($0) }
        let all = events.all
        guard case let .prompt(promptTokens)? = all.first else { return XCTFail("first event: \(String(describing: all.first))") }
        XCTAssertFalse(promptTokens.isEmpty)
        let defaults = events.tokens(.default), steered = events.tokens(.steered)
        XCTAssertFalse(defaults.isEmpty)
        XCTAssertEqual(steered, defaults)
        // Every default token comes before every steered one; KL last, one value per prompt + generated position.
        let firstSteered = all.firstIndex { if case .token(.steered, _) = $0 { return true } else { return false } } ?? 0
        let lastDefault = all.lastIndex { if case .token(.default, _) = $0 { return true } else { return false } } ?? 0
        XCTAssertLessThan(lastDefault, firstSteered)
        guard case let .kl(.steered, kl, promptCount)? = all.last else { return XCTFail("last event: \(String(describing: all.last))") }
        XCTAssertEqual(promptCount, promptTokens.count)
        XCTAssertEqual(kl.count, promptCount + steered.count)
        XCTAssertEqual(kl.max(), 0)
    }

    func testAStrongLatentChangesTheContinuation() async throws {
        let r = try runner()
        let events = Events()
        try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 300)],
                                       mode: .add, maxTokens: 8)) { events.add($0) }
        XCTAssertNotEqual(events.tokens(.steered), events.tokens(.default))
        guard case let .kl(.steered, kl, _)? = events.all.last else { return XCTFail("no KL") }
        XCTAssertGreaterThan(kl.max() ?? 0, 0.01)
        // Clamp mode and an out-of-range latent: a clear error.
        do {
            try await r.steer(SteerRequest(part: 0, prompt: "hi", latents: [SteerLatentRequest(latent: 999, strength: 1)], mode: .clamp,
                                           maxTokens: 2)) { _ in }
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("latent 999 is out of range"), "\(error)")
        }
    }

    /// The frozen-attention run streams after the steered one, is no longer than the default one, and its KL
    /// comes last; with strength 0 it is the default exactly.
    func testFrozenAttentionRun() async throws {
        let r = try runner()
        let zero = Events()
        try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 0)],
                                       mode: .add, maxTokens: 5, freezeAttention: true)) { zero.add($0) }
        XCTAssertEqual(zero.tokens(.frozen), zero.tokens(.default))
        let events = Events()
        try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 300)],
                                       mode: .add, maxTokens: 6, freezeAttention: true)) { events.add($0) }
        let all = events.all
        let frozen = events.tokens(.frozen)
        XCTAssertFalse(frozen.isEmpty)
        XCTAssertLessThanOrEqual(frozen.count, events.tokens(.default).count)
        let firstFrozen = all.firstIndex { if case .token(.frozen, _) = $0 { return true } else { return false } } ?? 0
        let lastSteered = all.lastIndex { if case .token(.steered, _) = $0 { return true } else { return false } } ?? 0
        XCTAssertLessThan(lastSteered, firstFrozen)
        guard case let .kl(.frozen, kl, promptCount)? = all.last else { return XCTFail("last event: \(String(describing: all.last))") }
        XCTAssertEqual(kl.count, promptCount + frozen.count)
        guard case .kl(.steered, _, _) = all[all.count - 2] else { return XCTFail("the steered KL comes before the frozen one") }
        // Without the option there is no frozen run.
        let plain = Events()
        try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 300)],
                                       mode: .add, maxTokens: 3)) { plain.add($0) }
        XCTAssertTrue(plain.tokens(.frozen).isEmpty)
    }

    func testCancellingStopsTheRun() async throws {
        let r = try runner()
        let events = Events()
        let task = Task {
            try await r.steer(SteerRequest(part: 0, prompt: "hello world", latents: [SteerLatentRequest(latent: 3, strength: 1)],
                                           mode: .add, maxTokens: 400)) { e in
                events.add(e)
                if case .token = e { Thread.sleep(forTimeInterval: 0.002) }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while events.tokens(.default).count < 3 && Date() < deadline { try await Task.sleep(for: .milliseconds(2)) }
        task.cancel()
        do {
            try await task.value
            XCTFail("expected a cancellation")
        } catch is CancellationError {}
        XCTAssertLessThan(events.tokens(.default).count, 400)
        XCTAssertFalse(events.all.contains { if case .kl = $0 { return true } else { return false } }, "no KL after a stop")
    }
}
