import Foundation
import FeaturescopeCore

/// Anything that scores one latent's sampled examples against an explanation.
public protocol LatentScorer: Sendable {
    /// Folder name under `scores/` (delphi: `detection`, `fuzz`, …).
    var methodName: String { get }
    func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord
}

extension ClassifierScorer: LatentScorer {
    public var methodName: String { method.rawValue }
}

extension SurprisalScorer: LatentScorer {
    public var methodName: String { "surprisal" }
}

/// Where one latent is found: its hook and index.
public struct LatentReference: Codable, Sendable, Hashable {
    public var hook: String
    public var latent: Int
    public init(hook: String, latent: Int) {
        self.hook = hook
        self.latent = latent
    }
}

/// Settings of a batch run.
public struct BatchOptions: Sendable {
    /// Latents processed at once (each client also limits its own requests).
    public var concurrency = 4
    public var sampling = SamplingOptions()
    /// Also write the full records (provenance, raw reply, shown texts) as JSON under
    /// `<run>/records/…` next to delphi's files.
    public var writeRecords = true
    public init() {}
}

/// What happened to one latent.
public enum LatentOutcome: String, Codable, Sendable {
    /// A result was produced and written.
    case completed
    /// Its result file already existed (resumed run).
    case alreadyDone
    /// Too few activating windows (no file, as delphi).
    case skippedTooFewExamples
    /// Failed; see `BatchSummary.failures`.
    case failed
}

/// A progress event: called once per latent, in completion order, from one task at a time.
public struct BatchProgress: Sendable {
    public var done: Int
    public var total: Int
    public var latent: LatentReference
    public var outcome: LatentOutcome
}

/// One latent that failed, and why.
public struct BatchFailure: Codable, Sendable, Equatable {
    public var hook: String
    public var latent: Int
    public var reason: String
}

/// The result of a batch run.
public struct BatchSummary: Codable, Sendable {
    public var total = 0
    public var completed = 0
    public var alreadyDone = 0
    public var skippedTooFewExamples = 0
    public var failures: [BatchFailure] = []
    /// Explanations whose reply had no `[EXPLANATION]:` (written as delphi's failure string).
    public var unparsedExplanations = 0
    /// Micro-averaged metrics over every latent scored now or found already scored.
    public var pooled: ClassifierMetrics?
    /// Every latent handled, with its result (cache runs; nil for delphi-folder runs).
    public var results: [LatentResult]?
}

/// One latent of a cache explain/score run and what it produced (`explain --json`, `score --json`).
public struct LatentResult: Codable, Sendable, Equatable {
    public var latent: Int
    /// What happened to it.
    public var outcome: LatentOutcome
    /// The explanation produced (explain), or the one scored (score).
    public var explanation: String?
    /// Whether the explainer's reply held an `[EXPLANATION]:` line (explain).
    public var parsed: Bool?
    /// The score's metrics: balanced accuracy, confusion counts, per-quantile accuracy (score).
    public var metrics: ClassifierMetrics?
    /// Seconds this latent took (new results only).
    public var seconds: Double?
    /// Why it failed.
    public var error: String?
    /// Activating windows of the latent in the corpus, and its firing density per token (cache runs).
    public var activeWindows: Int?
    public var density: Double?

    public init(latent: Int, outcome: LatentOutcome, explanation: String? = nil, parsed: Bool? = nil,
                metrics: ClassifierMetrics? = nil, seconds: Double? = nil, error: String? = nil) {
        self.latent = latent; self.outcome = outcome; self.explanation = explanation; self.parsed = parsed
        self.metrics = metrics; self.seconds = seconds; self.error = error
    }
}

/// Library entry points for long explain/score jobs: concurrency-limited, resumable (a latent
/// whose delphi file exists is skipped), each result written atomically as soon as it exists.
public enum AutoInterpBatch {
    /// Loads the windows of one latent (from a cache, a delphi split file, …).
    public typealias Loader = @Sendable (LatentReference) async throws -> LatentExamples

    // MARK: Explain

    /// Explains each latent and writes `explanations/<hook>_latent<i>.txt`.
    public static func explain(_ latents: [LatentReference], load: @escaping Loader, explainer: Explainer,
                               run: DelphiRun, options: BatchOptions = BatchOptions(),
                               onRecord: (@Sendable (ExplanationRecord) -> Void)? = nil,
                               progress: (@Sendable (BatchProgress) -> Void)? = nil) async -> BatchSummary {
        await runAll(latents, concurrency: options.concurrency, progress: progress) { ref -> Step in
            let path = try run.explanationPath(hook: ref.hook, latent: ref.latent)
            if FileManager.default.fileExists(atPath: path) { return .alreadyDone }
            let examples = try await load(ref)
            let sampled: SampledExamples
            do { sampled = try ExampleSampler.sample(examples, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                return .tooFew
            }
            let record = try await explainer.explain(sampled)
            try run.writeExplanation(record.explanation, hook: ref.hook, latent: ref.latent)
            if options.writeRecords {
                try writeRecord(record, to: run.root + "/records/explanations/" + DelphiRun.stem(hook: ref.hook, latent: ref.latent) + ".json")
            }
            onRecord?(record)
            return .explained(parsed: record.parsed)
        }
    }

    /// Convenience: explain latents already in memory.
    public static func explain(_ latents: [LatentExamples], explainer: Explainer, run: DelphiRun,
                               options: BatchOptions = BatchOptions(),
                               onRecord: (@Sendable (ExplanationRecord) -> Void)? = nil,
                               progress: (@Sendable (BatchProgress) -> Void)? = nil) async -> BatchSummary {
        let (refs, load) = inMemory(latents)
        return await explain(refs, load: load, explainer: explainer, run: run, options: options,
                             onRecord: onRecord, progress: progress)
    }

    // MARK: Score

    /// Scores each latent against its explanation from `explanations/` and writes
    /// `scores/<method>/<hook>_latent<i>.txt`. A latent whose requests failed is not written.
    public static func score(_ latents: [LatentReference], load: @escaping Loader, scorer: any LatentScorer,
                             run: DelphiRun, options: BatchOptions = BatchOptions(),
                             onRecord: (@Sendable (ScoreRecord) -> Void)? = nil,
                             progress: (@Sendable (BatchProgress) -> Void)? = nil) async -> BatchSummary {
        await runAll(latents, concurrency: options.concurrency, progress: progress) { ref -> Step in
            let path = try run.scorePath(scorer: scorer.methodName, hook: ref.hook, latent: ref.latent)
            if FileManager.default.fileExists(atPath: path) {
                let existing = try DelphiRun.readClassifierScores(at: path).map(\.scoredSample)
                return .alreadyScored(existing)
            }
            let explanation = try run.readExplanation(hook: ref.hook, latent: ref.latent)
            let examples = try await load(ref)
            let sampled: SampledExamples
            do { sampled = try ExampleSampler.sample(examples, options: options.sampling) } catch SamplingError.tooFewActivatingWindows {
                return .tooFew  // delphi wrote no explanation for it either
            }
            guard let explanation else {
                throw BatchError("no explanation file \(try run.explanationPath(hook: ref.hook, latent: ref.latent))")
            }
            let record = try await scorer.score(sampled, explanation: explanation)
            if record.requestFailures > 0 {
                throw BatchError("\(record.requestFailures) request(s) failed, not written: "
                                 + (record.batchFailures.first ?? ""))
            }
            try run.writeClassifierScores(record.samples, scorer: scorer.methodName, hook: ref.hook, latent: ref.latent)
            if options.writeRecords {
                try writeRecord(record, to: run.root + "/records/scores/\(scorer.methodName)/"
                                + DelphiRun.stem(hook: ref.hook, latent: ref.latent) + ".json")
            }
            onRecord?(record)
            return .scored(record.samples)
        }
    }

    /// Convenience: score latents already in memory.
    public static func score(_ latents: [LatentExamples], scorer: any LatentScorer, run: DelphiRun,
                             options: BatchOptions = BatchOptions(),
                             onRecord: (@Sendable (ScoreRecord) -> Void)? = nil,
                             progress: (@Sendable (BatchProgress) -> Void)? = nil) async -> BatchSummary {
        let (refs, load) = inMemory(latents)
        return await score(refs, load: load, scorer: scorer, run: run, options: options,
                           onRecord: onRecord, progress: progress)
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

    private static func inMemory(_ latents: [LatentExamples]) -> ([LatentReference], Loader) {
        var table: [LatentReference: LatentExamples] = [:]
        for l in latents { table[LatentReference(hook: l.hook, latent: l.latent)] = l }
        let frozen = table
        let refs = latents.map { LatentReference(hook: $0.hook, latent: $0.latent) }
        return (refs, { ref in
            guard let l = frozen[ref] else { throw BatchError("latent \(ref.latent) of \(ref.hook) not loaded") }
            return l
        })
    }

    static func writeRecord<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        enc.dateEncodingStrategy = .iso8601
        try AtomicFile.write(SecretRedaction.redact(enc.encode(value)), to: path)
    }

    /// One latent's outcome as a child task returns it.
    struct Finished: Sendable {
        var latent: LatentReference
        var result: Result<Step, Error>
    }

    static func attempt(_ ref: LatentReference, _ work: @Sendable (LatentReference) async throws -> Step) async -> Finished {
        do { return Finished(latent: ref, result: .success(try await work(ref))) } catch {
            return Finished(latent: ref, result: .failure(error))
        }
    }

    /// Runs `work` over `latents` with at most `concurrency` in flight and tallies the outcomes
    /// (the loop shared by the file-based and the cache-based batches).
    static func runAll(_ latents: [LatentReference], concurrency: Int,
                               progress: (@Sendable (BatchProgress) -> Void)?,
                               work: @escaping @Sendable (LatentReference) async throws -> Step) async -> BatchSummary {
        var summary = BatchSummary()
        summary.total = latents.count
        var pooledSamples: [ScoredSample] = []
        var scoredAny = false
        var done = 0
        // Child tasks are added inline (no nested function capturing the group): a release build with a
        // nested `launch()` crashed in the task group's result hand-off after a few latents of `explain`.
        await withTaskGroup(of: Finished.self) { group in
            var next = 0
            while next < min(max(1, concurrency), latents.count) {
                let ref = latents[next]
                next += 1
                group.addTask { await attempt(ref, work) }
            }
            while let finished = await group.next() {
                let ref = finished.latent, result = finished.result
                if Task.isCancelled {
                    group.cancelAll()
                } else if next < latents.count {
                    let nextRef = latents[next]
                    next += 1
                    group.addTask { await attempt(nextRef, work) }
                }
                done += 1
                let outcome: LatentOutcome
                switch result {
                case .success(.alreadyDone):
                    outcome = .alreadyDone; summary.alreadyDone += 1
                case .success(.alreadyScored(let s)):
                    outcome = .alreadyDone; summary.alreadyDone += 1
                    pooledSamples += s; scoredAny = true
                case .success(.tooFew):
                    outcome = .skippedTooFewExamples; summary.skippedTooFewExamples += 1
                case .success(.explained(let parsed)):
                    outcome = .completed; summary.completed += 1
                    if !parsed { summary.unparsedExplanations += 1 }
                case .success(.scored(let s)):
                    outcome = .completed; summary.completed += 1
                    pooledSamples += s; scoredAny = true
                case .failure(let error):
                    outcome = .failed
                    summary.failures.append(BatchFailure(hook: ref.hook, latent: ref.latent, reason: String(describing: error)))
                }
                progress?(BatchProgress(done: done, total: latents.count, latent: ref, outcome: outcome))
            }
        }
        if scoredAny { summary.pooled = ClassifierMetrics(samples: pooledSamples) }
        summary.failures.sort { ($0.hook, $0.latent) < ($1.hook, $1.latent) }
        return summary
    }
}
