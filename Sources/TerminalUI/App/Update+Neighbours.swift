extension Update {
    /// `n` in the detail view: opens the similar-latents panel (its data is computed in the background).
    static func openNeighbours(_ s: inout AppState) -> [Effect] {
        guard let ref = s.detail.ref ?? s.focusedLatent else { return [] }
        s.neighbours = NeighboursState(ref: ref)
        return [.loadNeighbours(ref)]
    }

    /// Keys while the panel is open: ↑/↓ select, Enter jumps to the latent, Esc/n closes. nil: not handled here.
    static func neighboursAction(_ s: inout AppState, _ a: Action) -> [Effect]? {
        guard var n = s.neighbours else { return nil }
        let count = n.content.value?.rows.count ?? 0
        switch a {
        case .up: n.cursor = max(0, n.cursor - 1)
        case .down: n.cursor = max(0, min(count - 1, n.cursor + 1))
        case .top, .pageUp: n.cursor = 0
        case .bottom, .pageDown: n.cursor = max(0, count - 1)
        case .back, .cancel, .neighbours:
            s.neighbours = nil
            return []
        case .open:
            guard let c = n.content.value, c.rows.indices.contains(n.cursor) else { return [] }
            let (g, e) = c.rows[n.cursor]
            let ref = LatentRef(part: c.groups[g].part, latent: c.groups[g].entries[e].latent)
            s.neighbours = nil
            var effects: [Effect] = []
            if ref.part != s.part, s.parts.indices.contains(ref.part) {
                s.part = ref.part
                effects += requery(&s)
            }
            return effects + openDetail(&s, ref)
        case .quit, .help, .suspend: return nil
        default: return []
        }
        s.neighbours = n
        return []
    }

    static func neighboursLoaded(_ s: inout AppState, _ ref: LatentRef, _ r: Result<LatentNeighbours, BrowserError>) -> [Effect] {
        guard s.neighbours?.ref == ref else { return [] }
        switch r {
        case let .success(n): s.neighbours?.content = .loaded(n)
        case let .failure(e): s.neighbours?.content = .failed(e.message)
        }
        return []
    }
}
