import FeaturescopeCore
import Foundation

/// The steering panel drawn over the prompt or detail view: the prompt, the latents with their strengths, then the
/// default and steered continuations side by side as they stream in (the first divergent token marked in both), a
/// strip of per-token KL(steered ‖ default) under the steered text, and the run's state.
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
        let colWidth = (inner.width - 3) / 2
        let left = Rect(x: inner.x, y: y, width: colWidth, height: textRows + 1)
        let right = Rect(x: inner.x + colWidth + 3, y: y, width: inner.width - colWidth - 3, height: textRows + 1)
        let divergence = p.firstDivergence
        heading(&screen, "Default", x: left.x, y: y, width: left.width)
        heading(&screen, "Steered", x: right.x, y: y, width: right.width)
        for r in 0 ..< textRows { screen.write("│", x: inner.x + colWidth + 1, y: y + 1 + r, style: Style(fg: .border, bg: .overlay)) }
        continuation(&screen, p.defaultTokens, divergence: divergence, steered: false,
                     rect: Rect(x: left.x, y: y + 1, width: left.width, height: textRows))
        continuation(&screen, p.steeredTokens, divergence: divergence, steered: true,
                     rect: Rect(x: right.x, y: y + 1, width: right.width, height: textRows))
        y += 1 + textRows
        klStrip(&screen, p, x: right.x, y: y, width: right.width)
        if let d = divergence {
            screen.write("diverges at token \(d + 1)", x: left.x, y: y, maxWidth: left.width, style: Style(fg: .bad, bg: .overlay, bold: true))
        } else if !p.defaultTokens.isEmpty && !p.steeredTokens.isEmpty {
            screen.write(p.phase == .running ? "identical so far" : "identical", x: left.x, y: y, maxWidth: left.width,
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

    /// "mode add · greedy · 24 tokens".
    static func settings(_ p: SteeringPanelState) -> String {
        let sampler = p.temperature == 0 ? "greedy" : String(format: "temperature %.1f, seed %llu", p.temperature, p.seed)
        return "mode \(p.mode.rawValue) · \(sampler) · \(p.maxTokens) tokens per run"
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

    /// "KL ▁▃█▂ max 2.31": one cell per steered token, height and colour by its KL relative to the run's largest.
    static func klStrip(_ screen: inout Screen, _ p: SteeringPanelState, x: Int, y: Int, width: Int) {
        guard !p.kl.isEmpty else {
            if p.phase == .running, !p.steeredTokens.isEmpty {
                screen.write("KL after the run", x: x, y: y, maxWidth: width, style: Style(fg: .muted, bg: .overlay))
            }
            return
        }
        let maxKL = p.kl.max() ?? 0
        let summary = String(format: " max %.2f", maxKL)
        screen.write("KL ", x: x, y: y, style: Style(fg: .muted, bg: .overlay))
        let room = max(0, width - 3 - DisplayText.width(summary))
        for (j, v) in p.kl.prefix(room).enumerated() {
            let f = maxKL > 0 ? v / maxKL : 0
            let glyph = Widgets.vbars([f], height: 1).first ?? " "
            let role = Role.heat(f) ?? .muted
            screen.write(glyph == " " ? "▁" : glyph, x: x + 3 + j, y: y, maxWidth: 1, style: Style(fg: role, bg: .overlay), ellipsis: false)
        }
        screen.write(summary, x: x + 3 + min(room, p.kl.count), y: y, maxWidth: width, style: Style(fg: .muted, bg: .overlay))
    }

    /// What the run is doing, or its outcome.
    static func statusLine(_ screen: inout Screen, _ s: AppState, _ p: SteeringPanelState, x: Int, y: Int, width: Int) {
        let text: String
        var style = Style(fg: .muted, bg: .overlay)
        switch p.phase {
        case .idle:
            text = "Enter generate · +/- strength · m add/clamp · a add latent · p prompt · Esc close"
        case .running:
            let stage = p.steeredTokens.isEmpty ? "default \(p.defaultTokens.count)/\(p.maxTokens)" : "steered \(p.steeredTokens.count)/\(p.maxTokens)"
            text = "\(Widgets.spinner(s.spinnerFrame)) generating \(stage) · Esc stops"
            style = Style(fg: .warn, bg: .overlay)
        case .done:
            var t = p.firstDivergence.map { "first divergence at token \($0 + 1)" } ?? "no divergence in \(p.steeredTokens.count) tokens"
            if !p.kl.isEmpty {
                t += String(format: " · KL mean %.3f, max %.3f nats", p.kl.reduce(0, +) / Double(p.kl.count), p.kl.max() ?? 0)
            }
            text = t + " · Enter reruns"
        case .stopped:
            text = "stopped after \(p.defaultTokens.count) + \(p.steeredTokens.count) tokens · Enter reruns"
        case let .failed(m):
            text = "✗ " + m
            style = Style(fg: .bad, bg: .overlay, bold: true)
        }
        screen.write(text, x: x, y: y, maxWidth: width, style: style)
    }
}
