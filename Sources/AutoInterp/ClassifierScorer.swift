import FeaturescopeCore
import Foundation

/// delphi's detection and fuzzing scorers.
///
/// Samples (test positives + negatives) are shuffled with a seeded generator, cut into batches
/// of `batchSize`, and each batch is shown as `Example i:` lines under `Latent explanation:` and
/// `Text examples:`. The reply must hold a Python list of exactly `batchSize` 0/1 values, else
/// the whole batch's predictions are null. With logprobs, each answer's probability is
/// P(1)/(P(0)+P(1)) over the top alternatives.
public struct ClassifierScorer: Sendable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Plain examples: does the text contain the latent?
        case detection
        /// Highlighted examples: are the highlighted tokens the latent's?
        case fuzz
        /// Completions of neutral prompts (`InterventionScorer`): was this one generated with the latent steered
        /// up? Samples as for detection (test = steered, non-activating = default completions).
        case intervention
    }

    /// How fuzzing builds its wrongly highlighted negatives.
    public enum FuzzNegatives: String, Codable, Sendable {
        /// delphi's default: random tokens of the non-activating windows.
        case randomNonActivating = "default"
        /// delphi's "active": copies of the test examples with random tokens highlighted.
        case mislabeledActivating = "active"
    }

    public struct Options: Sendable {
        /// Examples per request (delphi: 5).
        public var batchSize = 5
        /// Fuzzing highlights tokens with activation ≥ threshold × example maximum.
        public var threshold: Float = 0.3
        /// Top alternatives requested per token (0: no logprobs, no probabilities).
        public var topLogprobs = 5
        public var temperature = 0.0
        public var maxTokens = 100
        /// Seed of the shuffle and of fuzzing's random highlights (mixed with the latent).
        public var seed: UInt64 = 22
        public var fuzzNegatives: FuzzNegatives = .randomNonActivating
        /// Use `NextTokenProbabilityClient` when the client offers it (the embedded model).
        public var useNextTokenProbabilities = true
        /// How P("1") becomes a 0/1 prediction (next-token probabilities and batches of 1 only; otherwise the
        /// likelier answer, as delphi).
        public var calibration: Calibration = .none
        /// The prompt layout (detection and fuzz; the intervention judge has its own).
        public var prompt: PromptStyle = .list
        public init() {}
    }

    /// How texts are put to the scorer.
    public enum PromptStyle: String, Codable, Sendable, CaseIterable {
        /// delphi's layout: `Latent explanation:` / `Text examples:` / `Example i:` lines, one demonstration of five
        /// examples, a Python list of 0/1 as the answer (`batchSize` examples per request).
        case list
        /// One text per request: the explanation, the text, then the question; the answer is the single digit 1 or
        /// 0; four one-text demonstrations (two 1, two 0). Ignores `batchSize`.
        case question
    }

    /// Examples per request: `batchSize`, or 1 with the question prompt.
    public var effectiveBatchSize: Int { options.prompt == .question && method != .intervention ? 1 : max(1, options.batchSize) }
    /// The decision rule of a yes/no answer.
    public enum Calibration: String, Codable, Sendable, CaseIterable {
        /// delphi's: the answer the model gives (the likelier of "0" and "1").
        case none
        /// Contextual calibration (`ScoreCalibration`): "1" when P("1") exceeds the mean P("1") of content-free
        /// texts under the same explanation and prompt.
        case contentFree = "content-free"
        /// "1" for the texts with the highest P("1"), as many as the set holds activating texts by design (the
        /// test examples; `ScoreCalibration`).
        case prior
    }

    public let method: Method
    public let client: any LLMClient
    public let options: Options

    public init(method: Method, client: any LLMClient, options: Options = Options()) {
        self.method = method
        self.client = client
        self.options = options
    }

    public var promptVersion: String {
        let base: String
        switch method {
        case .detection: base = options.prompt == .question ? ScorerPrompts.detectionQuestionVersion : ScorerPrompts.detectionVersion
        case .fuzz: base = options.prompt == .question ? ScorerPrompts.fuzzQuestionVersion : ScorerPrompts.fuzzVersion
        case .intervention: base = ScorerPrompts.interventionVersion
        }
        return calibrates ? base + "+" + options.calibration.rawValue : base
    }

    /// Whether predictions are calibrated: asked for, and possible (one example per request, read from next-token
    /// probabilities, where every answer is judged alone).
    public var calibrates: Bool {
        options.calibration != .none && effectiveBatchSize == 1 && method != .intervention
            && options.useNextTokenProbabilities && client is any NextTokenProbabilityClient
    }

    /// The content-free texts of contextual calibration, as shown (fuzzing's carry a marked span).
    public var contentFreeTexts: [String] {
        method == .fuzz ? ScorerPrompts.contentFreeFuzz : ScorerPrompts.contentFreeDetection
    }

    // MARK: - Samples

    /// Builds and shuffles the samples (text as the scorer will see it), deterministically.
    public func prepareSamples(_ sampled: SampledExamples) -> [ScoredSample] {
        var rng = SplitMix64(seed: SplitMix64.seed(options.seed, UInt64(truncatingIfNeeded: sampled.latent),
                                                   method == .fuzz ? 4 : 3))
        var samples: [ScoredSample] = []
        switch method {
        case .detection, .intervention:
            for ex in sampled.test + sampled.nonActivating {
                samples.append(sample(ex, activating: ex.distance >= 0, shown: ex.text))
            }
        case .fuzz:
            let nIncorrect = Self.meanNonzeroCeil(sampled.test)
            switch options.fuzzNegatives {
            case .randomNonActivating:
                for ex in sampled.nonActivating {
                    samples.append(sample(ex, activating: false, shown: misHighlight(ex, n: nIncorrect, rng: &rng)))
                }
            case .mislabeledActivating:
                for var ex in sampled.test {
                    let shown = misHighlight(ex, n: nIncorrect, rng: &rng)
                    ex.distance = -1
                    samples.append(sample(ex, activating: false, shown: shown))
                }
            }
            for ex in sampled.test {
                let cut = ex.maxActivation * options.threshold
                let shown = ExplainerFormatting.highlight(ex.tokens) { ex.activations[$0] >= cut }
                samples.append(sample(ex, activating: true, shown: shown))
            }
        }
        rng.shuffle(&samples)
        return samples
    }

    private func sample(_ ex: ActivationWindow, activating: Bool, shown: String) -> ScoredSample {
        ScoredSample(strTokens: ex.tokens, activations: ex.activations, distance: ex.distance,
                     activating: activating, shownText: shown)
    }

    /// ⌈mean number of nonzero tokens per test example⌉ (0 without examples).
    public static func meanNonzeroCeil(_ examples: [ActivationWindow]) -> Int {
        guard !examples.isEmpty else { return 0 }
        let total = examples.reduce(0) { $0 + $1.nonzeroCount }
        return (total + examples.count - 1) / examples.count
    }

    /// Highlights `n` random tokens among those at or below threshold × the example maximum.
    private func misHighlight(_ ex: ActivationWindow, n: Int, rng: inout SplitMix64) -> String {
        let cut = ex.maxActivation * options.threshold
        let candidates = ex.activations.indices.filter { ex.activations[$0] <= cut && $0 < ex.tokens.count }
        let chosen = Set(rng.sample(candidates, min(n, candidates.count)))
        return ExplainerFormatting.highlight(ex.tokens) { chosen.contains($0) }
    }

    // MARK: - Prompt

    /// The chat messages for one batch.
    public func messages(explanation: String, batch: [String]) -> [ChatMessage] {
        if options.prompt == .question, method != .intervention, let text = batch.first {
            return ScorerPrompts.questionMessages(fuzz: method == .fuzz, explanation: explanation, text: text)
        }
        let (system, demo) = switch method {
        case .detection: (ScorerPrompts.detectionSystem, ScorerPrompts.detectionDemo)
        case .fuzz: (ScorerPrompts.fuzzSystem, ScorerPrompts.fuzzDemo)
        case .intervention: (ScorerPrompts.interventionSystem, ScorerPrompts.interventionDemo)
        }
        return [
            .system(system),
            .user(ScorerPrompts.userContent(explanation: demo.explanation, examples: demo.examples)),
            .assistant(demo.answer),
            .user(ScorerPrompts.userContent(explanation: explanation, examples: batch)),
        ]
    }

    // MARK: - Scoring

    /// Scores one latent. Never throws for a failed request or reply: that batch's predictions
    /// are null and `batchFailures` says why (`requestFailures` counts failed requests).
    /// Throws only `CancellationError`.
    public func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord {
        try await score(sampled, explanation: explanation, onBatch: nil)
    }

    /// `score`, calling `onBatch` with the samples so far (predictions filled in for finished batches)
    /// after every batch.
    public func score(_ sampled: SampledExamples, explanation: String,
                      onBatch: (@Sendable (_ done: Int, _ total: Int, _ samples: [ScoredSample]) -> Void)?) async throws -> ScoreRecord {
        var samples = prepareSamples(sampled)
        var failures: [String] = []
        var requestFailures = 0
        let size = effectiveBatchSize
        var calibration: ScoreCalibration?
        if calibrates, options.calibration == .contentFree, let direct = client as? any NextTokenProbabilityClient {
            var probabilities: [Double] = []
            for text in contentFreeTexts {
                try Task.checkCancellation()
                switch await scoreByNextToken(direct, messages: messages(explanation: explanation, batch: [text]), count: 1) {
                case .answered(_, let p?, _): probabilities.append(p[0])
                case .answered, .unparsable: break
                case .requestFailed(let why):
                    if Task.isCancelled { throw CancellationError() }
                    failures.append("calibration: request failed: \(why)")
                }
            }
            // Without every content-free probability the rule would differ between latents: fall back to the argmax.
            if probabilities.count == contentFreeTexts.count {
                calibration = ScoreCalibration(texts: contentFreeTexts, probabilities: probabilities)
            } else {
                failures.append("calibration: no content-free probabilities; predictions are the likelier answer")
            }
        }
        var start = 0
        while start < samples.count {
            try Task.checkCancellation()
            let end = min(samples.count, start + size)
            let texts = samples[start..<end].map(\.shownText)
            let outcome = await scoreBatch(explanation: explanation, texts: texts)
            let batchNo = start / size
            switch outcome {
            case .answered(let predictions, let probabilities, let note):
                for (k, i) in (start..<end).enumerated() {
                    let prediction = calibration.flatMap { c in probabilities.map { $0[k] > c.threshold } } ?? predictions[k]
                    samples[i].prediction = prediction
                    samples[i].correct = prediction == samples[i].activating
                    samples[i].probability = probabilities?[k]
                }
                if let note { failures.append("batch \(batchNo): \(note)") }
            case .unparsable(let why):
                failures.append("batch \(batchNo): \(why)")
            case .requestFailed(let why):
                if Task.isCancelled { throw CancellationError() }
                requestFailures += 1
                failures.append("batch \(batchNo): request failed: \(why)")
            }
            start = end
            if calibrates, options.calibration == .prior {
                calibration = Self.applyPrior(&samples, positiveShare: Self.positiveShare(sampled, method: method, options: options))
            }
            onBatch?(batchNo + 1, (samples.count + size - 1) / size, samples)
        }
        var record = ScoreRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: method.rawValue, model: client.modelName,
                                                        endpoint: client.endpointName, promptVersion: promptVersion),
                                 explanation: explanation, samples: samples, batchFailures: failures)
        record.requestFailures = requestFailures
        record.calibration = calibration
        return record
    }

    /// The share of activating texts in the set, from its design: test examples against non-activating windows
    /// (fuzzing's `active` negatives: one mislabelled copy per test example). No sample's label is read.
    static func positiveShare(_ sampled: SampledExamples, method: Method, options: Options) -> Double {
        let negatives = method == .fuzz && options.fuzzNegatives == .mislabeledActivating ? sampled.test.count : sampled.nonActivating.count
        let total = sampled.test.count + negatives
        return total > 0 ? Double(sampled.test.count) / Double(total) : 0
    }

    /// The prior rule over the samples that have a probability so far: the round(share × n) with the highest P("1")
    /// are predicted 1 (ties: the earlier sample first), the rest 0. Run after every batch, so a stream's running
    /// predictions follow the same rule as the final ones.
    static func applyPrior(_ samples: inout [ScoredSample], positiveShare: Double) -> ScoreCalibration? {
        let scored = samples.indices.filter { samples[$0].probability != nil }
        guard !scored.isEmpty else { return nil }
        let ranked = scored.sorted { (samples[$0].probability!, -$0) > (samples[$1].probability!, -$1) }
        let k = min(ranked.count, Int((positiveShare * Double(ranked.count)).rounded()))
        for (r, i) in ranked.enumerated() {
            samples[i].prediction = r < k
            samples[i].correct = (r < k) == samples[i].activating
        }
        let last = k > 0 ? samples[ranked[k - 1]].probability! : 1
        let next = k < ranked.count ? samples[ranked[k]].probability! : 0
        return ScoreCalibration(positiveShare: positiveShare, threshold: (last + next) / 2)
    }

    enum BatchOutcome {
        case answered([Bool], [Double]?, note: String?)
        case unparsable(String)
        case requestFailed(String)
    }

    func scoreBatch(explanation: String, texts: [String]) async -> BatchOutcome {
        let msgs = messages(explanation: explanation, batch: texts)
        if options.useNextTokenProbabilities, let direct = client as? any NextTokenProbabilityClient {
            return await scoreByNextToken(direct, messages: msgs, count: texts.count)
        }
        if options.prompt == .question, method != .intervention {
            // One token with its alternatives: P("1") / (P("0") + P("1")) when the endpoint gives logprobs, else the
            // reply must be exactly 0 or 1 (the intervention judge's rule).
            let request = ChatRequest(messages: msgs, temperature: 0, maxTokens: 1, topLogprobs: 20)
            do {
                let reply = try await client.complete(request)
                guard let answer = InterventionScorer.constrainedAnswer(reply) else {
                    return .unparsable("the reply '\(SafeText.sanitize(String(reply.text.prefix(40))))' is not 0/1 and its first token's alternatives hold neither")
                }
                return .answered([answer.prediction], answer.probability.map { [$0] }, note: nil)
            } catch {
                return .requestFailed(String(describing: error))
            }
        }
        let request = ChatRequest(messages: msgs, temperature: options.temperature,
                                  maxTokens: options.maxTokens, topLogprobs: options.topLogprobs)
        let reply: ChatResponse
        do {
            reply = try await client.complete(request)
        } catch {
            return .requestFailed(String(describing: error))
        }
        switch ReplyParsing.parseBinaryList(reply.text, count: texts.count) {
        case .failure(let why):
            return .unparsable(why.description)
        case .success(let predictions):
            guard options.topLogprobs > 0 else { return .answered(predictions, nil, note: nil) }
            guard let lp = reply.logprobs else {
                return .answered(predictions, nil, note: "endpoint returned no logprobs")
            }
            if let probs = ReplyParsing.binaryProbabilities(lp, reply: reply.text, count: texts.count) {
                return .answered(predictions, probs, note: nil)
            }
            return .answered(predictions, nil, note: "logprobs did not line up with the answers")
        }
    }

    /// Constrained decoding (`constrainedList`): the assistant turn is `[`, then each answer is the likelier of
    /// "0"/"1", followed by `, ` (or `]`); the probability is P(1)/(P(0)+P(1)).
    private func scoreByNextToken(_ c: any NextTokenProbabilityClient, messages: [ChatMessage], count: Int) async -> BatchOutcome {
        let request = ChatRequest(messages: messages, temperature: 0, maxTokens: 1)
        if options.prompt == .question, method != .intervention {
            // The whole answer is one digit: P("0") and P("1") as the first token of the assistant turn.
            do {
                let p = try await c.nextTokenProbabilities(request, assistantPrefix: "", candidates: ["0", "1"])
                guard p.count == 2, p.allSatisfy({ $0.isFinite && $0 >= 0 }), p[0] + p[1] > 0 else {
                    return .unparsable(ConstrainedListError.malformedProbabilities(slot: 0, values: p).description)
                }
                let p1 = p[1] / (p[0] + p[1])
                return .answered([p1 > 0.5], [p1], note: nil)
            } catch {
                return .requestFailed(String(describing: error))
            }
        }
        do {
            let slots = try await c.constrainedList(request, count: count, choices: ["0", "1"])
            return .answered(slots.map { $0.chosen == 1 }, slots.map { $0.probabilities[1] }, note: nil)
        } catch let e as ConstrainedListError {
            return .unparsable(e.description)
        } catch {
            return .requestFailed(String(describing: error))
        }
    }
}
