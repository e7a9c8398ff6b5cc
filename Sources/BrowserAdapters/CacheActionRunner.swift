import AutoInterp
import Foundation
import LatentCache
import ModelEngine
import Steering
import TerminalUI

/// The browser's `e` (explain) and `s` (score: detection, then fuzz; or embedding, simulation or intervention,
/// chosen with `S`) on the selected latent, with delphi's methods (AutoInterp) and the results appended to the
/// cache's annotations.
///
/// The explanation streams into the detail view token by token (embedded model); scoring reports each
/// finished batch, with its samples for view 3; cancelling (Esc) keeps every result already stored (a finished
/// detection score stays when fuzz is stopped) and stores the stopped scorer's finished batches as
/// `<method>-partial`. A pristine or read-only cache stores into the per-user overlay (LatentCache).
/// Every scorer runs through the same clients as `featurescope score`, so the embedded model's KV prefix forks
/// (system prompt and demos shared by every batch) serve the browser too.
///
/// The LLM: the embedded models by default (`EmbeddedDefaults`: explainer, scorer, examples, prompt; with no explainer
/// model named, `e` writes the counted pattern, `PatternExplainer`); an OpenAI-compatible endpoint when
/// `FEATURESCOPE_LLM_BASE_URL` / `FEATURESCOPE_LLM_MODEL` / `FEATURESCOPE_LLM_API_KEY_ENV` (or the
/// config file) say so (`LLMProviderSettings`). Clients are built on first use and kept.
public final class CacheActionRunner: ActionRunner, @unchecked Sendable {
    public let data: CacheBrowserData
    let environment: [String: String]
    /// Sampling (quantiles follow the cache).
    public var sampling = SamplingOptions()
    /// Latents with fewer activating windows in the corpus are refused (delphi's `min_examples` is
    /// 200; the browser lets a person try smaller ones, with a note).
    public var minActiveWindows = 10

    private let lock = NSLock()
    private var explainClient: (any LLMClient)?
    private var scoreClient: (any LLMClient)?
    private let jobs = AsyncSemaphore(limit: 1)

    /// Optional clients replace the configured ones (tests).
    /// Settings that override the environment and the config file (`browse --embedded-model`).
    let flags: LLMProviderSettings

    public init(data: CacheBrowserData, environment: [String: String] = ProcessInfo.processInfo.environment,
                flags: LLMProviderSettings = LLMProviderSettings(),
                explainClient: (any LLMClient)? = nil, scoreClient: (any LLMClient)? = nil) {
        self.flags = flags
        self.data = data
        self.environment = environment
        self.explainClient = explainClient
        self.scoreClient = scoreClient
    }

    func settings() throws -> LLMProviderSettings {
        do { return try LLMProviderSettings.resolve(flags: flags, environment: environment) } catch {
            throw BrowserError("LLM settings: \(error)")
        }
    }

    func client(forExplaining: Bool, progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> any LLMClient {
        if let c = lock.withLock({ forExplaining ? explainClient : scoreClient }) { return c }
        let s = try settings()
        let c: any LLMClient
        do {
            c = try s.makeClient(environment: environment, seed: sampling.seed,
                                 embeddedReplyPrefix: forExplaining ? "[EXPLANATION]:" : nil, forScoring: !forExplaining,
                                 onFetch: { progress($0) })
        } catch { throw BrowserError("LLM client (\(s.effectiveProvider.rawValue)): \(error)") }
        lock.withLock { if forExplaining { explainClient = c } else { scoreClient = c } }
        return c
    }

    func sampled(part: LatentCachePart, latent: Int, options: SamplingOptions? = nil) throws -> SampledExamples {
        let sampling = options ?? self.sampling
        let cached: CachedLatentExamples
        do { cached = try CacheBridge.examples(part: part, latent: latent) } catch { throw BrowserError("latent \(latent): \(error)") }
        guard cached.activeWindowCount >= minActiveWindows else {
            throw BrowserError("latent \(latent) is active in only \(cached.activeWindowCount) windows (need \(minActiveWindows))")
        }
        do { return try CacheBridge.sample(cached, options: sampling) } catch { throw BrowserError("latent \(latent): \(error)") }
    }

    public func run(_ action: BrowserAction, part p: Int, latent: Int,
                    progress: @escaping @Sendable (String) -> Void) async throws -> String {
        try await run(action, part: p, latent: latent, progress: progress, partial: { _ in })
    }

    public func run(_ action: BrowserAction, part p: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                    partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        guard p >= 0, p < data.cache.parts.count else { throw BrowserError("no part \(p)") }
        let part = data.cache.parts[p]
        guard latent >= 0, latent < part.latentCount else { throw BrowserError("no latent \(latent)") }
        // One job at a time: the embedded model runs one request at a time anyway.
        return try await jobs.withSlot { [self] in
            switch action {
            case .explain: return try await explain(part: part, partIndex: p, latent: latent, progress: progress, partial: partial)
            case .score, .scoreEmbedding, .scoreSimulation, .scoreIntervention:
                return try await score(action, part: part, partIndex: p, latent: latent, progress: progress, partial: partial)
            }
        }
    }

    func explain(part: LatentCachePart, partIndex: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                 partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        if lock.withLock({ explainClient == nil }), EmbeddedDefaults.explainsWithPattern(try settings(), environment: environment) {
            return try await explainWithPattern(part: part, partIndex: partIndex, latent: latent, progress: progress,
                                                partial: partial)
        }
        progress("latent \(latent): loading the explainer")
        let client = try client(forExplaining: true, progress: progress)
        progress("latent \(latent): sampling examples")
        var options = sampling
        if client is EmbeddedLLMClient, options.explainerSelection == nil {
            options.explainerSelection = EmbeddedDefaults.exampleSelection
            options.explainerExampleCount = EmbeddedDefaults.exampleCount
        }
        let examples = try sampled(part: part, latent: latent, options: options)
        progress("latent \(latent): asking \(client.modelName)")
        let record: ExplanationRecord
        do {
            record = try await Explainer(client: client, options: explainerOptions(client)).explain(examples) { text in
                partial(.explanation(Explainer.parseExplanation(text) ?? text))
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch { throw BrowserError("explainer (\(client.modelName)): \(error)") }
        guard record.parsed else {
            let reply = record.rawReply.prefix(80).replacingOccurrences(of: "\n", with: " ")
            throw BrowserError("the explainer's reply had no [EXPLANATION]: line (not stored): \(reply)")
        }
        do { try part.appendAnnotation(CacheBridge.annotation(record)) } catch { throw BrowserError("could not store the explanation: \(error)") }
        data.forget(part: partIndex, latent: latent)
        return "latent \(latent) explained by \(client.modelName): \(CacheBrowserData.firstLine(record.explanation))"
    }

    /// `e` with no LLM named: the counted pattern of the latent's 20 strongest windows (`PatternExplainer`), stored
    /// like an LLM's explanation.
    func explainWithPattern(part: LatentCachePart, partIndex: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                            partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        progress("latent \(latent): counting the pattern of its strongest windows")
        var options = sampling
        if options.explainerSelection == nil {
            options.explainerSelection = .strongest
            options.explainerExampleCount = PatternExplainer.exampleCount
        }
        let record = try await PatternExplainer().explain(try sampled(part: part, latent: latent, options: options))
        partial(.explanation(record.explanation))
        do { try part.appendAnnotation(CacheBridge.annotation(record)) } catch { throw BrowserError("could not store the explanation: \(error)") }
        data.forget(part: partIndex, latent: latent)
        return "latent \(latent) explained by its counted pattern (no LLM; name one with --embedded-model): "
            + CacheBrowserData.firstLine(record.explanation)
    }

    /// The explainer's options: replies of the embedded model are one primed line, so 48 tokens suffice.
    func explainerOptions(_ client: any LLMClient) -> Explainer.Options {
        client is EmbeddedLLMClient ? EmbeddedDefaults.explainerOptions() : Explainer.Options()
    }

    /// One scorer of a browser score job, with a per-batch callback.
    struct JobScorer: Sendable {
        typealias OnBatch = @Sendable (_ done: Int, _ total: Int, _ samples: [ScoredSample]) -> Void
        var name: String
        /// "batch" for batched judges, "example" for the simulator, nil when the scorer is one request.
        var unit: String?
        var batchSize: Int
        var run: @Sendable (SampledExamples, String, @escaping OnBatch) async throws -> ScoreRecord
    }

    /// The scorers of a job: detection then fuzz for `s`, or one of the others. Same settings as `score --scorer`.
    func scorers(for action: BrowserAction, client: any LLMClient, partIndex: Int) throws -> [JobScorer] {
        var o = ClassifierScorer.Options()
        o.seed = sampling.seed
        switch action {
        case .explain: return []
        case .score:
            if client is EmbeddedLLMClient {
                o.batchSize = EmbeddedDefaults.scorerBatchSize
                o.calibration = EmbeddedDefaults.scorerCalibration
                o.prompt = EmbeddedDefaults.scorerPrompt
            }
            return [ClassifierScorer.Method.detection, .fuzz].map { m in
                let c = ClassifierScorer(method: m, client: client, options: o)
                return JobScorer(name: m.rawValue, unit: "batch", batchSize: c.effectiveBatchSize) { x, e, cb in try await c.score(x, explanation: e, onBatch: cb) }
            }
        case .scoreEmbedding:
            let embedder: any TextEmbedder
            if let embedded = client as? EmbeddedLLMClient {
                do { embedder = try EmbeddedTextEmbedder(client: embedded) } catch { throw BrowserError("embedding: \(error)") }
            } else if let remote = client as? OpenAIClient {
                embedder = remote
            } else {
                throw BrowserError("embedding scoring needs the embedded model or an OpenAI-compatible endpoint")
            }
            let e = EmbeddingScorer(embedder: embedder)
            return [JobScorer(name: e.methodName, unit: nil, batchSize: 1) { x, t, _ in try await e.score(x, explanation: t) }]
        case .scoreSimulation:
            let sim = SimulationScorer(client: client)
            return [JobScorer(name: sim.methodName, unit: "example", batchSize: 1) { x, e, cb in try await sim.score(x, explanation: e, onSample: cb) }]
        case .scoreIntervention:
            let steerer: Steerer
            let tokenizer: Tokenizer
            do {
                let (model, tok) = try data.engine.loadModel()
                steerer = try Steerer(model: model, sae: data.engine.sae(part: partIndex))
                tokenizer = tok
            } catch { throw BrowserError("intervention scoring needs the subject model and this part's SAE: \(error)") }
            var i = InterventionScorer(steerer: steerer, tokenizer: tokenizer, judge: client)
            i.options.seed = sampling.seed
            let scorer = i
            return [JobScorer(name: scorer.methodName, unit: "batch", batchSize: scorer.options.batchSize) { x, e, cb in
                try await scorer.score(x, explanation: e, onBatch: cb)
            }]
        }
    }

    /// The latest samples of a running scorer (written from its callback, read when it is stopped).
    final class LiveSamples: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (done: Int, total: Int, samples: [ScoredSample]) = (0, 0, [])
        func set(_ done: Int, _ total: Int, _ samples: [ScoredSample]) { lock.withLock { value = (done, total, samples) } }
        var current: (done: Int, total: Int, samples: [ScoredSample]) { lock.withLock { value } }
    }

    /// A record of the samples judged so far (for view 3 while the job runs, and what a stopped job keeps).
    static func record(_ samples: [ScoredSample], of sampled: SampledExamples, scorer: String, client: any LLMClient,
                       explanation: String) -> ScoreRecord {
        var r = ScoreRecord(latent: sampled.latent, hook: sampled.hook,
                            provenance: Provenance(method: scorer, model: client.modelName, endpoint: client.endpointName,
                                                   promptVersion: "partial"),
                            explanation: explanation, samples: samples)
        if scorer == "simulation" { r.simulation = SimulationScores(samples: samples, maxActivation: sampled.maxActivation) }
        return r
    }

    func score(_ action: BrowserAction, part: LatentCachePart, partIndex: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
               partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        let annotations: [Annotation]
        do { annotations = try part.annotations(latent) } catch { throw BrowserError("latent \(latent): \(error)") }
        guard let explanation = CacheBridge.newestExplanation(annotations)?.text else {
            throw BrowserError("latent \(latent) has no usable explanation to score (press e first)")
        }
        progress("latent \(latent): sampling examples")
        let examples = try sampled(part: part, latent: latent)
        let client = try client(forExplaining: false, progress: progress)
        if action == .scoreIntervention { progress("latent \(latent): loading the subject model and SAE") }
        var results: [String] = []
        for scorer in try scorers(for: action, client: client, partIndex: partIndex) {
            progress("latent \(latent): \(scorer.name) with \(client.modelName)")
            let record: ScoreRecord
            let finished = results
            let live = LiveSamples()
            let name = scorer.name, unit = scorer.unit ?? "request", size = max(1, scorer.batchSize)
            partial(.samples(scorer: name, []))
            do {
                record = try await scorer.run(examples, explanation) { done, total, samples in
                    // Finished batches only: the samples judged (or simulated) so far.
                    let shown = Array(samples.prefix(min(samples.count, done * size)))
                    live.set(done, total, shown)
                    let judged = shown.filter { $0.prediction != nil }
                    let correct = judged.filter { $0.correct == true }.count
                    let line = "\(name): \(unit) \(done)/\(total)" + (judged.isEmpty ? "" : " · \(correct)/\(judged.count) correct so far")
                    progress("latent \(latent): " + line)
                    partial(.scores(finished + [line]))
                    let a = CacheBridge.annotation(Self.record(shown, of: examples, scorer: name, client: client, explanation: explanation))
                    partial(.samples(scorer: name, CacheBrowserData.browserSamples(a, maxActivation: examples.maxActivation)))
                }
            } catch is CancellationError {
                keepStopped(live, scorer: name, of: examples, client: client, explanation: explanation, part: part, partIndex: partIndex)
                throw CancellationError()
            } catch {
                throw BrowserError("\(name) (\(client.modelName)): \(error)")
            }
            if record.requestFailures > 0 {
                throw BrowserError("\(name): \(record.requestFailures) request(s) failed, not stored: \(record.batchFailures.first ?? "")")
            }
            let annotation = CacheBridge.annotation(record)
            do { try part.appendAnnotation(annotation) } catch { throw BrowserError("could not store the \(name) score: \(error)") }
            data.forget(part: partIndex, latent: latent)
            partial(.samples(scorer: name, CacheBrowserData.browserSamples(annotation, maxActivation: examples.maxActivation)))
            var line = String(format: "%@ %.2f", name, annotation.metrics?.score ?? .nan)
            if !record.batchFailures.isEmpty { line += " (\(record.batchFailures.count) batch(es) unparsed)" }
            results.append(line)
            partial(.scores(results))
        }
        return "latent \(latent) scored by \(client.modelName): " + results.joined(separator: ", ")
    }

    /// A stopped scorer's finished batches are stored as `<method>-partial` (view 3 and the detail show them, marked;
    /// list columns, best scores and resuming `score` ignore them). Nothing is stored when no batch had finished.
    func keepStopped(_ live: LiveSamples, scorer: String, of sampled: SampledExamples, client: any LLMClient, explanation: String,
                     part: LatentCachePart, partIndex: Int) {
        let (done, total, samples) = live.current
        guard done > 0, done < total, samples.contains(where: { $0.prediction != nil || $0.simulated != nil }) else { return }
        var a = CacheBridge.annotation(Self.record(samples, of: sampled, scorer: scorer, client: client, explanation: explanation))
        a.method = scorer + CacheBrowserData.partialSuffix
        a.extra = (a.extra ?? [:]).merging([CacheBrowserData.partialKey: "\(done)/\(total)"]) { $1 }
        if (try? part.appendAnnotation(a)) != nil { data.forget(part: partIndex, latent: sampled.latent) }
    }
}
