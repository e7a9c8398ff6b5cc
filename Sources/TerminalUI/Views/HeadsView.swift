import Foundation

/// View 4: attention-output SAEs — per-head attribution, the selected token's per-head split and DFA
/// by source token, and the head-centric table (each head's top latents).
enum HeadsView {
    static func draw(_ screen: inout Screen, _ s: AppState, data: BrowserDataSource, rect: Rect) {
        guard let ref = s.heads.ref else {
            screen.write("No latent selected.", x: rect.x + 2, y: rect.y + 1, style: .role(.muted))
            return
        }
        var y = rect.y
        let bg = Role.header
        screen.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: Style(fg: .header, bg: bg))
        screen.draw(DocLine([Span(" Latent #\(ref.latent) ", Style(fg: .accent, bg: bg, bold: true)),
                             Span("heads of \(s.parts.indices.contains(ref.part) ? s.parts[ref.part].hookName : "?")",
                                  Style(fg: .muted, bg: bg))]), x: rect.x, y: y, width: rect.width)
        y += 1
        guard case let .loaded(attr) = s.heads.attribution else {
            let text: String
            if case let .failed(m) = s.heads.attribution { text = "✗ " + m } else { text = "\(Widgets.spinner(s.spinnerFrame)) loading heads…" }
            screen.write(text, x: rect.x + 2, y: y + 1, maxWidth: rect.width - 4, style: .role(.warn))
            return
        }
        let split = s.heads.split.value
        let nameW = 5, barW = max(8, min(20, (rect.width - 40) / 3)), numW = 7
        let showTable = rect.width - (nameW + 2 * (barW + numW + 2)) > 16
        // Column headings.
        var hx = rect.x + nameW
        screen.write("attribution (weights)", x: hx, y: y, maxWidth: barW + numW + 1, style: .role(.muted, bold: true))
        hx += barW + numW + 2
        screen.write("split at token", x: hx, y: y, maxWidth: barW + numW + 1, style: .role(.muted, bold: true))
        hx += barW + numW + 2
        if showTable { screen.write(s.heads.roles.value == nil ? "head's top latents (head-centric)" : "role     head's top latents", x: hx, y: y, maxWidth: rect.maxX - hx, style: .role(.muted, bold: true)) }
        y += 1
        let maxSplit = split.map { $0.perHead.map { abs($0) }.max() ?? 0 } ?? 0
        for h in attr.indices {
            guard y < rect.maxY - 4 else { break }
            let selected = h == s.heads.cursor
            let rowBg: Role = selected ? .selection : .text
            if selected { screen.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: Style(fg: .selection, bg: .selection)) }
            var x = rect.x
            screen.write(String(format: "%@h%-2d", selected ? "▶" : " ", h), x: x, y: y,
                         style: Style(fg: selected ? .selection : .accent, bg: rowBg, bold: true))
            x += nameW
            x += bar(&screen, Double(attr[h]), label: String(format: "%.2f", attr[h]), x: x, y: y, barWidth: barW, bg: rowBg)
            x += 2
            if let sp = split, h < sp.perHead.count {
                let v = sp.perHead[h]
                let frac = maxSplit > 0 ? Double(abs(v) / maxSplit) : 0
                x += bar(&screen, frac, label: String(format: "%+.2f", v), x: x, y: y, barWidth: barW, bg: rowBg,
                         role: v < 0 ? .bad : .bar)
            } else {
                x += screen.write(s.heads.split.isLoading ? "…" : "—", x: x, y: y, style: Style(fg: .muted, bg: rowBg))
                x = rect.x + nameW + 2 * (barW + numW + 2)
            }
            x = rect.x + nameW + 2 * (barW + numW + 2)
            if showTable, let table = s.heads.table, table.indices.contains(h) {
                var spans: [Span] = []
                if let roles = s.heads.roles.value, roles.indices.contains(h) {
                    spans.append(Span(roles[h].tag.padding(toLength: 9, withPad: " ", startingAt: 0), Style(fg: selected ? .selection : .warn, bg: rowBg)))
                }
                for l in table[h].topLatents.prefix(4) {
                    spans.append(Span("#\(l.latent)", Style(fg: .accent, bg: rowBg)))
                    spans.append(Span(String(format: " %.2f ", l.fraction), Style(fg: .muted, bg: rowBg)))
                    if spans.count == 2, let e = l.explanation {
                        spans.append(Span(DisplayText.truncate(e, width: 22) + "  ", Style(fg: selected ? .selection : .text, bg: rowBg)))
                    }
                }
                screen.draw(DocLine(spans), x: x, y: y, width: rect.maxX - x)
            }
            y += 1
        }
        y += 1
        y = tokenRows(&screen, s, split: split, x: rect.x, y: y, width: rect.width, maxY: rect.maxY)
        headLatents(&screen, s, x: rect.x, y: y + 1, width: rect.width, maxY: rect.maxY)
    }

    /// The selected head's top latents with their explanations (head-centric view), when there is room.
    static func headLatents(_ screen: inout Screen, _ s: AppState, x: Int, y: Int, width: Int, maxY: Int) {
        guard y + 2 < maxY, let table = s.heads.table, table.indices.contains(s.heads.cursor) else { return }
        let row = table[s.heads.cursor]
        Widgets.heading(&screen, "Head \(row.head): latents that write mostly through it  (↑/↓ head · Enter opens the first)",
                        x: x, y: y, width: width)
        for (i, l) in row.topLatents.enumerated() {
            let ly = y + 1 + i
            guard ly < maxY else { break }
            screen.draw(DocLine([
                Span("#\(l.latent)".leftPadded(8), .role(.accent)),
                Span(String(format: "  %4.0f%%  ", l.fraction * 100), .role(.text, bold: true)),
                Span(l.explanation ?? "—", .role(l.explanation == nil ? .muted : .text)),
            ]), x: x, y: ly, width: width)
        }
    }

    /// A bar with its number; returns the columns used.
    static func bar(_ screen: inout Screen, _ fraction: Double, label: String, x: Int, y: Int, barWidth: Int, bg: Role,
                    role: Role = .bar) -> Int {
        let b = Widgets.hbar(fraction, width: barWidth)
        screen.write(String(repeating: "·", count: barWidth), x: x, y: y, style: Style(fg: .barTrack, bg: bg))
        screen.write(b, x: x, y: y, maxWidth: barWidth, style: Style(fg: role, bg: bg), ellipsis: false)
        screen.write(" " + label.leftPadded(6), x: x + barWidth, y: y, style: Style(fg: bg == .selection ? .selection : .text, bg: bg))
        return barWidth + 7
    }

    /// The selected context: activations on one row and DFA by source token on a second row under it.
    /// Returns the first free row below what it drew.
    static func tokenRows(_ screen: inout Screen, _ s: AppState, split: TokenHeadSplit?, x: Int, y: Int, width: Int, maxY: Int) -> Int {
        guard y + 3 <= maxY, let d = s.detail.content.value, let w = DetailDocument.window(d, s.detail.window) else { return y }
        let t = s.detail.token
        guard w.tokens.indices.contains(t) else { return y }
        Widgets.heading(&screen, "Selected token “\(Widgets.token(w.tokens[t], showWhitespace: true, maxWidth: 16))”  ←/→ token · PgUp/PgDn window",
                        x: x, y: y, width: width)
        let maxA = max(d.summary.maxActivation, .leastNonzeroMagnitude)
        let maxDFA = split.map { $0.dfaBySource.map { abs($0) }.max() ?? 0 } ?? 0
        // Both rows show the same token slice so sources line up with their activations.
        let label = 6
        let room = width - label - 1
        var lo = t, used = 0
        while lo > 0 && used + DisplayText.width(Widgets.token(w.tokens[lo], showWhitespace: false)) < room * 3 / 4 {
            used += DisplayText.width(Widgets.token(w.tokens[lo], showWhitespace: false)); lo -= 1
        }
        var actSpans: [Span] = [Span("act   ", .role(.muted))]
        var dfaSpans: [Span] = [Span("DFA   ", .role(.muted))]
        for i in lo..<w.tokens.count {
            let text = Widgets.token(w.tokens[i], showWhitespace: false)
            var aStyle: Style = .plain
            if i < w.activations.count, let r = Role.heat(Double(w.activations[i] / maxA)) { aStyle = Style(fg: r, bg: r) }
            if i == t { aStyle = Style(fg: .cursorToken, bg: .cursorToken, bold: true, underline: true) }
            actSpans.append(Span(text, aStyle))
            // Sources are at or before the destination token; nothing after it is drawn on the DFA row.
            if i <= t, let sp = split, i < sp.dfaBySource.count {
                let v = sp.dfaBySource[i]
                var dStyle: Style = .plain
                if maxDFA > 0, let r = Role.heat(Double(abs(v) / maxDFA)) { dStyle = Style(fg: r, bg: r, underline: v < 0) }
                dfaSpans.append(Span(text, dStyle))
            }
        }
        screen.draw(DocLine(actSpans), x: x, y: y + 1, width: width)
        if split != nil {
            screen.draw(DocLine(dfaSpans), x: x, y: y + 2, width: width)
        } else {
            screen.write(s.heads.split.isLoading ? "DFA   \(Widgets.spinner(s.spinnerFrame)) computing…" : "DFA   — not available for this token",
                         x: x, y: y + 2, maxWidth: width, style: .role(.muted))
        }
        if y + 3 < maxY, let sp = split, let best = sp.dfaBySource.indices.prefix(w.tokens.count).max(by: { sp.dfaBySource[$0] < sp.dfaBySource[$1] }) {
            screen.write("strongest source: “\(Widgets.token(w.tokens[best], showWhitespace: true, maxWidth: 16))” at position \(best) (\(String(format: "%+.2f", sp.dfaBySource[best])))",
                         x: x + label, y: y + 3, maxWidth: width - label, style: .role(.muted))
            return y + 4
        }
        return y + 3
    }
}
