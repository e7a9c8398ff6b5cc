import FeaturescopeCore
import Foundation
import ModelEngine
import Steering

/// Intervention scoring (delphi paper, "intervention scoring"): does the explanation let a judge tell which
/// completions were generated with the latent steered up? For each fixed neutral prompt and each strength,
/// the subject model continues the prompt twice with the same sampler seed: once as it is (a negative) and
/// once with strength × the latent's max activation × its decoder row added at the SAE's hook at every position
/// (a positive). The judge sees the explanation and the texts (prompt + continuation) shuffled, in batches of
/// 5, as `ClassifierScorer.Method.intervention`; the score is the balanced accuracy of its answers (AUC when it
/// gives probabilities). Samples record the strength index as `distance` (positives) and −1 (negatives).
public struct InterventionScorer: Sendable, LatentScorer {
    /// Short prompts that favour no topic.
    public static let neutralPrompts = [
        "I think that", "The", "Here is a short story:", "My favourite thing is", "Yesterday,", "It was",
        "One thing you should know is", "In the morning",
    ]

    public let steerer: Steerer
    public let tokenizer: Tokenizer
    public let judge: any LLMClient
    public var prompts = InterventionScorer.neutralPrompts
    /// Multiples of the latent's max activation.
    public var strengths: [Float] = [1, 3, 10]
    public var maxNewTokens = 12
    public var temperature: Float = 0.7
    public var options = ClassifierScorer.Options()
    /// Recorded method name (`intervention`, or `intervention-random` for the random-SAE baseline).
    public var methodLabel = "intervention"
    public var methodName: String { methodLabel }

    public init(steerer: Steerer, tokenizer: Tokenizer, judge: any LLMClient) {
        self.steerer = steerer
        self.tokenizer = tokenizer
        self.judge = judge
    }

    /// One prompt's default and steered completions (token strings of prompt + continuation).
    public struct Pair: Sendable, Equatable {
        public var strengthIndex: Int
        public var defaultTokens: [String]
        public var steeredTokens: [String]
    }

    /// The completions for `latent`, whose max activation scales the strengths.
    public func completions(latent: Int, maxActivation: Float) throws -> [Pair] {
        guard maxActivation > 0, maxActivation.isFinite else {
            throw SteeringError.invalidArgument("latent \(latent) has no positive max activation to scale the strengths by")
        }
        var out: [Pair] = []
        for (p, text) in prompts.enumerated() {
            let prompt = tokenizer.encode(text, parseSpecial: false)
            for (k, s) in strengths.enumerated() {
                let seed = SplitMix64.seed(options.seed, UInt64(truncatingIfNeeded: latent), UInt64(p * 64 + k))
                let sampling: Sampling = temperature > 0 ? .temperature(temperature, seed: seed) : .greedy
                let steer = try steerer.intervention(mode: .add, latents: [SteeringLatent(latent: latent, strength: s * maxActivation)])
                let plain = try steerer.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: nil)
                let steered = try steerer.generate(prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, stopTokens: nil,
                                                   interventions: [steerer.hook: steer])
                func strings(_ ids: [Int32]) -> [String] { ids.map { tokenizer.decode([$0]) } }
                out.append(Pair(strengthIndex: k, defaultTokens: strings(prompt + plain), steeredTokens: strings(prompt + steered)))
            }
        }
        return out
    }

    public func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord {
        try await score(sampled, explanation: explanation, onBatch: nil)
    }

    /// `score`, calling `onBatch` after every judged batch with the samples so far (as `ClassifierScorer` does).
    public func score(_ sampled: SampledExamples, explanation: String,
                      onBatch: (@Sendable (_ done: Int, _ total: Int, _ samples: [ScoredSample]) -> Void)?) async throws -> ScoreRecord {
        try Task.checkCancellation()
        let pairs = try completions(latent: sampled.latent, maxActivation: sampled.maxActivation)
        let window = { (tokens: [String], distance: Int) in
            ActivationWindow(tokens: tokens, activations: tokens.map { _ in 0 }, distance: distance)
        }
        let shown = SampledExamples(latent: sampled.latent, hook: sampled.hook, maxActivation: sampled.maxActivation, train: [],
                                    test: pairs.map { window($0.steeredTokens, $0.strengthIndex) },
                                    nonActivating: pairs.map { window($0.defaultTokens, -1) })
        var record = try await ClassifierScorer(method: .intervention, client: judge, options: options)
            .score(shown, explanation: explanation, onBatch: onBatch)
        record.provenance.method = methodLabel
        return record
    }
}
