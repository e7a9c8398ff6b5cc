/// Everything a key can do. `update` dispatches on these; the table below maps keys to them.
public enum Action: String, Sendable, CaseIterable {
    case quit, help, back, suspend
    case showList, showDetail, showSamples, showHeads, showPrompt, showOverview, nextView, previousView, nextPart
    case up, down, left, right, pageUp, pageDown, top, bottom, open
    case search, jump, filter, sortNext, sortPrevious, sortReverse, clearFilters
    case explain, score, chooseScorer, spotCheck
    case toggleWhitespace, widenContext, neighbours
    case nextScorer, mistakesOnly
    case editPrompt, runPrompt, newline, historyPrevious, historyNext
    case toggleAttention, nextHead, previousHead, nextLayer, previousLayer
    case answerYes, answerNo
    case steer, strengthUp, strengthDown, toggleSteerMode, addSteerLatent, removeSteerLatent, editSteerPrompt, generate,
         cycleTemperature, reseed, toggleFreezeAttention, moreTokens, fewerTokens
    case accept, cancel
}

/// Where a binding applies. Scopes are tried most specific first, then `global`.
public enum Scope: String, Sendable, CaseIterable {
    case global, list, detail, samples, heads, prompt, overview, neighbours, promptEditor, textInput, help, spotCheck, steering

    /// Heading in the help overlay and docs.
    public var title: String {
        switch self {
        case .global: return "Everywhere"
        case .list: return "1 Latent list"
        case .detail: return "2 Latent detail"
        case .samples: return "3 Scored samples"
        case .heads: return "4 Heads"
        case .prompt: return "5 Prompt (token browsing)"
        case .promptEditor: return "5 Prompt (editing)"
        case .overview: return "6 Overview"
        case .neighbours: return "Similar latents panel (n in the detail view)"
        case .textInput: return "Search, jump and filter fields"
        case .help: return "Help overlay"
        case .spotCheck: return "Blind spot-check"
        case .steering: return "Steering panel (t in the prompt view or a latent's detail)"
        }
    }
}

/// One row of the key-binding table.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    public var action: Action
    public var scope: Scope
    /// What it does, for the help overlay and docs.
    public var help: String
    /// Short label for the status-line hints (nil: not hinted).
    public var hint: String?
}

/// The one key-binding table: dispatch, the `?` overlay, the status hints and docs/keybindings.md come from it.
public enum KeyBindings {
    public static let table: [KeyBinding] = [
        // Global
        KeyBinding(keys: [.char("q")], action: .quit, scope: .global, help: "Quit", hint: "quit"),
        KeyBinding(keys: [.ctrl("c")], action: .quit, scope: .global, help: "Quit (also from text fields)", hint: nil),
        KeyBinding(keys: [.char("?"), .function(1)], action: .help, scope: .global, help: "Show or hide this help", hint: "help"),
        KeyBinding(keys: [.escape, .backspace], action: .back, scope: .global, help: "Back to the previous view", hint: nil),
        KeyBinding(keys: [.ctrl("z")], action: .suspend, scope: .global, help: "Suspend (resume with fg)", hint: nil),
        KeyBinding(keys: [.char("1")], action: .showList, scope: .global, help: "Latent list", hint: nil),
        KeyBinding(keys: [.char("2")], action: .showDetail, scope: .global, help: "Latent detail", hint: nil),
        KeyBinding(keys: [.char("3")], action: .showSamples, scope: .global, help: "Scored samples", hint: nil),
        KeyBinding(keys: [.char("4")], action: .showHeads, scope: .global, help: "Heads (attention SAEs)", hint: nil),
        KeyBinding(keys: [.char("5")], action: .showPrompt, scope: .global, help: "Prompt: run your own text", hint: nil),
        KeyBinding(keys: [.char("6")], action: .showOverview, scope: .global, help: "Overview: density, max-activation and score histograms", hint: nil),
        KeyBinding(keys: [.tab], action: .nextView, scope: .global, help: "Next view", hint: nil),
        KeyBinding(keys: [.backTab], action: .previousView, scope: .global, help: "Previous view", hint: nil),
        KeyBinding(keys: [.char("P")], action: .nextPart, scope: .global, help: "Next SAE part (hook)", hint: nil),
        KeyBinding(keys: [.up, .char("k")], action: .up, scope: .global, help: "Move up", hint: nil),
        KeyBinding(keys: [.down, .char("j")], action: .down, scope: .global, help: "Move down", hint: nil),
        KeyBinding(keys: [.left, .char("h")], action: .left, scope: .global, help: "Move left", hint: nil),
        KeyBinding(keys: [.right, .char("l")], action: .right, scope: .global, help: "Move right", hint: nil),
        KeyBinding(keys: [.pageUp, .ctrl("b")], action: .pageUp, scope: .global, help: "Page up", hint: nil),
        KeyBinding(keys: [.pageDown, .ctrl("f"), .char(" ")], action: .pageDown, scope: .global, help: "Page down", hint: nil),
        KeyBinding(keys: [.home], action: .top, scope: .global, help: "First row", hint: nil),
        KeyBinding(keys: [.end, .char("G")], action: .bottom, scope: .global, help: "Last row", hint: nil),
        KeyBinding(keys: [.char("e")], action: .explain, scope: .global, help: "Explain the current latent (background)", hint: nil),
        KeyBinding(keys: [.char("s")], action: .score, scope: .global, help: "Score the current latent (background; view 3 fills as batches finish)", hint: nil),
        KeyBinding(keys: [.char("S")], action: .chooseScorer, scope: .global, help: "Choose what s runs: detection + fuzz, embedding, simulation, intervention", hint: nil),
        KeyBinding(keys: [.char("v")], action: .spotCheck, scope: .global, help: "Blind spot-check the explanation (y/n per example)", hint: nil),
        // List
        KeyBinding(keys: [.enter], action: .open, scope: .list, help: "Open the latent's detail", hint: "open"),
        KeyBinding(keys: [.char("/")], action: .search, scope: .list, help: "Search explanations and top tokens (incremental)", hint: "search"),
        KeyBinding(keys: [.char(":"), .char("g")], action: .jump, scope: .list, help: "Jump to a latent index", hint: "jump"),
        KeyBinding(keys: [.char("f")], action: .filter, scope: .list, help: "Filter: detect>=0.7 fuzz<0.6 score>0.8 density<1e-3 explained unscored", hint: "filter"),
        KeyBinding(keys: [.char(">")], action: .sortNext, scope: .list, help: "Sort by the next column", hint: "sort"),
        KeyBinding(keys: [.char("<")], action: .sortPrevious, scope: .list, help: "Sort by the previous column", hint: nil),
        KeyBinding(keys: [.char("r")], action: .sortReverse, scope: .list, help: "Reverse the sort order", hint: nil),
        KeyBinding(keys: [.char("c")], action: .clearFilters, scope: .list, help: "Clear search, filter and sort", hint: nil),
        // Detail
        KeyBinding(keys: [.char("w")], action: .toggleWhitespace, scope: .detail, help: "Show spaces and newlines", hint: "spaces"),
        KeyBinding(keys: [.char("x")], action: .widenContext, scope: .detail, help: "Widen the context (whole windows, wrapped)", hint: "widen"),
        KeyBinding(keys: [.enter], action: .open, scope: .detail, help: "Heads view for the selected token", hint: "heads"),
        KeyBinding(keys: [.char("n")], action: .neighbours, scope: .detail, help: "Similar latents: decoder and encoder cosine, co-occurrence, aligned match in the other part", hint: "similar"),
        KeyBinding(keys: [.char("e")], action: .explain, scope: .detail, help: "Explain this latent (background)", hint: "explain"),
        KeyBinding(keys: [.char("s")], action: .score, scope: .detail, help: "Score this latent (background)", hint: "score"),
        KeyBinding(keys: [.char("v")], action: .spotCheck, scope: .detail, help: "Blind spot-check", hint: "check"),
        KeyBinding(keys: [.char("t")], action: .steer, scope: .detail, help: "Steering panel: generate with this latent added or clamped", hint: "steer"),
        // Samples
        KeyBinding(keys: [.char("m")], action: .mistakesOnly, scope: .samples, help: "Show only mistakes", hint: "mistakes"),
        KeyBinding(keys: [.char("c")], action: .nextScorer, scope: .samples, help: "Next scorer", hint: "scorer"),
        KeyBinding(keys: [.char("s")], action: .score, scope: .samples, help: "Score this latent; its samples appear here batch by batch (Esc stops, finished batches kept)", hint: "score"),
        // Heads
        KeyBinding(keys: [.enter], action: .open, scope: .heads, help: "Open the selected head's top latent", hint: "open"),
        // Overview
        KeyBinding(keys: [.right, .char("l")], action: .right, scope: .overview, help: "Next histogram", hint: "histogram"),
        KeyBinding(keys: [.left, .char("h")], action: .left, scope: .overview, help: "Previous histogram", hint: nil),
        KeyBinding(keys: [.enter], action: .open, scope: .overview, help: "List the latents of the selected bin", hint: "filter list"),
        // Similar latents panel
        KeyBinding(keys: [.enter], action: .open, scope: .neighbours, help: "Open the selected latent (in its part)", hint: "open"),
        KeyBinding(keys: [.escape, .char("n")], action: .cancel, scope: .neighbours, help: "Close the panel", hint: "close"),
        // Prompt (browsing tokens)
        KeyBinding(keys: [.char("i")], action: .editPrompt, scope: .prompt, help: "Edit the prompt", hint: "edit"),
        KeyBinding(keys: [.enter], action: .open, scope: .prompt, help: "Open the selected latent's detail", hint: "detail"),
        KeyBinding(keys: [.char("a")], action: .toggleAttention, scope: .prompt, help: "Attention pattern of the selected head (weights of the cursor token; q × k grid for short prompts)", hint: "attention"),
        KeyBinding(keys: [.char("]")], action: .nextHead, scope: .prompt, help: "Attention: next head", hint: nil),
        KeyBinding(keys: [.char("[")], action: .previousHead, scope: .prompt, help: "Attention: previous head", hint: nil),
        KeyBinding(keys: [.char("}")], action: .nextLayer, scope: .prompt, help: "Attention: next captured layer", hint: nil),
        KeyBinding(keys: [.char("{")], action: .previousLayer, scope: .prompt, help: "Attention: previous captured layer", hint: nil),
        KeyBinding(keys: [.char("t")], action: .steer, scope: .prompt, help: "Steering panel: generate from this prompt with the selected latent", hint: "steer"),
        // Prompt editor
        KeyBinding(keys: [.enter], action: .runPrompt, scope: .promptEditor, help: "Run the prompt (background)", hint: "run"),
        KeyBinding(keys: [.ctrl("j"), .ctrl("o")], action: .newline, scope: .promptEditor, help: "New line", hint: "newline"),
        KeyBinding(keys: [.ctrl("p")], action: .historyPrevious, scope: .promptEditor, help: "Previous prompt from history", hint: "history"),
        KeyBinding(keys: [.ctrl("n")], action: .historyNext, scope: .promptEditor, help: "Next prompt from history", hint: nil),
        KeyBinding(keys: [.escape], action: .cancel, scope: .promptEditor, help: "Stop editing; browse tokens", hint: "tokens"),
        // Text fields
        KeyBinding(keys: [.enter], action: .accept, scope: .textInput, help: "Accept", hint: "accept"),
        KeyBinding(keys: [.escape], action: .cancel, scope: .textInput, help: "Cancel and restore", hint: "cancel"),
        // Help
        KeyBinding(keys: [.escape, .char("?"), .char("q")], action: .help, scope: .help, help: "Close help", hint: "close"),
        // Spot-check
        KeyBinding(keys: [.char("y")], action: .answerYes, scope: .spotCheck, help: "Yes: the example matches the explanation", hint: "yes"),
        KeyBinding(keys: [.char("n")], action: .answerNo, scope: .spotCheck, help: "No: it does not", hint: "no"),
        KeyBinding(keys: [.escape], action: .cancel, scope: .spotCheck, help: "Abandon the spot-check", hint: "abandon"),
        // Steering panel
        KeyBinding(keys: [.enter, .char("g")], action: .generate, scope: .steering, help: "Generate default and steered continuations (streamed; again to rerun)", hint: "generate"),
        KeyBinding(keys: [.char("+"), .char("=")], action: .strengthUp, scope: .steering, help: "Raise the selected latent's strength (0.5 × its max activation, or 1)", hint: "strength"),
        KeyBinding(keys: [.char("-"), .char("_")], action: .strengthDown, scope: .steering, help: "Lower the selected latent's strength", hint: nil),
        KeyBinding(keys: [.char("m")], action: .toggleSteerMode, scope: .steering, help: "Mode: add (strength × decoder row) or clamp (activation set to strength)", hint: "mode"),
        KeyBinding(keys: [.char("a")], action: .addSteerLatent, scope: .steering, help: "Add a latent by number", hint: "add"),
        KeyBinding(keys: [.char("d"), .delete], action: .removeSteerLatent, scope: .steering, help: "Remove the selected latent", hint: nil),
        KeyBinding(keys: [.char("p")], action: .editSteerPrompt, scope: .steering, help: "Edit the prompt", hint: "prompt"),
        KeyBinding(keys: [.char("T")], action: .cycleTemperature, scope: .steering, help: "Temperature: greedy, 0.7, 1.0 (both runs share the seed)", hint: nil),
        KeyBinding(keys: [.char("r")], action: .reseed, scope: .steering, help: "Next sampler seed", hint: nil),
        KeyBinding(keys: [.char("f")], action: .toggleFreezeAttention, scope: .steering,
                   help: "Third column: steered with the default run's attention patterns frozen (on/off)", hint: "frozen"),
        KeyBinding(keys: [.char("]")], action: .moreTokens, scope: .steering, help: "More tokens per run (+8, up to 256)", hint: nil),
        KeyBinding(keys: [.char("[")], action: .fewerTokens, scope: .steering, help: "Fewer tokens per run (−8, at least 1)", hint: nil),
        KeyBinding(keys: [.escape], action: .cancel, scope: .steering, help: "Stop the running generation; else close the panel", hint: "stop/close"),
        KeyBinding(keys: [.char("t")], action: .steer, scope: .steering, help: "Close the panel", hint: nil),
    ]

    /// Scopes tried, most specific first, for the current state.
    public static func scopes(for state: AppState) -> [Scope] {
        if state.showHelp { return [.help, .global] }
        if state.spotCheck != nil { return [.spotCheck] }
        if let st = state.steering { return st.field != nil ? [.textInput] : [.steering, .global] }
        if state.neighbours != nil { return [.neighbours, .global] }
        if state.view == .list && state.list.input != nil { return [.textInput] }
        switch state.view {
        case .list: return [.list, .global]
        case .detail: return [.detail, .global]
        case .samples: return [.samples, .global]
        case .heads: return [.heads, .global]
        case .overview: return [.overview, .global]
        case .prompt: return state.prompt.editing ? [.promptEditor] : [.prompt, .global]
        }
    }

    /// The action bound to `key` in the current state, if any.
    public static func action(for key: Key, in state: AppState) -> Action? {
        if key == .ctrl("c") { return .quit }
        if key == .ctrl("z") { return .suspend }
        for scope in scopes(for: state) {
            if let b = table.first(where: { $0.scope == scope && $0.keys.contains(key) }) { return b.action }
        }
        return nil
    }

    /// Status-line hints for the current state: (key label, hint), most specific scope first.
    public static func hints(for state: AppState) -> [(key: String, label: String)] {
        var out: [(String, String)] = []
        var seen = Set<Action>()
        for scope in scopes(for: state) {
            for b in table where b.scope == scope {
                guard let h = b.hint, !seen.contains(b.action), let k = b.keys.first else { continue }
                seen.insert(b.action)
                out.append((k.label, h))
            }
        }
        return out
    }

    /// Help text lines grouped by scope, for the overlay.
    public static func helpSections() -> [(title: String, rows: [(keys: String, help: String)])] {
        Scope.allCases.map { scope in
            (scope.title, table.filter { $0.scope == scope }.map { b in
                (b.keys.map(\.label).joined(separator: " "), b.help)
            })
        }
    }

    /// docs/keybindings.md, generated from the table.
    public static func markdown() -> String {
        var s = "# Key bindings of `featurescope browse`\n\n"
        s += "Generated from `KeyBindings.table` (Sources/TerminalUI/App/KeyBindings.swift) by "
        s += "`featurescope browse --print-keybindings`; a test keeps this file in sync.\n"
        s += "The same table drives key dispatch, the `?` overlay and the status-line hints.\n"
        s += "Bindings of a view are tried first, then the global ones. The mouse also works: click a row, "
        s += "a tab or a column header; the wheel scrolls.\n"
        for section in helpSections() {
            s += "\n## \(section.title)\n\n| Keys | Action |\n| --- | --- |\n"
            for r in section.rows {
                let keys = r.keys.split(separator: " ").map { "`\($0 == "|" ? "\\|" : String($0))`" }.joined(separator: " ")
                s += "| \(keys) | \(r.help.replacingOccurrences(of: "|", with: "\\|")) |\n"
            }
        }
        return s + ASCIIFallback.markdownNote
    }
}
