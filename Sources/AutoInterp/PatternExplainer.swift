import Foundation

/// What a latent's strongest examples have in common, counted: the token each example peaks on, the token just
/// before it, the word it is a piece of, and a token that recurs a few tokens earlier. Attention-output latents
/// are mostly decided by what precedes the token, which small explainer models do not state; these counts do.
public struct LatentPattern: Sendable, Equatable {
    /// A value and how many examples show it.
    public struct Count: Sendable, Equatable {
        public var value: String
        public var examples: Int
    }

    /// Examples analysed (those with a positive peak).
    public var examples: Int
    /// The peak token of each example (trimmed of surrounding white space unless it is only white space), most
    /// frequent first.
    public var peakTokens: [Count]
    /// The token just before the peak, most frequent first.
    public var previousTokens: [Count]
    /// The word the peak token is a piece of, for peaks inside a longer word, most frequent first.
    public var words: [Count]
    /// Examples whose peak is a piece of a longer word.
    public var inWord: Int
    /// Examples whose nearest word before the peak (within 3 tokens, the peak's own word excluded) is in capitals
    /// of at least two letters, such as a speaker's name in a play.
    public var afterCapitals: Int
    /// Examples whose window is from a play (`looksLikePlay`).
    public var inPlays: Int
    /// A token among the 6 before the peak in most examples and rare elsewhere in them, if any.
    public var recentToken: Count?
    /// Examples whose peak token is only a line break / only punctuation / only digits.
    public var lineBreaks: Int, punctuation: Int, digits: Int

    /// Counts over `windows` (each window's argmax position is its peak; windows without a positive activation
    /// are left out).
    public init(_ windows: [ActivationWindow]) {
        // Tokens are counted case-insensitively and shown in their commonest spelling.
        var spelling: [String: [String: Int]] = [:]
        var peak: [String: Int] = [:], previous: [String: Int] = [:], word: [String: Int] = [:]
        var recentPresence: [String: Int] = [:], recentDistance: [String: Int] = [:], background: [String: Double] = [:]
        var recentSpelling: [String: [String: Int]] = [:]
        var order: [String: Int] = [:]
        var n = 0, inWord = 0, afterCapitals = 0, inPlays = 0, lineBreaks = 0, punctuation = 0, digits = 0, backgroundWindows = 0
        func note(_ d: inout [String: Int], _ token: String) {
            let surface = Self.key(token), k = surface.lowercased()
            d[k, default: 0] += 1
            spelling[k, default: [:]][surface, default: 0] += 1
            if order[k] == nil { order[k] = order.count }
        }
        for ex in windows {
            let len = min(ex.tokens.count, ex.activations.count)
            guard len > 0, let p = (0 ..< len).max(by: { ex.activations[$0] < ex.activations[$1] }),
                  ex.activations[p] > 0 else { continue }
            n += 1
            if Self.looksLikePlay(ex.tokens[0 ..< len].joined()) { inPlays += 1 }
            let t = Self.key(ex.tokens[p])
            note(&peak, t)
            if t.allSatisfy(\.isNewline) { lineBreaks += 1 }
            if !t.isEmpty, t.unicodeScalars.allSatisfy({ CharacterSet.punctuationCharacters.contains($0) || CharacterSet.symbols.contains($0) }) { punctuation += 1 }
            if !t.isEmpty, t.allSatisfy(\.isNumber) { digits += 1 }
            if p > 0 { note(&previous, ex.tokens[p - 1]) }
            let w = ExplainerFormatting.word(around: p, in: ex.tokens, upTo: len)
            if w.count > t.count, w.contains(t) { inWord += 1; note(&word, w) }
            if let j = (max(0, p - 3) ..< p).reversed().first(where: { ex.tokens[$0].contains(where: \.isLetter) }),
               !(w.count > t.count && ex.tokens[j ... p].joined().trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(w)) {
                let word = ExplainerFormatting.word(around: j, in: ex.tokens, upTo: len)
                if word.filter(\.isLetter).count >= 2, word.allSatisfy({ !$0.isLetter || $0.isUppercase }) { afterCapitals += 1 }
            }
            // Tokens among the 6 before the peak (presence per example, and the nearest distance), against every
            // 6-token span of the window.
            if p > 0 {
                var nearest: [String: Int] = [:]
                for i in max(0, p - 6) ..< p {
                    let surface = Self.key(ex.tokens[i]), k = Self.stem(surface.lowercased())
                    nearest[k] = p - i
                    recentSpelling[k, default: [:]][surface, default: 0] += 1
                }
                for (k, d) in nearest {
                    recentPresence[k, default: 0] += 1
                    recentDistance[k, default: 0] += d
                }
            }
            var spans = 0
            var present: [String: Int] = [:]
            var start = 0
            while start + 6 <= len {
                spans += 1
                for k in Set(ex.tokens[start ..< start + 6].map({ Self.stem(Self.key($0).lowercased()) })) { present[k, default: 0] += 1 }
                start += 6
            }
            if spans > 0 {
                backgroundWindows += 1
                for (k, c) in present { background[k, default: 0] += Double(c) / Double(spans) }
            }
        }
        func shown(_ k: String) -> String {
            spelling[k]?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? k
        }
        func ranked(_ d: [String: Int]) -> [Count] {
            d.sorted { a, b in a.value != b.value ? a.value > b.value : (order[a.key] ?? 0) < (order[b.key] ?? 0) }
                .map { Count(value: shown($0.key), examples: $0.value) }
        }
        examples = n
        peakTokens = ranked(peak)
        previousTokens = ranked(previous)
        words = ranked(word)
        self.inWord = inWord
        self.afterCapitals = afterCapitals
        self.inPlays = inPlays
        self.lineBreaks = lineBreaks
        self.punctuation = punctuation
        self.digits = digits
        // A recent token counts when it is among the 6 before the peak in at least 60 % of the examples, at least
        // twice as often as in an average 6-token span of the same windows (so " the" or "," do not), and is
        // not the peak token itself.
        let peakTop = peakTokens.first.map { Self.stem($0.value.lowercased()) }
        var best: (key: String, examples: Int, lift: Double, distance: Double)?
        for (k, c) in recentPresence where k != peakTop && !k.allSatisfy(\.isWhitespace) && 10 * c >= 6 * n {
            let rate = (background[k] ?? 0) / Double(max(1, backgroundWindows))
            let lift = Double(c) / Double(max(1, n)) / max(rate, 1e-9)
            guard lift >= 2 else { continue }
            let distance = Double(recentDistance[k] ?? 0) / Double(c)
            let candidate = (key: k, examples: c, lift: lift, distance: distance)
            if let b = best, (b.examples, b.lift, -b.distance, b.key) >= (c, lift, -distance, k) { continue }
            best = candidate
        }
        recentToken = best.map { b in
            Count(value: recentSpelling[b.key]?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? b.key,
                  examples: b.examples)
        }
    }

    /// A token as counted: trimmed of surrounding white space, unless it is only white space.
    /// Typographic quotes count as the plain ones (’s and 's are one token for the counts).
    static func key(_ token: String) -> String {
        let t = token.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return token }
        let u = t.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !u.isEmpty else { return "\n" }
        return String(u.map { c -> Character in
            switch c {
            case "\u{2019}", "\u{2018}": "'"
            case "\u{201C}", "\u{201D}": "\""
            default: c
            }
        })
    }

    /// A word's forms counted as one for the recent-token search: lower case, one ending (-ing, -ed, -es, -s, -e, -d)
    /// taken off while at least three letters remain (store, stores, stored and storing all count as "stor").
    static func stem(_ lowered: String) -> String {
        guard lowered.allSatisfy(\.isLetter) else { return lowered }
        for ending in ["ing", "ed", "es", "s", "e", "d"] where lowered.hasSuffix(ending) && lowered.count - ending.count >= 3 {
            return String(lowered.dropLast(ending.count))
        }
        return lowered
    }

    /// Whether a window's text is from a play: a speaker's line (a name in capitals alone on its line, ending in
    /// ".") or a stage direction ("[Enter", "[Exit", "[Exeunt", "[Re-enter").
    static func looksLikePlay(_ text: String) -> Bool {
        if ["[Enter", "[Exit", "[Exeunt", "[Re-enter"].contains(where: text.contains) { return true }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let l = line.trimmingCharacters(in: .whitespaces)
            guard l.count >= 3, l.count <= 30, l.hasSuffix(".") else { continue }
            let name = l.dropLast()
            if name.filter(\.isLetter).count >= 2, name.allSatisfy({ ($0.isLetter && $0.isUppercase) || $0 == " " || $0 == "'" }) {
                return true
            }
        }
        return false
    }
}

/// An explanation written from a latent's counted pattern (`LatentPattern`), no LLM: the token(s) the strongest
/// examples peak on, the token before them when most examples share it, the word they are part of, an earlier
/// trigger token. Every clause is a count over the examples, so the explanation says only what they show.
public struct PatternExplainer: LatentExplainer {
    public static let method = "pattern"
    public static let model = "counted-pattern"
    public static let promptVersion = "pattern-v1"
    /// The explainer's examples by default: the latent's 20 strongest windows.
    public static let exampleCount = 20
    public var methodName: String { Self.method }
    public var modelName: String { Self.model }
    public var usesEmbeddedModel: Bool { false }

    public init() {}

    public func explain(_ sampled: SampledExamples) async throws -> ExplanationRecord {
        let text = Self.explanation(LatentPattern(sampled.train))
        return ExplanationRecord(latent: sampled.latent, hook: sampled.hook,
                                 provenance: Provenance(method: Self.method, model: Self.model, endpoint: "none",
                                                        promptVersion: Self.promptVersion),
                                 explanation: text, parsed: true, rawReply: text)
    }

    /// The explanation of a pattern, e.g. `"the" after "in".`, `"four", "less" or "five" after "or".`,
    /// `"more" or "on", inside words like "Westmoreland" and "Weston".`
    public static func explanation(_ p: LatentPattern) -> String {
        let n = p.examples
        guard n > 0, let top = p.peakTokens.first else { return "No token stands out." }
        func share(_ c: Int) -> Double { Double(c) / Double(n) }
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
        }
        func list(_ items: [String], _ last: String) -> String {
            items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " " + last + " " + items.last!
        }
        // The tokens: the commonest until they cover 60 % of the examples (at most four); when no token is in half
        // of the examples and 80 % are of one kind (line breaks, numbers, punctuation), that kind; else a few.
        var subject: String
        var named: [String] = []
        var covered = 0
        for c in p.peakTokens.prefix(4) where share(covered) < 0.6 {
            named.append(c.value)
            covered += c.examples
        }
        let varied = share(top.examples) < 0.5
        if varied && share(p.lineBreaks) >= 0.8 {
            subject = "A line break"
        } else if varied && share(p.digits) >= 0.8 {
            subject = "A number (" + list(named.prefix(3).map(q), "or") + ")"
        } else if varied && share(p.punctuation) >= 0.8 {
            subject = "Punctuation (" + list(named.prefix(3).map(q), "or") + ")"
        } else if share(covered) >= 0.6 || share(top.examples) >= 0.25 {
            subject = list(named.map(q), "or")
        } else {
            subject = "Varied tokens such as " + list(named.prefix(3).map(q), "and")
        }
        if subject.first == "\"" && named.count == 1 { subject = "The token " + subject }
        var clauses: [String] = []
        // The token before, when at least 40 % of the examples share it (or two cover 50 %); not when it is
        // part of the same word (the word clause says it then).
        let prev = p.previousTokens
        var afterNamed: [String] = []
        if let b = prev.first, b.examples >= 2, !(b.value == "\n" && share(p.lineBreaks) >= 0.5) {
            if share(b.examples) >= 0.4 {
                var after = [b.value]
                if prev.count > 1, prev[1].examples >= 2, share(prev[1].examples) >= 0.25 { after.append(prev[1].value) }
                clauses.append("after " + list(after.map(q), "or"))
                afterNamed = after
            } else if prev.count > 1, prev[1].examples >= 2, share(b.examples + prev[1].examples) >= 0.5,
                      share(prev[1].examples) >= 0.25 {
                clauses.append("after " + list([b.value, prev[1].value].map(q), "or"))
                afterNamed = [b.value, prev[1].value]
            }
        }
        // A word in capitals just before (a speaker's name, a constant), when the token before is not one.
        if share(p.afterCapitals) >= 0.6,
           !afterNamed.contains(where: { $0.filter(\.isLetter).count >= 2 && $0.uppercased() == $0 }) {
            if !afterNamed.isEmpty, afterNamed.allSatisfy({ !$0.contains(where: \.isLetter) }), !clauses.isEmpty {
                clauses[clauses.count - 1] = "after a word in capitals and " + list(afterNamed.map(q), "or")
            } else {
                clauses.append("after a word in capitals")
            }
        }
        // The word, when most peaks are a piece of a longer word.
        // (Words over 24 characters, such as hex strings, are left out.)
        if share(p.inWord) >= 0.5, let w = p.words.first {
            let shown = p.words.filter { $0.value.count <= 24 }.prefix(3).map { q($0.value) }
            if p.words.count == 1 || share(w.examples) >= 0.6 {
                if w.value.count <= 24 { clauses.append("in " + q(w.value)) }
            } else if !shown.isEmpty {
                clauses.append("inside words like " + list(Array(shown), "and"))
            }
        }
        if let r = p.recentToken,
           !afterNamed.contains(where: { LatentPattern.stem($0.lowercased()) == LatentPattern.stem(r.value.lowercased()) }) {
            clauses.append("shortly after " + q(r.value))
        }
        if share(p.inPlays) >= 0.6 { clauses.append("in plays") }
        return ([subject] + clauses).joined(separator: ", ") + "."
    }
}
