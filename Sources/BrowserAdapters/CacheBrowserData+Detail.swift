import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache
import TerminalUI

extension CacheBrowserData {
    /// The window groups of a record as the detail view lists them: top, one per quantile, random.
    /// `tokenHeadSplit` indexes the same list.
    static func cacheWindowGroups(_ r: LatentRecord) -> [(kind: WindowGroupKind, title: String, windows: [CacheWindow])] {
        var groups: [(kind: WindowGroupKind, title: String, windows: [CacheWindow])] = []
        groups.append((.top, "Top activations", r.top))
        let q = r.quantiles.count
        for s in r.quantiles {
            let range = String(format: "%.3g–%.3g", Double(s.weakest), Double(s.strongest))
            groups.append((.quantile(s.quantile), "Quantile \(s.quantile + 1) of \(q) (max \(range), \(s.sliceSize) windows)", s.windows))
        }
        groups.append((.random, "Random non-activating", r.random))
        return groups
    }

    public func detail(part p: Int, latent: Int) throws -> LatentDetail {
        let part = try part(p)
        guard latent >= 0, latent < part.latentCount else { throw BrowserError("no latent \(latent) in part \(p) (\(part.latentCount) latents)") }
        let stats: LatentCache.LatentSummary, record: LatentRecord, annotations: [Annotation]
        do {
            stats = try part.summary(latent)
            record = try part.record(latent)
            annotations = try part.annotations(latent)
        } catch { throw BrowserError("latent \(latent): \(error)") }
        let summary = self.summary(part: p, latent: latent)
        let explanations = annotations.filter { $0.kind == .explanation }.reversed().map {
            Explanation(text: $0.text ?? "", method: $0.method, model: $0.model)
        }
        let groups = Self.cacheWindowGroups(record).map { g in
            WindowGroup(kind: g.kind, title: g.title, windows: g.windows.map {
                TokenWindow(tokens: part.tokenStrings($0), activations: $0.activations)
            })
        }
        return LatentDetail(summary: summary, explanations: Array(explanations), scores: Self.scorerResults(annotations),
                            histogram: BrowserHistogram(lower: 0, upper: record.histogram.upperBound, counts: record.histogram.counts),
                            density: stats.densityPerToken, windowGroups: groups)
    }

    /// The newest score of every classifier-style scorer (human spot checks are shown as verdicts).
    static func scorerResults(_ annotations: [Annotation]) -> [ScorerResult] {
        var newest: [String: Annotation] = [:]
        var order: [String] = []
        for a in annotations where a.kind == .score && a.method != humanMethod {
            if newest[a.method] == nil { order.append(a.method) }
            newest[a.method] = a
        }
        let rank = ["detection": 0, "fuzz": 1, "fuzzing": 1, "embedding": 2, "simulation": 3, "intervention": 4]
        order.sort { (rank[baseMethod($0)] ?? 9, $0) < (rank[baseMethod($1)] ?? 9, $1) }
        return order.compactMap { m in newest[m].flatMap(scorerResult) }
    }

    /// Counts, AUC and per-quantile accuracy of one score: from its samples when it has them
    /// (docs/autointerp.md "Metrics"), else from its stored metrics.
    static func scorerResult(_ a: Annotation) -> ScorerResult? {
        let samples = a.samples ?? []
        let m = a.metrics
        // Scorers whose score is not the balanced accuracy: their stored headline.
        let base = baseMethod(a.method)
        let headline = ["surprisal", "embedding", "simulation"].contains(base) ? m?.score : nil
        let partial = a.extra?[partialKey]
        var correlations: [Int: Double] = [:]
        if base == "simulation", let values = m?.values {
            for q in 0 ..< 100 { if let c = values["quantile\(q)Correlation"], c.isFinite { correlations[q] = c } }
        }
        if !samples.isEmpty {
            var counts = ConfusionCounts()
            var pairs: [(Double, Bool)] = []
            var perQuantile: [Int: (correct: Int, total: Int)] = [:]
            for s in samples {
                guard let p = s.prediction else { continue }
                counts.add(actual: s.activating, predicted: p)
                if let prob = s.probability, prob.isFinite { pairs.append((prob, s.activating)) }
                if s.activating, s.distance.isFinite, s.distance >= 0, s.distance < 1000 {
                    let q = Int(s.distance)
                    var c = perQuantile[q] ?? (0, 0)
                    c.total += 1
                    if p { c.correct += 1 }
                    perQuantile[q] = c
                }
            }
            let maxQ = perQuantile.keys.max() ?? -1
            let qa = maxQ < 0 ? [] : (0 ... maxQ).map { q -> Double in
                guard let c = perQuantile[q], c.total > 0 else { return 0 }
                return Double(c.correct) / Double(c.total)
            }
            let auc = pairs.count == samples.filter({ $0.prediction != nil }).count ? ConfusionCounts.auc(pairs) : m?.values["auc"]
            return ScorerResult(scorer: a.method, counts: counts, auc: auc, quantileAccuracy: qa, headline: headline,
                                quantileCorrelation: correlations, partial: partial)
        }
        guard let m else { return nil }
        let counts = ConfusionCounts(tp: m.truePositives ?? 0, tn: m.trueNegatives ?? 0, fp: m.falsePositives ?? 0, fn: m.falseNegatives ?? 0)
        let qa = (0 ..< 100).compactMap { m.values["quantile\($0)Accuracy"] }
        return ScorerResult(scorer: a.method, counts: counts, auc: m.values["auc"], quantileAccuracy: qa, headline: headline,
                            quantileCorrelation: correlations, partial: partial)
    }

    /// A score stored from a stopped run is recorded as `<method>-partial` with `extra["partial"]` = "k/n batches":
    /// never taken for the finished score (list columns, best scores, resuming `score`).
    static let partialSuffix = "-partial"
    static let partialKey = "partial"

    /// The scorer of a method name (`detection-partial` → `detection`).
    static func baseMethod(_ m: String) -> String { m.hasSuffix(partialSuffix) ? String(m.dropLast(partialSuffix.count)) : m }

    // MARK: - Scored samples

    public func scorers(part p: Int, latent: Int) -> [String] {
        guard let part = try? part(p), let s = try? part.summary(latent), s.annotationCount > 0,
              let all = try? part.annotations(latent) else { return [] }
        return Self.scorerResults(all.filter { !($0.samples ?? []).isEmpty }).map(\.scorer)
    }

    public func scoredSamples(part p: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] {
        let part = try part(p)
        let all: [Annotation]
        do { all = try part.annotations(latent) } catch { throw BrowserError("latent \(latent): \(error)") }
        guard let a = all.last(where: { $0.kind == .score && $0.method == scorer }), let samples = a.samples, !samples.isEmpty else {
            throw BrowserError("latent \(latent) has no '\(scorer)' samples")
        }
        let maxActivation = (try? part.statistics(latent).maxActivation) ?? 0
        return Self.browserSamples(a, maxActivation: maxActivation)
    }

    /// A stored score's samples as view 3 shows them (also used for the samples of a running job). Detection:
    /// no highlights; fuzz: the `<<…>>` the scorer saw; simulation: the tokens simulated at ≥ 5 of 10, each example's
    /// Pearson r of simulated and true normalised activations, "yes" when its simulated peak is ≥ 5; intervention:
    /// steered (activating) and default completions, `quantile` = the strength index.
    static func browserSamples(_ a: Annotation, maxActivation: Float) -> [BrowserScoredSample] {
        let samples = a.samples ?? []
        let base = baseMethod(a.method).lowercased()
        var simulated: [[Double]]?
        if base == "simulation", case let .object(raw)? = a.raw, case let .array(rows)? = raw["simulated"] {
            simulated = rows.map { row in
                guard case let .array(values) = row else { return [] }
                return values.map { v in if case let .number(x) = v { return x } else { return 0 } }
            }
        }
        return samples.enumerated().map { k, s in
            let q: Int? = s.activating && s.distance.isFinite && s.distance >= 0 && s.distance < 1000 ? Int(s.distance) : nil
            if let simulated {
                let sim = k < simulated.count && simulated[k].count == s.strTokens.count ? simulated[k] : nil
                let truth = s.activating ? ExplainerFormatting.normalized(s.activations, maxActivation: maxActivation).map(Double.init)
                                         : s.activations.map { _ in 0.0 }
                let r = sim.map { Correlation.pearson(truth.count == $0.count ? truth : $0.map { _ in 0 }, $0) }
                return BrowserScoredSample(tokens: s.strTokens, highlighted: sim.map { $0.map { $0 >= 5 } } ?? [],
                                           activating: s.activating, prediction: sim.map { ($0.max() ?? 0) >= 5 },
                                           quantile: q, correlation: r.flatMap { $0.isFinite ? $0 : nil })
            }
            let hl: [Bool]
            switch base {
            case "detection", "embedding": hl = [Bool](repeating: false, count: s.strTokens.count)
            default:
                hl = Self.highlights(tokens: s.strTokens, shown: s.shownText) ?? s.strTokens.indices.map { i in
                    s.activating && i < s.activations.count && s.activations[i] > 0
                }
            }
            return BrowserScoredSample(tokens: s.strTokens, highlighted: hl, activating: s.activating, prediction: s.prediction,
                                       probability: s.probability.flatMap { $0.isFinite ? $0 : nil }, quantile: q)
        }
    }

    /// Which tokens were inside `<<`…`>>` in the text the scorer saw; nil when the text does not
    /// line up with the tokens (then the caller falls back to the activations).
    static func highlights(tokens: [String], shown: String?) -> [Bool]? {
        guard let shown, shown.contains("<<") else { return nil }
        let text = Array(shown.utf8)
        var i = 0
        var inside = false
        var out: [Bool] = []
        out.reserveCapacity(tokens.count)
        func skipMarkers() {
            while true {
                if i + 1 < text.count, text[i] == UInt8(ascii: "<"), text[i + 1] == UInt8(ascii: "<") { inside = true; i += 2; continue }
                if i + 1 < text.count, text[i] == UInt8(ascii: ">"), text[i + 1] == UInt8(ascii: ">") { inside = false; i += 2; continue }
                return
            }
        }
        for t in tokens {
            let b = Array(t.utf8)
            skipMarkers()
            guard i + b.count <= text.count, Array(text[i ..< i + b.count]) == b else { return nil }
            out.append(inside && !b.isEmpty)
            i += b.count
        }
        return out
    }
}
