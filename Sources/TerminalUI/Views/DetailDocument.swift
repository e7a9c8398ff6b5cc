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
    public var contexts: [DocLine]
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
        let explanations = DetailDocument.explanationLines(d, width: sw)
        breakdown = DetailDocument.breakdownLines(d, width: sw)
        summary = explanations + [.blank] + breakdown
        head = explanations + DetailDocument.compactScores(d)
        windowIndex = DetailDocument.flatten(d)
        var lines: [DocLine] = []
        var ranges: [Range<Int>] = []
        var flat = 0
        let maxA = max(d.summary.maxActivation, Float.leastNonzeroMagnitude)
        for group in d.windowGroups {
            lines.append(DocLine([Span(group.title, .role(.title, bold: true)),
                                  Span("  \(group.windows.count) windows", .role(.muted))]))
            for w in group.windows {
                let start = lines.count
                let selected = flat == state.window
                lines += DetailDocument.contextLines(w, flat: flat, maxActivation: maxA, selected: selected,
                                                     selectedToken: selected ? state.token : nil,
                                                     showWhitespace: state.showWhitespace, wide: state.wideContext,
                                                     width: width)
                ranges.append(start..<lines.count)
                flat += 1
            }
        }
        contexts = lines
        windowLines = ranges
    }

    /// Lines of the scrolling pane.
    public func scrollLines(twoColumns: Bool) -> [DocLine] {
        twoColumns ? contexts : head + [.blank] + contexts + [.blank] + breakdown
    }

    /// Where the contexts start in `scrollLines`.
    public func contextOffset(twoColumns: Bool) -> Int { twoColumns ? 0 : head.count + 1 }

    // MARK: - Summary part

    static func compactScores(_ d: LatentDetail) -> [DocLine] {
        guard !d.scores.isEmpty else { return [DocLine([Span("  not scored yet", .role(.muted))])] }
        var spans: [Span] = [Span("  ")]
        for s in d.scores {
            spans.append(Span(s.scorer + " ", .role(.muted)))
            spans.append(Span(Widgets.score(s.balancedAccuracy), .role(Widgets.scoreRole(s.balancedAccuracy), bold: true)))
            spans.append(Span("  "))
        }
        spans.append(Span("(breakdown below the contexts)", .role(.muted)))
        return [DocLine(spans)]
    }

    static func explanationLines(_ d: LatentDetail, width: Int) -> [DocLine] {
        var out: [DocLine] = []
        out.append(DocLine([Span("Explanation", .role(.title, bold: true))]))
        if d.explanations.isEmpty {
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

    static func breakdownLines(_ d: LatentDetail, width: Int) -> [DocLine] {
        var out: [DocLine] = []
        out.append(DocLine([Span("Scores", .role(.title, bold: true))]))
        if d.scores.isEmpty { out.append(DocLine([Span("  — not scored yet (press s to score)", .role(.muted))])) }
        for s in d.scores {
            out += scoreLines(s)
        }
        out.append(.blank)
        out += histogramLines(d, width: width)
        if let promoted = d.topPromotedTokens, !promoted.isEmpty {
            out.append(.blank)
            out.append(DocLine([Span("Promoted tokens", .role(.title, bold: true)), Span("  (decoder · unembedding)", .role(.muted))]))
            var spans: [Span] = [Span("  ")]
            for p in promoted.prefix(8) {
                spans.append(Span(Widgets.token(p.token, showWhitespace: true, maxWidth: 14), .role(.accent)))
                spans.append(Span(" \(Widgets.activation(p.logit))  ", .role(.muted)))
            }
            out.append(DocLine(spans))
        }
        return out
    }

    static func scoreLines(_ s: ScorerResult) -> [DocLine] {
        var out: [DocLine] = []
        let ba = s.balancedAccuracy
        var head: [Span] = [Span("  " + s.scorer.padding(toLength: 10, withPad: " ", startingAt: 0), .role(.text, bold: true)),
                            Span("score ", .role(.muted)),
                            Span(Widgets.score(ba), .role(Widgets.scoreRole(ba), bold: true)),
                            Span("  F1 ", .role(.muted)), Span(Widgets.score(s.f1))]
        if let auc = s.auc { head += [Span("  AUC ", .role(.muted)), Span(Widgets.score(auc))] }
        out.append(DocLine(head))
        let c = s.counts
        out.append(DocLine([Span("    TP ", .role(.muted)), Span("\(c.tp)", .role(.good)),
                            Span("  FN ", .role(.muted)), Span("\(c.fn)", .role(.bad)),
                            Span("  FP ", .role(.muted)), Span("\(c.fp)", .role(.bad)),
                            Span("  TN ", .role(.muted)), Span("\(c.tn)", .role(.good)),
                            Span("   P ", .role(.muted)), Span(Widgets.score(s.precision)),
                            Span("  R ", .role(.muted)), Span(Widgets.score(s.recall))]))
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
