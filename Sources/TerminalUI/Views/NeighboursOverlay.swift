import Foundation

/// The similar-latents panel drawn over the detail view: one section per measure, each row a latent with its
/// score and explanation; the aligned match in the other part is its own section.
enum NeighboursOverlay {
    static func draw(_ screen: inout Screen, _ s: AppState, _ n: NeighboursState) {
        let body = Layout(size: s.size).body
        let rect = Rect(x: body.x + 1, y: body.y, width: max(10, body.width - 2), height: body.height)
        screen.fill(rect, style: .role(.overlay))
        Widgets.box(&screen, rect, title: " Similar to #\(n.ref.latent) ")
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: rect.width - 4, height: rect.height - 2)
        guard case let .loaded(c) = n.content else {
            let text: String
            if case let .failed(m) = n.content { text = "✗ " + m } else { text = "\(Widgets.spinner(s.spinnerFrame)) building the similarity index (background; keys still work)…" }
            screen.write(text, x: inner.x, y: inner.y, maxWidth: inner.width, style: .role(.warn))
            return
        }
        // Lines: (text spans, selectable row index or nil).
        var lines: [(DocLine, Int?)] = []
        var row = 0
        for g in c.groups {
            lines.append((DocLine([Span(g.title, .role(.title, bold: true))]), nil))
            if let note = g.note { lines.append((DocLine([Span("  " + note, .role(.muted))]), nil)) }
            for e in g.entries {
                let selected = row == n.cursor
                let bg: Role = selected ? .selection : .overlay
                lines.append((DocLine([Span(selected ? "▶" : " ", Style(fg: .accent, bg: bg)),
                                       Span(String(format: "#%-6d", e.latent), Style(fg: selected ? .selection : .accent, bg: bg, bold: true)),
                                       Span(String(format: " %6.3f  ", e.score), Style(fg: selected ? .selection : .text, bg: bg)),
                                       Span(e.explanation ?? "—", Style(fg: selected ? .selection : (e.explanation == nil ? .muted : .text), bg: bg))]),
                              row))
                row += 1
            }
        }
        // Scroll so the selected row is visible.
        let selLine = lines.firstIndex { $0.1 == n.cursor } ?? 0
        let first = max(0, min(selLine - inner.height / 2, lines.count - inner.height))
        for (i, l) in lines.dropFirst(first).prefix(inner.height).enumerated() {
            if l.1 == n.cursor { screen.fill(Rect(x: inner.x, y: inner.y + i, width: inner.width, height: 1), style: Style(fg: .selection, bg: .selection)) }
            screen.draw(l.0, x: inner.x, y: inner.y + i, width: inner.width)
        }
    }
}
