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

/// View 3: what each scorer saw and answered, with the scorer's breakdown; mistakes can be isolated. While a score
/// job of the latent runs, its samples appear batch by batch.
enum SamplesView {
    /// Rows above the samples: header, breakdown, column titles.
    static let headerRows = 3

    static func draw(_ screen: inout Screen, _ s: AppState, rect: Rect) {
        guard let ref = s.samples.ref else {
            screen.write("No latent selected.", x: rect.x + 2, y: rect.y + 1, style: .role(.muted))
            return
        }
        let (headerRect, rest) = rect.splitTop(1)
        let (breakdownRect, rest2) = rest.splitTop(1)
        let (colsRect, rows) = rest2.splitTop(1)
        screen.fill(headerRect, style: Style(fg: .header, bg: .header))
        let job = s.samples.following.flatMap { id in s.jobs.first { $0.id == id } }
        switch s.samples.content {
        case .idle, .loading:
            screen.write(" Latent #\(ref.latent)", x: rect.x, y: headerRect.y, style: Style(fg: .accent, bg: .header, bold: true))
            let text = job.map { "\(Widgets.spinner(s.spinnerFrame)) scoring: \($0.progress) (the first batch is on its way; Esc stops)" }
                ?? "\(Widgets.spinner(s.spinnerFrame)) loading samples…"
            screen.write(text, x: rect.x + 2, y: breakdownRect.y + 1, maxWidth: rect.width - 4, style: .role(.warn))
            return
        case let .failed(msg):
            screen.write(" Latent #\(ref.latent)", x: rect.x, y: headerRect.y, style: Style(fg: .accent, bg: .header, bold: true))
            screen.write("✗ \(msg)", x: rect.x + 2, y: breakdownRect.y + 1, maxWidth: rect.width - 4, style: .role(.bad, bold: true))
            if s.capabilities.actionRunner {
                screen.write("press s to score it (S chooses the scorer: \(s.scoreKind.label))", x: rect.x + 2, y: breakdownRect.y + 3,
                             maxWidth: rect.width - 4, style: .role(.muted))
            }
            return
        case let .loaded(all):
            let visible = Update.visibleSamples(s.samples)
            let mistakes = all.filter { !$0.correct }.count
            let bg = Role.header
            var spans = [
                Span(" Latent #\(ref.latent) ", Style(fg: .accent, bg: bg, bold: true)),
                Span("scorer ", Style(fg: .muted, bg: bg)), Span(s.samples.scorer, Style(fg: .header, bg: bg, bold: true)),
                Span(s.samples.scorers.count > 1 ? " (c: next)" : "", Style(fg: .muted, bg: bg)),
                Span("  \(all.count) samples · ", Style(fg: .muted, bg: bg)),
                Span("\(mistakes) mistakes", Style(fg: .bad, bg: bg)),
                Span(s.samples.mistakesOnly ? " · mistakes only (m: all)" : " · all (m: mistakes only)", Style(fg: .muted, bg: bg)),
            ]
            if let job {
                spans.insert(Span(" \(Widgets.spinner(s.spinnerFrame)) \(job.cancelling ? "stopping" : "live") ", Style(fg: .warn, bg: bg, bold: true)), at: 1)
            }
            screen.draw(DocLine(spans), x: rect.x, y: headerRect.y, width: rect.width)
            screen.draw(breakdown(s, ref: ref, samples: all, job: job), x: rect.x, y: breakdownRect.y, width: rect.width)
            let kind = Kind(s.samples.scorer)
            screen.write(kind.columnTitles, x: rect.x, y: colsRect.y, maxWidth: rect.width, style: .role(.muted, bold: true))
            if visible.isEmpty {
                let text = job != nil && all.isEmpty ? "Waiting for the first batch… (Esc stops; finished batches are kept)" : "No samples to show."
                screen.write(text, x: rect.x + 2, y: rows.y + 1, maxWidth: rect.width - 4, style: .role(.muted))
            }
            for i in 0..<rows.height {
                let vi = s.samples.top + i
                guard vi < visible.count else { break }
                let sample = all[visible[vi]]
                drawSample(&screen, sample, kind: kind, y: rows.y + i, width: rect.width, selected: vi == s.samples.cursor)
            }
        }
    }

    /// How a scorer's samples read.
    enum Kind {
        case classifier, embedding, simulation, intervention
        init(_ scorer: String) {
            switch scorer {
            case "embedding": self = .embedding
            case "simulation": self = .simulation
            case let x where x.hasPrefix("intervention"): self = .intervention
            default: self = .classifier
            }
        }
        var columnTitles: String {
            switch self {
            case .classifier: return "   ok truth pred   p(1)  q  text as the scorer saw it (highlights underlined)"
            case .embedding: return "   ok truth >med   cos   q  text as embedded (pred = similarity above the latent's median)"
            case .simulation: return "   ok truth pred   r     q  text (underlined, and pred = yes: simulated activation ≥ 5 of 10)"
            case .intervention: return "   ok truth  pred  p(1)  k  completion (truth: steered or default; k = strength)"
            }
        }
    }

    /// The scorer's figures: from the stored score (the detail's), or counted from the samples while a job runs.
    static func breakdown(_ s: AppState, ref: LatentRef, samples: [BrowserScoredSample], job: Job?) -> DocLine {
        let stored = job == nil && s.detail.ref == ref ? s.detail.content.value?.scores.first { $0.scorer == s.samples.scorer } : nil
        var spans: [Span] = [Span(" ")]
        if let job {
            spans.append(Span(job.progress + " · ", .role(.warn)))
        } else if let p = stored?.partial {
            spans.append(Span("stopped after \(p) · ", .role(.warn)))
        }
        func figure(_ label: String, _ v: Double?) {
            spans.append(Span(label + " ", .role(.muted)))
            spans.append(Span(Widgets.score(v), .role(Widgets.scoreRole(v), bold: true)))
            spans.append(Span("  "))
        }
        var counts = ConfusionCounts()
        for m in samples { if let p = m.prediction { counts.add(actual: m.activating, predicted: p) } }
        switch Kind(s.samples.scorer) {
        case .embedding:
            figure("AUROC", stored?.score ?? ConfusionCounts.auc(samples.compactMap { m in m.probability.map { ($0, m.activating) } }))
            spans.append(Span("cosine of explanation and example, activating vs not", .role(.muted)))
        case .simulation:
            let r = stored?.score
            figure("Pearson r", r)
            if let q = stored?.quantileCorrelation, !q.isEmpty {
                spans.append(Span("by quantile ", .role(.muted)))
                for k in q.keys.sorted() { spans.append(Span("\(k + 1):" + Widgets.score(q[k]) + " ", .role(Widgets.scoreRole(q[k])))) }
            } else if stored == nil {
                let rs = samples.compactMap(\.correlation)
                spans.append(Span("\(samples.count) examples simulated" + (rs.isEmpty ? "" : String(format: " · mean r per example %.2f", rs.reduce(0, +) / Double(rs.count))), .role(.muted)))
            }
        case .intervention:
            figure("balanced acc", stored?.balancedAccuracy ?? counts.balancedAccuracy)
            figure("AUC", stored?.auc ?? ConfusionCounts.auc(samples.compactMap { m in m.probability.map { ($0, m.activating) } }))
            spans.append(Span("steered identified ", .role(.muted)))
            spans.append(Span("\(counts.tp)/\(counts.tp + counts.fn)", .role(.good, bold: true)))
            spans.append(Span(" · default taken for steered ", .role(.muted)))
            spans.append(Span("\(counts.fp)/\(counts.fp + counts.tn)", .role(.bad)))
        case .classifier:
            figure("balanced acc", stored?.score ?? counts.balancedAccuracy)
            if let auc = stored?.auc ?? ConfusionCounts.auc(samples.compactMap { m in m.probability.map { ($0, m.activating) } }) {
                figure("AUC", auc)
            }
            spans.append(Span("TP \(counts.tp) FN \(counts.fn) FP \(counts.fp) TN \(counts.tn)", .role(.muted)))
            if let qa = stored?.quantileAccuracy, !qa.isEmpty {
                spans.append(Span("  by quantile ", .role(.muted)))
                for (k, v) in qa.enumerated() { spans.append(Span("\(k + 1):" + String(format: "%.1f", v) + " ", .role(Widgets.scoreRole(v)))) }
            }
        }
        return DocLine(spans)
    }

    static func drawSample(_ screen: inout Screen, _ m: BrowserScoredSample, kind: Kind = .classifier, y: Int, width: Int, selected: Bool) {
        let bg: Role = selected ? .selection : .text
        if selected { screen.fill(Rect(x: 0, y: y, width: width, height: 1), style: Style(fg: .selection, bg: .selection)) }
        let fg: Role = selected ? .selection : .text
        let truth: String
        switch kind {
        case .intervention: truth = m.activating ? "steer " : "dflt  "
        default: truth = m.activating ? "act   " : "non   "
        }
        let value = kind == .simulation ? m.correlation : m.probability
        var spans: [Span] = [
            Span(selected ? "▶ " : "  ", Style(fg: .accent, bg: bg, bold: true)),
            Span(m.prediction == nil ? " ? " : (m.correct ? " ✓ " : " ✗ "), Style(fg: m.correct ? .good : .bad, bg: bg, bold: true)),
            Span(truth, Style(fg: fg, bg: bg)),
            Span(m.prediction.map { $0 ? "yes  " : "no   " } ?? "—    ", Style(fg: fg, bg: bg)),
            Span(value.map { String(format: "%5.2f ", $0) } ?? "  —   ", Style(fg: .muted, bg: bg)),
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
