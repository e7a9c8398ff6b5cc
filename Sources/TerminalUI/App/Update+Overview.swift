/// State of the overview view: the current part's histograms, which one is shown, and the selected bin.
public struct OverviewState: Sendable, Equatable {
    public var part: Int?
    public var content: Loadable<PartOverview> = .idle
    public var metric: OverviewMetric = .density
    public var bin = 0
    public init() {}
}

extension ViewID {
    /// The action that shows this view (tabs, Tab/Shift-Tab, clicks).
    public var showAction: Action {
        switch self {
        case .list: return .showList
        case .detail: return .showDetail
        case .samples: return .showSamples
        case .heads: return .showHeads
        case .prompt: return .showPrompt
        case .overview: return .showOverview
        }
    }
}

extension Update {
    /// Starts computing the current part's overview unless it is here or on its way.
    static func loadOverviewIfNeeded(_ s: inout AppState) -> [Effect] {
        if s.overview.part == s.part, s.overview.content != .idle, !isFailed(s.overview.content) { return [] }
        s.overview.part = s.part
        s.overview.content = .loading
        s.overview.bin = 0
        return [.computeOverview(part: s.part)]
    }

    static func isFailed(_ l: Loadable<PartOverview>) -> Bool { if case .failed = l { return true } else { return false } }

    static func overviewComputed(_ s: inout AppState, part: Int, _ o: PartOverview?) -> [Effect] {
        guard part == s.overview.part else { return [] }
        s.overview.content = o.map { .loaded($0) } ?? .failed("the overview of part \(part + 1) could not be computed")
        clampOverview(&s)
        return []
    }

    static func clampOverview(_ s: inout AppState) {
        let n = s.overview.content.value?.histogram(s.overview.metric)?.binCount ?? 0
        s.overview.bin = max(0, min(n - 1, s.overview.bin))
    }

    /// ←/→ change the histogram, ↑/↓ the bin, Enter filters the latent list to the bin.
    static func overviewAction(_ s: inout AppState, _ a: Action) -> [Effect] {
        let metrics = OverviewMetric.allCases
        let i = metrics.firstIndex(of: s.overview.metric) ?? 0
        switch a {
        case .left, .right:
            s.overview.metric = metrics[(i + (a == .right ? 1 : metrics.count - 1)) % metrics.count]
            clampOverview(&s)
        case .up: s.overview.bin -= 1
        case .down: s.overview.bin += 1
        case .top: s.overview.bin = 0
        case .bottom, .pageDown: s.overview.bin = Int.max / 2
        case .pageUp: s.overview.bin = 0
        case .open: return filterToSelectedBin(&s)
        default: return []
        }
        clampOverview(&s)
        return []
    }

    /// Shows the latent list filtered to the selected bin.
    static func filterToSelectedBin(_ s: inout AppState) -> [Effect] {
        guard let h = s.overview.content.value?.histogram(s.overview.metric), h.counts.indices.contains(s.overview.bin) else { return [] }
        let text = h.filterText(bin: s.overview.bin)
        guard case let .success(f) = ListFilter.parse(text) else { return [] }
        s.list.filterText = text
        s.list.filter = f
        s.list.cursor = 0
        s.list.top = 0
        var effects = requery(&s)
        effects += switchView(&s, .list)
        s.message = StatusMessage(text: "filter: \(text) (\(h.counts[s.overview.bin]) latents; c clears)", isError: false)
        return effects
    }
}
