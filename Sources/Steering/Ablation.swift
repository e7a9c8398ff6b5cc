import ModelEngine
import SparseAutoencoders

/// What zero-ablating one latent does at one position of a prompt.
public struct AblationPosition: Sendable, Equatable, Codable {
    /// The token at this position.
    public var token: Int32
    /// The latent's activation here in the unablated run.
    public var activation: Float
    /// The actual next token (nil at the last position).
    public var nextToken: Int32?
    /// log p_ablated(next) − log p_default(next) in nats (nil at the last position): negative where the
    /// latent helped predict the actual next token.
    public var deltaLogProb: Double?
    /// Tokens whose log-probability rose most / fell most when the latent was ablated, with the change in nats
    /// (only tokens that rose / fell: empty where the ablation changed nothing).
    public var promoted: [TokenChange]
    public var suppressed: [TokenChange]
    /// KL(ablated ‖ default) of the next-token distributions.
    public var kl: Double
}

/// A token and the change in its next-token log-probability.
public struct TokenChange: Sendable, Equatable, Codable {
    public var token: Int32
    public var delta: Double
}

extension Steerer {
    /// The ablation effect of `latent` at every position of `tokens`: the latent is zeroed at every position
    /// (its activation × decoder row subtracted, the reconstruction error and other latents kept, as
    /// `SparseAutoencoder.ablationIntervention`), and each position's next-token distribution is compared with
    /// the unablated one. `top` promoted and suppressed tokens per position.
    public func ablationEffect(latent: Int, tokens: [Int32], top: Int = 5) throws -> [AblationPosition] {
        guard (0 ..< sae.dSAE).contains(latent) else { throw SteeringError.invalidArgument("latent \(latent) is out of range 0..<\(sae.dSAE)") }
        guard !tokens.isEmpty else { throw SteeringError.invalidArgument("the prompt has no tokens") }
        let base = try model.forward(tokens: tokens, captures: [hook], logits: .all)
        guard let x = base.activation(hook) else { throw SteeringError.invalidArgument("no activation captured at \(hook)") }
        let codes = try sae.encode(x.data, count: tokens.count)
        let ablated = try model.forward(tokens: tokens, logits: .all, interventions: [hook: sae.ablationIntervention(latents: [latent])])
        let vocab = model.config.vocabSize
        return try (0 ..< tokens.count).map { t in
            let scale = t < codes.outputScale.count ? codes.outputScale[t] : 1
            let activation = (codes.latents(ofToken: t).first { $0.latent == latent }?.value ?? 0) * scale
            let p = base.logitsRow(t), q = ablated.logitsRow(t)
            let lseP = p.withUnsafeBufferPointer { Logits.logSumExp($0) }
            let lseQ = q.withUnsafeBufferPointer { Logits.logSumExp($0) }
            guard lseP.isFinite, lseQ.isFinite else { throw SteeringError.invalidArgument("non-finite logits at position \(t)") }
            // Change of each token's log-probability: (q_i − lseQ) − (p_i − lseP).
            let shift = Float(lseP - lseQ)
            let delta = (0 ..< vocab).map { q[q.startIndex + $0] - p[p.startIndex + $0] + shift }
            // Only tokens that actually rose (fell): an unchanged position lists none.
            let up = Logits.topIndices(delta, count: top).filter { delta[$0] > 0 }
                .map { TokenChange(token: Int32($0), delta: Double(delta[$0])) }
            let down = Logits.topIndices(delta, count: top, largest: false).filter { delta[$0] < 0 }
                .map { TokenChange(token: Int32($0), delta: Double(delta[$0])) }
            let next: Int32? = t + 1 < tokens.count ? tokens[t + 1] : nil
            return AblationPosition(token: tokens[t], activation: activation, nextToken: next,
                                    deltaLogProb: next.map { Logits.logProbability(q, of: Int($0)) - Logits.logProbability(p, of: Int($0)) },
                                    promoted: up, suppressed: down, kl: Logits.klDivergence(q, p))
        }
    }
}
