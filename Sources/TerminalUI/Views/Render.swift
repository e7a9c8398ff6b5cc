import FeaturescopeCore

/// Draws the whole browser for a state: a pure function of the state, the data and the size.
public enum Render {
    /// Renders one frame. Only visible list rows are read from `data`.
    public static func frame(_ s: AppState, data: BrowserDataSource) -> Screen {
        var screen = Screen(size: s.size, fill: .plain)
        if Layout.isTooSmall(s.size) {
            tooSmall(&screen)
            return screen
        }
        let layout = Layout(size: s.size)
        tabBar(&screen, s, layout.tabBar)
        switch s.view {
        case .list: ListView.draw(&screen, s, data: data, rect: layout.body)
        case .detail: DetailView.draw(&screen, s, rect: layout.body)
        case .samples: SamplesView.draw(&screen, s, rect: layout.body)
        case .heads: HeadsView.draw(&screen, s, data: data, rect: layout.body)
        case .prompt: PromptView.draw(&screen, s, data: data, rect: layout.body)
        case .overview: OverviewView.draw(&screen, s, rect: layout.body)
        }
        statusLine(&screen, s, layout.status)
        if let n = s.neighbours { NeighboursOverlay.draw(&screen, s, n) }
        if let st = s.steering { SteeringPanel.draw(&screen, s, st, data: data) }
        if let sc = s.spotCheck { Overlays.spotCheck(&screen, sc) }
        if s.showHelp { Overlays.help(&screen, s) }
        if s.showHelp || s.spotCheck != nil || s.neighbours != nil || (s.steering != nil && s.steering?.field == nil) { screen.cursor = nil }
        return screen
    }

    /// The one screen shown below the minimum size.
    static func tooSmall(_ screen: inout Screen) {
        let lines = ["Terminal too small",
                     "\(screen.size.width)×\(screen.size.height), need at least \(Layout.minimum.width)×\(Layout.minimum.height)",
                     "Enlarge the window, or press q to quit"]
        let top = max(0, (screen.size.height - lines.count) / 2)
        for (i, l) in lines.enumerated() {
            let w = DisplayText.width(l)
            let x = max(0, (screen.size.width - w) / 2)
            screen.write(l, x: x, y: top + i, maxWidth: screen.size.width, style: i == 0 ? .role(.bad, bold: true) : .role(.text))
        }
    }

    static func tabBar(_ screen: inout Screen, _ s: AppState, _ r: Rect) {
        screen.fill(r, style: .role(.tabBar))
        let compact = r.width < 70
        var end = 0
        for t in Layout.tabs(width: r.width) {
            let unavailable = Update.unavailableReason(t.view.showAction, s) != nil
            let style: Style = t.view == s.view ? Style(fg: .tabActive, bg: .tabActive, bold: true)
                : Style(fg: unavailable ? .muted : .tabBar, bg: .tabBar)
            screen.write(Layout.tabLabel(t.view, compact: compact), x: t.x, y: r.y, style: style)
            end = t.x + t.width
        }
        guard let part = s.currentPart else { return }
        // The longest description that fits: part, hook, latent count; then less.
        let partText = s.parts.count > 1 ? "part \(s.part + 1)/\(s.parts.count) · " : ""
        let candidates = [partText + "\(part.hookName) · \(part.latentCount) latents",
                          "\(part.hookName) · \(part.latentCount) latents", part.hookName]
        let room = r.width - end - 2
        guard room > 8 else { return }
        let text = candidates.first { DisplayText.width($0) <= room } ?? DisplayText.truncate(part.hookName, width: room)
        let w = DisplayText.width(text)
        screen.write(text, x: r.maxX - w - 1, y: r.y, style: Style(fg: .tabBar, bg: .tabBar))
    }

    static func statusLine(_ screen: inout Screen, _ s: AppState, _ r: Rect) {
        let base = Style(fg: .status, bg: .status)
        screen.fill(r, style: base)
        // Right: background work with a spinner.
        var right = ""
        if let job = s.jobs.first {
            let verb = job.action == .explain ? "explaining" : "scoring"
            right = "\(Widgets.spinner(s.spinnerFrame)) \(verb) #\(job.ref.latent): \(job.progress)"
            if s.jobs.count > 1 { right += " (+\(s.jobs.count - 1))" }
        } else if s.isIndexing, let p = s.tokenIndex[s.part] {
            right = "\(Widgets.spinner(s.spinnerFrame)) indexing top tokens \(p.percent) %"
        } else if s.isBusy {
            right = "\(Widgets.spinner(s.spinnerFrame)) working"
        } else if let f = s.focusedLatent, s.view != .list {
            right = "#\(f.latent)"
        }
        var rightWidth = 0
        if !right.isEmpty {
            let t = DisplayText.truncate(right, width: max(10, r.width / 2))
            rightWidth = DisplayText.width(t) + 1
            screen.write(t, x: r.maxX - rightWidth, y: r.y, style: Style(fg: .warn, bg: .status))
        }
        let room = r.width - rightWidth - 1
        var x = r.x + 1
        if let m = s.message {
            let style = Style(fg: m.isError ? .bad : .status, bg: .status, bold: m.isError)
            screen.write((m.isError ? "✗ " : "") + m.text, x: x, y: r.y, maxWidth: room, style: style)
            return
        }
        for h in KeyBindings.hints(for: s) {
            let need = DisplayText.width(h.key) + DisplayText.width(h.label) + 3
            if x + need > r.x + room { break }
            x += screen.write(h.key, x: x, y: r.y, style: Style(fg: .statusKey, bg: .status, bold: true))
            x += screen.write(" " + h.label + "  ", x: x, y: r.y, style: base)
        }
    }
}
