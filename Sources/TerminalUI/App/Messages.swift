/// A key press, decoded by the backend.
public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, delete, tab, backTab
    /// Control + letter (lowercase), e.g. `.ctrl("c")`.
    case ctrl(Character)
    case function(Int)

    /// How the key is written in help and docs.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case let .char(c): return String(c)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Backspace"
        case .delete: return "Del"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case let .ctrl(c): return "Ctrl-" + String(c).uppercased()
        case let .function(n): return "F\(n)"
        }
    }
}

/// A mouse event at a cell.
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case press, wheelUp, wheelDown }
    public var kind: Kind
    public var x: Int
    public var y: Int
    public init(kind: Kind, x: Int, y: Int) { self.kind = kind; self.x = x; self.y = y }
}

/// Identifies a latent: which part (SAE) and which index.
public struct LatentRef: Hashable, Sendable {
    public var part: Int
    public var latent: Int
    public init(part: Int, latent: Int) { self.part = part; self.latent = latent }
}

/// A token inside a detail window: group, window, position.
public struct TokenRef: Hashable, Sendable {
    public var latent: LatentRef
    public var group: Int
    public var window: Int
    public var token: Int
    public init(latent: LatentRef, group: Int, window: Int, token: Int) {
        self.latent = latent; self.group = group; self.window = window; self.token = token
    }
}

/// Everything that can happen to the browser: input, time, and results of background work.
public enum Msg: Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(Size)
    /// Text pasted into the terminal (bracketed paste): goes to the open text field as text.
    case paste(String)
    /// Animation tick (spinner), sent while background work is running.
    case tick
    /// SIGTERM/SIGHUP/SIGINT arrived: quit cleanly.
    case terminate(signal: Int32)
    case rowsComputed(generation: Int, rows: [Int32])
    case detailLoaded(LatentRef, Result<LatentDetail, BrowserError>)
    case samplesLoaded(LatentRef, scorer: String, scorers: [String], Result<[BrowserScoredSample], BrowserError>)
    case headsLoaded(LatentRef, attribution: [Float]?, table: [HeadTableRow]?)
    case tokenSplitLoaded(TokenRef, TokenHeadSplit?)
    case promptRan(generation: Int, Result<PromptRun, BrowserError>)
    case traceLoaded(generation: Int, Result<PromptLatentTrace, BrowserError>)
    case actionProgress(id: Int, String)
    case actionPartial(id: Int, ActionPartial)
    case actionFinished(id: Int, Result<String, BrowserError>)
    case verdictSaved(LatentRef, Result<HumanVerdict, BrowserError>)
    case promotedLoaded(LatentRef, Result<PromotedTokens, BrowserError>)
    /// The top-token index of `part` grew.
    case tokenIndexProgress(part: Int, TokenIndexProgress)
    /// The overview of `part` (nil: it could not be computed or was cancelled).
    case overviewComputed(part: Int, PartOverview?)
    case neighboursLoaded(LatentRef, Result<LatentNeighbours, BrowserError>)
    case headRolesLoaded(LatentRef, Result<[HeadRoleRow], BrowserError>)
    /// The steering panel: a latent's max activation (its strength unit; nil when unknown), a streamed event of run
    /// `generation`, and its end (nil: finished; else why it stopped).
    case steerUnitLoaded(LatentRef, Float?)
    case steerEvent(generation: Int, SteerEvent)
    case steerFinished(generation: Int, error: BrowserError?)
}

/// What the rows of the latent list are: which part, how sorted, which filter and search.
public struct RowQuery: Sendable, Equatable {
    public var part: Int
    public var sort: SortSpec
    public var filter: ListFilter
    public var search: String
    public init(part: Int, sort: SortSpec = SortSpec(), filter: ListFilter = ListFilter(), search: String = "") {
        self.part = part; self.sort = sort; self.filter = filter; self.search = search
    }
    /// True when the rows are simply 0..<count (no permutation needed).
    public var isIdentity: Bool { sort == SortSpec() && filter.isEmpty && search.isEmpty }
}

/// Sort column and direction.
public struct SortSpec: Sendable, Equatable {
    public var column: SortColumn = .index
    public var descending = false
    public init(column: SortColumn = .index, descending: Bool = false) { self.column = column; self.descending = descending }
}

/// Slow or outside work requested by `update`; the runtime performs it and sends back a `Msg`.
public enum Effect: Sendable, Equatable {
    case computeRows(RowQuery, generation: Int)
    case loadDetail(LatentRef)
    case loadSamples(LatentRef, scorer: String)
    case loadHeads(LatentRef)
    case loadTokenSplit(TokenRef)
    case runPrompt(text: String, part: Int, generation: Int)
    case trace(PromptRun, latent: Int, token: Int, generation: Int)
    case runAction(BrowserAction, LatentRef, id: Int)
    /// Stops a running explain/score job (Esc in the detail view of its latent).
    case cancelAction(id: Int)
    case saveVerdict(LatentRef, HumanVerdict)
    /// Computes the promoted/suppressed tokens of a latent (model weights; slow the first time).
    case loadPromoted(LatentRef)
    /// Builds (or resumes) the top-token search index of a part, reporting progress.
    case buildTokenIndex(part: Int)
    /// Reads every latent's summary of a part into the overview's histograms.
    case computeOverview(part: Int)
    /// Similar latents of one latent (builds the part's similarity index on first use: slow, in the background).
    case loadNeighbours(LatentRef)
    /// Head-role scores of the part's layer, for the heads view of `ref`.
    case loadHeadRoles(LatentRef)
    /// The steering panel: look up a latent's max activation; generate default and steered continuations
    /// (streamed); stop the running generation.
    case loadSteerUnit(LatentRef)
    case steer(SteerRequest, generation: Int)
    case cancelSteer
    /// Ctrl-Z: give the terminal back and stop the process until resumed.
    case suspend
    case quit
}
