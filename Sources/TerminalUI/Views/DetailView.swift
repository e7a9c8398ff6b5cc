import Foundation
import FeaturescopeCore

/// View 2: one latent — explanations, scores, histogram, and contexts coloured by activation.
enum DetailView {
    static func draw(_ screen: inout Screen, _ s: AppState, rect: Rect) {
        let g = DetailGeometry(size: s.size)
        guard let ref = s.detail.ref else {
            screen.write("No latent selected. Pick one in the list (1) and press Enter.", x: rect.x + 2, y: rect.y + 1,
                         maxWidth: rect.width - 4, style: .role(.muted))
            return
        }
        switch s.detail.content {
        case .idle, .loading:
            screen.write("\(Widgets.spinner(s.spinnerFrame)) loading latent \(ref.latent)…", x: rect.x + 2, y: rect.y + 1,
                         maxWidth: rect.width - 4, style: .role(.warn))
        case let .failed(msg):
            screen.write("✗ could not load latent \(ref.latent): \(msg)", x: rect.x + 2, y: rect.y + 1,
                         maxWidth: rect.width - 4, style: .role(.bad, bold: true))
        case let .loaded(d):
            header(&screen, s, d, g.header)
            let doc = DetailDocument(detail: d, state: s.detail, width: g.scroller.width, summaryWidth: g.twoColumns ? g.summary.width - 1 : nil)
            if g.twoColumns {
                for (i, line) in doc.summary.prefix(g.summary.height).enumerated() {
                    screen.draw(line, x: g.summary.x + 1, y: g.summary.y + i, width: g.summary.width - 1)
                }
                for y in g.summary.y..<g.summary.maxY {
                    screen.write("│", x: g.summary.maxX, y: y, style: .role(.border))
                }
                drawLines(&screen, doc, twoColumns: true, from: s.detail.scroll, in: g.scroller)
            } else {
                drawLines(&screen, doc, twoColumns: false, from: s.detail.scroll, in: g.scroller)
            }
            footer(&screen, s, d, g.footer)
        }
    }

    /// Draws the visible part of the scrolling pane (only those lines are built).
    static func drawLines(_ screen: inout Screen, _ doc: DetailDocument, twoColumns: Bool, from: Int, in r: Rect) {
        guard r.height > 0 else { return }
        let count = doc.scrollLineCount(twoColumns: twoColumns)
        let lo = max(0, from), hi = min(count, from + r.height)
        if lo < hi {
            for (i, line) in doc.scrollLines(lo..<hi, twoColumns: twoColumns).enumerated() {
                screen.draw(line, x: r.x, y: r.y + lo - from + i, width: r.width - 1)
            }
        }
        // Scroll position on the right edge.
        if count > r.height {
            let maxScroll = count - r.height
            let pos = Int((Double(min(from, maxScroll)) / Double(max(1, maxScroll))) * Double(r.height - 1))
            screen.write("┃", x: r.maxX - 1, y: r.y + pos, style: .role(.muted))
        }
    }

    static func header(_ screen: inout Screen, _ s: AppState, _ d: LatentDetail, _ r: Rect) {
        screen.fill(r, style: Style(fg: .header, bg: .header))
        let hook = s.detail.ref.flatMap { s.parts.indices.contains($0.part) ? s.parts[$0.part].hookDescription : nil } ?? ""
        let bg = Role.header
        var spans: [Span] = [
            Span(" Latent #\(d.summary.index) ", Style(fg: .accent, bg: bg, bold: true)),
            Span(hook, Style(fg: .muted, bg: bg)),
            Span("  max ", Style(fg: .muted, bg: bg)), Span(Widgets.activation(d.summary.maxActivation), Style(fg: .header, bg: bg)),
            Span("  density ", Style(fg: .muted, bg: bg)), Span(Widgets.density(d.density), Style(fg: .header, bg: bg)),
        ]
        for (name, v) in [("detect", d.summary.detection), ("fuzz", d.summary.fuzz)] {
            spans.append(Span("  \(name) ", Style(fg: .muted, bg: bg)))
            spans.append(Span(Widgets.score(v), Style(fg: Widgets.scoreRole(v), bg: bg, bold: true)))
        }
        screen.draw(DocLine(spans), x: r.x, y: r.y, width: r.width)
    }

    static func footer(_ screen: inout Screen, _ s: AppState, _ d: LatentDetail, _ r: Rect) {
        guard r.height > 0 else { return }
        let flat = DetailDocument.flatten(d)
        guard flat.indices.contains(s.detail.window),
              let w = DetailDocument.window(d, s.detail.window), w.tokens.indices.contains(s.detail.token) else { return }
        let group = d.windowGroups[flat[s.detail.window].group]
        let a = s.detail.token < w.activations.count ? w.activations[s.detail.token] : 0
        let frac = d.summary.maxActivation > 0 ? Double(a / d.summary.maxActivation) : 0
        let spans: [Span] = [
            Span(" token ", .role(.muted)),
            Span("“" + Widgets.token(w.tokens[s.detail.token], showWhitespace: true, maxWidth: 20) + "”", .role(.accent, bold: true)),
            Span("  act ", .role(.muted)), Span(Widgets.activation(a), .role(.text, bold: true)),
            Span(String(format: " (%.0f%% of max)", frac * 100), .role(.muted)),
            Span("  \(group.title.lowercased()), window \(flat[s.detail.window].window + 1)", .role(.muted)),
            Span(s.detail.showWhitespace ? "  ·spaces" : "", .role(.muted)),
            Span(s.detail.wideContext ? "  wide" : "", .role(.muted)),
        ]
        screen.draw(DocLine(spans), x: r.x, y: r.y, width: r.width)
    }
}

/// View 3: what each scorer saw and answered; mistakes can be isolated.
enum SamplesView {
    static func draw(_ screen: inout Screen, _ s: AppState, rect: Rect) {
        guard let ref = s.samples.ref else {
            screen.write("No latent selected.", x: rect.x + 2, y: rect.y + 1, style: .role(.muted))
            return
        }
        let (headerRect, rest) = rect.splitTop(1)
        let (colsRect, rows) = rest.splitTop(1)
        screen.fill(headerRect, style: Style(fg: .header, bg: .header))
        switch s.samples.content {
        case .idle, .loading:
            screen.write(" Latent #\(ref.latent)", x: rect.x, y: headerRect.y, style: Style(fg: .accent, bg: .header, bold: true))
            screen.write("\(Widgets.spinner(s.spinnerFrame)) loading samples…", x: rect.x + 2, y: rows.y + 1, style: .role(.warn))
            return
        case let .failed(msg):
            screen.write(" Latent #\(ref.latent)", x: rect.x, y: headerRect.y, style: Style(fg: .accent, bg: .header, bold: true))
            screen.write("✗ \(msg)", x: rect.x + 2, y: rows.y + 1, maxWidth: rect.width - 4, style: .role(.bad, bold: true))
            return
        case let .loaded(all):
            let visible = Update.visibleSamples(s.samples)
            let mistakes = all.filter { !$0.correct }.count
            let bg = Role.header
            let line = DocLine([
                Span(" Latent #\(ref.latent) ", Style(fg: .accent, bg: bg, bold: true)),
                Span("scorer ", Style(fg: .muted, bg: bg)), Span(s.samples.scorer, Style(fg: .header, bg: bg, bold: true)),
                Span(s.samples.scorers.count > 1 ? " (c: next)" : "", Style(fg: .muted, bg: bg)),
                Span("  \(all.count) samples · ", Style(fg: .muted, bg: bg)),
                Span("\(mistakes) mistakes", Style(fg: .bad, bg: bg)),
                Span(s.samples.mistakesOnly ? " · mistakes only (m: all)" : " · all (m: mistakes only)", Style(fg: .muted, bg: bg)),
            ])
            screen.draw(line, x: rect.x, y: headerRect.y, width: rect.width)
            screen.write("   ok truth pred   p(1)  q  text as the scorer saw it (highlights underlined)", x: rect.x, y: colsRect.y,
                         maxWidth: rect.width, style: .role(.muted, bold: true))
            if visible.isEmpty {
                screen.write("No samples to show.", x: rect.x + 2, y: rows.y + 1, style: .role(.muted))
            }
            for i in 0..<rows.height {
                let vi = s.samples.top + i
                guard vi < visible.count else { break }
                let sample = all[visible[vi]]
                drawSample(&screen, sample, y: rows.y + i, width: rect.width, selected: vi == s.samples.cursor)
            }
        }
    }

    static func drawSample(_ screen: inout Screen, _ m: BrowserScoredSample, y: Int, width: Int, selected: Bool) {
        let bg: Role = selected ? .selection : .text
        if selected { screen.fill(Rect(x: 0, y: y, width: width, height: 1), style: Style(fg: .selection, bg: .selection)) }
        let fg: Role = selected ? .selection : .text
        var spans: [Span] = [
            Span(selected ? "▶ " : "  ", Style(fg: .accent, bg: bg, bold: true)),
            Span(m.prediction == nil ? " ? " : (m.correct ? " ✓ " : " ✗ "), Style(fg: m.correct ? .good : .bad, bg: bg, bold: true)),
            Span(m.activating ? "act   " : "non   ", Style(fg: fg, bg: bg)),
            Span(m.prediction.map { $0 ? "yes  " : "no   " } ?? "—    ", Style(fg: fg, bg: bg)),
            Span(m.probability.map { String(format: "%.2f  ", $0) } ?? " —    ", Style(fg: .muted, bg: bg)),
            Span(m.quantile.map { String(format: "%2d  ", $0 + 1) } ?? " –  ", Style(fg: .muted, bg: bg)),
        ]
        for (t, tok) in m.tokens.enumerated() {
            let hl = t < m.highlighted.count && m.highlighted[t]
            spans.append(Span(Widgets.token(tok, showWhitespace: false, maxWidth: 16),
                              hl ? Style(fg: .match, bg: .match, bold: true, underline: true) : Style(fg: fg, bg: bg)))
        }
        screen.draw(DocLine(spans), x: 0, y: y, width: width)
    }
}
