import Foundation

extension PromptView {
    /// "ablate" row: the tokens up to the traced one coloured by |Δ log p(next)| when the latent is zeroed
    /// (heat like activations; underlined where the latent helped, i.e. ablation lowered the next token's
    /// probability), then the traced token's Δ and its most promoted / suppressed tokens (coloured by their change,
    /// with it in nats). Returns the next row.
    static func ablationLines(_ screen: inout Screen, _ a: PromptAblation, _ run: PromptRun, token: Int, rect: Rect, y start: Int) -> Int {
        var y = start
        guard y < rect.maxY, !run.tokens.isEmpty else { return y }
        let maxD = a.deltaLogProb.map { abs($0) }.max() ?? 0
        var spans: [Span] = [Span("ablate ", .role(.muted))]
        let last = min(max(0, token), run.tokens.count - 1)
        for i in max(0, last - 10) ... last {
            let v = i < a.deltaLogProb.count ? a.deltaLogProb[i] : 0
            var st: Style = .plain
            if maxD > 0, let r = Role.heat(Double(abs(v) / maxD)) { st = Style(fg: r, bg: r, underline: v < 0) }
            spans.append(Span(Widgets.token(run.tokens[i], showWhitespace: true, maxWidth: 10), st))
        }
        screen.draw(DocLine(spans), x: rect.x, y: y, width: rect.width)
        y += 1
        if y < rect.maxY, last < a.deltaLogProb.count {
            // The traced token's most promoted / suppressed next tokens, coloured like activations by |Δ log p|
            // (relative to the largest change listed) and followed by the change when the engine gave it.
            let shown = a.promotedDelta.prefix(3) + a.suppressedDelta.prefix(3)
            let maxChange = shown.map { abs($0) }.max() ?? 0
            var spans: [Span] = [Span(String(format: "next log p %+.3f", a.deltaLogProb[last]) + "  ↑", .role(.muted))]
            func add(_ tokens: [String], _ deltas: [Float]) {
                for (i, t) in tokens.prefix(3).enumerated() {
                    var st: Style = .role(.muted)
                    if i < deltas.count, maxChange > 0, let r = Role.heat(Double(abs(deltas[i]) / maxChange)) { st = Style(fg: r, bg: r) }
                    spans.append(Span(" ", .role(.muted)))
                    spans.append(Span(Widgets.token(t, showWhitespace: true, maxWidth: 8), st))
                    if i < deltas.count { spans.append(Span(String(format: " %+.2f", deltas[i]), .role(.muted))) }
                }
            }
            add(a.promoted, a.promotedDelta)
            spans.append(Span("  ↓", .role(.muted)))
            add(a.suppressed, a.suppressedDelta)
            screen.draw(DocLine(spans), x: rect.x + 4, y: y, width: rect.width - 4)
            y += 1
        }
        return y
    }
}
