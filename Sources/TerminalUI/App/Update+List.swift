import Foundation

extension Update {
    // MARK: - List actions

    static func listAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        let page = listPageSize(s)
        switch a {
        case .up: moveListCursor(&s, by: -1)
        case .down: moveListCursor(&s, by: 1)
        case .pageUp: moveListCursor(&s, by: -page)
        case .pageDown: moveListCursor(&s, by: page)
        case .top: moveListCursor(&s, to: 0)
        case .bottom: moveListCursor(&s, to: s.rowCount - 1)
        case .open:
            guard let l = s.latent(atRow: s.list.cursor) else { return [] }
            return openDetail(&s, LatentRef(part: s.part, latent: l))
        case .search:
            s.list.input = LineInput(purpose: .search, text: s.list.search, previous: s.list.search)
            // Index every latent's top tokens while the user types (once per part).
            return startTokenIndex(&s)
        case .jump:
            s.list.input = LineInput(purpose: .jump, text: "", previous: "")
        case .filter:
            s.list.input = LineInput(purpose: .filter, text: s.list.filterText, previous: s.list.filterText)
        case .sortNext, .sortPrevious:
            let all = SortColumn.allCases
            let i = all.firstIndex(of: s.list.sort.column) ?? 0
            let next = all[(i + (a == .sortNext ? 1 : all.count - 1)) % all.count]
            // Scores, densities and activations read best from the top: descending by default.
            s.list.sort = SortSpec(column: next, descending: next != .index && next != .explanation)
            return requery(&s)
        case .sortReverse:
            s.list.sort.descending.toggle()
            return requery(&s)
        case .clearFilters:
            s.list.sort = SortSpec()
            s.list.filter = ListFilter()
            s.list.filterText = ""
            s.list.search = ""
            return requery(&s)
        default: break
        }
        return []
    }

    static func moveListCursor(_ s: inout AppState, by d: Int) { moveListCursor(&s, to: s.list.cursor + d) }

    static func moveListCursor(_ s: inout AppState, to r: Int) {
        s.list.cursor = max(0, min(s.rowCount - 1, r))
        clampList(&s)
    }

    /// Keeps the cursor in range and on screen.
    static func clampList(_ s: inout AppState) {
        let n = s.rowCount
        let page = listPageSize(s)
        s.list.cursor = max(0, min(n - 1, s.list.cursor))
        if s.list.cursor < s.list.top { s.list.top = s.list.cursor }
        if s.list.cursor >= s.list.top + page { s.list.top = s.list.cursor - page + 1 }
        s.list.top = max(0, min(s.list.top, max(0, n - page)))
    }

    /// Recomputes the list rows after a sort/filter/search change: identity at once, else in the background.
    static func requery(_ s: inout AppState) -> [Effect] {
        s.list.generation += 1
        let q = RowQuery(part: s.part, sort: s.list.sort, filter: s.list.filter, search: s.list.search)
        let keep = s.latent(atRow: s.list.cursor)
        if q.isIdentity {
            s.list.rows = nil
            s.list.computing = false
            s.list.cursor = keep ?? 0
            clampList(&s)
            return []
        }
        s.list.computing = true
        var effects: [Effect] = [.computeRows(q, generation: s.list.generation)]
        if !q.search.isEmpty { effects += startTokenIndex(&s) }
        return effects
    }

    /// Starts building the current part's top-token index unless it is built or being built.
    static func startTokenIndex(_ s: inout AppState) -> [Effect] {
        guard s.currentPart != nil, s.tokenIndex[s.part] == nil else { return [] }
        s.tokenIndex[s.part] = TokenIndexProgress(indexed: 0, total: s.latentCount)
        return [.buildTokenIndex(part: s.part)]
    }

    /// Moves the cursor onto `latent` if it is in the list; returns false when it is not.
    @discardableResult
    static func selectLatent(_ s: inout AppState, _ latent: Int) -> Bool {
        if let rows = s.list.rows {
            guard let i = rows.firstIndex(of: Int32(truncatingIfNeeded: latent)) else { return false }
            moveListCursor(&s, to: i)
            return true
        }
        guard latent >= 0, latent < s.latentCount else { return false }
        moveListCursor(&s, to: latent)
        return true
    }

    // MARK: - Text fields

    static func lineInputKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        guard var input = s.list.input else { return [] }
        switch k {
        case let .char(c):
            if input.purpose == .jump && !c.isNumber { return [] }
            input.text.append(c)
        case .backspace, .delete, .ctrl("h"):
            if input.text.isEmpty {
                // Backspace on an empty field closes it, like most line editors.
                return perform(&s, .cancel)
            }
            input.text.removeLast()
        case .ctrl("u"): input.text = ""
        case .up, .down, .pageUp, .pageDown:
            // The list stays navigable while typing a search.
            let page = listPageSize(s)
            let delta = k == .up ? -1 : k == .down ? 1 : k == .pageUp ? -page : page
            moveListCursor(&s, by: delta)
            return []
        default: return []
        }
        s.list.input = input
        if input.purpose == .search {
            s.list.search = input.text
            return requery(&s)
        }
        return []
    }

    /// Enter/Esc in a list text field.
    static func finishLineInput(_ s: inout AppState, accept: Bool) -> [Effect] {
        guard let input = s.list.input else { return [] }
        s.list.input = nil
        switch input.purpose {
        case .search:
            if !accept {
                s.list.search = input.previous
                return requery(&s)
            }
            if !s.list.search.isEmpty {
                s.message = StatusMessage(text: "search “\(s.list.search)”: \(s.rowCount) latents — c clears", isError: false)
            }
            return []
        case .jump:
            guard accept, !input.text.isEmpty else { return [] }
            guard let n = Int(input.text), n >= 0, n < s.latentCount else {
                s.message = StatusMessage(text: "no latent \(input.text): this part has latents 0…\(max(0, s.latentCount - 1))", isError: true)
                return []
            }
            if !selectLatent(&s, n) {
                s.message = StatusMessage(text: "latent \(n) is hidden by the search/filter — opened it directly", isError: false)
                return openDetail(&s, LatentRef(part: s.part, latent: n))
            }
            return []
        case .filter:
            guard accept else { return [] }
            switch ListFilter.parse(input.text) {
            case let .success(f):
                s.list.filter = f
                s.list.filterText = input.text.trimmingCharacters(in: .whitespaces)
                return requery(&s)
            case let .failure(e):
                s.message = StatusMessage(text: e.message, isError: true)
                return []
            }
        }
    }
}
