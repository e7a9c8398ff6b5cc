import FeaturescopeCore
import Foundation

/// A made-up prompt engine for demos and tests: splits on spaces, hashes tokens to latents.
public struct SyntheticPromptEngine: PromptEngine {
    public let data: SyntheticBrowserData
    /// Pretend work time, so the spinner shows in demos (0 in tests).
    public let delay: Duration

    public init(data: SyntheticBrowserData, delay: Duration = .milliseconds(300)) {
        self.data = data
        self.delay = delay
    }

    static func tokenize(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            if (ch == " " || ch == "\n" || ch.isPunctuation) && !current.isEmpty && current != " " {
                out.append(current)
                current = ""
            }
            current.append(ch)
            if ch.isPunctuation || ch == "\n" { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    func hash(_ s: String) -> UInt64 {
        FNV1a.hash(s.utf8)
    }

    public func run(text: String, part: Int) async throws -> PromptRun {
        if delay > .zero { try await Task.sleep(for: delay) }
        guard part >= 0, part < data.parts.count else { throw BrowserError("no part \(part)") }
        let n = data.parts[part].latentCount
        guard n > 0 else { throw BrowserError("part \(part) has no latents") }
        let tokens = Self.tokenize(text)
        let tops: [[LatentActivation]] = tokens.enumerated().map { pos, tok in
            (0..<8).map { k in
                let h = SyntheticBrowserData.mix(hash(tok) ^ UInt64(k) &* 77)
                let latent = Int(h % UInt64(n))
                let act = Float(8 - k) * (0.6 + Float(SyntheticBrowserData.mix(h ^ UInt64(pos)) % 100) / 250)
                return LatentActivation(latent: latent, activation: act)
            }.sorted { $0.activation > $1.activation }
        }
        let next = (0..<8).map { k in
            NextToken(token: SyntheticBrowserData.vocab[Int(SyntheticBrowserData.mix(hash(text) ^ UInt64(k)) % UInt64(SyntheticBrowserData.vocab.count))],
                      probability: 0.5 / Float(k + 1))
        }
        return PromptRun(text: text, part: part, tokens: tokens, topLatents: tops, nextTokens: next,
                         attention: Self.attention(tokens: tokens))
    }

    /// Hand-made patterns at layers 5 and 6, 4 heads each (causal, rows sum to 1): head 0 previous token, head 1
    /// first token, head 2 earlier copies of the same token (else itself), head 3 uniform; layer 5 mixes each
    /// with the uniform pattern half and half.
    public static func attention(tokens: [String]) -> PromptAttention? {
        let t = tokens.count, heads = 4
        guard t > 0 else { return nil }
        func pattern(mix: Float) -> [Float] {
            var w = [Float](repeating: 0, count: heads * t * t)
            for h in 0 ..< heads {
                for q in 0 ..< t {
                    var row = [Float](repeating: 0, count: t)
                    switch h {
                    case 0: row[max(0, q - 1)] = 1
                    case 1: row[0] = 1
                    case 2:
                        let same = (0 ..< q).filter { tokens[$0] == tokens[q] }
                        if same.isEmpty { row[q] = 1 } else { for k in same { row[k] = 1 / Float(same.count) } }
                    default: for k in 0 ... q { row[k] = 1 / Float(q + 1) }
                    }
                    for k in 0 ... q { w[(h * t + q) * t + k] = (1 - mix) * row[k] + mix / Float(q + 1) }
                }
            }
            return w
        }
        return PromptAttention(layers: [5, 6], headCount: heads, tokenCount: t, patterns: [pattern(mix: 0.5), pattern(mix: 0)],
                               preferredLayer: 6)
    }

    public func trace(run: PromptRun, latent: Int, token: Int) async throws -> PromptLatentTrace {
        if delay > .zero { try await Task.sleep(for: delay / 3) }
        let acts: [Float] = run.topLatents.map { list in list.first(where: { $0.latent == latent })?.activation ?? 0 }
        let isZ = run.part < data.parts.count && data.parts[run.part].isHookZ
        var dfa: [Float]? = nil
        var heads: [Float]? = nil
        if isZ, token >= 0, token < run.tokens.count {
            let a = acts[token]
            dfa = (0..<run.tokens.count).map { s in
                s > token ? 0 : (run.tokens[s] == run.tokens[token] && s != token ? a * 0.6 : a * 0.05 * Float((s * 7) % 5))
            }
            heads = data.headAttribution(part: run.part, latent: latent)?.map { $0 * a }
        }
        return PromptLatentTrace(latent: latent, token: token, activations: acts, dfaBySource: dfa, perHead: heads)
    }
}

/// A made-up explain/score runner: reports a few progress steps, then writes a synthetic explanation.
public struct SyntheticActionRunner: ActionRunner {
    public let data: SyntheticBrowserData
    public let stepDelay: Duration

    public init(data: SyntheticBrowserData, stepDelay: Duration = .milliseconds(400)) {
        self.data = data
        self.stepDelay = stepDelay
    }

    public func run(_ action: BrowserAction, part: Int, latent: Int,
                    progress: @escaping @Sendable (String) -> Void) async throws -> String {
        try await run(action, part: part, latent: latent, progress: progress, partial: { _ in })
    }

    /// Score jobs report each scorer's samples in 4 batches (made up: the latent's synthetic samples, when it has them).
    public func run(_ action: BrowserAction, part: Int, latent: Int, progress: @escaping @Sendable (String) -> Void,
                    partial: @escaping @Sendable (ActionPartial) -> Void) async throws -> String {
        if action == .explain {
            for s in ["sampling examples", "asking the explainer", "parsing"] {
                progress(s)
                if stepDelay > .zero { try await Task.sleep(for: stepDelay) }
            }
            let tok = data.featureToken(part, latent).trimmingCharacters(in: .whitespaces)
            data.setExplanation(part: part, latent: latent, text: "The token \"\(tok)\" (synthetic explanation)")
            return "explained latent \(latent)"
        }
        for scorer in action.scorers {
            let all = (try? data.scoredSamples(part: part, latent: latent, scorer: scorer)) ?? []
            for b in 1...4 {
                progress("\(scorer) batch \(b)/4")
                partial(.samples(scorer: scorer, Array(all.prefix(all.count * b / 4))))
                if stepDelay > .zero { try await Task.sleep(for: stepDelay) }
            }
        }
        return "scored latent \(latent): \(action.label)"
    }
}
