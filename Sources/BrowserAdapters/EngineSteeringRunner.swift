import Foundation
import ModelEngine
import Steering
import TerminalUI

/// The steering panel's engine: the host's model and the part's SAE through `Steering.Steerer` (default run, then
/// steered run, then per-position KL), on the engine's serial queue (never the UI loop). Tokens are reported as they
/// are generated; cancelling the calling task stops generation at the next token.
public final class EngineSteeringRunner: SteeringEngine, @unchecked Sendable {
    public let host: EngineHost

    public init(host: EngineHost) { self.host = host }

    /// A runner over the engine of a cache's browser data.
    public convenience init(data: CacheBrowserData) { self.init(host: data.engine) }

    /// Set from the cancelling task, read on the engine queue between tokens.
    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        func stop() { lock.withLock { stopped = true } }
        var isStopped: Bool { lock.withLock { stopped } }
    }

    public func steer(_ request: SteerRequest, event: @escaping @Sendable (SteerEvent) -> Void) async throws {
        let flag = StopFlag()
        try await withTaskCancellationHandler {
            try await EngineQueue.run { [host] in
                if flag.isStopped { throw CancellationError() }
                let (model, tokenizer) = try host.loadModel()
                let steerer: Steerer
                do { steerer = try Steerer(model: model, sae: try host.sae(part: request.part)) } catch let e as SteeringError {
                    throw BrowserError(e.description)
                }
                let prompt = tokenizer.encode(request.prompt)
                guard !prompt.isEmpty else { throw BrowserError("the prompt has no tokens") }
                event(.prompt(prompt.map { tokenizer.displayString($0) }))
                let steering = SteeringRequest(
                    prompt: prompt, maxNewTokens: request.maxTokens,
                    sampling: request.temperature > 0 ? .temperature(request.temperature, seed: request.seed) : .greedy,
                    mode: request.mode == .add ? .add : .clamp,
                    latents: request.latents.map { SteeringLatent(latent: $0.latent, strength: $0.strength) },
                    freezeAttention: request.freezeAttention)
                let result: SteeringResult
                do {
                    result = try steerer.run(steering) { run, id in
                        guard !flag.isStopped else { return false }
                        let stream: SteerStream = switch run { case .default: .default; case .steered: .steered; case .frozen: .frozen }
                        event(.token(stream, SteerToken(id: id, text: tokenizer.displayString(id))))
                        return true
                    }
                } catch let e as SteeringError {
                    throw BrowserError(e.description)
                }
                if flag.isStopped { throw CancellationError() }
                event(.kl(.steered, result.steered.kl, promptCount: prompt.count))
                if let frozen = result.frozen { event(.kl(.frozen, frozen.kl, promptCount: prompt.count)) }
            }
        } onCancel: {
            flag.stop()
        }
    }
}
