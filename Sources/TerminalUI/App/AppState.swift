/// Data that arrives in the background: not asked for, on its way, here, or failed.
public enum Loadable<T: Sendable & Equatable>: Sendable, Equatable {
    case idle
    case loading
    case loaded(T)
    case failed(String)

    public var value: T? { if case let .loaded(v) = self { return v } else { return nil } }
    public var isLoading: Bool { if case .loading = self { return true } else { return false } }
}

/// The browser's views, numbered as their keys.
public enum ViewID: Int, Sendable, CaseIterable, Equatable {
    case list = 1, detail, samples, heads, prompt, overview

    public var title: String {
        switch self {
        case .list: return "Latents"
        case .detail: return "Detail"
        case .samples: return "Samples"
        case .heads: return "Heads"
        case .prompt: return "Prompt"
        case .overview: return "Overview"
        }
    }
}

/// A one-line text field being edited (search, jump, filter).
public struct LineInput: Sendable, Equatable {
    public enum Purpose: Sendable, Equatable { case search, jump, filter }
    public var purpose: Purpose
    public var text: String
    /// What to restore on Esc.
    public var previous: String
    public init(purpose: Purpose, text: String, previous: String) {
        self.purpose = purpose; self.text = text; self.previous = previous
    }
}

/// State of the latent list.
public struct ListState: Sendable, Equatable {
    /// Latent indices in display order; nil means all latents in index order (no permutation built).
    public var rows: [Int32]?
    public var cursor = 0
    public var top = 0
    public var sort = SortSpec()
    public var filter = ListFilter()
    public var filterText = ""
    public var search = ""
    /// Increases with every query change; stale results are dropped.
    public var generation = 0
    public var computing = false
    public var input: LineInput?
    public init() {}
}

/// State of the detail view.
public struct DetailState: Sendable, Equatable {
    public var ref: LatentRef?
    public var content: Loadable<LatentDetail> = .idle
    /// Tokens the latent's decoder direction promotes/suppresses (loaded after the detail; needs the model).
    public var promoted: Loadable<PromotedTokens> = .idle
    public var scroll = 0
    /// Selected context: index into the flattened list of windows, and token within it.
    public var window = 0
    public var token = 0
    public var showWhitespace = false
    public var wideContext = false
    /// The explanation being generated for this latent, as it streams in.
    public var liveExplanation: String?
    /// Score lines of a running score job of this latent.
    public var liveScores: [String] = []
    public init() {}
}

/// State of the scored-samples view.
public struct SamplesState: Sendable, Equatable {
    public var ref: LatentRef?
    public var scorer = ""
    public var scorers: [String] = []
    public var content: Loadable<[BrowserScoredSample]> = .idle
    public var mistakesOnly = false
    public var cursor = 0
    public var top = 0
    /// The running score job whose samples are shown as its batches finish (nil: stored samples).
    public var following: Int?
    public init() {}
}

/// State of the heads view.
public struct HeadsState: Sendable, Equatable {
    public var ref: LatentRef?
    public var attribution: Loadable<[Float]> = .idle
    public var table: [HeadTableRow]?
    /// Head-role scores of the part's layer (previous-token, induction, …), from the model.
    public var roles: Loadable<[HeadRoleRow]> = .idle
    public var split: Loadable<TokenHeadSplit> = .idle
    public var splitToken: TokenRef?
    public var cursor = 0
    public init() {}
}

/// State of the prompt view: a multi-line editor, history, and the last run.
public struct PromptState: Sendable, Equatable {
    public var lines: [String] = [""]
    public var row = 0
    public var column = 0
    public var editing = true
    public var history: [String] = []
    /// Position while browsing history (nil = editing a new prompt).
    public var historyIndex: Int?
    public var generation = 0
    public var run: Loadable<PromptRun> = .idle
    public var token = 0
    public var latentCursor = 0
    public var trace: Loadable<PromptLatentTrace> = .idle
    public var traceGeneration = 0
    /// The lower half shows the selected head's attention pattern instead of the latents and trace.
    public var showAttention = false
    /// Index into the run's `attention.layers`, and the head shown.
    public var attentionLayer = 0
    public var attentionHead = 0
    public init() {}

    public var text: String { lines.joined(separator: "\n") }
}

/// One example of a blind spot-check.
public struct SpotCheckItem: Sendable, Equatable {
    public var tokens: [String]
    public var activating: Bool
}

/// A running blind spot-check: explanation + one unhighlighted example at a time, y/n.
public struct SpotCheckState: Sendable, Equatable {
    public var ref: LatentRef
    public var explanation: String
    public var items: [SpotCheckItem]
    public var index = 0
    public var agreed = 0
    public var answered = 0
}

/// A background explain/score job.
public struct Job: Sendable, Equatable {
    public var id: Int
    public var action: BrowserAction
    public var ref: LatentRef
    public var progress: String
    /// Esc was pressed: the job is being stopped.
    public var cancelling = false
    /// Score jobs: the scorer working now and the samples it has judged so far (view 3 shows them).
    public var liveScorer: String?
    public var liveSamples: [BrowserScoredSample] = []
}

/// A short message on the status line.
public struct StatusMessage: Sendable, Equatable {
    public var text: String
    public var isError: Bool
}

/// What the session can do besides reading the cache.
public struct Capabilities: Sendable, Equatable {
    public var promptEngine: Bool
    public var actionRunner: Bool
    /// The steering panel can generate (a steering engine is loaded).
    public var steering: Bool
    public init(promptEngine: Bool, actionRunner: Bool, steering: Bool = false) {
        self.promptEngine = promptEngine; self.actionRunner = actionRunner; self.steering = steering
    }
}

/// The whole browser state: a value, changed only by `update`.
public struct AppState: Sendable, Equatable {
    public var size: Size
    public var parts: [PartInfo]
    public var part = 0
    public var view: ViewID = .list
    /// Views to return to with Esc/Backspace.
    public var backStack: [ViewID] = []
    public var list = ListState()
    public var detail = DetailState()
    public var samples = SamplesState()
    public var heads = HeadsState()
    public var prompt = PromptState()
    public var overview = OverviewState()
    /// The similar-latents panel over the detail view, when open.
    public var neighbours: NeighboursState?
    /// The steering panel over the prompt or detail view, when open.
    public var steering: SteeringPanelState?
    public var spotCheck: SpotCheckState?
    /// Start a spot-check as soon as this latent's detail arrives.
    public var pendingSpotCheck: LatentRef?
    public var showHelp = false
    public var helpScroll = 0
    public var jobs: [Job] = []
    /// What `s` runs: detection + fuzz, or one of the other scorers (`S` cycles).
    public var scoreKind: BrowserAction = .score
    /// Progress of each part's top-token search index (absent: not started).
    public var tokenIndex: [Int: TokenIndexProgress] = [:]
    public var nextJobID = 1
    public var message: StatusMessage?
    public var spinnerFrame = 0
    public var capabilities: Capabilities
    public var quitting = false

    public init(size: Size, parts: [PartInfo], capabilities: Capabilities = Capabilities(promptEngine: false, actionRunner: false)) {
        self.size = size
        self.parts = parts
        self.capabilities = capabilities
    }

    public var currentPart: PartInfo? { parts.indices.contains(part) ? parts[part] : nil }
    public var latentCount: Int { currentPart?.latentCount ?? 0 }

    /// Number of rows in the (filtered) list.
    public var rowCount: Int { list.rows.map(\.count) ?? latentCount }

    /// The latent at a list row.
    public func latent(atRow r: Int) -> Int? {
        guard r >= 0, r < rowCount else { return nil }
        if let rows = list.rows { return Int(rows[r]) }
        return r
    }

    /// The latent the user is looking at: the detail's, else the list cursor's.
    public var focusedLatent: LatentRef? {
        switch view {
        case .detail, .samples, .heads:
            if let r = detail.ref { return r }
        case .prompt:
            if let run = prompt.run.value, run.topLatents.indices.contains(prompt.token) {
                let tops = run.topLatents[prompt.token]
                if tops.indices.contains(prompt.latentCursor) { return LatentRef(part: run.part, latent: tops[prompt.latentCursor].latent) }
            }
        case .list, .overview: break
        }
        return latent(atRow: list.cursor).map { LatentRef(part: part, latent: $0) }
    }

    /// True while something runs in the background (the spinner turns).
    public var isBusy: Bool {
        list.computing || detail.content.isLoading || samples.content.isLoading || heads.attribution.isLoading
            || heads.split.isLoading || prompt.run.isLoading || prompt.trace.isLoading || !jobs.isEmpty
            || detail.promoted.isLoading || isIndexing || overview.content.isLoading || (neighbours?.content.isLoading ?? false)
            || steering?.phase == .running
    }

    /// True while the current part's top-token index is being built.
    public var isIndexing: Bool { tokenIndex[part].map { !$0.isComplete } ?? false }

    /// The text input that currently receives typed characters, if any.
    public var isTyping: Bool {
        if list.input != nil && view == .list { return true }
        if let st = steering { return st.field != nil && !showHelp && spotCheck == nil }
        return view == .prompt && prompt.editing && !showHelp && spotCheck == nil
    }
}
