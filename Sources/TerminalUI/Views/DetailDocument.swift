import FeaturescopeCore
import Foundation

/// The detail view's content as lines: explanations, contexts, and the breakdown (scores, histogram).
/// Pure: built from the detail, the view toggles and the width; `update` uses it for scrolling and clicks.
///
/// On wide screens the summary (explanations + breakdown) is a left pane and the contexts scroll on the
/// right. On narrow screens one column scrolls: explanations and a one-line score summary first, then
/// the contexts (what people look at most), then the full breakdown.
public struct DetailDocument: Sendable {
    /// Explanations (wide screens: followed by the breakdown).
    public var summary: [DocLine]
    /// Explanations + one-line scores, above the contexts in the one-column layout.
    public var head: [DocLine]
    /// Scores per scorer, histogram, promoted tokens.
    public var breakdown: [DocLine]
    /// For each flattened window, the range of its lines in `contexts`.
    public var windowLines: [Range<Int>]
    /// (group, window in group) for each flattened window.
    public var windowIndex: [(group: Int, window: Int)]

    /// Windows flattened across groups, in display order.
    public static func flatten(_ d: LatentDetail) -> [(group: Int, window: Int)] {
        var out: [(Int, Int)] = []
        for (g, group) in d.windowGroups.enumerated() { for w in group.windows.indices { out.append((g, w)) } }
        return out
    }

    /// The window (as data) at a flattened index.
    public static func window(_ d: LatentDetail, _ flat: Int) -> TokenWindow? {
        let idx = flatten(d)
        guard idx.indices.contains(flat) else { return nil }
        return d.windowGroups[idx[flat].group].windows[idx[flat].window]
    }

    /// - Parameters:
    ///   - width: columns of the scrolling pane.
    ///   - summaryWidth: columns of the left pane on wide screens (default: `width`).
    public init(detail d: LatentDetail, state: DetailState, width: Int, summaryWidth: Int? = nil) {
        let sw = summaryWidth ?? width
        let explanations = DetailDocument.explanationLines(d, width: sw, live: state.liveExplanation)
        breakdown = DetailDocument.breakdownLines(d, promoted: state.promoted, width: sw, liveScores: state.liveScores)
        summary = explanations + [.blank] + breakdown
        head = explanations + DetailDocument.compactScores(d)
        windowIndex = DetailDocument.flatten(d)
        detail = d
        viewState = state
        contextWidth = width
        // Only line counts are computed here; lines are built when drawn (only the visible ones).
        var owners: [LineOwner] = []
        var ranges: [Range<Int>] = []
        var flat = 0
        for (g, group) in d.windowGroups.enumerated() {
            owners.append(.title(g))
            for w in group.windows {
                let start = owners.count
                let n = state.wideContext ? DetailDocument.wrappedLineCount(w, showWhitespace: state.showWhitespace, width: width) : 1
                for part in 0..<n { owners.append(.window(flat, part)) }
                ranges.append(start..<owners.count)
                flat += 1
            }
        }
        lineOwners = owners
        windowLines = ranges
    }

    enum LineOwner: Sendable { case title(Int), window(Int, Int) }
    let detail: LatentDetail
    let viewState: DetailState
    let contextWidth: Int
    let lineOwners: [LineOwner]

    /// Number of context lines.
    public var contextLineCount: Int { lineOwners.count }

    /// One context line, built on demand.
    public func contextLine(_ i: Int) -> DocLine {
        guard lineOwners.indices.contains(i) else { return .blank }
        switch lineOwners[i] {
        case let .title(g):
            let group = detail.windowGroups[g]
            return DocLine([Span(group.title, .role(.title, bold: true)), Span("  \(group.windows.count) windows", .role(.muted))])
        case let .window(flat, part):
            let lines = windowLines(flat)
            return lines.indices.contains(part) ? lines[part] : .blank
        }
    }

    /// All context lines (tests and small documents; views draw only the visible ones).
    public var contexts: [DocLine] { (0..<contextLineCount).map(contextLine) }

    /// Number of lines in the scrolling pane.
    public func scrollLineCount(twoColumns: Bool) -> Int {
        twoColumns ? contextLineCount : head.count + 1 + contextLineCount + 1 + breakdown.count
    }

    /// Line `i` of the scrolling pane.
    public func scrollLine(_ i: Int, twoColumns: Bool) -> DocLine {
        if twoColumns { return contextLine(i) }
        var j = i
        if j < head.count { return head[j] }
        j -= head.count + 1
        if j < 0 { return .blank }
        if j < contextLineCount { return contextLine(j) }
        j -= contextLineCount + 1
        return j >= 0 && j < breakdown.count ? breakdown[j] : .blank
    }

    /// Lines `range` of the scrolling pane, building each window's lines once.
    public func scrollLines(_ range: Range<Int>, twoColumns: Bool) -> [DocLine] {
        var built: [Int: [DocLine]] = [:]
        let offset = contextOffset(twoColumns: twoColumns)
        return range.map { i in
            let c = i - offset
            guard c >= 0, c < contextLineCount, case let .window(flat, part) = lineOwners[c] else {
                return scrollLine(i, twoColumns: twoColumns)
            }
            if built[flat] == nil { built[flat] = windowLines(flat) }
            let lines = built[flat] ?? []
            return lines.indices.contains(part) ? lines[part] : .blank
        }
    }

    /// All lines of one flattened window.
    func windowLines(_ flat: Int) -> [DocLine] {
        guard windowIndex.indices.contains(flat) else { return [] }
        let w = detail.windowGroups[windowIndex[flat].group].windows[windowIndex[flat].window]
        let selected = flat == viewState.window
        return DetailDocument.contextLines(w, flat: flat, maxActivation: max(detail.summary.maxActivation, .leastNonzeroMagnitude),
                                           selected: selected, selectedToken: selected ? viewState.token : nil,
                                           showWhitespace: viewState.showWhitespace, wide: viewState.wideContext,
                                           width: contextWidth)
    }

    /// Lines a window takes when wrapped (wide context).
    static func wrappedLineCount(_ w: TokenWindow, showWhitespace: Bool, width: Int) -> Int {
        let room = max(8, width - 8)
        var lines = 1, used = 0
        for t in w.tokens {
            let sw = Widgets.tokenWidth(t, showWhitespace: showWhitespace)
            if used + sw > room && used > 0 { lines += 1; used = 0 }
            used += sw
        }
        return lines
    }

    /// Where the contexts start in `scrollLines`.
    public func contextOffset(twoColumns: Bool) -> Int { twoColumns ? 0 : head.count + 1 }

    // MARK: - Summary part

    static func compactScores(_ d: LatentDetail) -> [DocLine] {
        guard !d.scores.isEmpty else { return [DocLine([Span("  not scored yet", .role(.muted))])] }
        var spans: [Span] = [Span("  ")]
        for s in d.scores {
            spans.append(Span(s.scorer + " ", .role(.muted)))
            spans.append(Span(Widgets.score(s.score), .role(Widgets.scoreRole(s.score), bold: true)))
            spans.append(Span(s.partial == nil ? "  " : "* ", .role(.warn)))
        }
        if d.scores.contains(where: { $0.partial != nil }) { spans.append(Span("(* stopped early) ", .role(.warn))) }
        spans.append(Span("(breakdown below the contexts)", .role(.muted)))
        return [DocLine(spans)]
    }

    static func explanationLines(_ d: LatentDetail, width: Int, live: String? = nil) -> [DocLine] {
        var out: [DocLine] = []
        out.append(DocLine([Span("Explanation", .role(.title, bold: true))]))
        if let live {
            for chunk in wrap(live + "▍", width: max(10, width - 2)) { out.append(DocLine([Span("  " + chunk, .role(.accent))])) }
            out.append(DocLine([Span("    explaining… (Esc stops)", .role(.muted))]))
        }
        if d.explanations.isEmpty && live == nil {
            out.append(DocLine([Span("  — not explained yet (press e to explain)", .role(.muted))]))
        }
        for e in d.explanations {
            for (i, chunk) in wrap(e.text, width: max(10, width - 2)).enumerated() {
                out.append(DocLine([Span("  " + chunk, i == 0 ? .role(.accent, bold: true) : .role(.accent))]))
            }
            out.append(DocLine([Span("    \(e.method) · \(e.model)", .role(.muted))]))
        }
        if let v = d.summary.verdict {
            out.append(DocLine([Span("  human spot-check: ", .role(.muted)),
                                Span("\(v.agreed)/\(v.judged) agreed", .role(Widgets.scoreRole(v.accuracy)))]))
        }
        return out
    }

    static func breakdownLines(_ d: LatentDetail, promoted: Loadable<PromotedTokens>, width: Int, liveScores: [String] = []) -> [DocLine] {
        var out: [DocLine] = []
        out.append(DocLine([Span("Scores", .role(.title, bold: true))]))
        for line in liveScores { out.append(DocLine([Span("  " + line, .role(.accent))])) }
        if d.scores.isEmpty && liveScores.isEmpty { out.append(DocLine([Span("  — not scored yet (press s to score)", .role(.muted))])) }
        for s in d.scores {
            out += scoreLines(s)
        }
        out.append(.blank)
        out += histogramLines(d, width: width)
        out.append(.blank)
        out += promotedLines(promoted, width: width)
        return out
    }

    /// "Promoted tokens": the decoder direction read through the unembedding, or why it is not shown.
    static func promotedLines(_ promoted: Loadable<PromotedTokens>, width: Int) -> [DocLine] {
        var out = [DocLine([Span("Promoted tokens", .role(.title, bold: true)), Span("  (decoder row → unembedding)", .role(.muted))])]
        switch promoted {
        case .idle, .loading:
            out.append(DocLine([Span("  computing…", .role(.warn))]))
        case let .failed(why):
            for (i, chunk) in wrap("— unavailable: " + why, width: max(10, width - 2)).enumerated() {
                out.append(DocLine([Span((i == 0 ? "  " : "    ") + chunk, .role(.muted))]))
            }
        case let .loaded(p):
            out += tokenLogitLines("promotes", p.promoted, role: .good, width: width)
            out += tokenLogitLines("suppresses", p.suppressed, role: .bad, width: width)
            out.append(DocLine([Span("    " + DisplayText.truncate(p.method, width: max(10, width - 4)), .role(.muted))]))
        }
        return out
    }

    /// `label` then "token logit" pairs, wrapped to `width`.
    static func tokenLogitLines(_ label: String, _ items: [TokenLogit], role: Role, width: Int) -> [DocLine] {
        guard !items.isEmpty else { return [DocLine([Span("  \(label): —", .role(.muted))])] }
        var out: [DocLine] = []
        let indent = "  " + label + " "
        var spans: [Span] = [Span("  "), Span(label, .role(.muted)), Span(" ")]
        var used = DisplayText.width(indent)
        for p in items {
            let tok = Widgets.token(p.token, showWhitespace: true, maxWidth: 14)
            let val = " " + String(format: "%+.2f", Double(p.logit)) + "  "
            let w = DisplayText.width(tok) + DisplayText.width(val)
            if used + w > width && used > DisplayText.width(indent) {
                out.append(DocLine(spans))
                spans = [Span(String(repeating: " ", count: DisplayText.width(indent)))]
                used = DisplayText.width(indent)
            }
            spans.append(Span(tok, .role(role, bold: true)))
            spans.append(Span(val, .role(.muted)))
            used += w
        }
        out.append(DocLine(spans))
        return out
    }

    static func scoreLines(_ s: ScorerResult) -> [DocLine] {
        var out: [DocLine] = []
        let ba = s.score
        let name = s.scorer.padding(toLength: max(10, s.scorer.count + 1), withPad: " ", startingAt: 0)
        var head: [Span] = [Span("  " + name, .role(.text, bold: true))]
        let kind = SamplesView.Kind(s.scorer)
        switch kind {
        case .embedding: head.append(Span("AUROC ", .role(.muted)))
        case .simulation: head.append(Span("Pearson r ", .role(.muted)))
        case .intervention: head.append(Span("balanced acc ", .role(.muted)))
        case .classifier: head.append(Span("score ", .role(.muted)))
        }
        head += [Span(Widgets.score(ba), .role(Widgets.scoreRole(ba), bold: true))]
        if kind != .simulation { head += [Span("  F1 ", .role(.muted)), Span(Widgets.score(s.f1))] }
        if let auc = s.auc, kind != .embedding { head += [Span("  AUC ", .role(.muted)), Span(Widgets.score(auc))] }
        if let p = s.partial { head.append(Span("  stopped after \(p)", .role(.warn))) }
        out.append(DocLine(head))
        switch kind {
        case .embedding:
            out.append(DocLine([Span("    cosine of explanation (query) and each example, activating vs not; counts: above the median", .role(.muted))]))
        case .simulation:
            if !s.quantileCorrelation.isEmpty {
                var spans = [Span("    r per quantile (1 = strongest) ", .role(.muted))]
                for k in s.quantileCorrelation.keys.sorted() {
                    let v = s.quantileCorrelation[k]
                    spans.append(Span("\(k + 1):", .role(.muted)))
                    spans.append(Span(Widgets.score(v) + " ", .role(Widgets.scoreRole(v))))
                }
                out.append(DocLine(spans))
            }
            return out
        case .intervention:
            let c = s.counts
            out.append(DocLine([Span("    steered completions identified ", .role(.muted)), Span("\(c.tp)/\(c.tp + c.fn)", .role(.good, bold: true)),
                                Span(" · default ones taken for steered ", .role(.muted)), Span("\(c.fp)/\(c.fp + c.tn)", .role(.bad)),
                                Span("  (3: each completion)", .role(.muted))]))
            if !s.quantileAccuracy.isEmpty {
                out.append(DocLine([Span("    identified per strength: ", .role(.muted))]
                                   + s.quantileAccuracy.enumerated().map { Span("\($0.offset + 1):" + Widgets.score($0.element) + " ", .role(Widgets.scoreRole($0.element))) }))
            }
            return out
        case .classifier: break
        }
        let c = s.counts
        out.append(DocLine([Span("    TP ", .role(.muted)), Span("\(c.tp)", .role(.good)),
                            Span(" FN ", .role(.muted)), Span("\(c.fn)", .role(.bad)),
                            Span(" FP ", .role(.muted)), Span("\(c.fp)", .role(.bad)),
                            Span(" TN ", .role(.muted)), Span("\(c.tn)", .role(.good)),
                            Span("  P ", .role(.muted)), Span(Widgets.score(s.precision)),
                            Span(" R ", .role(.muted)), Span(Widgets.score(s.recall))]))
        if !s.quantileAccuracy.isEmpty {
            out.append(DocLine([Span("    accuracy per quantile (1 = strongest)", .role(.muted))]))
            let rows = Widgets.vbars(s.quantileAccuracy, height: 3, barWidth: 2, gap: 1)
            for r in rows { out.append(DocLine([Span("    "), Span(r, Style(fg: .bar, bg: .text))])) }
            let labels = s.quantileAccuracy.indices.map { String(format: "%2d", $0 + 1) }.joined(separator: " ")
            out.append(DocLine([Span("    " + labels, .role(.muted))]))
        }
        return out
    }

    static func histogramLines(_ d: LatentDetail, width: Int) -> [DocLine] {
        var out: [DocLine] = []
        out.append(DocLine([Span("Activations", .role(.title, bold: true)),
                            Span("  density ", .role(.muted)), Span(Widgets.density(d.density)),
                            Span(String(format: " (%.3f%% of tokens)", d.density * 100), .role(.muted)),
                            Span("  max ", .role(.muted)), Span(Widgets.activation(d.summary.maxActivation))]))
        let counts = d.histogram.counts
        let peak = Double(counts.max() ?? 0)
        if peak > 0 {
            let barWidth = max(1, min(3, (width - 6) / max(1, counts.count)))
            let values = counts.map { Double($0) / peak }
            for r in Widgets.vbars(values, height: 4, barWidth: barWidth) {
                out.append(DocLine([Span("  "), Span(r, Style(fg: .bar, bg: .text))]))
            }
            let chartWidth = barWidth * counts.count
            let lo = Widgets.activation(d.histogram.lower), hi = Widgets.activation(d.histogram.upper)
            let pad = max(1, chartWidth - lo.count - hi.count)
            out.append(DocLine([Span("  " + lo + String(repeating: " ", count: pad) + hi, .role(.muted))]))
        }
        return out
    }

    // MARK: - Contexts

    static func contextLines(_ w: TokenWindow, flat: Int, maxActivation: Float, selected: Bool, selectedToken: Int?,
                             showWhitespace: Bool, wide: Bool, width: Int) -> [DocLine] {
        let marker = Span(selected ? "▶" : " ", selected ? .role(.accent, bold: true) : .plain)
        let value = Span(Widgets.activation(w.maxActivation).leftPadded(6) + " ", .role(w.maxActivation > 0 ? .text : .muted))
        let prefixWidth = 8
        let room = max(8, width - prefixWidth)
        let spans: [Span] = w.tokens.indices.map { t in
            let a = t < w.activations.count ? w.activations[t] : 0
            let text = Widgets.token(w.tokens[t], showWhitespace: showWhitespace)
            var style: Style = .plain
            if let role = Role.heat(Double(a / maxActivation)) { style = Style(fg: role, bg: role) }
            if selectedToken == t { style = Style(fg: .cursorToken, bg: .cursorToken, bold: true, underline: true) }
            return Span(text, style, token: TokenPosition(window: flat, token: t), showSpaces: showWhitespace)
        }
        if wide {
            var lines: [DocLine] = []
            var current: [Span] = [marker, value]
            var used = 0
            for s in spans {
                let sw = DisplayText.width(s.text)
                if used + sw > room && used > 0 {
                    lines.append(DocLine(current))
                    current = [Span(String(repeating: " ", count: prefixWidth))]
                    used = 0
                }
                current.append(s)
                used += sw
            }
            lines.append(DocLine(current))
            return lines
        }
        // One line, centred on the selected token (or the strongest one).
        let focus = selectedToken ?? (w.activations.indices.max(by: { w.activations[$0] < w.activations[$1] }) ?? 0)
        let widths = spans.map { DisplayText.width($0.text) }
        guard !spans.isEmpty else { return [DocLine([marker, value])] }
        var lo = min(max(0, focus), spans.count - 1), hi = lo
        var used = widths[lo]
        var grew = true
        while grew {
            grew = false
            if hi + 1 < spans.count && used + widths[hi + 1] <= room - 2 { hi += 1; used += widths[hi]; grew = true }
            if lo > 0 && used + widths[lo - 1] <= room - 2 && (hi - focus >= focus - lo || hi + 1 >= spans.count) {
                lo -= 1; used += widths[lo]; grew = true
            }
        }
        var line: [Span] = [marker, value]
        if lo > 0 { line.append(Span("…", .role(.muted))) }
        line += spans[lo...hi]
        if hi < spans.count - 1 { line.append(Span("…", .role(.muted))) }
        return [DocLine(line)]
    }

    /// Word-wraps sanitised text to `width` columns.
    static func wrap(_ text: String, width: Int) -> [String] {
        var out: [String] = []
        var line = ""
        for word in DisplayText.truncate(text, width: 4000).split(separator: " ", omittingEmptySubsequences: false) {
            let w = String(word)
            if line.isEmpty { line = w }
            else if DisplayText.width(line) + 1 + DisplayText.width(w) <= width { line += " " + w }
            else { out.append(line); line = w }
        }
        if !line.isEmpty || out.isEmpty { out.append(line) }
        return out.map { DisplayText.truncate($0, width: width) }
    }
}

extension String {
    /// Pads on the left to `n` characters.
    func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: " ", count: n - count) + self
    }
}
