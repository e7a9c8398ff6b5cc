extension Update {
    /// Clicks select (a second click on the selected row opens it), the wheel scrolls.
    static func mouse(_ s: inout AppState, _ m: MouseEvent) -> [Effect] {
        guard !Layout.isTooSmall(s.size) else { return [] }
        if s.showHelp {
            if m.kind == .wheelUp { s.helpScroll = max(0, s.helpScroll - 3) }
            if m.kind == .wheelDown { s.helpScroll += 3 }
            return []
        }
        if s.spotCheck != nil || s.steering != nil { return [] }
        let layout = Layout(size: s.size)
        if m.kind != .press {
            let up = m.kind == .wheelUp
            switch s.view {
            case .detail:
                guard let doc = detailDocument(s) else { return [] }
                let g = DetailGeometry(size: s.size)
                let total = doc.scrollLineCount(twoColumns: g.twoColumns)
                s.detail.scroll = max(0, min(max(0, total - g.scroller.height), s.detail.scroll + (up ? -3 : 3)))
                return []
            default:
                var effects: [Effect] = []
                for _ in 0..<3 { effects += perform(&s, up ? .up : .down) }
                return effects
            }
        }
        if m.y == layout.tabBar.y {
            for t in Layout.tabs(width: s.size.width) where m.x >= t.x && m.x < t.x + t.width {
                return perform(&s, t.view.showAction)
            }
            return []
        }
        guard layout.body.contains(Point(x: m.x, y: m.y)) else { return [] }
        switch s.view {
        case .overview:
            guard let b = OverviewView.bin(atY: m.y, s, rect: layout.body) else { return [] }
            if b == s.overview.bin { return filterToSelectedBin(&s) }
            s.overview.bin = b
        case .list:
            if m.y == layout.body.y {
                guard let col = ListColumns(width: s.size.width).column(atX: m.x) else { return [] }
                if s.list.sort.column == col { s.list.sort.descending.toggle() }
                else { s.list.sort = SortSpec(column: col, descending: col != .index && col != .explanation) }
                return requery(&s)
            }
            let row = s.list.top + (m.y - layout.body.y - 1)
            guard row >= 0, row < s.rowCount, m.y < layout.body.maxY - 1 else { return [] }
            if row == s.list.cursor { return listAction(&s, .open) }
            moveListCursor(&s, to: row)
        case .detail:
            guard let doc = detailDocument(s) else { return [] }
            let g = DetailGeometry(size: s.size)
            guard g.scroller.contains(Point(x: m.x, y: m.y)) else { return [] }
            let line = s.detail.scroll + (m.y - g.scroller.y) - contextOffset(doc, g)
            guard line >= 0, line < doc.contextLineCount,
                  let pos = doc.contextLine(line).token(atColumn: m.x - g.scroller.x) else { return [] }
            s.detail.window = pos.window
            s.detail.token = pos.token
        case .samples:
            let row = s.samples.top + (m.y - layout.body.y - SamplesView.headerRows)
            guard row >= 0 else { return [] }
            s.samples.cursor = row
            clampSamples(&s)
        case .heads:
            let row = m.y - layout.body.y - 2
            let n = s.heads.attribution.value?.count ?? 0
            guard row >= 0, row < n else { return [] }
            s.heads.cursor = row
        case .prompt:
            // A click on a token selects it (and traces its top latent); a click in the editor edits.
            let body = layout.body
            let editorRows = PromptView.editorHeight(s.prompt)
            if m.y < body.y + editorRows {
                s.prompt.editing = true
                return []
            }
            guard let run = s.prompt.run.value else { return [] }
            let tokenLayout = PromptView.tokenLayout(run, width: body.width - 2)
            let first = PromptView.firstVisibleLine(tokenLayout, selected: s.prompt.token, maxLines: 3)
            let line = first + (m.y - (body.y + editorRows + 1))
            guard line >= first, line < min(tokenLayout.count, first + 3) else { return [] }
            let dx = m.x - (body.x + 1)
            guard let hit = tokenLayout[line].first(where: { dx >= $0.x && dx < $0.x + $0.width }) else { return [] }
            s.prompt.editing = false
            s.prompt.token = hit.index
            s.prompt.latentCursor = 0
            return traceSelected(&s)
        }
        return []
    }
}
