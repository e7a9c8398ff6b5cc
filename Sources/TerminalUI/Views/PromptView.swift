import FeaturescopeCore
import Foundation

/// View 5: run any text; tokens, the top latents of the cursor token, one latent traced across the prompt
/// (with DFA by source and the per-head split for attention SAEs), and the next-token predictions.
enum PromptView {
    static func draw(_ screen: inout Screen, _ s: AppState, data: BrowserDataSource, rect: Rect) {
        let p = s.prompt
        let editorHeight = editorHeight(p)
        let (editorRect, rest) = rect.splitTop(editorHeight)
        Widgets.box(&screen, editorRect, title: p.editing ? "Prompt — Enter run · Ctrl-J newline · Ctrl-P history · Esc tokens" : "Prompt — i edit",
                    style: .role(p.editing ? .accent : .border))
        let inner = editorRect.inset(1)
        let firstLine = max(0, p.row - inner.height + 1)
        for i in 0..<inner.height {
            let li = firstLine + i
            guard li < p.lines.count else { break }
            let line = p.lines[li]
            // Keep the cursor column visible on long lines.
            let chars = Array(line)
            let start = li == p.row ? max(0, p.column - inner.width + 2) : 0
            let visible = String(chars[min(start, chars.count)...])
            let used = screen.write(visible, x: inner.x + 1, y: inner.y + i, maxWidth: inner.width - 1, style: .role(.input))
            if p.editing && li == p.row {
                let before = String(chars[min(start, chars.count)..<min(p.column, chars.count)])
                screen.cursor = Point(x: min(inner.maxX - 1, inner.x + 1 + DisplayText.width(before)), y: inner.y + i)
                _ = used
            }
        }
        if p.lines == [""] && p.editing {
            screen.write("type text to run through the model…", x: inner.x + 1, y: inner.y, maxWidth: inner.width - 1, style: .role(.muted))
        }
        var y = rest.y
        switch p.run {
        case .idle:
            screen.write("Type a prompt and press Enter. Its tokens and their top latents appear here.", x: rect.x + 1, y: y,
                         maxWidth: rect.width - 2, style: .role(.muted))
            return
        case .loading:
            screen.write("\(Widgets.spinner(s.spinnerFrame)) running the prompt…", x: rect.x + 1, y: y, maxWidth: rect.width - 2, style: .role(.warn))
            return
        case let .failed(m):
            screen.write("✗ \(m)", x: rect.x + 1, y: y, maxWidth: rect.width - 2, style: .role(.bad, bold: true))
            return
        case let .loaded(run):
            if p.showAttention, let att = run.attention {
                let li = min(max(0, p.attentionLayer), att.layers.count - 1), head = min(max(0, p.attentionHead), att.headCount - 1)
                let weights = att.row(layerIndex: li, head: head, query: p.token)
                screen.write("\(run.tokens.count) tokens · ←/→ query token · [ ] head · { } layer · a latents", x: rect.x + 1, y: y,
                             maxWidth: rect.width - 2, style: .role(.muted))
                y += 1
                y = tokens(&screen, run, heat: weights, selected: p.token, x: rect.x + 1, y: y, width: rect.width - 2, maxLines: 3)
                y += 1
                attentionView(&screen, run, att, layerIndex: li, head: head, query: p.token,
                              rect: Rect(x: rect.x, y: y, width: rect.width, height: rect.maxY - y))
                return
            }
            screen.write("\(run.tokens.count) tokens · ←/→ token · ↑/↓ latent · Enter detail\(run.attention == nil ? "" : " · a attention")",
                         x: rect.x + 1, y: y, maxWidth: rect.width - 2, style: .role(.muted))
            y += 1
            let trace = p.trace.value
            y = tokens(&screen, run, heat: trace?.activations, selected: p.token, x: rect.x + 1, y: y, width: rect.width - 2, maxLines: 3)
            y += 1
            let lower = Rect(x: rect.x, y: y, width: rect.width, height: rect.maxY - y)
            let (left, right) = lower.splitLeft(lower.width / 2)
            topLatents(&screen, s, run, data: data, rect: left)
            traceView(&screen, s, run, rect: Rect(x: right.x + 1, y: right.y, width: right.width - 1, height: right.height))
        }
    }

    /// Flows tokens over up to `maxLines` lines, coloured by the traced latent; returns the next free row.
    /// Where each prompt token sits when tokens flow over lines of `width` columns:
    /// lines of (token index, column, width). Shared by drawing and mouse hit-testing.
    static func tokenLayout(_ run: PromptRun, width: Int) -> [[(index: Int, x: Int, width: Int)]] {
        var lines: [[(Int, Int, Int)]] = [[]]
        var used = 0
        for (i, tok) in run.tokens.enumerated() {
            let w = DisplayText.width(Widgets.token(tok, showWhitespace: true, maxWidth: 16),
                                      options: SafeText.Options(showSpaces: true, showNewlines: true))
            if used + w + 1 > width && used > 0 { lines.append([]); used = 0 }
            lines[lines.count - 1].append((i, used, w))
            used += w + 1
        }
        return lines
    }

    /// The first token line shown so that the selected token is visible.
    static func firstVisibleLine(_ layout: [[(index: Int, x: Int, width: Int)]], selected: Int, maxLines: Int) -> Int {
        let selLine = layout.firstIndex { line in line.contains { $0.index == selected } } ?? 0
        return max(0, min(selLine - maxLines + 1, layout.count - maxLines))
    }

    /// Rows used by the editor box for a prompt state.
    static func editorHeight(_ p: PromptState) -> Int { min(6, max(3, p.lines.count + 2)) }

    /// Flows tokens over up to `maxLines` lines, coloured by `heat` (the traced latent's activations or the
    /// selected head's attention weights, one per token); returns the next free row.
    static func tokens(_ screen: inout Screen, _ run: PromptRun, heat: [Float]?, selected: Int,
                       x: Int, y: Int, width: Int, maxLines: Int) -> Int {
        let maxA = heat.map { $0.max() ?? 0 } ?? 0
        let layout = tokenLayout(run, width: width)
        let first = firstVisibleLine(layout, selected: selected, maxLines: maxLines)
        var row = y
        for line in layout[first..<min(layout.count, first + maxLines)] {
            for item in line {
                var style: Style = .plain
                if let h = heat, item.index < h.count, maxA > 0, let r = Role.heat(Double(h[item.index] / maxA)) {
                    style = Style(fg: r, bg: r)
                }
                if item.index == selected { style = Style(fg: .cursorToken, bg: .cursorToken, bold: true, underline: true) }
                screen.write(Widgets.token(run.tokens[item.index], showWhitespace: true, maxWidth: 16), x: x + item.x, y: row,
                             maxWidth: width - item.x, style: style, options: SafeText.Options(showSpaces: true, showNewlines: true))
            }
            row += 1
        }
        return row
    }

    static func topLatents(_ screen: inout Screen, _ s: AppState, _ run: PromptRun, data: BrowserDataSource, rect: Rect) {
        guard rect.height > 1, run.topLatents.indices.contains(s.prompt.token), run.tokens.indices.contains(s.prompt.token) else { return }
        let tok = Widgets.token(run.tokens[s.prompt.token], showWhitespace: true, maxWidth: 16)
        Widgets.heading(&screen, "Top latents at “\(tok)”", x: rect.x + 1, y: rect.y, width: rect.width - 1)
        for (i, la) in run.topLatents[s.prompt.token].enumerated() {
            let y = rect.y + 1 + i
            guard y < rect.maxY else { break }
            let selected = i == s.prompt.latentCursor && !s.prompt.editing
            let bg: Role = selected ? .selection : .text
            if selected { screen.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: Style(fg: .selection, bg: .selection)) }
            let summary = data.parts.indices.contains(run.part) && la.latent < data.parts[run.part].latentCount
                ? data.summary(part: run.part, latent: la.latent) : nil
            screen.draw(DocLine([
                Span(selected ? "▶" : " ", Style(fg: .accent, bg: bg, bold: true)),
                Span("#\(la.latent)".leftPadded(8), Style(fg: selected ? .selection : .accent, bg: bg)),
                Span(Widgets.activation(la.activation).leftPadded(7) + "  ", Style(fg: selected ? .selection : .text, bg: bg, bold: true)),
                Span(summary?.explanation ?? "—", Style(fg: summary?.explanation == nil ? .muted : (selected ? .selection : .text), bg: bg)),
            ]), x: rect.x, y: y, width: rect.width)
        }
    }

    /// Shade characters by weight, lightest first (`. : #` and blank in ASCII mode).
    static let shades: [Character] = [" ", "·", "░", "▒", "▓", "█"]

    /// The shade character for an attention weight in 0…1 (blank for < 0.02).
    static func shade(_ w: Float) -> Character {
        guard w.isFinite, w >= 0.02 else { return shades[0] }
        return shades[min(shades.count - 1, 1 + Int(w * Float(shades.count - 1)))]
    }

    /// Prompts up to this many tokens get the query × key grid.
    static let gridMaxTokens = 30

    /// The selected head's pattern: the cursor token's weights over its sources (top sources with values), and a
    /// query × key grid for short prompts.
    static func attentionView(_ screen: inout Screen, _ run: PromptRun, _ att: PromptAttention, layerIndex: Int, head: Int,
                              query: Int, rect: Rect) {
        guard rect.height > 1, run.tokens.indices.contains(query) else { return }
        let t = run.tokens.count
        let showGrid = t <= gridMaxTokens && rect.width >= 2 * (t + 9) + 2
        let (left, right) = showGrid ? rect.splitLeft(rect.width - (t + 9)) : (rect, Rect(x: rect.maxX, y: rect.y, width: 0, height: 0))
        let weights = att.row(layerIndex: layerIndex, head: head, query: query)
        let tok = Widgets.token(run.tokens[query], showWhitespace: true, maxWidth: 12)
        Widgets.heading(&screen, "L\(att.layers[layerIndex]) H\(head) · attention of “\(tok)” (#\(query))", x: left.x + 1, y: left.y,
                        width: left.width - 1)
        var y = left.y + 1
        let order = weights.indices.filter { $0 <= query }.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }
        let entropy = order.reduce(Float(0)) { acc, i in weights[i] > 0 ? acc - weights[i] * log(weights[i]) : acc }
        if y < left.maxY {
            screen.write("\(att.layers.count) layers × \(att.headCount) heads · entropy \(String(format: "%.2f", entropy)) nats",
                         x: left.x + 1, y: y, maxWidth: left.width - 2, style: .role(.muted))
            y += 1
        }
        let bw = 10
        let shown = order.filter { weights[$0] >= 0.0005 }
        for i in (shown.isEmpty ? Array(order.prefix(1)) : shown).prefix(max(0, left.maxY - y)) {
            let w = weights[i]
            screen.write(Widgets.hbar(Double(w), width: bw), x: left.x + 1, y: y, maxWidth: bw, style: Style(fg: .bar, bg: .text), ellipsis: false)
            screen.write(String(format: " %.3f ", w), x: left.x + 1 + bw, y: y, style: .role(.text, bold: true))
            let label = "#\(i) “" + Widgets.token(run.tokens[i], showWhitespace: true, maxWidth: 20) + "”"
            screen.write(label + (i == query ? " (self)" : ""), x: left.x + bw + 9, y: y, maxWidth: max(0, left.maxX - left.x - bw - 9),
                         style: .role(i == query ? .muted : .text))
            y += 1
        }
        guard showGrid else {
            if t > gridMaxTokens, y < left.maxY {
                screen.write("(q × k grid for prompts of ≤ \(gridMaxTokens) tokens)", x: left.x + 1, y: y, maxWidth: left.width - 2, style: .role(.muted))
            }
            return
        }
        // Grid: one row per query (scrolled so the cursor's row shows), one column per key.
        let gx = right.x + 1
        Widgets.heading(&screen, "q × k", x: gx, y: right.y, width: right.width - 1)
        let rows = max(0, right.height - 1)
        let first = max(0, min(query - rows / 2, t - rows))
        for r in 0 ..< min(rows, t) {
            let q = first + r
            guard q < t else { break }
            let yy = right.y + 1 + r
            screen.write(q == query ? "▶" : " ", x: gx, y: yy, style: .role(.accent, bold: true))
            screen.write(Widgets.token(run.tokens[q], showWhitespace: true, maxWidth: 6), x: gx + 1, y: yy, maxWidth: 6,
                         style: q == query ? Style(fg: .cursorToken, bg: .cursorToken, bold: true) : .role(.muted),
                         options: SafeText.Options(showSpaces: true, showNewlines: true))
            let row = att.row(layerIndex: layerIndex, head: head, query: q)
            for k in 0 ..< t {
                let w = k < row.count ? row[k] : 0
                let style: Style = q == query ? Style(fg: .bar, bg: .text, bold: true) : Style(fg: .bar, bg: .text)
                screen.write(String(shade(w)), x: gx + 8 + k, y: yy, maxWidth: 1, style: style, ellipsis: false)
            }
        }
    }

    static func traceView(_ screen: inout Screen, _ s: AppState, _ run: PromptRun, rect: Rect) {
        guard rect.height > 1 else { return }
        var y = rect.y
        switch s.prompt.trace {
        case .idle: return
        case .loading:
            Widgets.heading(&screen, "Tracing…", x: rect.x, y: y, width: rect.width)
            screen.write("\(Widgets.spinner(s.spinnerFrame)) tracing the latent across the prompt", x: rect.x, y: y + 1,
                         maxWidth: rect.width, style: .role(.warn))
            return
        case let .failed(m):
            screen.write("✗ \(m)", x: rect.x, y: y, maxWidth: rect.width, style: .role(.bad))
            return
        case let .loaded(t):
            let maxA = t.activations.max() ?? 0
            Widgets.heading(&screen, "#\(t.latent) across the prompt (max \(Widgets.activation(maxA)))", x: rect.x, y: y, width: rect.width)
            y += 1
            if let dfa = t.dfaBySource, let best = dfa.indices.prefix(run.tokens.count).max(by: { dfa[$0] < dfa[$1] }), y < rect.maxY {
                let maxD = dfa.map { abs($0) }.max() ?? 0
                var spans: [Span] = [Span("DFA ", .role(.muted))]
                let lo = max(0, t.token - 10)
                for i in lo...min(t.token, run.tokens.count - 1) {
                    let v = i < dfa.count ? dfa[i] : 0
                    var st: Style = .plain
                    if maxD > 0, let r = Role.heat(Double(abs(v) / maxD)) { st = Style(fg: r, bg: r, underline: v < 0) }
                    spans.append(Span(Widgets.token(run.tokens[i], showWhitespace: true, maxWidth: 10), st))
                }
                screen.draw(DocLine(spans), x: rect.x, y: y, width: rect.width)
                y += 1
                if y < rect.maxY {
                    screen.write("top source “\(Widgets.token(run.tokens[best], showWhitespace: true, maxWidth: 12))” \(String(format: "%+.2f", dfa[best]))",
                                 x: rect.x + 4, y: y, maxWidth: rect.width - 4, style: .role(.muted))
                    y += 1
                }
            }
            if let ablation = t.ablation { y = ablationLines(&screen, ablation, run, token: t.token, rect: rect, y: y) }
            if let heads = t.perHead, !heads.isEmpty, y + 2 < rect.maxY {
                let mx = heads.map { abs($0) }.max() ?? 0
                let rows = Widgets.vbars(heads.map { mx > 0 ? Double(abs($0) / mx) : 0 }, height: 2, barWidth: 2, gap: 1)
                screen.write("heads", x: rect.x, y: y, style: .role(.muted))
                for (i, r) in rows.enumerated() { screen.write(r, x: rect.x + 6, y: y + i, style: Style(fg: .bar, bg: .text)) }
                let labels = heads.indices.map { String(format: "%2d", $0) }.joined(separator: " ")
                screen.write(labels, x: rect.x + 6, y: y + rows.count, maxWidth: rect.width - 6, style: .role(.muted))
                y += rows.count + 1
            }
            y += 1
            if y < rect.maxY {
                Widgets.heading(&screen, "Next token", x: rect.x, y: y, width: rect.width)
                y += 1
            }
            for n in run.nextTokens.prefix(max(0, rect.maxY - y)) {
                let bw = 10
                screen.write(Widgets.hbar(Double(n.probability), width: bw), x: rect.x, y: y, maxWidth: bw, style: Style(fg: .bar, bg: .text), ellipsis: false)
                screen.write(String(format: " %4.1f%% ", n.probability * 100), x: rect.x + bw, y: y, style: .role(.muted))
                screen.write("“" + Widgets.token(n.token, showWhitespace: true, maxWidth: 20) + "”", x: rect.x + bw + 8, y: y,
                             maxWidth: rect.width - bw - 8, style: .role(.text))
                y += 1
            }
        }
    }
}

/// The `?` help overlay and the spot-check dialog.
enum Overlays {
    static func centered(_ screen: Screen, width: Int, height: Int) -> Rect {
        let w = min(width, screen.size.width - 2), h = min(height, screen.size.height - 2)
        return Rect(x: (screen.size.width - w) / 2, y: (screen.size.height - h) / 2, width: w, height: h)
    }

    static func help(_ screen: inout Screen, _ s: AppState) {
        var lines: [DocLine] = []
        for section in KeyBindings.helpSections() {
            lines.append(DocLine([Span(section.title, Style(fg: .title, bg: .overlay, bold: true))]))
            for r in section.rows {
                lines.append(DocLine([Span("  " + DisplayText.fit(r.keys, width: 20), Style(fg: .statusKey, bg: .overlay, bold: true)),
                                      Span(r.help, Style(fg: .overlay, bg: .overlay))]))
            }
            lines.append(.blank)
        }
        // Help covers the whole body: no half-hidden text around it.
        let body = Layout(size: screen.size).body
        screen.fill(body, style: .plain)
        let r = Rect(x: body.x + max(0, (body.width - 96) / 2), y: body.y, width: min(96, body.width), height: body.height)
        screen.fill(r, style: Style(fg: .overlay, bg: .overlay))
        Widgets.box(&screen, r, title: "Keys — ↑/↓ scroll, Esc or ? closes", style: Style(fg: .border, bg: .overlay))
        let inner = r.inset(1)
        let maxScroll = max(0, lines.count - inner.height)
        let from = min(s.helpScroll, maxScroll)
        for i in 0..<inner.height where from + i < lines.count {
            screen.draw(lines[from + i], x: inner.x + 1, y: inner.y + i, width: inner.width - 2)
        }
    }

    static func spotCheck(_ screen: inout Screen, _ sc: SpotCheckState) {
        // A modal on a blank backdrop, so no cut-off text shows around it.
        screen.fill(Layout(size: screen.size).body, style: .plain)
        let r = centered(screen, width: 76, height: 16)
        screen.fill(r, style: Style(fg: .overlay, bg: .overlay))
        Widgets.box(&screen, r, title: "Blind spot-check · latent #\(sc.ref.latent) · example \(min(sc.index + 1, sc.items.count)) of \(sc.items.count)",
                    style: Style(fg: .border, bg: .overlay))
        let inner = r.inset(1)
        var y = inner.y
        let x = inner.x + 1, w = inner.width - 2
        screen.write("Explanation:", x: x, y: y, style: Style(fg: .title, bg: .overlay, bold: true)); y += 1
        for l in DetailDocument.wrap(sc.explanation, width: w - 2).prefix(3) {
            screen.write("  " + l, x: x, y: y, maxWidth: w, style: Style(fg: .accent, bg: .overlay, bold: true)); y += 1
        }
        y += 1
        screen.write("Example (no highlights):", x: x, y: y, style: Style(fg: .title, bg: .overlay, bold: true)); y += 1
        if sc.items.indices.contains(sc.index) {
            let text = sc.items[sc.index].tokens.joined()
            for l in DetailDocument.wrap(text, width: w - 2).prefix(max(1, inner.maxY - y - 3)) {
                screen.write("  " + l, x: x, y: y, maxWidth: w, style: Style(fg: .overlay, bg: .overlay)); y += 1
            }
        }
        let q = DocLine([Span("Does the explanation fit this example?  ", Style(fg: .overlay, bg: .overlay, bold: true)),
                         Span("y", Style(fg: .statusKey, bg: .overlay, bold: true)), Span(" yes   ", Style(fg: .overlay, bg: .overlay)),
                         Span("n", Style(fg: .statusKey, bg: .overlay, bold: true)), Span(" no   ", Style(fg: .overlay, bg: .overlay)),
                         Span("Esc", Style(fg: .statusKey, bg: .overlay, bold: true)), Span(" abandon", Style(fg: .overlay, bg: .overlay))])
        screen.draw(q, x: x, y: inner.maxY - 1, width: w)
        screen.write("answered \(sc.answered) · the truth is shown only at the end", x: x, y: inner.maxY - 2, maxWidth: w,
                     style: Style(fg: .muted, bg: .overlay))
    }
}
