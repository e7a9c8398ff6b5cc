import FeaturescopeCore
import Foundation
import LatentCache

/// AutoInterp's `ScoredSample` under a name that does not clash with `LatentCache.AnnotationSample`
/// (for files that import both modules; `AutoInterp.ScoredSample` names the `AutoInterp` enum).
public typealias AutoInterpScoredSample = ScoredSample

/// The examples of one cached latent, with the latent's true count of activating windows.
public struct CachedLatentExamples: Sendable, Equatable {
    /// Quantile samples as activating windows (quantile-major, strongest first; `distance` =
    /// quantile) and the random non-activating windows (`distance` = −1).
    public var examples: LatentExamples
    /// Activating windows of the latent in the whole corpus (delphi's `min_examples` test).
    public var activeWindowCount: Int
    /// Quantiles of the cache (sampling uses the same number).
    public var quantiles: Int
    /// The strongest windows the cache keeps (strongest first; `distance` = 0), for the explainer's
    /// `strongest` and `mixed` example selections.
    public var top: [ActivationWindow] = []
}

/// Moves data between a `LatentCache` and AutoInterp.
///
/// **How delphi's sampling maps onto a cache.** A cache does not keep every activating window
/// of a latent: per quantile slice (⌊active windows / Q⌋ windows, quantile 0 strongest, the
/// weakest remainder dropped — delphi's slices) it keeps `perQuantile` windows drawn uniformly
/// without replacement, plus the top windows and `randomCount` random non-activating windows.
/// The quantile groups therefore come precomputed: `latentExamples` concatenates them
/// (group 0 first), every group has the same size, so `ExampleSampler` with `quantiles` = Q cuts
/// exactly those groups back out and draws train (4) and test (5) examples per quantile from
/// each. A uniform draw from a uniform draw is a uniform draw from the slice, so the examples
/// are distributed as delphi's. With the default `perQuantile` = 10 the 4 + 5 fit disjointly.
/// The top windows are for display only (they would unbalance quantile 0). delphi's
/// `min_examples` = 200 is tested against the latent's true active window count (stored in
/// the record), not against the ≤ Q·perQuantile windows kept, so `SamplingOptions.minExamples`
/// is lowered to Q (one window per quantile) and `CacheBatchOptions.minActiveWindows` carries
/// the real threshold.
public enum CacheBridge {
    /// The hook name used in delphi file names: the part's delphi hookpoint, else its hook.
    public static func delphiHook(_ part: LatentCachePart) -> String {
        part.manifest.spec.delphiHookpoint ?? part.hook
    }

    /// Converts one cache window (display strings as tokens).
    public static func window(_ w: CacheWindow, part: LatentCachePart, distance: Int) -> ActivationWindow {
        ActivationWindow(tokens: w.tokens.map { part.displayString($0) },
                         tokenIDs: w.tokens.map { Int32(clamping: $0) },
                         activations: w.activations, distance: distance)
    }

    /// The examples of `latent` in `part` (reads its index entry and record).
    public static func examples(part: LatentCachePart, latent: Int) throws -> CachedLatentExamples {
        let stats = try part.statistics(latent)
        let record = try part.record(latent)
        return examples(record: record, part: part, maxActivation: stats.maxActivation)
    }

    /// Builds the examples from a record already read. Quantile groups are cut to the size of
    /// the smallest, so `ExampleSampler`'s equal slices line up with them even in a cache
    /// written by another tool.
    public static func examples(record: LatentRecord, part: LatentCachePart, maxActivation: Float) -> CachedLatentExamples {
        let groupSize = record.quantiles.map(\.windows.count).min() ?? 0
        var activating: [ActivationWindow] = []
        for q in record.quantiles {
            for w in q.windows.prefix(groupSize) { activating.append(window(w, part: part, distance: q.quantile)) }
        }
        let negatives = record.random.map { window($0, part: part, distance: -1) }
        let top = record.top.first?.maxActivation ?? 0
        let maxAct = maxActivation.isFinite && maxActivation > 0 ? maxActivation : top
        let ex = LatentExamples(latent: record.latent, hook: delphiHook(part), maxActivation: maxAct,
                                activating: activating, nonActivating: negatives)
        return CachedLatentExamples(examples: ex, activeWindowCount: record.activeWindowCount,
                                    quantiles: max(1, record.quantiles.count),
                                    top: record.top.map { window($0, part: part, distance: 0) })
    }

    /// Samples train/test/negative examples from cached examples (see the type's notes):
    /// `quantiles` follows the cache and `minExamples` is lowered to it.
    /// When the cache keeps fewer windows per quantile than train + test need (a compact cache such as the
    /// bundled sample, built with `--per-quantile 4`), both counts are scaled down in proportion so they still fit
    /// disjointly (4 + 5 on groups of 4 → 2 + 2); the explainer and the scorers get the same split, so the test
    /// examples never repeat the explainer's.
    public static func sample(_ cached: CachedLatentExamples, options: SamplingOptions) throws -> SampledExamples {
        var o = fitted(options, groupSize: cached.examples.activating.count / max(1, cached.quantiles))
        o.quantiles = cached.quantiles
        o.minExamples = cached.quantiles
        var sampled = try ExampleSampler.sample(cached.examples, options: o)
        sampled.train = ExplainerExampleSelection.select(options.explainerSelection ?? .quantiles, count: options.explainerExampleCount,
                                                         quantileTrain: sampled.train, top: cached.top, test: sampled.test)
        return sampled
    }

    /// `options` with train/test per quantile scaled to fit `groupSize` windows (unchanged when they fit).
    static func fitted(_ options: SamplingOptions, groupSize: Int) -> SamplingOptions {
        var o = options
        let wanted = o.trainPerQuantile + o.testPerQuantile
        guard groupSize > 0, wanted > groupSize, !o.overlappingTrainTest else { return o }
        let share = (Double(groupSize * o.trainPerQuantile) / Double(wanted)).rounded()
        let train = max(1, min(groupSize - (groupSize > 1 ? 1 : 0), Int(share)))
        o.trainPerQuantile = train
        o.testPerQuantile = groupSize - train
        return o
    }

    // MARK: - Records → annotations

    static func isoDate(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }

    /// An explanation as a cache annotation: method, model, endpoint, prompt version and date
    /// from its provenance; the raw reply and whether it parsed in `raw`/`extra` (stored slim, see `slimmed`).
    public static func annotation(_ r: ExplanationRecord) -> Annotation {
        slimmed(Annotation(kind: .explanation, latent: r.latent, method: r.provenance.method, model: r.provenance.model,
                           endpoint: r.provenance.endpoint, promptVersion: r.provenance.promptVersion,
                           date: isoDate(r.provenance.date), text: r.explanation,
                           raw: .object(["rawReply": .string(r.rawReply), "parsed": .bool(r.parsed)]),
                           extra: ["parsed": r.parsed ? "true" : "false", "hook": r.hook, "autointerp": AutoInterp.version]))
    }

    /// The stored form of an annotation, with nothing a reader cannot give back: an explanation's `raw.rawReply` is
    /// left out when it is exactly `[EXPLANATION]: ` followed by the text (the embedded explainer's primed one-line
    /// reply; `rawReply(of:)` restores it), and a score sample's `shown_text` when it is exactly its tokens joined
    /// (detection shows the text as it is; readers fall back to the joined tokens). Anything else is unchanged.
    public static func slimmed(_ a: Annotation) -> Annotation {
        if a.kind == .score, let samples = a.samples {
            var out = a
            out.samples = samples.map { s in
                var t = s
                if t.shownText == t.strTokens.joined() { t.shownText = nil }
                return t
            }
            return out
        }
        guard a.kind == .explanation, let text = a.text, case .object(var raw)? = a.raw,
              case .string(let reply)? = raw["rawReply"], reply == primedReplyPrefix + text else { return a }
        raw["rawReply"] = nil
        var out = a
        out.raw = .object(raw)
        return out
    }

    /// An explanation annotation's raw reply: the stored one, or `[EXPLANATION]: ` + the text when it was
    /// stored slim; nil for other annotations.
    public static func rawReply(of a: Annotation) -> String? {
        guard a.kind == .explanation else { return nil }
        if case .object(let raw)? = a.raw, case .string(let reply)? = raw["rawReply"] { return reply }
        return a.text.map { primedReplyPrefix + $0 }
    }

    /// How the embedded explainer's reply starts (it is primed with it).
    static let primedReplyPrefix = "[EXPLANATION]: "

    /// A score as a cache annotation: every sample with the text exactly as the scorer saw it,
    /// the metrics (headline `score`: balanced accuracy, or AUC for surprisal), and the batch
    /// failures in `raw`.
    public static func annotation(_ r: ScoreRecord) -> Annotation {
        let m = r.metrics
        var values: [String: Double] = [
            "precision": m.precision, "recall": m.recall, "f1": m.f1, "accuracy": m.accuracy,
            "balancedAccuracy": m.balancedAccuracy, "nullPredictions": Double(m.nullPredictions),
        ]
        if let auc = m.auc { values["auc"] = auc }
        for q in m.perQuantile { values["quantile\(q.quantile)Accuracy"] = q.accuracy }
        var headline: Double? = m.balancedAccuracy
        var raw: [String: JSONValue] = ["batchFailures": .array(r.batchFailures.map { .string($0) }),
                                        "requestFailures": .number(Double(r.requestFailures))]
        if let c = r.calibration {
            var o: [String: JSONValue] = ["rule": .string(c.rule), "threshold": .number(c.threshold)]
            if !c.texts.isEmpty {
                o["texts"] = .array(c.texts.map { .string($0) })
                o["probabilities"] = .array(c.probabilities.map { .number($0) })
            }
            if let share = c.positiveShare { o["positiveShare"] = .number(share) }
            raw["calibration"] = .object(o)
        }
        switch r.provenance.method {
        case "surprisal", "embedding": headline = m.auc
        case "simulation":
            headline = r.simulation?.overall
            if let c = r.simulation?.overall { values["correlation"] = c }
            for (q, c) in r.simulation?.perQuantile ?? [:] { values["quantile\(q)Correlation"] = c }
            raw["simulated"] = .array(r.samples.map { s in .array((s.simulated ?? []).map { .number($0) }) })
        default: break
        }
        let metrics = ScoreMetrics(score: headline, truePositives: m.truePositives, trueNegatives: m.trueNegatives,
                                   falsePositives: m.falsePositives, falseNegatives: m.falseNegatives, values: values)
        let samples = r.samples.map {
            LatentCache.AnnotationSample(strTokens: $0.strTokens, activations: $0.activations, distance: Double($0.distance),
                                     activating: $0.activating, prediction: $0.prediction, probability: $0.probability,
                                     correct: $0.correct, shownText: $0.shownText)
        }
        return slimmed(Annotation(kind: .score, latent: r.latent, method: r.provenance.method, model: r.provenance.model,
                                  endpoint: r.provenance.endpoint, promptVersion: r.provenance.promptVersion,
                                  date: isoDate(r.provenance.date), explanation: r.explanation, samples: samples,
                                  metrics: metrics,
                                  raw: .object(raw),
                                  extra: ["hook": r.hook, "autointerp": AutoInterp.version]))
    }

    // MARK: - Annotations → records

    /// The samples of a stored score, as AutoInterp samples (for pooled metrics).
    public static func scoredSamples(_ a: Annotation) -> [ScoredSample] {
        (a.samples ?? []).map { s in
            let d = s.distance.isFinite && abs(s.distance) < 1e9 ? Int(s.distance.rounded(.towardZero)) : -1
            return ScoredSample(strTokens: s.strTokens, activations: s.activations, distance: d, activating: s.activating,
                                prediction: s.prediction, probability: s.probability, correct: s.correct,
                                shownText: s.shownText ?? s.strTokens.joined())
        }
    }

    /// True when an explanation annotation holds a usable explanation (it parsed).
    public static func isUsableExplanation(_ a: Annotation) -> Bool {
        guard a.kind == .explanation, let t = a.text else { return false }
        if a.extra?["parsed"] == "false" { return false }
        let trimmed = t.trimmingCharacters(in: .whitespacesAndNewlines)
        return !trimmed.isEmpty && trimmed != Explainer.unparsedExplanation
    }

    /// The newest usable explanation, optionally only from one model.
    public static func newestExplanation(_ annotations: [Annotation], model: String? = nil) -> Annotation? {
        annotations.last { isUsableExplanation($0) && (model == nil || $0.model == model) }
    }

    /// Whether `annotations` hold an explanation by this method and model (parsed or not).
    public static func hasExplanation(_ annotations: [Annotation], method: String, model: String) -> Bool {
        annotations.contains { $0.kind == .explanation && $0.method == method && $0.model == model }
    }

    /// The newest score by `method` and `model` of the explanation `explanation` (any explanation when nil): a score
    /// of an older explanation does not make a newer one scored.
    public static func existingScore(_ annotations: [Annotation], method: String, model: String,
                                     explaining explanation: String? = nil) -> Annotation? {
        annotations.last { $0.kind == .score && $0.method == method && $0.model == model
            && (explanation == nil || $0.explanation == explanation) }
    }
}
