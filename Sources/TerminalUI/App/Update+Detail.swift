/// Where the detail view draws: one scrolling column, or summary left and contexts right on wide screens.
public struct DetailGeometry: Equatable, Sendable {
    public var twoColumns: Bool
    /// Header line (latent, hook, numbers).
    public var header: Rect
    /// Summary pane (two-column mode only).
    public var summary: Rect
    /// The scrolling pane (contexts; in one-column mode summary + contexts).
    public var scroller: Rect
    /// Footer line (selected token's value).
    public var footer: Rect

    public init(size: Size) {
        let body = Layout(size: size).body
        let (header, rest) = body.splitTop(1)
        let (main, footer) = rest.splitTop(max(0, rest.height - 1))
        self.header = header
        self.footer = footer
        twoColumns = size.width >= 110
        if twoColumns {
            let (left, right) = main.splitLeft(min(52, main.width * 2 / 5))
            summary = Rect(x: left.x, y: left.y, width: left.width - 1, height: left.height)
            scroller = Rect(x: right.x + 1, y: right.y, width: right.width - 1, height: right.height)
        } else {
            summary = Rect(x: main.x, y: main.y, width: 0, height: 0)
            scroller = main
        }
    }
}

extension Update {
    /// The document of the detail view for the current state, if the detail is loaded.
    static func detailDocument(_ s: AppState) -> DetailDocument? {
        guard let d = s.detail.content.value else { return nil }
        let g = DetailGeometry(size: s.size)
        return DetailDocument(detail: d, state: s.detail, width: g.scroller.width, summaryWidth: g.twoColumns ? g.summary.width - 1 : nil)
    }

    /// Line offset of the contexts inside the scrolling pane.
    static func contextOffset(_ doc: DetailDocument, _ g: DetailGeometry) -> Int {
        doc.contextOffset(twoColumns: g.twoColumns)
    }

    static func detailAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        if a == .neighbours { return openNeighbours(&s) }
        guard let d = s.detail.content.value, let doc = detailDocument(s) else { return [] }
        let g = DetailGeometry(size: s.size)
        let windows = doc.windowIndex.count
        let page = max(1, g.scroller.height - 2)
        switch a {
        case .up:
            if s.detail.window == 0 { s.detail.scroll = max(0, s.detail.scroll - 1); return [] }
            selectWindow(&s, d, s.detail.window - 1)
        case .down: selectWindow(&s, d, s.detail.window + 1)
        case .left: s.detail.token = max(0, s.detail.token - 1)
        case .right:
            let n = DetailDocument.window(d, s.detail.window)?.tokens.count ?? 0
            s.detail.token = min(max(0, n - 1), s.detail.token + 1)
        case .pageUp, .pageDown:
            let total = doc.scrollLineCount(twoColumns: g.twoColumns)
            let delta = a == .pageUp ? -page : page
            s.detail.scroll = max(0, min(max(0, total - g.scroller.height), s.detail.scroll + delta))
            // Select the first window now on screen.
            let off = contextOffset(doc, g)
            if let first = doc.windowLines.firstIndex(where: { $0.lowerBound + off >= s.detail.scroll }) {
                s.detail.window = first
                s.detail.token = strongestToken(DetailDocument.window(d, first))
            }
            return loadTokenSplitIfHeads(&s)
        case .top:
            s.detail.scroll = 0
            s.detail.window = 0
            s.detail.token = strongestToken(DetailDocument.window(d, 0))
            return []
        case .bottom: selectWindow(&s, d, windows - 1)
        case .toggleWhitespace:
            s.detail.showWhitespace.toggle()
            s.message = StatusMessage(text: s.detail.showWhitespace ? "spaces shown as ·, newlines as ↵" : "spaces hidden", isError: false)
        case .widenContext:
            s.detail.wideContext.toggle()
            s.message = StatusMessage(text: s.detail.wideContext ? "whole windows, wrapped" : "one line per window", isError: false)
        case .open:
            if let reason = unavailableReason(.showHeads, s) {
                s.message = StatusMessage(text: reason, isError: true)
                return []
            }
            return switchView(&s, .heads)
        default: return []
        }
        ensureWindowVisible(&s)
        return []
    }

    static func strongestToken(_ w: TokenWindow?) -> Int {
        guard let w, !w.activations.isEmpty else { return 0 }
        return w.activations.indices.max(by: { w.activations[$0] < w.activations[$1] }) ?? 0
    }

    static func selectWindow(_ s: inout AppState, _ d: LatentDetail, _ i: Int) {
        let n = DetailDocument.flatten(d).count
        guard n > 0 else { return }
        s.detail.window = max(0, min(n - 1, i))
        s.detail.token = strongestToken(DetailDocument.window(d, s.detail.window))
    }

    /// Scrolls so the selected window's lines are on screen.
    static func ensureWindowVisible(_ s: inout AppState) {
        guard let doc = detailDocument(s), doc.windowLines.indices.contains(s.detail.window) else { return }
        let g = DetailGeometry(size: s.size)
        let off = contextOffset(doc, g)
        let r = doc.windowLines[s.detail.window]
        let h = g.scroller.height
        // Keep the group title above the first window of a group in view too.
        let start = r.lowerBound + off - 1
        if start < s.detail.scroll { s.detail.scroll = max(0, start) }
        if r.upperBound + off > s.detail.scroll + h { s.detail.scroll = r.upperBound + off - h }
    }

    static func clampDetail(_ s: inout AppState) {
        guard let doc = detailDocument(s) else { return }
        let g = DetailGeometry(size: s.size)
        let total = doc.scrollLineCount(twoColumns: g.twoColumns)
        s.detail.scroll = max(0, min(s.detail.scroll, max(0, total - g.scroller.height)))
    }

    // MARK: - Samples

    /// Indices of the samples shown (all, or only mistakes).
    public static func visibleSamples(_ st: SamplesState) -> [Int] {
        guard let all = st.content.value else { return [] }
        return st.mistakesOnly ? all.indices.filter { !all[$0].correct } : Array(all.indices)
    }

    static func samplesPageSize(_ s: AppState) -> Int { max(1, Layout(size: s.size).body.height - 4) }

    static func samplesAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        let n = visibleSamples(s.samples).count
        let page = samplesPageSize(s)
        switch a {
        case .up: s.samples.cursor -= 1
        case .down: s.samples.cursor += 1
        case .pageUp: s.samples.cursor -= page
        case .pageDown: s.samples.cursor += page
        case .top: s.samples.cursor = 0
        case .bottom: s.samples.cursor = n - 1
        case .mistakesOnly:
            s.samples.mistakesOnly.toggle()
            s.samples.cursor = 0
            s.samples.top = 0
        case .nextScorer:
            guard let ref = s.samples.ref, s.samples.scorers.count > 1 else {
                s.message = StatusMessage(text: "only one scorer has samples for this latent", isError: false)
                return []
            }
            let i = s.samples.scorers.firstIndex(of: s.samples.scorer) ?? 0
            let next = s.samples.scorers[(i + 1) % s.samples.scorers.count]
            s.samples.following = nil
            s.samples.scorer = next
            s.samples.content = .loading
            s.samples.cursor = 0
            s.samples.top = 0
            return [.loadSamples(ref, scorer: next)]
        default: return []
        }
        clampSamples(&s)
        return []
    }

    static func clampSamples(_ s: inout AppState) {
        let n = visibleSamples(s.samples).count
        let page = samplesPageSize(s)
        s.samples.cursor = max(0, min(n - 1, s.samples.cursor))
        if s.samples.cursor < s.samples.top { s.samples.top = s.samples.cursor }
        if s.samples.cursor >= s.samples.top + page { s.samples.top = s.samples.cursor - page + 1 }
        s.samples.top = max(0, min(s.samples.top, max(0, n - page)))
    }

    // MARK: - Heads

    static func headsAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        let rows = s.heads.table?.count ?? s.currentPart?.nHeads ?? 0
        switch a {
        case .up: s.heads.cursor = max(0, s.heads.cursor - 1)
        case .down: s.heads.cursor = min(max(0, rows - 1), s.heads.cursor + 1)
        case .top: s.heads.cursor = 0
        case .bottom: s.heads.cursor = max(0, rows - 1)
        case .left, .right:
            guard let d = s.detail.content.value else { return [] }
            let n = DetailDocument.window(d, s.detail.window)?.tokens.count ?? 0
            s.detail.token = max(0, min(n - 1, s.detail.token + (a == .left ? -1 : 1)))
            return loadTokenSplit(&s)
        case .pageUp, .pageDown:
            guard let d = s.detail.content.value else { return [] }
            selectWindow(&s, d, s.detail.window + (a == .pageUp ? -1 : 1))
            return loadTokenSplit(&s)
        case .open:
            guard let table = s.heads.table, table.indices.contains(s.heads.cursor),
                  let top = table[s.heads.cursor].topLatents.first else {
                s.message = StatusMessage(text: "no latents listed for this head", isError: false)
                return []
            }
            return openDetail(&s, LatentRef(part: s.part, latent: top.latent))
        default: break
        }
        return []
    }

    static func loadTokenSplitIfHeads(_ s: inout AppState) -> [Effect] {
        s.view == .heads ? loadTokenSplit(&s) : []
    }

    /// Asks for the per-head split + DFA of the detail's selected token (hook_z parts only).
    static func loadTokenSplit(_ s: inout AppState) -> [Effect] {
        guard let ref = s.detail.ref, let d = s.detail.content.value,
              s.parts.indices.contains(ref.part), s.parts[ref.part].isHookZ else { return [] }
        let flat = DetailDocument.flatten(d)
        guard flat.indices.contains(s.detail.window) else { return [] }
        let t = TokenRef(latent: ref, group: flat[s.detail.window].group, window: flat[s.detail.window].window, token: s.detail.token)
        if s.heads.splitToken == t, s.heads.split != .idle { return [] }
        s.heads.splitToken = t
        s.heads.split = .loading
        return [.loadTokenSplit(t)]
    }
}
