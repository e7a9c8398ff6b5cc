import FeaturescopeCore
import Foundation

/// Pearson and Spearman correlation, one implementation for the simulation scorer and the score comparisons.
public enum Correlation {
    /// Pearson's r of two equally long series; NaN when shorter than 2 or either is constant (numpy's corrcoef).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count, x.count >= 2 else { return .nan }
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            let dx = x[i] - mx, dy = y[i] - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return sxy / (sxx * syy).squareRoot()
    }

    /// Ranks from 1, ties sharing their mean rank.
    public static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let mean = Double(i + j) / 2 + 1
            for k in i ... j { r[order[k]] = mean }
            i = j + 1
        }
        return r
    }

    /// Spearman's ρ: Pearson's r of the ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }
}

/// Correlations of a simulation: over all samples' tokens concatenated (activating + non-activating, delphi's
/// quantile −1 group) and per quantile (that quantile's activating samples only).
public struct SimulationScores: Codable, Sendable, Equatable {
    /// nil when undefined (fewer than two tokens, or a constant series).
    public var overall: Double?
    /// Quantile (0 = strongest) → correlation; undefined ones are left out.
    public var perQuantile: [Int: Double]

    /// True activations are the normalised ones (⌈10·a/max⌉, 0 for non-activating examples).
    public init(samples: [ScoredSample], maxActivation: Float) {
        var all: ([Double], [Double]) = ([], [])
        var groups: [Int: ([Double], [Double])] = [:]
        for s in samples {
            guard let sim = s.simulated, sim.count == s.activations.count else { continue }
            let truth = s.activating ? ExplainerFormatting.normalized(s.activations, maxActivation: maxActivation).map(Double.init)
                                     : s.activations.map { _ in 0.0 }
            all.0 += truth; all.1 += sim
            if s.activating {
                groups[s.distance, default: ([], [])].0 += truth
                groups[s.distance, default: ([], [])].1 += sim
            }
        }
        let r = Correlation.pearson(all.0, all.1)
        overall = r.isFinite ? r : nil
        perQuantile = groups.mapValues { Correlation.pearson($0.0, $0.1) }.filter { $0.value.isFinite }
    }
}

/// OpenAI's "all at once" simulation scorer as delphi runs it: from the explanation alone, the scorer model
/// predicts an activation 0–10 for every token of an example, and the score is the Pearson correlation of
/// the predictions with the true normalised activations. Each token's prediction is the expected value over
/// the scores' probabilities: with the embedded model "all at once" as OpenAI's simulator does it — the reply
/// is given with the placeholder `unknown` in place of every number, and P("0"…"10") at each placeholder is
/// read from one forward pass (only candidates that are one token in its vocabulary: with per-digit
/// tokenizers "10" folds into "1"); with an endpoint, the same placeholder text is sent as a plain prompt to
/// `/v1/completions` with `echo` and the alternatives at each placeholder are read from the echoed prompt
/// logprobs (`readOut`). Only an endpoint that cannot echo prompt logprobs falls back to letting the model
/// write the list through chat (each number's expected value from its top logprobs).
public struct SimulationScorer: Sendable, LatentScorer {
    public static let promptVersion = "featurescope-simulation-v1"
    /// An endpoint's all-at-once read-out (plain-text prompt, echoed prompt logprobs).
    public static let promptVersionEcho = "featurescope-simulation-echo-v1"
    public let client: any LLMClient
    public var topLogprobs = 15
    public var methodName: String { "simulation" }

    public init(client: any LLMClient) { self.client = client }

    static let system = """
    We are studying a feature inside a language model. It looks for one particular thing in text. You are \
    given a short explanation of what the feature looks for, then a sequence of tokens, one per line. For \
    each token in order, write the token, a tab, and how strongly the feature fires on it: a whole number \
    from 0 (not at all) to 10 (as strongly as it ever does). Most tokens get 0. Write exactly one line per \
    token and nothing else.
    """

    /// The token as the scorer sees it on its line (line breaks and tabs made visible).
    static func shown(_ token: String) -> String {
        token.replacingOccurrences(of: "\n", with: "↵").replacingOccurrences(of: "\t", with: "→")
    }

    static func messages(explanation: String, tokens: [String]) -> [ChatMessage] {
        let demoTokens = ["The", " recipe", " calls", " for", " two", " cups", " of", " flour"]
        let demoScores = [0, 2, 0, 0, 0, 3, 0, 9]
        let demo = zip(demoTokens, demoScores).map { "\(shown($0))\t\($1)" }.joined(separator: "\n")
        func user(_ e: String, _ t: [String]) -> String {
            "Explanation: \(e)\n\nTokens:\n" + t.map(shown).joined(separator: "\n")
        }
        return [.system(system), .user(user("baking ingredients, especially flour", demoTokens)), .assistant(demo),
                .user(user(explanation, tokens))]
    }

    static let candidates = (0 ... 10).map(String.init)

    public func score(_ sampled: SampledExamples, explanation: String) async throws -> ScoreRecord {
        try await score(sampled, explanation: explanation, onSample: nil)
    }

    /// `score`, calling `onSample` after every simulated example with the samples so far.
    public func score(_ sampled: SampledExamples, explanation: String,
                      onSample: (@Sendable (_ done: Int, _ total: Int, _ samples: [ScoredSample]) -> Void)?) async throws -> ScoreRecord {
        var samples: [ScoredSample] = []
        var failures: [String] = []
        var requestFailures = 0
        let examples = sampled.test + sampled.nonActivating
        // An endpoint is read all at once through echoed prompt logprobs unless its first answer shows it cannot
        // echo them; then every sample of this run goes through chat (one method per record).
        var mode: Mode = client is EmbeddedLLMClient ? .embedded : (client is PromptLogprobClient ? .echo : .chat)
        for (i, ex) in examples.enumerated() {
            try Task.checkCancellation()
            var s = ScoredSample(strTokens: ex.tokens, activations: ex.activations, distance: ex.distance,
                                 activating: ex.distance >= 0, shownText: ex.tokens.map(Self.shown).joined(separator: "\n"))
            do {
                do {
                    s.simulated = try await simulate(explanation: explanation, tokens: ex.tokens, mode: mode)
                } catch let e as LLMClientError where mode == .echo && i == 0 && Self.echoUnsupported(e) {
                    mode = .chat
                    s.simulated = try await simulate(explanation: explanation, tokens: ex.tokens, mode: mode)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch let e as SimulationFailure {
                failures.append("sample \(i): \(e.reason)")
            } catch {
                requestFailures += 1
                failures.append("sample \(i): request failed: \(error)")
            }
            samples.append(s)
            onSample?(i + 1, examples.count, samples)
        }
        var record = ScoreRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: methodName, model: client.modelName,
                                                        endpoint: client.endpointName,
                                                        promptVersion: mode == .echo ? Self.promptVersionEcho : Self.promptVersion),
                                 explanation: explanation, samples: samples, batchFailures: failures)
        record.requestFailures = requestFailures
        record.simulation = SimulationScores(samples: samples, maxActivation: sampled.maxActivation)
        return record
    }

    struct SimulationFailure: Error { let reason: String }

    /// How the predictions are read: the embedded model's placeholders, an endpoint's echoed prompt, or a list the
    /// model writes through chat.
    enum Mode { case embedded, echo, chat }

    /// Whether an endpoint's error says it cannot echo prompt logprobs (no `/v1/completions`, `echo` or
    /// `logprobs` refused, or a reply without them), as opposed to a failure of this one request.
    static func echoUnsupported(_ e: LLMClientError) -> Bool {
        switch e {
        case .httpStatus(let code, _, _): return [400, 404, 405, 422, 501].contains(code)
        case .missingField: return true
        default: return false
        }
    }

    /// Expected activation 0…10 per token.
    func simulate(explanation: String, tokens: [String], mode: Mode) async throws -> [Double] {
        let msgs = Self.messages(explanation: explanation, tokens: tokens)
        if mode == .echo, let endpoint = client as? PromptLogprobClient {
            let (prompt, offsets) = Self.allAtOncePrompt(explanation: explanation, tokens: tokens)
            return try Self.readOut(try await endpoint.promptLogprobs(prompt, topLogprobs: topLogprobs), placeholderOffsets: offsets)
        }
        if let embedded = client as? EmbeddedLLMClient {
            let probs = try await embedded.placeholderProbabilities(msgs, lines: tokens.map(Self.shown), candidates: Self.candidates)
            return try probs.enumerated().map { i, p in
                guard let ev = Self.expectedValue(p).0 else {
                    throw SimulationFailure(reason: "no probability on any score 0…10 after token \(i)")
                }
                return ev
            }
        }
        let reply = try await client.complete(ChatRequest(messages: msgs, temperature: 0, maxTokens: 8 * tokens.count + 16,
                                                          topLogprobs: topLogprobs))
        return try Self.parse(reply, count: tokens.count)
    }

    /// The plain-text form of `messages` for a completions endpoint, ending in the `token<TAB>unknown` lines, and
    /// the offset (in Unicode scalars, as servers count `text_offset`) of every placeholder.
    static func allAtOncePrompt(explanation: String, tokens: [String], placeholder: String = "unknown") -> (String, [Int]) {
        let demoTokens = ["The", " recipe", " calls", " for", " two", " cups", " of", " flour"]
        let demoScores = ["0", "2", "0", "0", "0", "3", "0", "9"]
        var text = system + "\n\n"
        var offsets: [Int] = []
        func block(_ e: String, _ t: [String], _ scores: [String]?) {
            text += "Explanation: \(e)\n\nTokens:\n" + t.map(shown).joined(separator: "\n") + "\n\nActivations:\n"
            for (k, tok) in t.enumerated() {
                text += shown(tok) + "\t"
                if scores == nil { offsets.append(text.unicodeScalars.count) }
                text += (scores?[k] ?? placeholder) + "\n"
            }
        }
        block("baking ingredients, especially flour", demoTokens, demoScores)
        text += "\n"
        block(explanation, tokens, nil)
        return (text, offsets)
    }

    /// Expected values at the placeholders of an echoed prompt. Servers disagree on which distribution an entry
    /// carries: OpenAI's convention (vLLM; llama-cpp-python for models with a BOS token) gives at entry i the
    /// distribution token i was drawn from, while llama-cpp-python 0.3 for models without a BOS token (Qwen2.5)
    /// gives at entry i the distribution of token i + 1. The reply itself decides: the alignment under which the
    /// entries' likeliest alternatives agree with the echoed tokens more often (same entry vs next entry) wins; a
    /// tie is a failure. The read-out for a placeholder is the distribution of the token that starts exactly at
    /// its offset (a tokenizer that merges the tab with `unknown` leaves no clean read-out: a failure); a
    /// distribution without any of the numbers 0…10 among its alternatives reads as 0 (OpenAI's
    /// `compute_predicted_activation_stats_for_token` on an empty set).
    static func readOut(_ entries: [PromptTokenLogprob], placeholderOffsets: [Int]) throws -> [Double] {
        guard !entries.isEmpty else { throw SimulationFailure(reason: "the endpoint echoed no prompt tokens") }
        var offsets: [Int] = []
        if entries.allSatisfy({ $0.textOffset != nil }) {
            offsets = entries.map { $0.textOffset ?? 0 }
        } else {
            var pos = 0
            for e in entries { offsets.append(pos); pos += e.token.unicodeScalars.count }
        }
        var same = 0, next = 0
        for (i, e) in entries.enumerated() {
            guard let top = e.topAlternatives.first?.token else { continue }
            if top == e.token { same += 1 }
            if i + 1 < entries.count && top == entries[i + 1].token { next += 1 }
        }
        guard same != next else {
            throw SimulationFailure(reason: "cannot tell how the endpoint aligns prompt logprobs (\(same) top-1 matches either way)")
        }
        let shift = next > same ? 1 : 0
        var index: [Int: Int] = [:]
        for (i, o) in offsets.enumerated() where index[o] == nil { index[o] = i }
        return try placeholderOffsets.enumerated().map { line, o in
            guard let j = index[o], j - shift >= 0 else {
                throw SimulationFailure(reason: "no prompt token starts at the placeholder of token \(line) (offset \(o))")
            }
            var p = [Double](repeating: 0, count: 11)
            for alt in entries[j - shift].topAlternatives where alt.logprob.isFinite {
                let t = alt.token.trimmingCharacters(in: .whitespaces)
                if !t.isEmpty, t.count <= 2, t.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(t), (0 ... 10).contains(v) {
                    p[v] += Foundation.exp(alt.logprob)
                }
            }
            // No number among the top alternatives (the model expects another `unknown` there): 0, as OpenAI's
            // simulator computes it (an empty distribution has expected value 0).
            return expectedValue(p).0 ?? 0
        }
    }

    /// Σ k·p_k / Σ p_k over the scores 0…10 (nil when all are 0) and the likeliest score.
    static func expectedValue(_ p: [Double]) -> (Double?, Int) {
        let total = p.reduce(0) { $0 + ($1.isFinite ? max(0, $1) : 0) }
        guard total > 0 else { return (nil, 0) }
        var ev = 0.0
        for (k, v) in p.enumerated() where v.isFinite && v > 0 { ev += Double(k) * v }
        let best = p.indices.max { p[$0] < p[$1] } ?? 0
        return (ev / total, best)
    }

    /// The number that ends one reply line: after its last tab, else after its last space (a model that writes
    /// `token 3` or just `3`); nil when the line does not end in a whole number 0…10. Returns the number and
    /// the offset (in characters, within the line) where it starts.
    static func trailingScore(_ line: Substring) -> (Int, Int)? {
        var body = String(line)
        while let last = body.last, last == " " || last == "\r" { body.removeLast() }
        let cut = body.lastIndex(of: "\t") ?? body.lastIndex(of: " ")
        let start = cut.map { body.index(after: $0) } ?? body.startIndex
        let field = body[start...]
        guard !field.isEmpty, field.count <= 2, field.allSatisfy(\.isASCII), field.allSatisfy(\.isNumber),
              let n = Int(field), (0 ... 10).contains(n) else { return nil }
        return (n, body.distance(from: body.startIndex, to: start))
    }

    /// The numbers of the reply's lines (`token<TAB>n`, tolerated: `token n`, `n`; blank lines skipped):
    /// exactly `count` lines that each end in 0…10, else a failure naming the first bad line or the count —
    /// a reply is used whole or not at all. With logprobs whose tokens spell the reply, each number's expected
    /// value comes from the alternatives of the token where the number starts (Σ k·p_k over alternatives that
    /// are whole numbers 0…10); a number whose position has no such alternative keeps its written value.
    static func parse(_ reply: ChatResponse, count: Int) throws -> [Double] {
        let text = reply.text
        var lines: [(Int, Int)] = []   // (number, character offset in the reply where it starts)
        var offset = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            defer { offset += raw.count + 1 }
            guard !raw.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard let (n, at) = trailingScore(raw) else {
                throw SimulationFailure(reason: "line '\(SafeText.sanitize(String(raw.prefix(60))))' does not end in a score 0…10")
            }
            lines.append((n, offset + at))
        }
        guard lines.count == count else { throw SimulationFailure(reason: "\(lines.count) lines for \(count) tokens") }
        let numbers = lines.map { Double($0.0) }
        guard let lp = reply.logprobs, !lp.isEmpty, lp.map(\.token).joined() == text else { return numbers }
        // Character span of every logprob token; the token covering a number's first digit carries its alternatives.
        var starts: [Int] = []
        var pos = 0
        for entry in lp { starts.append(pos); pos += entry.token.count }
        var k = 0
        return lines.map { n, at in
            while k + 1 < starts.count && starts[k + 1] <= at { k += 1 }
            let entry = lp[k]
            // Only a token that is the number itself (possibly with leading whitespace/tab) is a read-out position.
            let prefix = text.dropFirst(starts[k]).prefix(at - starts[k])
            guard prefix.allSatisfy({ $0 == " " || $0 == "\t" }) else { return Double(n) }
            var p = [Double](repeating: 0, count: 11)
            var alternatives = entry.topAlternatives
            if !alternatives.contains(where: { $0.token == entry.token }) {
                alternatives.append(TokenAlternative(token: entry.token, logprob: entry.logprob))
            }
            for alt in alternatives where alt.logprob.isFinite {
                let t = alt.token.trimmingCharacters(in: .whitespaces)
                if !t.isEmpty, t.allSatisfy(\.isNumber), let v = Int(t), (0 ... 10).contains(v) { p[v] += Foundation.exp(alt.logprob) }
            }
            return expectedValue(p).0 ?? Double(n)
        }
    }
}
