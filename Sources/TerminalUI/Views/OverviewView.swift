import Foundation

/// View 6: the part at a glance — counts (dead, dense, mean L0, explained, scored) and one histogram at a time
/// (log10 density with dead and dense marked, max activation, detection, fuzz) as horizontal bars, one row per
/// bin; Enter on a bin filters the latent list to it.
enum OverviewView {
    static func draw(_ screen: inout Screen, _ s: AppState, rect: Rect) {
        var y = rect.y
        let bg = Role.header
        screen.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: Style(fg: .header, bg: bg))
        screen.draw(DocLine([Span(" Overview ", Style(fg: .accent, bg: bg, bold: true)),
                             Span(s.currentPart.map { "\($0.hookName) · \($0.latentCount) latents" } ?? "", Style(fg: .muted, bg: bg))]),
                    x: rect.x, y: y, width: rect.width)
        y += 1
        guard case let .loaded(o) = s.overview.content else {
            let text: String
            if case let .failed(m) = s.overview.content { text = "✗ " + m } else { text = "\(Widgets.spinner(s.spinnerFrame)) reading every latent's summary…" }
            screen.write(text, x: rect.x + 2, y: y + 1, maxWidth: rect.width - 4, style: .role(.warn))
            return
        }
        func pct(_ n: Int) -> String { o.latents > 0 ? String(format: "%.1f%%", 100 * Double(n) / Double(o.latents)) : "—" }
        let stats: [(String, String, Role)] = [
            ("dead ", "\(o.dead) (\(pct(o.dead)))", o.dead > 0 ? .warn : .text),
            ("dense ", "\(o.dense) (\(pct(o.dense)))", o.dense > 0 ? .warn : .text),
            ("mean L0 ", String(format: "%.1f", o.meanL0), .text),
            ("explained ", "\(o.explained) (\(pct(o.explained)))", .text),
            ("scored ", "\(o.scored) (\(pct(o.scored)))", .text),
        ]
        var x = rect.x + 1
        for (label, value, role) in stats {
            let w = DisplayText.width(label + value) + 2
            if x + w > rect.maxX { break }
            x += screen.write(label, x: x, y: y, style: .role(.muted))
            x += screen.write(value, x: x, y: y, style: .role(role, bold: true))
            x += 2
        }
        y += 1
        // Histogram tabs.
        x = rect.x + 1
        for m in OverviewMetric.allCases {
            let label = " \(m.title) "
            let w = DisplayText.width(label)
            if x + w > rect.maxX { break }
            screen.write(label, x: x, y: y, style: m == s.overview.metric ? Style(fg: .tabActive, bg: .tabActive, bold: true) : .role(.muted))
            x += w + 1
        }
        y += 1
        guard let h = o.histogram(s.overview.metric) else { return }
        let (first, rows) = visibleBins(s, h, rect: rect)
        let labelW = 17, countW = 7
        let barW = max(4, rect.width - labelW - countW - 4)
        let maxCount = max(1, h.counts.max() ?? 1)
        for b in first ..< min(h.binCount, first + rows) {
            let selected = b == s.overview.bin
            let rowBg: Role = selected ? .selection : .text
            if selected { screen.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), style: Style(fg: .selection, bg: .selection)) }
            let dense = h.metric == .density && h.edges[b] >= log10(PartOverview.denseThreshold) - 1e-9
            screen.write((selected ? "▶" : " ") + binLabel(h, b) + (dense ? " dense" : ""), x: rect.x, y: y, maxWidth: labelW,
                         style: Style(fg: selected ? .selection : (dense ? .warn : .text), bg: rowBg))
            let frac = Double(h.counts[b]) / Double(maxCount)
            let bar = h.counts[b] > 0 && frac * Double(barW * 8) < 1 ? "▏" : Widgets.hbar(frac, width: barW)
            screen.write(bar, x: rect.x + labelW + 1, y: y, style: Style(fg: dense ? .warn : .bar, bg: rowBg))
            let count = String(h.counts[b])
            screen.write(count, x: rect.maxX - DisplayText.width(count) - 1, y: y, style: Style(fg: selected ? .selection : .text, bg: rowBg))
            y += 1
        }
        if h.missing > 0 && y < rect.maxY {
            let what: String
            switch h.metric {
            case .density, .maxActivation: what = "dead (never fire): \(h.missing)"
            case .detection, .fuzz: what = "unscored: \(h.missing)"
            }
            screen.write(" " + what, x: rect.x, y: y, maxWidth: rect.width, style: .role(h.metric == .density ? .warn : .muted))
        }
    }

    /// Rows of the body above the first bin.
    static let headerRows = 3

    /// The first bin shown and how many fit (the selected bin stays visible).
    static func visibleBins(_ s: AppState, _ h: OverviewHistogram, rect: Rect) -> (first: Int, rows: Int) {
        let rows = max(1, rect.height - headerRows - (h.missing > 0 ? 1 : 0))
        return (max(0, min(s.overview.bin - rows / 2, h.binCount - rows)), rows)
    }

    /// The bin drawn on screen row `y`, if any.
    static func bin(atY y: Int, _ s: AppState, rect: Rect) -> Int? {
        guard let h = s.overview.content.value?.histogram(s.overview.metric) else { return nil }
        let (first, rows) = visibleBins(s, h, rect: rect)
        let i = y - rect.y - headerRows
        guard i >= 0, i < rows, first + i < h.binCount else { return nil }
        return first + i
    }

    /// "-4.5…-4.0" style labels for density, plain ranges otherwise.
    static func binLabel(_ h: OverviewHistogram, _ b: Int) -> String {
        let lo = h.edges[b], hi = h.edges[b + 1]
        switch h.metric {
        case .density: return String(format: "%.1f…%.1f", lo, hi)
        case .maxActivation: return String(format: "%.3g…%.3g", lo, hi)
        case .detection, .fuzz: return String(format: "%.1f…%.1f", lo, hi)
        }
    }
}
