import FeaturescopeCore
import Foundation
import ModelEngine
import Steering

/// Intervention scoring (delphi paper, "intervention scoring"): does the explanation let a judge tell which
/// completions were generated with the latent steered up? For each fixed neutral prompt and each strength,
/// the subject model continues the prompt twice with the same sampler seed: once as it is (a negative) and
/// once with strength × the latent's max activation × its decoder row added at the SAE's hook at every position
/// (a positive). The judge sees the explanation and one text (prompt + continuation) at a time, in a seeded
/// shuffled order; its answer is a constrained choice between "0" and "1": the embedded model's P("0"), P("1")
/// as the first token of its answer, an endpoint's from the first token's logprobs (`constrainedAnswer`).
/// (Batches of 5 as for detection made SmolLM2 copy the demonstration's answer list whatever the texts.) The score is the balanced
/// accuracy of its answers (AUC from the probabilities). Samples record the strength index as `distance`
/// (positives) and −1 (negatives).
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
        let classifier = ClassifierScorer(method: .intervention, client: judge, options: options)
        var record = try await scoreOneByOne(classifier.prepareSamples(shown), explanation: explanation, latent: sampled.latent,
                                             hook: sampled.hook, onBatch: onBatch)
        record.provenance.method = methodLabel
        return record
    }

    // MARK: - Endpoint judge: one text per request, the answer read as a constrained choice

    static let singlePromptVersion = "featurescope-intervention-single-v1"

    static let singleSystem = """
    A language model continued a short, neutral prompt. Sometimes one internal feature of the model was \
    artificially boosted while it wrote, which pushes the text toward what the feature represents. You are given \
    a description of the feature and one text (prompt and continuation). Answer 1 if the text looks written with \
    the feature boosted, 0 if it looks like ordinary text. Reply with the single digit 1 or 0.
    """

    static func singleUser(explanation: String, text: String) -> String {
        "Feature description: \(explanation)\n\nText: \(text)\n\nBoosted (1) or ordinary (0)?"
    }

    /// System prompt, two demonstrations (one boosted, one ordinary), then the text.
    static func singleMessages(explanation: String, text: String) -> [ChatMessage] {
        let demo = ScorerPrompts.interventionDemo
        return [.system(singleSystem),
                .user(singleUser(explanation: demo.explanation, text: demo.examples[0])), .assistant("1"),
                .user(singleUser(explanation: demo.explanation, text: demo.examples[1])), .assistant("0"),
                .user(singleUser(explanation: explanation, text: text))]
    }

    /// The judge's answer to one text: with logprobs, the choice between "0" and "1" among the alternatives of
    /// the first generated token (P("1") / (P("0") + P("1")), whatever token was actually sampled); without,
    /// the reply itself, which must be exactly `0` or `1` (optionally in brackets). Nil with the reason when
    /// neither gives an answer: never a guess.
    static func constrainedAnswer(_ reply: ChatResponse) -> (prediction: Bool, probability: Double?)? {
        if let first = reply.logprobs?.first {
            var p0 = 0.0, p1 = 0.0
            var alternatives = first.topAlternatives
            if !alternatives.contains(where: { $0.token == first.token }) {
                alternatives.append(TokenAlternative(token: first.token, logprob: first.logprob))
            }
            for alt in alternatives where alt.logprob.isFinite {
                switch alt.token.trimmingCharacters(in: .whitespacesAndNewlines) {
                case "0": p0 += Foundation.exp(alt.logprob)
                case "1": p1 += Foundation.exp(alt.logprob)
                default: break
                }
            }
            if p0 + p1 > 0 { return (p1 > p0, p1 / (p0 + p1)) }
        }
        var t = reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.hasPrefix("["), t.hasSuffix("]") { t = String(t.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces) }
        switch t {
        case "0": return (false, nil)
        case "1": return (true, nil)
        default: return nil
        }
    }

    /// Asks `judge` about each sample separately: the embedded model (a `NextTokenProbabilityClient`) by
    /// P("0") and P("1") as the first token of its answer; an endpoint at temperature 0, one token, top-20 logprobs.
    func scoreOneByOne(_ prepared: [ScoredSample], explanation: String, latent: Int, hook: String,
                       onBatch: (@Sendable (_ done: Int, _ total: Int, _ samples: [ScoredSample]) -> Void)? = nil) async throws -> ScoreRecord {
        var samples = prepared
        var failures: [String] = []
        var requestFailures = 0
        for i in samples.indices {
            try Task.checkCancellation()
            let request = ChatRequest(messages: Self.singleMessages(explanation: explanation, text: samples[i].shownText),
                                      temperature: 0, maxTokens: 1, topLogprobs: 20)
            let reply: ChatResponse
            do {
                if options.useNextTokenProbabilities, let direct = judge as? any NextTokenProbabilityClient {
                    let p = try await direct.nextTokenProbabilities(request, assistantPrefix: "", candidates: ["0", "1"])
                    let alternatives = zip(["0", "1"], p).filter { $0.1 > 0 }.map { TokenAlternative(token: $0.0, logprob: Foundation.log($0.1)) }
                    reply = ChatResponse(text: "", logprobs: [TokenLogprob(token: "", logprob: 0, topAlternatives: alternatives)])
                } else {
                    reply = try await judge.complete(request)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                requestFailures += 1
                failures.append("sample \(i): request failed: \(error)")
                continue
            }
            guard let answer = Self.constrainedAnswer(reply) else {
                let seen = SafeText.sanitize(String(reply.text.prefix(40)))
                failures.append("sample \(i): the reply '\(seen)' is not 0/1 and its first token's alternatives hold neither")
                continue
            }
            samples[i].prediction = answer.prediction
            samples[i].probability = answer.probability
            samples[i].correct = answer.prediction == samples[i].activating
            onBatch?(i + 1, samples.count, samples)
        }
        var record = ScoreRecord(latent: latent, hook: hook,
                                 provenance: Provenance(method: methodLabel, model: judge.modelName, endpoint: judge.endpointName,
                                                        promptVersion: Self.singlePromptVersion),
                                 explanation: explanation, samples: samples, batchFailures: failures)
        record.requestFailures = requestFailures
        return record
    }
}
