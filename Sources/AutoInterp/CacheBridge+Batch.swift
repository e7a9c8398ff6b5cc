import Foundation
import LatentCache

/// Settings of an explain/score run over a cache part.
public struct CacheBatchOptions: Sendable {
    /// Latents processed at once (each client also limits its own requests; the embedded
    /// model runs one request at a time whatever this says).
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
    public static func explain(part: LatentCachePart, latents: [Int], explainer: Explainer,
                               options: CacheBatchOptions = CacheBatchOptions(),
                               onRecord: (@Sendable (ExplanationRecord) -> Void)? = nil,
                               progress: Progress? = nil) async -> BatchSummary {
        let method = explainer.options.variant.rawValue
        let model = explainer.client.modelName
        let hook = CacheBridge.delphiHook(part)
        return await run(part: part, latents: latents, options: options, progress: progress) { latent in
            if CacheBridge.hasExplanation(try part.annotations(latent), method: method, model: model) {
                return .alreadyDone
            }
            let cached = try CacheBridge.examples(part: part, latent: latent)
            guard cached.activeWindowCount >= options.minActiveWindows else { return .tooFew }
            let sampled: SampledExamples
            do { sampled = try CacheBridge.sample(cached, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                return .tooFew
            }
            let record = try await explainer.explain(sampled)
            try part.appendAnnotation(CacheBridge.annotation(record))
            try options.delphiRun?.writeExplanation(record.explanation, hook: hook, latent: latent)
            onRecord?(record)
            return .explained(parsed: record.parsed)
        }
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
        return await run(part: part, latents: latents, options: options, progress: progress) { latent in
            let annotations = try part.annotations(latent)
            if let done = CacheBridge.existingScore(annotations, method: method, model: model) {
                return .alreadyScored(CacheBridge.scoredSamples(done))
            }
            let cached = try CacheBridge.examples(part: part, latent: latent)
            guard cached.activeWindowCount >= options.minActiveWindows else { return .tooFew }
            guard let explanation = CacheBridge.newestExplanation(annotations, model: options.explanationModel)?.text else {
                let by = options.explanationModel.map { " by \($0)" } ?? ""
                throw BatchError("no usable explanation\(by) in the cache; run `featurescope explain` first")
            }
            let sampled: SampledExamples
            do { sampled = try CacheBridge.sample(cached, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                return .tooFew
            }
            let record = try await scorer.score(sampled, explanation: explanation)
            if record.requestFailures > 0 {
                throw BatchError("\(record.requestFailures) request(s) failed, not stored: " + (record.batchFailures.first ?? ""))
            }
            try part.appendAnnotation(CacheBridge.annotation(record))
            try options.delphiRun?.writeClassifierScores(record.samples, scorer: method, hook: hook, latent: latent)
            onRecord?(record)
            return .scored(record.samples)
        }
    }

    /// The model a scorer records (the client's, or the surprisal scorer's).
    public static func scorerModel(_ scorer: any LatentScorer) -> String {
        switch scorer {
        case let c as ClassifierScorer: return c.client.modelName
        case let s as SurprisalScorer: return s.modelName
        default: return "unknown"
        }
    }

    // MARK: - Machinery

    struct BatchError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    enum Step: Sendable {
        case alreadyDone
        case alreadyScored([ScoredSample])
        case tooFew
        case explained(parsed: Bool)
        case scored([ScoredSample])
    }

    private static func run(part: LatentCachePart, latents: [Int], options: CacheBatchOptions, progress: Progress?,
                            work: @escaping @Sendable (Int) async throws -> Step) async -> BatchSummary {
        var summary = BatchSummary()
        summary.total = latents.count
        var pooled: [ScoredSample] = []
        var scoredAny = false
        var done = 0
        let hook = CacheBridge.delphiHook(part)
        await withTaskGroup(of: (Int, Result<Step, Error>).self) { group in
            var next = 0
            func launch() {
                guard next < latents.count else { return }
                let latent = latents[next]
                next += 1
                group.addTask {
                    do { return (latent, .success(try await work(latent))) } catch { return (latent, .failure(error)) }
                }
            }
            for _ in 0..<max(1, options.concurrency) { launch() }
            while let (latent, result) = await group.next() {
                if Task.isCancelled { group.cancelAll() } else { launch() }
                done += 1
                let outcome: LatentOutcome
                switch result {
                case .success(.alreadyDone):
                    outcome = .alreadyDone; summary.alreadyDone += 1
                case .success(.alreadyScored(let s)):
                    outcome = .alreadyDone; summary.alreadyDone += 1
                    pooled += s; scoredAny = true
                case .success(.tooFew):
                    outcome = .skippedTooFewExamples; summary.skippedTooFewExamples += 1
                case .success(.explained(let parsed)):
                    outcome = .completed; summary.completed += 1
                    if !parsed { summary.unparsedExplanations += 1 }
                case .success(.scored(let s)):
                    outcome = .completed; summary.completed += 1
                    pooled += s; scoredAny = true
                case .failure(let error):
                    outcome = .failed
                    summary.failures.append(BatchFailure(hook: hook, latent: latent, reason: String(describing: error)))
                }
                progress?(BatchProgress(done: done, total: latents.count, latent: LatentReference(hook: hook, latent: latent),
                                        outcome: outcome))
            }
        }
        if scoredAny { summary.pooled = ClassifierMetrics(samples: pooled) }
        summary.failures.sort { $0.latent < $1.latent }
        return summary
    }
}
