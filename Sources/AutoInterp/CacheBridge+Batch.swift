import Foundation
import LatentCache

/// Settings of an explain/score run over a cache part.
public struct CacheBatchOptions: Sendable {
    /// Latents processed at once (each client also limits its own requests). With the embedded
    /// model it is always 1: its requests run one at a time, and consecutive calls reuse the KV cache.
    public var concurrency = 4
    /// Sampling (its `quantiles` and `minExamples` are set from the cache, see `CacheBridge`).
    public var sampling = SamplingOptions()
    /// Latents with fewer activating windows in the corpus are skipped (delphi's
    /// `min_examples`, 200).
    public var minActiveWindows = 200
    /// Also write delphi's layout (`explanations/…`, `scores/<scorer>/…`) here.
    public var delphiRun: DelphiRun?
    /// Scoring: use only explanations by this model (nil: the newest usable one).
    public var explanationModel: String?
    /// Scoring: these explanations (by latent) instead of the cache's; a latent without one is scored
    /// against the cache's as usual.
    public var explanations: [Int: String] = [:]
    /// Run again on latents that already have a result by the same method and model (the new one is appended;
    /// readers show the newest explanation). Off: such latents are skipped, which makes runs resumable.
    public var redo = false
    public init() {}
}

/// explain / score over a `LatentCachePart`: concurrency-limited, resumable (a latent that
/// already has an explanation, or a score, by the same method and model is skipped), each
/// result appended to the cache's annotation log the moment it exists.
public enum CacheAutoInterp {
    /// Called once per finished latent, in completion order, one call at a time.
    public typealias Progress = @Sendable (BatchProgress) -> Void

    // MARK: Explain

    /// Explains each latent and appends the explanation to the part's annotations.
    public static func explain(part: LatentCachePart, latents: [Int], explainer: any LatentExplainer,
                               options: CacheBatchOptions = CacheBatchOptions(),
                               onRecord: (@Sendable (ExplanationRecord) -> Void)? = nil,
                               progress: Progress? = nil) async -> BatchSummary {
        let method = explainer.methodName
        let model = explainer.modelName
        let hook = CacheBridge.delphiHook(part)
        var options = options
        if explainer.usesEmbeddedModel { options.concurrency = 1 }
        let results = ResultList()
        var summary = await run(part: part, latents: latents, options: options, progress: progress) { [options] latent in
            let annotations = try part.annotations(latent)
            if !options.redo, CacheBridge.hasExplanation(annotations, method: method, model: model) {
                let a = annotations.last { $0.kind == .explanation && $0.method == method && $0.model == model }
                results.add(LatentResult(latent: latent, outcome: .alreadyDone, explanation: a?.text,
                                         parsed: a.map { CacheBridge.isUsableExplanation($0) }))
                return .alreadyDone
            }
            let started = Date()
            let cached = try CacheBridge.examples(part: part, latent: latent)
            guard cached.activeWindowCount >= options.minActiveWindows else {
                results.add(LatentResult(latent: latent, outcome: .skippedTooFewExamples))
                return .tooFew
            }
            let sampled: SampledExamples
            do { sampled = try CacheBridge.sample(cached, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                results.add(LatentResult(latent: latent, outcome: .skippedTooFewExamples))
                return .tooFew
            }
            let record = try await explainer.explain(sampled)
            try part.appendAnnotation(CacheBridge.annotation(record))
            try options.delphiRun?.writeExplanation(record.explanation, hook: hook, latent: latent)
            onRecord?(record)
            var r = LatentResult(latent: latent, outcome: .completed, explanation: record.explanation, parsed: record.parsed,
                                 seconds: Date().timeIntervalSince(started))
            r.activeWindows = cached.activeWindowCount
            r.density = try? part.statistics(latent).densityPerToken
            results.add(r)
            return .explained(parsed: record.parsed)
        }
        summary.results = results.sorted(adding: summary.failures)
        return summary
    }

    // MARK: Score

    /// Scores each latent against its newest usable explanation in the cache and appends the
    /// score. A latent whose requests failed is not stored (a resumed run retries it); one with
    /// unparsable batches is stored with those predictions null and the reasons in `raw`.
    public static func score(part: LatentCachePart, latents: [Int], scorer: any LatentScorer,
                             options: CacheBatchOptions = CacheBatchOptions(),
                             onRecord: (@Sendable (ScoreRecord) -> Void)? = nil,
                             progress: Progress? = nil) async -> BatchSummary {
        let method = scorer.methodName
        let model = scorerModel(scorer)
        let hook = CacheBridge.delphiHook(part)
        var options = options
        if usesEmbeddedModel(scorer) { options.concurrency = 1 }
        let results = ResultList()
        var summary = await run(part: part, latents: latents, options: options, progress: progress) { [options] latent in
            let annotations = try part.annotations(latent)
            let current = options.explanations[latent]
                ?? CacheBridge.newestExplanation(annotations, model: options.explanationModel)?.text
            if !options.redo, let done = CacheBridge.existingScore(annotations, method: method, model: model, explaining: current) {
                let samples = CacheBridge.scoredSamples(done)
                results.add(LatentResult(latent: latent, outcome: .alreadyDone, explanation: done.explanation,
                                         metrics: ClassifierMetrics(samples: samples)))
                return .alreadyScored(samples)
            }
            let started = Date()
            let cached = try CacheBridge.examples(part: part, latent: latent)
            guard cached.activeWindowCount >= options.minActiveWindows else {
                results.add(LatentResult(latent: latent, outcome: .skippedTooFewExamples))
                return .tooFew
            }
            guard let explanation = current else {
                let by = options.explanationModel.map { " by \($0)" } ?? ""
                throw BatchError("no usable explanation\(by) in the cache; run `featurescope explain` first")
            }
            let sampled: SampledExamples
            do { sampled = try CacheBridge.sample(cached, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                results.add(LatentResult(latent: latent, outcome: .skippedTooFewExamples))
                return .tooFew
            }
            let record = try await scorer.score(sampled, explanation: explanation)
            if record.requestFailures > 0 {
                throw BatchError("\(record.requestFailures) request(s) failed, not stored: " + (record.batchFailures.first ?? ""))
            }
            try part.appendAnnotation(CacheBridge.annotation(record))
            try options.delphiRun?.writeClassifierScores(record.samples, scorer: method, hook: hook, latent: latent)
            onRecord?(record)
            var r = LatentResult(latent: latent, outcome: .completed, explanation: explanation, metrics: record.metrics,
                                 seconds: Date().timeIntervalSince(started))
            r.activeWindows = cached.activeWindowCount
            r.density = try? part.statistics(latent).densityPerToken
            results.add(r)
            return .scored(record.samples)
        }
        summary.results = results.sorted(adding: summary.failures)
        return summary
    }

    /// The model a scorer records (the client's, or the surprisal scorer's).
    public static func scorerModel(_ scorer: any LatentScorer) -> String {
        switch scorer {
        case let c as ClassifierScorer: return c.client.modelName
        case let s as SurprisalScorer: return s.modelName
        case let e as EmbeddingScorer: return e.embedder.modelName
        case let s as SimulationScorer: return s.client.modelName
        case let i as InterventionScorer: return i.judge.modelName
        default: return "unknown"
        }
    }

    /// Whether the scorer runs on the embedded model, whose requests are serial anyway: one
    /// latent at a time keeps each batch's calls consecutive, so they extend one prompt and
    /// reuse its KV cache (interleaved latents would force a full prompt pass per call).
    static func usesEmbeddedModel(_ scorer: any LatentScorer) -> Bool {
        switch scorer {
        case let c as ClassifierScorer: return c.client is EmbeddedLLMClient
        case let s as SurprisalScorer: return s.scorer is EmbeddedLLMClient
        case let e as EmbeddingScorer: return e.embedder is EmbeddedTextEmbedder
        case let s as SimulationScorer: return s.client is EmbeddedLLMClient
        // The subject model steers in process whatever the judge is.
        case is InterventionScorer: return true
        default: return false
        }
    }

    // MARK: - Machinery

    struct BatchError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    typealias Step = AutoInterpBatch.Step

    /// Results collected from concurrent latents.
    final class ResultList: @unchecked Sendable {
        // @unchecked: `items` is only touched while holding `lock`.
        private let lock = NSLock()
        private var items: [LatentResult] = []
        func add(_ r: LatentResult) { lock.withLock { items.append(r) } }
        /// The results plus one per failure, by latent.
        func sorted(adding failures: [BatchFailure]) -> [LatentResult] {
            let all = lock.withLock { items } + failures.map { LatentResult(latent: $0.latent, outcome: .failed, error: $0.reason) }
            return all.sorted { $0.latent < $1.latent }
        }
    }

    private static func run(part: LatentCachePart, latents: [Int], options: CacheBatchOptions, progress: Progress?,
                            work: @escaping @Sendable (Int) async throws -> Step) async -> BatchSummary {
        let hook = CacheBridge.delphiHook(part)
        return await AutoInterpBatch.runAll(latents.map { LatentReference(hook: hook, latent: $0) },
                                            concurrency: options.concurrency, progress: progress) { try await work($0.latent) }
    }
}
