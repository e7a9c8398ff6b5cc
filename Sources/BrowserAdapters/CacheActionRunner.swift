import AutoInterp
import Foundation
import LatentCache
import TerminalUI

/// The browser's `e` (explain) and `s` (score: detection, then fuzz) on the selected latent, with
/// delphi's methods (AutoInterp) and the results appended to the cache's annotations.
///
/// The explanation streams into the detail view token by token (embedded model); scoring reports each
/// finished batch; cancelling (Esc) keeps every result already stored (a finished detection score stays
/// when fuzz is stopped). A pristine or read-only cache stores into the per-user overlay (LatentCache).
///
/// The LLM: the embedded models by default (`EmbeddedDefaults`: explainer, scorer, examples, prompt); an OpenAI-compatible endpoint when
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
    public init(data: CacheBrowserData, environment: [String: String] = ProcessInfo.processInfo.environment,
                explainClient: (any LLMClient)? = nil, scoreClient: (any LLMClient)? = nil) {
        self.data = data
        self.environment = environment
        self.explainClient = explainClient
        self.scoreClient = scoreClient
    }

    func settings() throws -> LLMProviderSettings {
        do { return try LLMProviderSettings.resolve(flags: LLMProviderSettings(), environment: environment) } catch {
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
            case .score: return try await score(part: part, partIndex: p, latent: latent, progress: progress, partial: partial)
            }
        }
    }

    func explain(part: LatentCachePart, partIndex: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                 partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
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

    /// The explainer's options: replies of the embedded model are one primed line, so 48 tokens suffice.
    func explainerOptions(_ client: any LLMClient) -> Explainer.Options {
        client is EmbeddedLLMClient ? EmbeddedDefaults.explainerOptions() : Explainer.Options()
    }

    func score(part: LatentCachePart, partIndex: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
               partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        let annotations: [Annotation]
        do { annotations = try part.annotations(latent) } catch { throw BrowserError("latent \(latent): \(error)") }
        guard let explanation = CacheBridge.newestExplanation(annotations)?.text else {
            throw BrowserError("latent \(latent) has no usable explanation to score (press e first)")
        }
        progress("latent \(latent): sampling examples")
        let examples = try sampled(part: part, latent: latent)
        let client = try client(forExplaining: false, progress: progress)
        var results: [String] = []
        for method in [ClassifierScorer.Method.detection, .fuzz] {
            progress("latent \(latent): \(method.rawValue) with \(client.modelName)")
            let record: ScoreRecord
            let finished = results
            do {
                var o = ClassifierScorer.Options()
                if client is EmbeddedLLMClient { o.batchSize = EmbeddedDefaults.scorerBatchSize }
                record = try await ClassifierScorer(method: method, client: client, options: o).score(examples, explanation: explanation) { done, total, samples in
                    let judged = samples.filter { $0.prediction != nil }
                    let correct = judged.filter { $0.correct == true }.count
                    partial(.scores(finished + ["\(method.rawValue): batch \(done)/\(total) · \(correct)/\(judged.count) correct so far"]))
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw BrowserError("\(method.rawValue) (\(client.modelName)): \(error)")
            }
            if record.requestFailures > 0 {
                throw BrowserError("\(method.rawValue): \(record.requestFailures) request(s) failed, not stored: \(record.batchFailures.first ?? "")")
            }
            do { try part.appendAnnotation(CacheBridge.annotation(record)) } catch { throw BrowserError("could not store the \(method.rawValue) score: \(error)") }
            data.forget(part: partIndex, latent: latent)
            var line = String(format: "%@ %.2f", method.rawValue, record.metrics.balancedAccuracy)
            if !record.batchFailures.isEmpty { line += " (\(record.batchFailures.count) batch(es) unparsed)" }
            results.append(line)
            partial(.scores(results))
        }
        return "latent \(latent) scored by \(client.modelName): " + results.joined(separator: ", ")
    }
}
