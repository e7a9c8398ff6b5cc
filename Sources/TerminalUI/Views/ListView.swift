import Foundation

/// View 1: the latent list. Reads only the visible rows from the data source.
enum ListView {
    static func draw(_ screen: inout Screen, _ s: AppState, data: BrowserDataSource, rect: Rect) {
        let cols = ListColumns(width: rect.width)
        let (headerRect, rest) = rect.splitTop(1)
        let (rowsRect, footer) = rest.splitTop(max(0, rest.height - 1))
        // Header with the sort arrow.
        screen.fill(headerRect, style: Style(fg: .header, bg: .header))
        for c in cols.columns {
            var title = c.column.title
            if s.list.sort.column == c.column { title = (c.alignRight ? "" : "") + title + (s.list.sort.descending ? "▼" : "▲") }
            let text = DisplayText.fit(title, width: c.width, alignRight: c.alignRight)
            screen.write(text, x: c.x, y: headerRect.y, maxWidth: c.width,
                         style: Style(fg: .header, bg: .header, bold: true, underline: s.list.sort.column == c.column))
        }
        // Rows.
        let n = s.rowCount
        if n == 0 {
            let msg = s.list.computing ? "\(Widgets.spinner(s.spinnerFrame)) searching…"
                : "No latents match. Press c to clear the search and filters."
            screen.write(msg, x: rect.x + 2, y: rowsRect.y + 1, maxWidth: rect.width - 4, style: .role(.muted))
        }
        for i in 0..<rowsRect.height {
            let row = s.list.top + i
            guard row < n, let latent = s.latent(atRow: row) else { break }
            let y = rowsRect.y + i
            let selected = row == s.list.cursor
            let summary = data.summary(part: s.part, latent: latent)
            drawRow(&screen, summary, y: y, width: rect.width, cols: cols, selected: selected, search: s.list.search)
        }
        drawFooter(&screen, s, rect: footer)
    }

    static func drawRow(_ screen: inout Screen, _ m: BrowserLatentSummary, y: Int, width: Int, cols: ListColumns,
                        selected: Bool, search: String) {
        let bg: Role = selected ? .selection : .text
        if selected {
            screen.fill(Rect(x: 0, y: y, width: width, height: 1), style: Style(fg: .selection, bg: .selection))
            screen.write("▶", x: 0, y: y, style: Style(fg: .selection, bg: .selection, bold: true))
        }
        for c in cols.columns {
            switch c.column {
            case .index:
                screen.write(DisplayText.fit("#\(m.index)", width: c.width, alignRight: true), x: c.x, y: y,
                             style: Style(fg: selected ? .selection : .accent, bg: bg, bold: selected))
            case .explanation:
                if let e = m.explanation {
                    drawHighlighted(&screen, e, search: search, x: c.x, y: y, width: c.width,
                                    style: Style(fg: selected ? .selection : .text, bg: bg, bold: selected))
                } else {
                    let tokens = m.topTokens.prefix(3).map { "“" + Widgets.token($0, showWhitespace: true, maxWidth: 10) + "”" }
                    let text = "—" + (tokens.isEmpty ? "" : "  top: " + tokens.joined(separator: " "))
                    drawHighlighted(&screen, text, search: search, x: c.x, y: y, width: c.width, style: Style(fg: .muted, bg: bg))
                }
            case .density:
                screen.write(DisplayText.fit(Widgets.density(m.density), width: c.width, alignRight: true), x: c.x, y: y,
                             style: Style(fg: selected ? .selection : .text, bg: bg))
            case .maxActivation:
                screen.write(DisplayText.fit(Widgets.activation(m.maxActivation), width: c.width, alignRight: true),
                             x: c.x, y: y, style: Style(fg: selected ? .selection : .text, bg: bg))
            case .detection, .fuzz, .embedding, .simulation, .intervention:
                let v = score(m, c.column)
                screen.write(DisplayText.fit(Widgets.score(v), width: c.width, alignRight: true), x: c.x, y: y,
                             style: Style(fg: Widgets.scoreRole(v), bg: bg, bold: (v ?? 0) >= 0.8))
            case .verdict:
                let text = m.verdict.map { "\($0.agreed)/\($0.judged)" } ?? "—"
                screen.write(DisplayText.fit(text, width: c.width, alignRight: true), x: c.x, y: y,
                             style: Style(fg: m.verdict.map { Widgets.scoreRole($0.accuracy) } ?? .muted, bg: bg))
            }
        }
    }

    /// The score a score column shows.
    static func score(_ m: BrowserLatentSummary, _ column: SortColumn) -> Double? {
        switch column {
        case .detection: return m.detection
        case .fuzz: return m.fuzz
        case .embedding: return m.embedding
        case .simulation: return m.simulation
        case .intervention: return m.intervention
        default: return nil
        }
    }

    /// Writes `text` with the first case-insensitive match of `search` in the match style.
    static func drawHighlighted(_ screen: inout Screen, _ text: String, search: String, x: Int, y: Int, width: Int, style: Style) {
        guard !search.isEmpty, let r = text.range(of: search, options: .caseInsensitive) else {
            screen.write(text, x: x, y: y, maxWidth: width, style: style)
            return
        }
        let before = String(text[text.startIndex..<r.lowerBound])
        let match = String(text[r])
        let after = String(text[r.upperBound...])
        let line = DocLine([Span(before, style), Span(match, Style(fg: .match, bg: .match, bold: true, underline: true)), Span(after, style)])
        screen.draw(line, x: x, y: y, width: width)
    }

    static func drawFooter(_ screen: inout Screen, _ s: AppState, rect: Rect) {
        guard rect.height > 0 else { return }
        let y = rect.y
        if let input = s.list.input {
            let prompt: String
            switch input.purpose {
            case .search: prompt = "/"
            case .jump: prompt = "jump to latent: "
            case .filter: prompt = "filter: "
            }
            screen.fill(rect, style: Style(fg: .input, bg: .input))
            let used = screen.write(prompt, x: rect.x + 1, y: y, style: Style(fg: .accent, bg: .input, bold: true))
            let textWidth = screen.write(input.text, x: rect.x + 1 + used, y: y, maxWidth: rect.width - used - 2,
                                         style: Style(fg: .input, bg: .input))
            screen.cursor = Point(x: min(rect.maxX - 1, rect.x + 1 + used + textWidth), y: y)
            var hint = input.purpose == .filter ? "  e.g. detect>=0.7 density<1e-3 explained unscored" : ""
            if input.purpose == .search { hint = "  \(s.rowCount) match" + (s.rowCount == 1 ? "" : "es") + (s.list.computing ? " …" : "") }
            let x = rect.x + 2 + used + textWidth
            if x < rect.maxX - 4 { screen.write(hint, x: x, y: y, maxWidth: rect.maxX - x, style: Style(fg: .muted, bg: .input)) }
            return
        }
        var parts: [Span] = []
        let n = s.rowCount
        parts.append(Span(n == 0 ? "0 rows" : "row \(s.list.cursor + 1) of \(n)", .role(.text)))
        if n != s.latentCount { parts.append(Span(" (of \(s.latentCount))", .role(.muted))) }
        parts.append(Span(" · sorted by \(s.list.sort.column.title) \(s.list.sort.descending ? "▼" : "▲")", .role(.muted)))
        if !s.list.filterText.isEmpty { parts.append(Span(" · filter: ", .role(.muted))); parts.append(Span(s.list.filterText, .role(.warn))) }
        if !s.list.search.isEmpty { parts.append(Span(" · search: ", .role(.muted))); parts.append(Span(s.list.search, .role(.match))) }
        if s.list.computing { parts.append(Span("  \(Widgets.spinner(s.spinnerFrame)) updating…", .role(.warn))) }
        screen.draw(DocLine(parts), x: rect.x + 1, y: y, width: rect.width - 2)
    }
}
