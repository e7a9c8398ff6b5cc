import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import TerminalUI

/// The browser's data port over a real latent cache (`LatentCacheDirectory`).
///
/// Everything is read on demand from the memory-mapped cache: a list row reads one index entry,
/// one annotation-index entry and (memoised, bounded) the newest explanation, the top tokens and a
/// human verdict. Opening costs what `LatentCacheDirectory.open` costs; memory does not grow with
/// the number of latents. Head views use the SAE named in the manifest and the live engine, both
/// loaded on first use through `EngineHost`.
public final class CacheBrowserData: BrowserDataSource, @unchecked Sendable {
    public let cache: LatentCacheDirectory
    public let engine: EngineHost
    public let parts: [PartInfo]

    /// Newest-annotation-count-tagged row extras (top tokens never change; verdicts follow annotations).
    struct RowExtras {
        var annotationCount: Int; var verdict: HumanVerdict?; var topTokens: [String]?
        /// Newest headline of the scorers the annotation index does not keep (embedding, simulation, intervention).
        var scores: [String: Double] = [:]
    }
    /// The list columns read from the annotations (the index keeps only the best detection and fuzz).
    static let annotationColumns = ["embedding", "simulation", "intervention"]
    let rowMemo = BoundedMemo<LatentKey, RowExtras>(capacity: 32768)
    let headTableMemo = BoundedMemo<Int, [HeadTableRow]>(capacity: 16)
    let captureMemo = BoundedMemo<WindowCaptureKey, AttentionCapture>(capacity: 2)
    let promotedMemo = BoundedMemo<LatentKey, PromotedMemoEntry>(capacity: 4096)
    /// Record reads for top tokens are rationed: list rows on screen get them at once, but a scan
    /// of every latent (search, filter) would read the whole records file, so it skips them.
    let recordBudget = RateBudget(perSecond: 600)
    /// Similarity tables and alignments, built on first use (CacheBrowserData+Neighbours).
    let neighbourIndex = NeighbourIndexStore()
    /// Head-role scores per layer (CacheBrowserData+HeadRoles).
    let headRoleMemo = BoundedMemo<Int, [HeadRoleRow]>(capacity: 64)

    /// Wraps an opened cache. `engine` defaults to one that finds the model through `ModelLocator`.
    public init(cache: LatentCacheDirectory, engine: EngineHost? = nil) {
        self.cache = cache
        let host = engine ?? EngineHost(cache: cache)
        self.engine = host
        let config = cache.parts.contains { $0.hook.hasSuffix("hook_z") } ? host.modelConfig() : nil
        parts = cache.parts.map { Self.partInfo($0, model: config) }
    }

    /// Opens the cache folder at `path`.
    public convenience init(path: String, modelPath: String? = nil) throws {
        let c = try LatentCacheDirectory.open(path)
        self.init(cache: c, engine: EngineHost(cache: c, modelPath: modelPath))
    }

    /// Shape of a part: a `hook_z` SAE reads n_heads × d_head values, taken from the model's configuration when
    /// it matches the SAE's d_in (Gemma 3 270M: 4 × 256), else guessed as d_in / 64 heads of 64 (SmolLM2: 9 × 64).
    static func partInfo(_ p: LatentCachePart, model: ModelConfig?) -> PartInfo {
        let isZ = p.hook.hasSuffix("hook_z")
        var heads: Int?, dHead: Int?
        if isZ, let d = p.sae?.dIn, d > 0 {
            if let m = model, m.qDim == d {
                heads = m.headCount; dHead = m.headDim
            } else if d % 64 == 0 {
                heads = d / 64; dHead = 64
            }
        }
        return PartInfo(hookName: p.hook, dSAE: p.latentCount, latentCount: p.latentCount, isHookZ: isZ,
                        nHeads: heads, dHead: dHead, hookNameOut: p.hookOut)
    }

    func part(_ i: Int) throws -> LatentCachePart {
        guard i >= 0, i < cache.parts.count else { throw BrowserError("no part \(i) (the cache has \(cache.parts.count))") }
        return cache.parts[i]
    }

    // MARK: - List rows

    public func summary(part p: Int, latent: Int) -> BrowserLatentSummary {
        guard let part = try? part(p), let s = try? part.summary(latent) else {
            return BrowserLatentSummary(index: latent, explanation: nil, density: 0, maxActivation: 0, detection: nil, fuzz: nil)
        }
        let extras = rowExtras(part: part, partIndex: p, latent: latent, annotationCount: s.annotationCount)
        return BrowserLatentSummary(index: latent, explanation: s.explanationPreview.map(Self.firstLine),
                                    density: s.densityPerToken, maxActivation: s.maxActivation,
                                    detection: s.bestDetection.map(Double.init), fuzz: s.bestFuzz.map(Double.init),
                                    verdict: extras.verdict, topTokens: extras.topTokens ?? [],
                                    embedding: extras.scores["embedding"], simulation: extras.scores["simulation"],
                                    intervention: extras.scores["intervention"])
    }

    public func sortValue(part p: Int, latent: Int, column: SortColumn) -> Double? {
        guard let part = try? part(p) else { return nil }
        switch column {
        case .index: return Double(latent)
        case .density: return (try? part.statistics(latent)).map(\.densityPerToken)
        case .maxActivation: return (try? part.statistics(latent)).map { Double($0.maxActivation) }
        case .detection, .fuzz, .explanation, .verdict, .embedding, .simulation, .intervention:
            guard let s = try? part.summary(latent) else { return nil }
            switch column {
            case .detection: return s.bestDetection.map(Double.init)
            case .fuzz: return s.bestFuzz.map(Double.init)
            case .explanation: return s.explanationPreview == nil ? nil : 0
            default:
                guard s.annotationCount > 0 else { return nil }
                let extras = rowExtras(part: part, partIndex: p, latent: latent, annotationCount: s.annotationCount)
                return column == .verdict ? extras.verdict?.accuracy : column.scorer.flatMap { extras.scores[$0] }
            }
        }
    }

    func rowExtras(part: LatentCachePart, partIndex: Int, latent: Int, annotationCount: Int) -> RowExtras {
        let key = LatentKey(part: partIndex, latent: latent)
        let known = rowMemo.value(key)
        if let m = known, m.annotationCount == annotationCount, m.topTokens != nil { return m }
        let tokens = known?.topTokens ?? (recordBudget.take() ? topTokens(part: part, latent: latent) : nil)
        let verdict: HumanVerdict?
        var scores: [String: Double] = [:]
        if let m = known, m.annotationCount == annotationCount { verdict = m.verdict; scores = m.scores } else {
            let annotations = annotationCount > 0 ? (try? part.annotations(latent)) : nil
            verdict = annotations.flatMap(Self.newestVerdict)
            scores = annotations.map(Self.newestScores) ?? [:]
        }
        let extras = RowExtras(annotationCount: annotationCount, verdict: verdict, topTokens: tokens, scores: scores)
        rowMemo.set(key, extras)
        return extras
    }

    /// The token at the peak of each of the strongest windows (distinct, up to `limit`).
    func topTokens(part: LatentCachePart, latent: Int, limit: Int = 3) -> [String] {
        guard let r = try? part.record(latent) else { return [] }
        var out: [String] = []
        for w in r.top.prefix(8) {
            guard let i = w.activations.indices.max(by: { w.activations[$0] < w.activations[$1] }), i < w.tokens.count else { continue }
            let s = part.displayString(w.tokens[i])
            if !out.contains(s) { out.append(s) }
            if out.count == limit { break }
        }
        return out
    }

    /// For the search index: the distinct tokens at the peaks of the 8 strongest windows (reads the record;
    /// not rationed, since the index reads each latent once).
    public func searchTokens(part p: Int, latent: Int) -> [String] {
        guard let part = try? part(p), latent >= 0, latent < part.latentCount else { return [] }
        return topTokens(part: part, latent: latent, limit: 8)
    }

    /// The newest finished headline of each scorer in `annotationColumns` (stopped runs, `-partial`, are not scores).
    static func newestScores(_ annotations: [Annotation]) -> [String: Double] {
        var out: [String: Double] = [:]
        for a in annotations where a.kind == .score && annotationColumns.contains(a.method) {
            if let v = a.metrics?.score, v.isFinite { out[a.method] = v }
        }
        return out
    }

    /// Drops what is memoised about a latent (after its annotations changed).
    public func forget(part: Int, latent: Int) {
        rowMemo.remove(LatentKey(part: part, latent: latent))
    }

    static func firstLine(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).first.map(String.init) ?? t
    }

    // MARK: - Human verdicts

    /// Method name of human spot-check scores.
    public static let humanMethod = "human"

    static func newestVerdict(_ annotations: [Annotation]) -> HumanVerdict? {
        guard let a = annotations.last(where: { $0.kind == .score && $0.method == humanMethod }) else { return nil }
        if let j = a.metrics?.values["judged"], let g = a.metrics?.values["agreed"], j.isFinite, g.isFinite,
           j >= 0, g >= 0, j < 1e9, g <= j {
            return HumanVerdict(judged: Int(j), agreed: Int(g))
        }
        let answered = (a.samples ?? []).filter { $0.prediction != nil }
        guard !answered.isEmpty else { return nil }
        return HumanVerdict(judged: answered.count, agreed: answered.filter { $0.prediction == $0.activating }.count)
    }

    public func saveVerdict(part p: Int, latent: Int, verdict: HumanVerdict) throws {
        let part = try part(p)
        let explanation = try part.summary(latent).explanationPreview
        let a = Annotation(kind: .score, latent: latent, method: Self.humanMethod, model: "human",
                           endpoint: "featurescope browse", explanation: explanation,
                           metrics: ScoreMetrics(score: verdict.accuracy,
                                                 values: ["judged": Double(verdict.judged), "agreed": Double(verdict.agreed),
                                                          "accuracy": verdict.accuracy]),
                           extra: ["kind": "blind spot check"])
        do { try part.appendAnnotation(a) } catch { throw BrowserError("could not save the verdict: \(error)") }
        rowMemo.remove(LatentKey(part: p, latent: latent))
    }
}
