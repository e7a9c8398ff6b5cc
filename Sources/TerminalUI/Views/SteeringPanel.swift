import FeaturescopeCore
import Foundation

/// The steering panel drawn over the prompt or detail view: the prompt, the latents with their strengths, then the
/// default and steered continuations side by side as they stream in (the first divergent token marked in both), a
/// strip of per-token KL(steered ‖ default) under the steered text, and the run's state. With `f` a third column
/// holds the steered run with the default run's attention patterns frozen (its own divergence mark and KL strip).
enum SteeringPanel {
    static func draw(_ screen: inout Screen, _ s: AppState, _ p: SteeringPanelState, data: BrowserDataSource) {
        let body = Layout(size: s.size).body
        let rect = Rect(x: body.x + 1, y: body.y, width: max(10, body.width - 2), height: body.height)
        let bg = Style(fg: .overlay, bg: .overlay)
        // The whole body, so no half-hidden text of the view below shows around the panel.
        screen.fill(body, style: .plain)
        screen.fill(rect, style: bg)
        let hook = s.parts.indices.contains(p.part) ? s.parts[p.part].hookName : "part \(p.part + 1)"
        Widgets.box(&screen, rect, title: "Steering · \(hook)", style: Style(fg: .border, bg: .overlay))
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: rect.width - 4, height: rect.height - 2)
        guard inner.height >= 6, inner.width >= 20 else { return }
        var y = inner.y
        y = promptLine(&screen, p, inner: inner, y: y)
        screen.write(settings(p), x: inner.x, y: y, maxWidth: inner.width, style: Style(fg: .muted, bg: .overlay))
        y += 1
        y = latentRows(&screen, s, p, data: data, inner: inner, y: y)
        // Continuations: what is left above the KL strip and the status line.
        let textRows = inner.maxY - y - 3
        guard textRows >= 1 else { statusLine(&screen, s, p, x: inner.x, y: inner.maxY - 1, width: inner.width); return }
        // Default | Steered (| Steered, attention frozen), three columns between neighbours.
        var columns: [(title: String, tokens: [SteerToken], divergence: Int?, kl: [Double], steered: Bool)] = [
            ("Default", p.defaultTokens, p.firstDivergence, [], false),
            ("Steered", p.steeredTokens, p.firstDivergence, p.kl, true),
        ]
        if p.showsFrozen {
            columns.append(("Steered, attention frozen", p.frozenTokens, p.firstFrozenDivergence, p.frozenKL, true))
        }
        let colWidth = (inner.width - 3 * (columns.count - 1)) / columns.count
        for (c, col) in columns.enumerated() {
            let x = inner.x + c * (colWidth + 3)
            let width = c == columns.count - 1 ? inner.maxX - x : colWidth
            heading(&screen, col.title, x: x, y: y, width: width)
            if c > 0 {
                for r in 0 ..< textRows { screen.write("│", x: x - 2, y: y + 1 + r, style: Style(fg: .border, bg: .overlay)) }
            }
            continuation(&screen, col.tokens, divergence: col.divergence, steered: col.steered,
                         rect: Rect(x: x, y: y + 1, width: width, height: textRows))
            if c > 0 {
                klStrip(&screen, col.kl, running: p.phase == .running && !col.tokens.isEmpty, x: x, y: y + 1 + textRows, width: width)
            }
        }
        y += 1 + textRows
        if let d = p.firstDivergence {
            screen.write("diverges at token \(d + 1)", x: inner.x, y: y, maxWidth: colWidth, style: Style(fg: .bad, bg: .overlay, bold: true))
        } else if !p.defaultTokens.isEmpty && !p.steeredTokens.isEmpty {
            screen.write(p.phase == .running ? "identical so far" : "identical", x: inner.x, y: y, maxWidth: colWidth,
                         style: Style(fg: .muted, bg: .overlay))
        }
        statusLine(&screen, s, p, x: inner.x, y: inner.maxY - 1, width: inner.width)
    }

    /// "Prompt  text" (or the open prompt field with the cursor); returns the next row.
    static func promptLine(_ screen: inout Screen, _ p: SteeringPanelState, inner: Rect, y: Int) -> Int {
        let label = "Prompt  "
        screen.write(label, x: inner.x, y: y, style: Style(fg: .title, bg: .overlay, bold: true))
        let x = inner.x + DisplayText.width(label), room = inner.width - DisplayText.width(label)
        if p.field == .prompt {
            // Keep the end (where typing happens) visible.
            let text = p.input
            let w = DisplayText.width(text)
            let shown = w < room ? text : String(text.suffix(max(0, room - 2)))
            let used = screen.write(shown, x: x, y: y, maxWidth: room, style: .role(.input), ellipsis: false)
            screen.cursor = Point(x: min(inner.maxX - 1, x + used), y: y)
            if text.isEmpty {
                screen.write("type the text to continue, Enter to accept", x: x + 1, y: y, maxWidth: room - 1, style: Style(fg: .muted, bg: .overlay))
            }
        } else if p.prompt.isEmpty {
            screen.write("none — press p to type one", x: x, y: y, maxWidth: room, style: Style(fg: .muted, bg: .overlay))
        } else {
            screen.write(p.prompt, x: x, y: y, maxWidth: room, style: Style(fg: .text, bg: .overlay))
        }
        return y + 1
    }

    /// "mode add · greedy · 24 tokens per run" (+ " · + frozen attention" when the third run is on).
    static func settings(_ p: SteeringPanelState) -> String {
        let sampler = p.temperature == 0 ? "greedy" : String(format: "temperature %.1f, seed %llu", p.temperature, p.seed)
        return "mode \(p.mode.rawValue) · \(sampler) · \(p.maxTokens) tokens per run" + (p.freezeAttention ? " · + frozen attention" : "")
    }

    /// The latents with their strengths (the selected one marked), and the open latent field; returns the next row.
    static func latentRows(_ screen: inout Screen, _ s: AppState, _ p: SteeringPanelState, data: BrowserDataSource,
                           inner: Rect, y start: Int) -> Int {
        var y = start
        heading(&screen, "Latents (\(p.mode == .add ? "added" : "clamped") at every position)", x: inner.x, y: y, width: inner.width)
        y += 1
        let rows = max(1, min(4, inner.height / 4))
        if p.latents.isEmpty {
            screen.write("none — press a to add one", x: inner.x + 2, y: y, maxWidth: inner.width - 2, style: Style(fg: .muted, bg: .overlay))
            y += 1
        }
        let first = max(0, min(p.cursor - rows + 1, p.latents.count - rows))
        for (i, l) in p.latents.enumerated().dropFirst(first).prefix(rows) {
            let selected = i == p.cursor && p.field == nil
            let rowBG: Role = selected ? .selection : .overlay
            if selected { screen.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), style: Style(fg: .selection, bg: .selection)) }
            let explanation = data.parts.indices.contains(p.part) && l.latent < data.parts[p.part].latentCount
                ? data.summary(part: p.part, latent: l.latent).explanation : nil
            screen.draw(DocLine([
                Span(selected ? "▶" : " ", Style(fg: .accent, bg: rowBG, bold: true)),
                Span("#\(l.latent)".leftPadded(7) + "  ", Style(fg: selected ? .selection : .accent, bg: rowBG, bold: true)),
                Span(strength(l, mode: p.mode) + "  ", Style(fg: selected ? .selection : .text, bg: rowBG, bold: true)),
                Span(explanation ?? "—", Style(fg: selected ? .selection : (explanation == nil ? .muted : .text), bg: rowBG)),
            ]), x: inner.x, y: y, width: inner.width)
            y += 1
        }
        if p.field == .latent {
            let label = "add latent #"
            screen.write(label, x: inner.x + 2, y: y, style: Style(fg: .title, bg: .overlay, bold: true))
            let used = screen.write(p.input, x: inner.x + 2 + DisplayText.width(label), y: y, maxWidth: 12, style: .role(.input))
            screen.cursor = Point(x: inner.x + 2 + DisplayText.width(label) + used, y: y)
            screen.write("  Enter add · Esc cancel", x: inner.x + 2 + DisplayText.width(label) + max(used, 1), y: y,
                         maxWidth: max(0, inner.width - 16 - DisplayText.width(label)), style: Style(fg: .muted, bg: .overlay))
            y += 1
        }
        return y
    }

    /// "+4.0 × max 3.21 = +12.8" (or "+2.0 act" when the max is unknown, "…" while it loads).
    static func strength(_ l: SteeringPanelLatent, mode: SteerMode) -> String {
        let verb = mode == .add ? "" : "to "
        guard l.unitLoaded else { return verb + String(format: "%+.1f × max …", l.strength) }
        guard let u = l.unit else { return verb + String(format: "%+.1f (activation units; max unknown)", l.strength) }
        return verb + String(format: "%+.1f × max %@ = %+.2f", l.strength, Widgets.activation(u), l.activationStrength)
    }

    static func heading(_ screen: inout Screen, _ title: String, x: Int, y: Int, width: Int) {
        let used = screen.write(title, x: x, y: y, maxWidth: width, style: Style(fg: .title, bg: .overlay, bold: true))
        if used + 1 < width {
            screen.write(" " + String(repeating: "─", count: width - used - 1), x: x + used, y: y, maxWidth: width - used,
                         style: Style(fg: .border, bg: .overlay), ellipsis: false)
        }
    }

    /// Where each generated token goes when the text flows over lines of `width` columns (a token with a newline
    /// ends its line): lines of (token index, column, display text).
    static func flow(_ tokens: [SteerToken], width: Int) -> [[(index: Int, x: Int, text: String)]] {
        var lines: [[(Int, Int, String)]] = [[]]
        var used = 0
        let opts = SafeText.Options(showSpaces: false, showNewlines: true)
        for (i, t) in tokens.enumerated() {
            let text = Widgets.token(t.text, showWhitespace: false, maxWidth: max(1, width))
            let w = DisplayText.width(text, options: opts)
            if used + w > width && used > 0 { lines.append([]); used = 0 }
            lines[lines.count - 1].append((i, used, text))
            used += w
            if t.text.contains("\n") { lines.append([]); used = 0 }
        }
        return lines
    }

    /// One continuation, the last lines that fit (it grows as tokens stream in); the first divergent token is
    /// marked (bold, underlined, the "bad" colour), steered tokens after it in the accent colour.
    static func continuation(_ screen: inout Screen, _ tokens: [SteerToken], divergence: Int?, steered: Bool, rect: Rect) {
        let lines = flow(tokens, width: rect.width)
        let first = max(0, lines.count - rect.height)
        let opts = SafeText.Options(showSpaces: false, showNewlines: true)
        for (r, line) in lines.dropFirst(first).prefix(rect.height).enumerated() {
            for item in line {
                var style = Style(fg: .text, bg: .overlay)
                if let d = divergence {
                    if item.index == d { style = Style(fg: .bad, bg: .overlay, bold: true, underline: true) }
                    else if item.index > d && steered { style = Style(fg: .accent, bg: .overlay) }
                }
                screen.write(item.text, x: rect.x + item.x, y: rect.y + r, maxWidth: rect.width - item.x, style: style, options: opts)
            }
        }
    }

    /// "KL ▁▃█▂ max 2.31": one cell per generated token, height and colour by its KL relative to the run's largest.
    static func klStrip(_ screen: inout Screen, _ kl: [Double], running: Bool, x: Int, y: Int, width: Int) {
        guard !kl.isEmpty else {
            if running { screen.write("KL after the run", x: x, y: y, maxWidth: width, style: Style(fg: .muted, bg: .overlay)) }
            return
        }
        let maxKL = kl.max() ?? 0
        let summary = String(format: " max %.2f", maxKL)
        screen.write("KL ", x: x, y: y, style: Style(fg: .muted, bg: .overlay))
        let room = max(0, width - 3 - DisplayText.width(summary))
        for (j, v) in kl.prefix(room).enumerated() {
            let f = maxKL > 0 ? v / maxKL : 0
            let glyph = Widgets.vbars([f], height: 1).first ?? " "
            let role = Role.heat(f) ?? .muted
            screen.write(glyph == " " ? "▁" : glyph, x: x + 3 + j, y: y, maxWidth: 1, style: Style(fg: role, bg: .overlay), ellipsis: false)
        }
        screen.write(summary, x: x + 3 + min(room, kl.count), y: y, maxWidth: max(0, width - 3 - min(room, kl.count)),
                     style: Style(fg: .muted, bg: .overlay))
    }

    /// What the run is doing, or its outcome.
    static func statusLine(_ screen: inout Screen, _ s: AppState, _ p: SteeringPanelState, x: Int, y: Int, width: Int) {
        let text: String
        var style = Style(fg: .muted, bg: .overlay)
        switch p.phase {
        case .idle:
            text = "Enter generate · +/- strength · [/] tokens · f frozen attention · m add/clamp · a add · p prompt · Esc close"
        case .running:
            let stage = !p.frozenTokens.isEmpty ? "frozen \(p.frozenTokens.count)/\(p.defaultTokens.count)"
                : p.steeredTokens.isEmpty ? "default \(p.defaultTokens.count)/\(p.maxTokens)" : "steered \(p.steeredTokens.count)/\(p.maxTokens)"
            text = "\(Widgets.spinner(s.spinnerFrame)) generating \(stage) · Esc stops"
            style = Style(fg: .warn, bg: .overlay)
        case .done:
            var t = p.firstDivergence.map { "first divergence at token \($0 + 1)" } ?? "no divergence in \(p.steeredTokens.count) tokens"
            if !p.kl.isEmpty {
                t += String(format: " · KL mean %.3f, max %.3f nats", p.kl.reduce(0, +) / Double(p.kl.count), p.kl.max() ?? 0)
            }
            if p.lastRequest?.freezeAttention == true {
                t += " · frozen: " + (p.firstFrozenDivergence.map { "diverges at \($0 + 1)" } ?? "no divergence")
                if !p.frozenKL.isEmpty {
                    t += String(format: ", KL mean %.3f", p.frozenKL.reduce(0, +) / Double(p.frozenKL.count))
                }
            }
            text = t + " · Enter reruns"
        case .stopped:
            let frozen = p.frozenTokens.isEmpty ? "" : " + \(p.frozenTokens.count)"
            text = "stopped after \(p.defaultTokens.count) + \(p.steeredTokens.count)\(frozen) tokens · Enter reruns"
        case let .failed(m):
            text = "✗ " + m
            style = Style(fg: .bad, bg: .overlay, bold: true)
        }
        screen.write(text, x: x, y: y, maxWidth: width, style: style)
    }
}
