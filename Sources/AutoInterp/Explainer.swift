import Foundation

// MARK: - Formatting (delphi's default explainer)

/// How the explainer renders examples: delphi's `<<`/`>>` highlighting and `Activations:` lines.
public enum ExplainerFormatting {
    /// Normalised activations: ⌈10·a / maxActivation⌉ clamped to 0…10 (0 when max ≤ 0).
    public static func normalized(_ activations: [Float], maxActivation: Float) -> [Int] {
        guard maxActivation > 0, maxActivation.isFinite else { return activations.map { _ in 0 } }
        return activations.map { a in
            let v = (10 * Double(a) / Double(maxActivation)).rounded(.up)
            guard v.isFinite else { return 0 }
            return Int(min(10, max(0, v)))
        }
    }

    /// Tokens joined as they are, with maximal runs of tokens for which `marked(i)` holds
    /// wrapped in `<<` `>>`.
    public static func highlight(_ tokens: [String], marked: (Int) -> Bool) -> String {
        var out = ""
        var i = 0
        while i < tokens.count {
            if marked(i) {
                out += "<<"
                while i < tokens.count && marked(i) { out += tokens[i]; i += 1 }
                out += ">>"
            } else {
                out += tokens[i]
                i += 1
            }
        }
        return out
    }

    /// The explainer's highlighting: tokens with activation **>** threshold × the example's maximum.
    public static func highlight(_ tokens: [String], activations: [Float], threshold: Float = 0.3) -> String {
        let cut = (activations.max() ?? 0) * threshold
        return highlight(tokens) { $0 < activations.count && activations[$0] > cut }
    }

    /// `Activations: ("tok" : 7), ("tok2" : 9), ` — the highlighted tokens with their normalised
    /// activations, at most `limit` (11, as delphi) per example.
    public static func activationsLine(_ tokens: [String], activations: [Float], normalized: [Int],
                                       threshold: Float = 0.3, limit: Int = 11) -> String {
        let cut = (activations.max() ?? 0) * threshold
        var out = "Activations: "
        var shown = 0
        for i in 0..<min(tokens.count, activations.count, normalized.count) where activations[i] > cut {
            if shown >= limit { break }
            out += "(\"\(tokens[i])\" : \(normalized[i])), "
            shown += 1
        }
        return out
    }

    /// `Marked tokens: " St" in 7 of 8 examples, "ner" in 2 of 8`: the tokens highlighted (activation > threshold ×
    /// the example's maximum) in the most examples, at most `limit`, ties broken by the summed activation.
    public static func markedTally(_ examples: [ActivationWindow], threshold: Float = 0.3, limit: Int = 5) -> String {
        var count: [String: Int] = [:]
        var weight: [String: Float] = [:]
        for ex in examples {
            let cut = (ex.activations.max() ?? 0) * threshold
            var seen = Set<String>()
            for i in 0..<min(ex.tokens.count, ex.activations.count) where ex.activations[i] > cut {
                let t = ex.tokens[i]
                weight[t, default: 0] += ex.activations[i]
                if seen.insert(t).inserted { count[t, default: 0] += 1 }
            }
        }
        let ranked = count.keys.sorted { a, b in
            (count[a]!, weight[a]!, b) > (count[b]!, weight[b]!, a)
        }
        let n = examples.count
        let items = ranked.prefix(limit).map { t in
            "\"\(t.replacingOccurrences(of: "\n", with: "\\n"))\" in \(count[t]!) of \(n) examples"
        }
        return "Marked tokens: " + (items.isEmpty ? "none" : items.joined(separator: ", "))
    }

    /// `Marked tokens, most frequent first: " the" (after " in"), "ou" (after "Th", in "Thou"), …`: the tokens
    /// highlighted in the most examples, at most `limit`, each with the token most often just before its marked span
    /// and, when it is a piece of a longer word, the word it is most often part of. No counts.
    public static func markedContext(_ examples: [ActivationWindow], threshold: Float = 0.3, limit: Int = 5) -> String {
        var count: [String: Int] = [:]
        var weight: [String: Float] = [:]
        var before: [String: [String: Int]] = [:]
        var words: [String: [String: Int]] = [:]
        for ex in examples {
            let n = min(ex.tokens.count, ex.activations.count)
            let cut = (ex.activations.max() ?? 0) * threshold
            var seen = Set<String>()
            for i in 0..<n where ex.activations[i] > cut {
                let t = ex.tokens[i]
                weight[t, default: 0] += ex.activations[i]
                guard seen.insert(t).inserted else { continue }
                count[t, default: 0] += 1
                var start = i
                while start > 0, ex.activations[start - 1] > cut { start -= 1 }
                if start > 0 { before[t, default: [:]][ex.tokens[start - 1], default: 0] += 1 }
                let w = word(around: i, in: ex.tokens, upTo: n)
                if w != t.trimmingCharacters(in: .whitespacesAndNewlines) { words[t, default: [:]][w, default: 0] += 1 }
            }
        }
        func quoted(_ t: String) -> String { "\"" + t.replacingOccurrences(of: "\n", with: "\\n") + "\"" }
        func commonest(_ d: [String: Int]?) -> String? { d?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key }
        let ranked = count.keys.sorted { a, b in (count[a]!, weight[a]!, b) > (count[b]!, weight[b]!, a) }
        let items = ranked.prefix(limit).map { t -> String in
            var notes: [String] = []
            if let b = commonest(before[t]) { notes.append("after " + quoted(b)) }
            if let w = commonest(words[t]) { notes.append("in " + quoted(w)) }
            return quoted(t) + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")")
        }
        return "Marked tokens, most frequent first: " + (items.isEmpty ? "none" : items.joined(separator: ", "))
    }

    /// The word token `i` is part of: the token joined with its neighbours while the join falls between two
    /// letters or digits (no space between), trimmed.
    static func word(around i: Int, in tokens: [String], upTo n: Int) -> String {
        func isWordChar(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
        var lo = i, hi = i
        while lo > 0, isWordChar(tokens[lo].first), isWordChar(tokens[lo - 1].last) { lo -= 1 }
        while hi + 1 < n, isWordChar(tokens[hi + 1].first), isWordChar(tokens[hi].last) { hi += 1 }
        return tokens[lo...hi].joined().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The lines of a set of examples: a highlighted line, then (optionally) its activations line.
    public static func exampleBlock(_ examples: [ActivationWindow], maxActivation: Float,
                                    threshold: Float = 0.3, showActivations: Bool = true) -> String {
        var lines: [String] = []
        for ex in examples {
            lines.append(highlight(ex.tokens, activations: ex.activations, threshold: threshold))
            if showActivations {
                let norm = normalized(ex.activations, maxActivation: maxActivation)
                lines.append(activationsLine(ex.tokens, activations: ex.activations, normalized: norm, threshold: threshold))
            }
        }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Explainer

/// Asks an LLM what a latent's top examples have in common (delphi's default explainer, or
/// its contrastive variant that also shows non-activating examples).
public struct Explainer: Sendable {
    /// The explanation recorded when a reply has no `[EXPLANATION]:` line (delphi's string).
    public static let unparsedExplanation = "Explanation could not be parsed."

    public enum Variant: String, Codable, Sendable {
        /// Activating examples only (delphi's default).
        case standard = "explainer"
        /// Activating and non-activating examples.
        case contrastive
    }

    public struct Options: Sendable {
        public var variant: Variant = .standard
        /// Fraction of the example maximum above which tokens are highlighted.
        public var threshold: Float = 0.3
        /// Show the `Activations:` line under each example.
        public var showActivations = true
        public var temperature = 0.0
        public var maxTokens = 2000
        /// Non-activating examples shown by the contrastive variant.
        public var contrastiveNegatives = 10
        /// The standard variant's prompt: delphi's layout or the compact one for small explainers.
        public var promptStyle: PromptStyle = .delphi
        /// Few-shot demonstrations shown (nil: all of the style's; 0: none).
        public var demoCount: Int?
        public init() {}
    }

    /// The standard explainer's prompt.
    public enum PromptStyle: String, Codable, Sendable, CaseIterable {
        /// delphi's: the researcher system prompt, three demonstrations whose answers reason first, then
        /// `[EXPLANATION]:`; examples with their `Activations:` lines.
        case delphi
        /// For small explainers primed with `[EXPLANATION]:` (measured in docs/explain-and-score.md): a short
        /// system prompt, demonstrations of different kinds answered in one line, and under the examples a
        /// tally of the marked tokens (`Marked tokens: " St" in 8 of 8 examples, …`).
        case compact
        /// A study variant of `compact` (session 8): the marked tokens listed with the token before them and their
        /// word, no counts; demonstrations answered in that shape.
        case compactV2 = "compact-v2"
        /// A study variant (session 9): at most 8 of the examples, then the latent's counted pattern over all of
        /// them (`PatternExplainer`); the explainer says it in plain words and adds the kind of text.
        case grounded
    }

    public let client: any LLMClient
    public let options: Options

    public init(client: any LLMClient, options: Options = Options()) {
        self.client = client
        self.options = options
    }

    public var promptVersion: String {
        guard options.variant == .standard else { return ExplainerPrompts.contrastiveVersion }
        let base = switch options.promptStyle {
        case .delphi: ExplainerPrompts.version
        case .compact: ExplainerPrompts.compactVersion
        case .compactV2: ExplainerPrompts.compactV2Version
        case .grounded: ExplainerPrompts.groundedVersion
        }
        return options.demoCount.map { base + "-demos\($0)" } ?? base
    }

    /// The chat messages for a set of training examples.
    public func messages(train: [ActivationWindow], maxActivation: Float,
                         nonActivating: [ActivationWindow] = []) -> [ChatMessage] {
        switch options.variant {
        case .standard:
            let (system, all) = switch options.promptStyle {
            case .delphi: (ExplainerPrompts.system, ExplainerPrompts.demos)
            case .compact: (ExplainerPrompts.compactSystem, ExplainerPrompts.compactDemos)
            case .compactV2: (ExplainerPrompts.compactV2System, ExplainerPrompts.compactV2Demos)
            case .grounded: (ExplainerPrompts.groundedSystem, ExplainerPrompts.groundedDemos)
            }
            var msgs = [ChatMessage.system(system)]
            for demo in all.prefix(max(0, options.demoCount ?? all.count)) {
                let windows = demo.examples.map { ActivationWindow(tokens: $0.0, activations: $0.1) }
                let top = windows.map(\.maxActivation).max() ?? 0
                msgs.append(.user(userContent(windows, maxActivation: top)))
                msgs.append(.assistant(demo.answer))
            }
            msgs.append(.user(userContent(train, maxActivation: maxActivation)))
            return msgs
        case .contrastive:
            return [.system(ExplainerPrompts.contrastiveSystem),
                    .user(contrastiveContent(train, nonActivating: nonActivating))]
        }
    }

    /// delphi's user message: the example block between newlines (compact: without `Activations:` lines, with
    /// the tally of marked tokens under it).
    func userContent(_ examples: [ActivationWindow], maxActivation: Float) -> String {
        guard options.promptStyle != .delphi else {
            return "\n" + ExplainerFormatting.exampleBlock(examples, maxActivation: maxActivation,
                                                           threshold: options.threshold,
                                                           showActivations: options.showActivations) + "\n"
        }
        let shown = options.promptStyle == .grounded ? Array(examples.prefix(8)) : examples
        let block = shown.enumerated().map { i, ex in
            "Example \(i + 1): " + ExplainerFormatting.highlight(ex.tokens, activations: ex.activations, threshold: options.threshold)
                .replacingOccurrences(of: "\n", with: "\\n")
        }.joined(separator: "\n")
        let list = switch options.promptStyle {
        case .compactV2: ExplainerFormatting.markedContext(examples, threshold: options.threshold)
        case .grounded: "Counted pattern: " + PatternExplainer.explanation(LatentPattern(examples))
        default: ExplainerFormatting.markedTally(examples, threshold: options.threshold)
        }
        return block + "\n\n" + list + "\n"
    }

    /// delphi's contrastive layout: labelled sections with `Example i:  ` lines.
    func contrastiveContent(_ train: [ActivationWindow], nonActivating: [ActivationWindow]) -> String {
        var lines = ["ACTIVATING EXAMPLES:"]
        for (i, ex) in train.enumerated() {
            let text = ExplainerFormatting.highlight(ex.tokens, activations: ex.activations, threshold: options.threshold)
            lines.append("Example \(i):  " + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if !nonActivating.isEmpty {
            lines.append("\n\nNON-ACTIVATING EXAMPLES:")
            for (i, ex) in nonActivating.enumerated() {
                let text = ex.text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "")
                lines.append("Example \(i):  " + text)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The text after the first `[EXPLANATION]:` (trimmed), or nil.
    public static func parseExplanation(_ reply: String) -> String? {
        guard let r = reply.range(of: "[EXPLANATION]:") else { return nil }
        return reply[r.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Explains one latent. Throws only when the client fails (after its retries); an
    /// unparsable reply gives `unparsedExplanation` with `parsed == false`.
    public func explain(_ sampled: SampledExamples) async throws -> ExplanationRecord {
        try await explain(sampled, onText: nil)
    }

    /// `explain`, with the reply so far passed to `onText` as it is generated (the embedded model streams
    /// token by token; other clients call it once with the whole reply).
    public func explain(_ sampled: SampledExamples, onText: (@Sendable (String) -> Void)?) async throws -> ExplanationRecord {
        let negatives = options.variant == .contrastive ? Array(sampled.nonActivating.prefix(options.contrastiveNegatives)) : []
        let request = ChatRequest(messages: messages(train: sampled.train, maxActivation: sampled.maxActivation,
                                                     nonActivating: negatives),
                                  temperature: options.temperature, maxTokens: options.maxTokens)
        let reply: ChatResponse
        if let onText, let embedded = client as? EmbeddedLLMClient {
            reply = try await embedded.complete(request, onText: onText)
        } else {
            reply = try await client.complete(request)
            onText?(reply.text)
        }
        let parsed = Self.parseExplanation(reply.text)
        return ExplanationRecord(
            latent: sampled.latent, hook: sampled.hook,
            provenance: Provenance(method: options.variant.rawValue, model: client.modelName,
                                   endpoint: client.endpointName, promptVersion: promptVersion),
            explanation: parsed ?? Self.unparsedExplanation, parsed: parsed != nil, rawReply: reply.text)
    }
}
