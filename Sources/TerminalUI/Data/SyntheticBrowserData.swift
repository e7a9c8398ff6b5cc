import FeaturescopeCore
import Foundation

/// Deterministic made-up latents for tests, the render benchmark and `featurescope browse --demo N`.
///
/// Every value is a hash of (seed, part, latent), so any number of latents costs no memory;
/// only verdicts and explanations written at run time are stored.
public final class SyntheticBrowserData: BrowserDataSource, @unchecked Sendable {
    public let parts: [PartInfo]
    public let seed: UInt64
    private let lock = NSLock()
    private var verdicts: [Int: HumanVerdict] = [:]
    private var explanationOverrides: [Int: String] = [:]

    /// Two parts of `latentCount` latents each: a residual-stream SAE and an attention (hook_z) SAE with 9 heads.
    public init(latentCount: Int, seed: UInt64 = 42) {
        self.seed = seed
        let n = max(0, latentCount)
        parts = [
            PartInfo(hookName: "blocks.6.hook_resid_post", dSAE: n),
            PartInfo(hookName: "blocks.6.attn.hook_z", dSAE: n, isHookZ: true, nHeads: 9, dHead: 64),
        ]
    }

    // MARK: - Hashing

    /// A well-mixed 64-bit value from any input: the first output of SplitMix64 seeded with it.
    static func mix(_ x: UInt64) -> UInt64 {
        var g = SplitMix64(seed: x)
        return g.next()
    }

    /// A uniform value in [0, 1) for (part, latent, salt).
    func unit(_ part: Int, _ latent: Int, _ salt: UInt64) -> Double {
        let h = Self.mix(seed ^ Self.mix(UInt64(truncatingIfNeeded: latent) &* 0x100_0000_01B3
                                          ^ UInt64(truncatingIfNeeded: part) << 56 ^ salt &* 0x2545_F491_4F6C_DD1D))
        return Double(h >> 11) / Double(1 << 53)
    }

    func key(_ part: Int, _ latent: Int) -> Int { part << 40 | latent }

    // MARK: - Vocabulary

    static let topics = ["legal contracts", "Python code", "French words", "numbers in dates", "closing brackets",
                         "chemistry terms", "sports results", "the word 'the' after a comma", "URLs", "emotional language",
                         "questions", "plural nouns", "past-tense verbs", "names of cities", "HTML tags",
                         "mathematical notation", "negation", "first-person pronouns", "quotation marks", "recipes",
                         "medical symptoms", "programming errors", "weather", "money amounts", "Japanese text"]
    static let templates = ["References to %@", "Tokens within %@", "The start of %@", "Repeated tokens in %@",
                            "Punctuation inside %@", "Predicts continuations of %@"]
    static let vocab = [" the", " of", " and", " to", " in", " a", " is", " that", " for", " it", " with", " as",
                        " was", " on", " be", " at", " by", " this", " had", " not", " are", " but", " from", " or",
                        " have", " an", " they", " which", " one", " you", " were", " her", " all", " she", " there",
                        " would", " their", " we", " him", " been", " has", " when", " who", " will", " more", " no",
                        ".", ",", "\n", " (", ")", " \"", " Paris", " court", " def", " return", " =", " 2019",
                        " July", " acid", " goal", " happy", " why", " cities", " walked", " <div>", " x²",
                        " never", " I", " «", " 東京", " 🙂", " café", " naïve", " $", " fever", " Error", " rain",
                        " ramen", " recipe"]

    func vocabToken(_ part: Int, _ latent: Int, _ salt: UInt64) -> String {
        let i = Int(unit(part, latent, salt) * Double(Self.vocab.count))
        return Self.vocab[min(i, Self.vocab.count - 1)]
    }

    /// The token that most strongly activates a latent.
    func featureToken(_ part: Int, _ latent: Int) -> String { vocabToken(part, latent, 900) }

    // MARK: - Summaries

    /// Every template × topic, built once.
    static let explanations: [[String]] = templates.map { t in topics.map { t.replacingOccurrences(of: "%@", with: $0) } }

    func explanationText(_ part: Int, _ latent: Int) -> String? {
        if let o = lock.withLock({ explanationOverrides[key(part, latent)] }) { return o }
        guard unit(part, latent, 1) < 0.85 else { return nil }
        let topic = min(Self.topics.count - 1, Int(unit(part, latent, 2) * Double(Self.topics.count)))
        let tpl = min(Self.templates.count - 1, Int(unit(part, latent, 3) * Double(Self.templates.count)))
        return Self.explanations[tpl][topic]
    }

    func density(_ part: Int, _ latent: Int) -> Double { pow(10, -5 + 4 * unit(part, latent, 4)) }
    func maxAct(_ part: Int, _ latent: Int) -> Float { Float(1 + 24 * unit(part, latent, 5)) }
    func isScored(_ part: Int, _ latent: Int) -> Bool {
        unit(part, latent, 1) < 0.85 && unit(part, latent, 6) < 0.8
    }
    func score(_ part: Int, _ latent: Int, _ salt: UInt64) -> Double {
        let u = unit(part, latent, salt), v = unit(part, latent, salt + 1)
        return min(1, max(0.35, 0.5 + 0.45 * (u + v) / 2 + 0.1 * (u - 0.5)))
    }

    /// Scored latents that also have embedding, simulation and intervention scores (about half).
    func hasNewScores(_ part: Int, _ latent: Int) -> Bool { isScored(part, latent) && unit(part, latent, 70) < 0.5 }
    /// The made-up headline of a newer scorer (simulation: a correlation in −0.3…0.9).
    func newScore(_ part: Int, _ latent: Int, _ scorer: String) -> Double? {
        guard hasNewScores(part, latent) else { return nil }
        switch scorer {
        case "embedding": return score(part, latent, 50)
        case "simulation": return score(part, latent, 60) * 1.8 - 0.9
        case "intervention": return score(part, latent, 80)
        default: return nil
        }
    }

    public func summary(part: Int, latent: Int) -> BrowserLatentSummary {
        let scored = isScored(part, latent)
        let tokens = [featureToken(part, latent), vocabToken(part, latent, 901), vocabToken(part, latent, 902)]
        return BrowserLatentSummary(index: latent, explanation: explanationText(part, latent),
                             density: density(part, latent), maxActivation: maxAct(part, latent),
                             detection: scored ? score(part, latent, 10) : nil,
                             fuzz: scored ? score(part, latent, 20) : nil,
                             verdict: lock.withLock { verdicts[key(part, latent)] }, topTokens: tokens,
                             embedding: newScore(part, latent, "embedding"), simulation: newScore(part, latent, "simulation"),
                             intervention: newScore(part, latent, "intervention"))
    }

    public func sortValue(part: Int, latent: Int, column: SortColumn) -> Double? {
        switch column {
        case .index: return Double(latent)
        case .density: return density(part, latent)
        case .maxActivation: return Double(maxAct(part, latent))
        case .detection: return isScored(part, latent) ? score(part, latent, 10) : nil
        case .fuzz: return isScored(part, latent) ? score(part, latent, 20) : nil
        case .embedding, .simulation, .intervention: return column.scorer.flatMap { newScore(part, latent, $0) }
        case .explanation, .verdict:
            let s = summary(part: part, latent: latent)
            return column == .verdict ? s.verdict.map(\.accuracy) : (s.explanation == nil ? nil : 0)
        }
    }

    // MARK: - Detail

    func window(_ part: Int, _ latent: Int, salt: UInt64, strength: Float, length: Int = 32) -> TokenWindow {
        var tokens: [String] = []
        var acts: [Float] = []
        let feature = featureToken(part, latent)
        for t in 0..<length {
            let s = salt &* 131 &+ UInt64(t)
            let isFeature = strength > 0 && unit(part, latent, 5000 &+ s) < 0.12
            tokens.append(isFeature ? feature : vocabToken(part, latent, 7000 &+ s))
            acts.append(0)
        }
        if strength > 0 {
            var placed = false
            for t in 0..<length where tokens[t] == feature {
                acts[t] = strength * Float(0.55 + 0.45 * unit(part, latent, 9000 &+ salt &* 7 &+ UInt64(t)))
                if t + 1 < length { acts[t + 1] = max(acts[t + 1], acts[t] * 0.3) }
                placed = true
            }
            if !placed {
                let t = Int(unit(part, latent, 9500 &+ salt) * Double(length - 1))
                tokens[t] = feature
                acts[t] = strength
            }
        }
        return TokenWindow(tokens: tokens, activations: acts)
    }

    public func detail(part: Int, latent: Int) throws -> LatentDetail {
        guard part >= 0, part < parts.count, latent >= 0, latent < parts[part].latentCount else {
            throw BrowserError("no latent \(latent) in part \(part)")
        }
        let s = summary(part: part, latent: latent)
        let maxA = s.maxActivation
        var groups: [WindowGroup] = []
        // Like the real cache: the top group is sorted by each window's maximum, strongest first.
        let top = (0..<8).map { window(part, latent, salt: UInt64($0), strength: maxA * (1 - Float($0) * 0.03)) }
        groups.append(WindowGroup(kind: .top, title: "Top activations", windows: top.sorted { $0.maxActivation > $1.maxActivation }))
        for q in 0..<10 {
            let level = maxA * (1 - Float(q) / 10) * 0.9
            groups.append(WindowGroup(kind: .quantile(q), title: "Quantile \(q + 1) of 10", windows: (0..<3).map {
                window(part, latent, salt: UInt64(100 + q * 10 + $0), strength: level)
            }))
        }
        groups.append(WindowGroup(kind: .random, title: "Random non-activating", windows: (0..<5).map {
            window(part, latent, salt: UInt64(500 + $0), strength: 0)
        }))
        var scores: [ScorerResult] = []
        if let d = s.detection, let f = s.fuzz {
            scores.append(scorerResult("detection", accuracy: d, part: part, latent: latent, salt: 30))
            scores.append(scorerResult("fuzz", accuracy: f, part: part, latent: latent, salt: 40))
        }
        if let e = s.embedding, let r = s.simulation, let i = s.intervention {
            var emb = scorerResult("embedding", accuracy: e, part: part, latent: latent, salt: 45)
            emb.headline = e
            emb.quantileAccuracy = []
            scores.append(emb)
            var sim = ScorerResult(scorer: "simulation", counts: ConfusionCounts(), headline: r)
            sim.quantileCorrelation = Dictionary(uniqueKeysWithValues: (0..<5).map { q in
                (q, max(-1, min(1, r - 0.1 * Double(q) + 0.1 * (unit(part, latent, 65 &+ UInt64(q)) - 0.5))))
            })
            scores.append(sim)
            var inv = scorerResult("intervention", accuracy: i, part: part, latent: latent, salt: 85)
            inv.quantileAccuracy = Array(inv.quantileAccuracy.prefix(3))
            scores.append(inv)
        }
        let bins = (0..<24).map { b -> Int in
            let decay = exp(-Double(b) / 4)
            return Int(4000 * decay * (0.7 + 0.6 * unit(part, latent, 300 &+ UInt64(b))))
        }
        var explanations: [Explanation] = []
        if let e = s.explanation {
            explanations.append(Explanation(text: e, method: "delphi default", model: "Llama-3.1-70B (synthetic)"))
            if unit(part, latent, 60) < 0.4 {
                explanations.append(Explanation(text: "Alternative: " + e.lowercased(), method: "delphi default, seed 2",
                                                model: "SmolLM2-135M-Instruct (synthetic)"))
            }
        }
        return LatentDetail(summary: s, explanations: explanations, scores: scores,
                            histogram: BrowserHistogram(lower: 0, upper: maxA, counts: bins),
                            density: s.density, windowGroups: groups)
    }

    /// Made-up promoted/suppressed tokens: the feature token first, then hashed vocabulary entries.
    public func promotedTokens(part: Int, latent: Int, count: Int) throws -> PromotedTokens {
        guard part >= 0, part < parts.count, latent >= 0, latent < parts[part].latentCount else {
            throw BrowserError("no latent \(latent) in part \(part)")
        }
        let n = max(0, count)
        let up = (0..<n).map { k in
            TokenLogit(token: k == 0 ? featureToken(part, latent) : vocabToken(part, latent, 800 &+ UInt64(k)), logit: Float(3 - Double(k) * 0.25))
        }
        let down = (0..<n).map { k in TokenLogit(token: vocabToken(part, latent, 850 &+ UInt64(k)), logit: Float(-3 + Double(k) * 0.25)) }
        return PromotedTokens(promoted: up, suppressed: down, method: "synthetic (made-up values)")
    }

    /// The summary's top tokens without building the rest of the summary.
    public func searchTokens(part: Int, latent: Int) -> [String] {
        [featureToken(part, latent), vocabToken(part, latent, 901), vocabToken(part, latent, 902)]
    }

    func scorerResult(_ name: String, accuracy: Double, part: Int, latent: Int, salt: UInt64) -> ScorerResult {
        let pos = 50, neg = 50
        let tp = Int((Double(pos) * min(1, accuracy + 0.05 * (unit(part, latent, salt) - 0.5))).rounded())
        let tn = Int((Double(neg) * min(1, accuracy - 0.05 * (unit(part, latent, salt) - 0.5))).rounded())
        let qs = (0..<10).map { q in min(1, max(0, accuracy + 0.15 - Double(q) * 0.04 + 0.1 * (unit(part, latent, salt &+ UInt64(q)) - 0.5))) }
        return ScorerResult(scorer: name, counts: ConfusionCounts(tp: tp, tn: tn, fp: neg - tn, fn: pos - tp),
                            auc: min(1, accuracy + 0.04), quantileAccuracy: qs)
    }

    public func scorers(part: Int, latent: Int) -> [String] {
        (isScored(part, latent) ? ["detection", "fuzz"] : []) + (hasNewScores(part, latent) ? ["embedding", "simulation", "intervention"] : [])
    }

    public func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] {
        guard scorers(part: part, latent: latent).contains(scorer) else {
            throw BrowserError("latent \(latent) has no '\(scorer)' scores")
        }
        let acc = scorer == "fuzz" ? score(part, latent, 20) : (newScore(part, latent, scorer).map { scorer == "simulation" ? 0.5 + $0 / 2 : $0 } ?? score(part, latent, 10))
        let maxA = maxAct(part, latent)
        var out: [BrowserScoredSample] = []
        if scorer == "intervention" {
            // Default and steered completions of neutral prompts at 3 strengths.
            for k in 0..<24 {
                let steered = k % 2 == 0
                let w = window(part, latent, salt: UInt64(6000 + k), strength: steered ? maxA : 0, length: 12)
                let right = unit(part, latent, 6100 &+ UInt64(k)) < acc
                out.append(BrowserScoredSample(tokens: w.tokens, highlighted: w.tokens.map { _ in false }, activating: steered,
                                               prediction: right ? steered : !steered, quantile: steered ? (k / 2) % 3 : nil))
            }
            return out
        }
        for k in 0..<100 {
            let activating = k % 2 == 0
            let q = (k / 2) % 10
            let w = window(part, latent, salt: UInt64(2000 + k), strength: activating ? maxA * (1 - Float(q) / 10) : 0)
            let wmax = w.maxActivation
            var hl = w.activations.map { wmax > 0 && $0 >= 0.3 * wmax }
            if scorer == "detection" { hl = hl.map { _ in false } }
            else if !activating {
                let pos = Int(unit(part, latent, 3000 &+ UInt64(k)) * Double(hl.count - 1))
                hl[pos] = true
            }
            let right = unit(part, latent, 4000 &+ UInt64(k)) < acc
            let pred: Bool? = unit(part, latent, 4500 &+ UInt64(k)) < 0.02 ? nil : (right ? activating : !activating)
            let p = pred.map { $0 ? 0.55 + 0.4 * unit(part, latent, 4600 &+ UInt64(k)) : 0.45 * unit(part, latent, 4700 &+ UInt64(k)) }
            switch scorer {
            case "embedding":
                out.append(BrowserScoredSample(tokens: w.tokens, highlighted: w.tokens.map { _ in false }, activating: activating,
                                               prediction: right ? activating : !activating,
                                               probability: (right == activating ? 0.3 : 0.1) + 0.2 * unit(part, latent, 4800 &+ UInt64(k)),
                                               quantile: activating ? q : nil))
            case "simulation":
                let r = activating ? acc * 2 - 1 + 0.3 * (unit(part, latent, 4900 &+ UInt64(k)) - 0.5) : nil
                out.append(BrowserScoredSample(tokens: w.tokens, highlighted: w.activations.map { wmax > 0 && $0 >= 0.5 * wmax && right },
                                               activating: activating, prediction: right ? activating : !activating, quantile: activating ? q : nil,
                                               correlation: r))
            default:
                out.append(BrowserScoredSample(tokens: w.tokens, highlighted: hl, activating: activating, prediction: pred,
                                        probability: p, quantile: activating ? q : nil))
            }
        }
        return out
    }

    // MARK: - Heads

    public func headAttribution(part: Int, latent: Int) -> [Float]? {
        guard part < parts.count, parts[part].isHookZ, let n = parts[part].nHeads else { return nil }
        let main = Int(unit(part, latent, 70) * Double(n)) % n
        var w = (0..<n).map { h in Float(0.05 + 0.3 * unit(part, latent, 71 &+ UInt64(h))) }
        w[main] += Float(1.5 + 2 * unit(part, latent, 80))
        let total = w.reduce(0, +)
        return w.map { $0 / total }
    }

    public func tokenHeadSplit(part: Int, latent: Int, group: Int, window: Int, token: Int) -> TokenHeadSplit? {
        guard let attr = headAttribution(part: part, latent: latent),
              let d = try? detail(part: part, latent: latent),
              group >= 0, group < d.windowGroups.count,
              window >= 0, window < d.windowGroups[group].windows.count else { return nil }
        let w = d.windowGroups[group].windows[window]
        guard token >= 0, token < w.tokens.count else { return nil }
        let act = w.activations[token]
        let perHead = attr.enumerated().map { h, a in a * act + Float(unit(part, latent, 90 &+ UInt64(h)) - 0.5) * 0.1 * act }
        // Induction-like DFA: earlier copies of the destination token and the token after them.
        var dfa = [Float](repeating: 0, count: w.tokens.count)
        for s in 0...token {
            var v = Float(unit(part, latent, 1000 &+ UInt64(s)) - 0.3) * 0.05 * act
            if s < token && w.tokens[s] == w.tokens[token] { v += act * 0.5 }
            if s > 0 && s <= token && w.tokens[s - 1] == w.tokens[token] && s != token { v += act * 0.3 }
            dfa[s] = v
        }
        return TokenHeadSplit(perHead: perHead, dfaBySource: dfa)
    }

    public func headTable(part: Int) -> [HeadTableRow]? {
        guard part < parts.count, parts[part].isHookZ, let n = parts[part].nHeads else { return nil }
        let scan = min(parts[part].latentCount, 4096)
        var best = [[HeadTableLatent]](repeating: [], count: n)
        for l in 0..<scan {
            guard let attr = headAttribution(part: part, latent: l) else { continue }
            for h in 0..<n where attr[h] > 0.5 {
                best[h].append(HeadTableLatent(latent: l, fraction: attr[h], explanation: nil))
            }
        }
        return (0..<n).map { h in
            let top = best[h].sorted { $0.fraction > $1.fraction }.prefix(8).map {
                HeadTableLatent(latent: $0.latent, fraction: $0.fraction, explanation: explanationText(part, $0.latent))
            }
            return HeadTableRow(head: h, topLatents: Array(top))
        }
    }

    // MARK: - Writes

    public func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws {
        lock.withLock { verdicts[key(part, latent)] = verdict }
    }

    /// Replaces a latent's explanation (used by the synthetic action runner).
    public func setExplanation(part: Int, latent: Int, text: String) {
        lock.withLock { explanationOverrides[key(part, latent)] = text }
    }
}
