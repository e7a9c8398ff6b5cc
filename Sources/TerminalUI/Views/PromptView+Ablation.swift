import Foundation

extension PromptView {
    /// "ablate" row: the tokens up to the traced one coloured by |Δ log p(next)| when the latent is zeroed
    /// (heat like activations; underlined where the latent helped, i.e. ablation lowered the next token's
    /// probability), then the traced token's Δ and its most promoted / suppressed tokens. Returns the next row.
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
            let up = a.promoted.prefix(3).map { Widgets.token($0, showWhitespace: true, maxWidth: 8) }.joined(separator: " ")
            let down = a.suppressed.prefix(3).map { Widgets.token($0, showWhitespace: true, maxWidth: 8) }.joined(separator: " ")
            screen.write(String(format: "next log p %+.3f", a.deltaLogProb[last]) + "  ↑ \(up)  ↓ \(down)",
                         x: rect.x + 4, y: y, maxWidth: rect.width - 4, style: .role(.muted))
            y += 1
        }
        return y
    }
}
