import FeaturescopeCore
import Foundation
import TerminalUI

/// A steering engine for tests and frame snapshots: made-up but deterministic continuations. The prompt is split
/// into words (each keeps its leading space); the default run picks words from a small vocabulary by a hash of the
/// prompt; the steered run copies it until a divergence point that comes earlier the stronger the steering
/// (8 − ⌊log2(1 + Σ|strength|)⌋, at least 0; never with no strength), then takes other words. KL is small before that point and
/// grows after it. With `freezeAttention` a third, frozen-attention run follows: it diverges two tokens later than
/// the steered one and takes yet other words, with half the steered run's KL. The vocabulary holds a newline and an
/// escape sequence, so frames show both made safe.
///
/// `holdAfterSteered`: after that many steered tokens the run waits until its task is cancelled (tests of Esc).
public final class ScriptedSteeringEngine: SteeringEngine, @unchecked Sendable {
    public static let vocabulary = [" the", " sun", " was", " warm", ",", " and", " rain", " fell", " on", " roofs", ".", "\n",
                                    " storm", " \u{1B}[2Jclouds", " grey", " sky"]
    public let delay: Duration
    public let holdAfterSteered: Int?
    private let lock = NSLock()
    private var seen: [SteerRequest] = []
    private var cancelled = 0

    public init(delay: Duration = .zero, holdAfterSteered: Int? = nil) {
        self.delay = delay
        self.holdAfterSteered = holdAfterSteered
    }

    /// Every request received, in order.
    public var requests: [SteerRequest] { lock.withLock { seen } }
    /// Runs that ended because their task was cancelled.
    public var cancellations: Int { lock.withLock { cancelled } }

    /// The words of a prompt, each with its leading space.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        for ch in text {
            if ch == " " || out.isEmpty { out.append(String(ch)) } else { out[out.count - 1].append(ch) }
        }
        return out
    }

    /// Index of the first steered token that differs from the default one for `request` (nil: none).
    public static func divergence(_ request: SteerRequest) -> Int? {
        let total = request.latents.reduce(Float(0)) { $0 + abs($1.strength) }
        guard total > 0 else { return nil }
        let d = max(0, 8 - Int(log2(1 + total)))
        return d < request.maxTokens ? d : nil
    }

    public func steer(_ request: SteerRequest, event: @escaping @Sendable (SteerEvent) -> Void) async throws {
        lock.withLock { seen.append(request) }
        do {
            try await run(request, event: event)
        } catch is CancellationError {
            lock.withLock { cancelled += 1 }
            throw CancellationError()
        }
    }

    private func run(_ request: SteerRequest, event: @escaping @Sendable (SteerEvent) -> Void) async throws {
        let prompt = Self.words(request.prompt)
        guard !prompt.isEmpty else { throw BrowserError("the prompt has no tokens") }
        event(.prompt(prompt))
        let v = Self.vocabulary
        let h = Int(FNV1a.hash(request.prompt.utf8) % UInt64(v.count))
        let base: [Int] = (0 ..< request.maxTokens).map { (h + $0 * 5) % v.count }
        let d = Self.divergence(request)
        let steered: [Int] = base.indices.map { i in d.map { i >= $0 } == true ? (base[i] + 3 + i) % v.count : base[i] }
        for i in base {
            try await pause()
            event(.token(.default, SteerToken(id: Int32(i), text: v[i])))
        }
        for (n, i) in steered.enumerated() {
            if let hold = holdAfterSteered, n == hold {
                while true { try await Task.sleep(for: .milliseconds(5)) }
            }
            try await pause()
            event(.token(.steered, SteerToken(id: Int32(i), text: v[i])))
        }
        let frozen: [Int] = base.indices.map { i in d.map { i >= $0 + 2 } == true ? (base[i] + 7 + i) % v.count : base[i] }
        if request.freezeAttention {
            for i in frozen {
                try await pause()
                event(.token(.frozen, SteerToken(id: Int32(i), text: v[i])))
            }
        }
        // Element t of prompt + generated: the steered token t − prompt.count + 1 was drawn from it.
        let kl: [Double] = (0 ..< prompt.count + steered.count).map { t in
            let j = t - prompt.count + 1
            guard let d, j >= d else { return 0.001 * Double(max(0, j)) }
            return min(3, 0.4 * Double(j - d + 1))
        }
        event(.kl(.steered, kl, promptCount: prompt.count))
        if request.freezeAttention { event(.kl(.frozen, kl.map { $0 / 2 }, promptCount: prompt.count)) }
    }

    private func pause() async throws {
        if delay > .zero { try await Task.sleep(for: delay) } else { try Task.checkCancellation() }
    }
}
