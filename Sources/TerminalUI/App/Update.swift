import FeaturescopeCore

/// The browser's state machine: `update(&state, msg)` changes the state and returns the slow work
/// to do as effects. It performs no I/O, so every transition is testable without a terminal.
public enum Update {
    /// Applies one message; returns the effects the runtime must perform.
    public static func update(_ s: inout AppState, _ msg: Msg) -> [Effect] {
        switch msg {
        case let .key(k): return key(&s, k)
        case let .mouse(m): return mouse(&s, m)
        case let .paste(text): return paste(&s, text)
        case let .resize(size):
            s.size = size
            clampAll(&s)
            return []
        case .tick:
            s.spinnerFrame &+= 1
            return []
        case .terminate:
            s.quitting = true
            return [.quit]
        default:
            return result(&s, msg)
        }
    }

    /// The first effects when the browser opens.
    public static func start(_ s: inout AppState) -> [Effect] {
        s.message = StatusMessage(text: "\(s.latentCount) latents in \(s.currentPart?.hookName ?? "?") — press ? for help",
                                  isError: false)
        return []
    }

    // MARK: - Keys

    static func key(_ s: inout AppState, _ k: Key) -> [Effect] {
        // A message stays until the next key, like a shell's last output.
        s.message = nil
        if s.steering?.field != nil, s.spotCheck == nil, !s.showHelp {
            if let a = KeyBindings.action(for: k, in: s), a == .quit || a == .suspend || a == .accept || a == .cancel {
                return perform(&s, a)
            }
            return steeringInputKey(&s, k)
        }
        if s.view == .list, s.list.input != nil, s.spotCheck == nil, !s.showHelp {
            if let a = KeyBindings.action(for: k, in: s), a == .quit || a == .suspend || a == .accept || a == .cancel {
                return perform(&s, a)
            }
            return lineInputKey(&s, k)
        }
        if s.view == .prompt, s.prompt.editing, s.spotCheck == nil, !s.showHelp {
            if let a = KeyBindings.action(for: k, in: s) { return perform(&s, a) }
            return editorKey(&s, k)
        }
        guard let action = KeyBindings.action(for: k, in: s) else {
            if case let .char(c) = k, !s.showHelp {
                s.message = StatusMessage(text: "'\(c)' does nothing here — press ? for the keys", isError: false)
            }
            return []
        }
        return perform(&s, action)
    }

    /// Why `action` cannot run now, or nil when it can.
    public static func unavailableReason(_ a: Action, _ s: AppState) -> String? {
        switch a {
        case .showDetail, .showSamples:
            if s.detail.ref == nil && s.focusedLatent == nil { return "no latent selected (the list is empty)" }
        case .showHeads:
            guard let p = s.currentPart else { return "no SAE part" }
            if !p.isHookZ {
                return "heads need an attention-output (hook_z) SAE; this part reads \(p.hookName)" + (s.parts.contains(where: \.isHookZ) ? " — press P for the next part" : "")
            }
            if s.detail.ref == nil && s.focusedLatent == nil { return "no latent selected" }
        case .showPrompt:
            if !s.capabilities.promptEngine { return "the prompt view needs the model engine, which this session has not loaded" }
        case .explain, .score:
            if !s.capabilities.actionRunner { return "\(a == .explain ? "explaining" : "scoring") needs an LLM client, which this session has not configured" }
            if s.focusedLatent == nil { return "no latent selected" }
        case .spotCheck:
            if s.focusedLatent == nil { return "no latent selected" }
        case .steer where s.steering == nil:
            if !s.capabilities.steering { return "steering needs the model engine, which this session has not loaded" }
            if s.focusedLatent == nil { return "no latent selected" }
        default: break
        }
        return nil
    }

    static func perform(_ s: inout AppState, _ a: Action) -> [Effect] {
        if let effects = steeringAction(&s, a) { return effects }
        if let reason = unavailableReason(a, s) {
            s.message = StatusMessage(text: reason, isError: true)
            return []
        }
        if let effects = neighboursAction(&s, a) { return effects }
        switch a {
        case .quit:
            s.quitting = true
            return [.quit]
        case .suspend: return [.suspend]
        case .help:
            s.showHelp.toggle()
            s.helpScroll = 0
            return []
        case .back: return back(&s)
        case .showList: return switchView(&s, .list)
        case .showDetail: return switchView(&s, .detail)
        case .showSamples: return switchView(&s, .samples)
        case .showHeads: return switchView(&s, .heads)
        case .showPrompt: return switchView(&s, .prompt)
        case .showOverview: return switchView(&s, .overview)
        case .nextView, .previousView:
            let all = ViewID.allCases
            var i = all.firstIndex(of: s.view) ?? 0
            for _ in all.indices {
                i = (i + (a == .nextView ? 1 : all.count - 1)) % all.count
                let candidate = all[i]
                if unavailableReason(candidate.showAction, s) == nil { return switchView(&s, candidate) }
            }
            return []
        case .nextPart:
            guard s.parts.count > 1 else {
                s.message = StatusMessage(text: "this cache has one part", isError: false)
                return []
            }
            s.part = (s.part + 1) % s.parts.count
            s.list.cursor = 0
            s.list.top = 0
            s.message = StatusMessage(text: "part \(s.part + 1)/\(s.parts.count): \(s.currentPart?.hookName ?? "")", isError: false)
            var effects = requery(&s)
            if s.view == .overview { effects += loadOverviewIfNeeded(&s) }
            else if s.view != .list && s.view != .prompt { effects += switchView(&s, .list) }
            return effects
        case .explain, .score:
            guard let ref = s.focusedLatent else { return [] }
            let action: BrowserAction = a == .explain ? .explain : s.scoreKind
            if s.jobs.contains(where: { $0.ref == ref && $0.action == action }) {
                s.message = StatusMessage(text: "already \(action == .explain ? "explaining" : "scoring") latent \(ref.latent)", isError: false)
                return []
            }
            let id = s.nextJobID
            s.nextJobID += 1
            s.jobs.append(Job(id: id, action: action, ref: ref, progress: "starting"))
            if action.isScore && s.samples.ref == ref { s.samples.following = id }
            return [.runAction(action, ref, id: id)]
        case .chooseScorer:
            let kinds = BrowserAction.scoreKinds
            s.scoreKind = kinds[((kinds.firstIndex(of: s.scoreKind) ?? 0) + 1) % kinds.count]
            s.message = StatusMessage(text: "s now scores with \(s.scoreKind.label) (S: next)", isError: false)
            return []
        case .spotCheck:
            guard let ref = s.focusedLatent else { return [] }
            if s.detail.ref == ref, let d = s.detail.content.value {
                startSpotCheck(&s, d)
                return []
            }
            s.pendingSpotCheck = ref
            return openDetail(&s, ref)
        case .answerYes, .answerNo: return answerSpotCheck(&s, yes: a == .answerYes)
        case .steer: return openSteering(&s)
        case .accept, .cancel:
            if s.spotCheck != nil {
                s.spotCheck = nil
                s.message = StatusMessage(text: "spot-check abandoned; nothing saved", isError: false)
                return []
            }
            if s.view == .list && s.list.input != nil { return finishLineInput(&s, accept: a == .accept) }
            if s.view == .prompt && a == .cancel { s.prompt.editing = false }
            return []
        default:
            switch s.view {
            case .list: return listAction(&s, a)
            case .detail: return detailAction(&s, a)
            case .samples: return samplesAction(&s, a)
            case .heads: return headsAction(&s, a)
            case .prompt: return promptAction(&s, a)
            case .overview: return overviewAction(&s, a)
            }
        }
    }

    static func back(_ s: inout AppState) -> [Effect] {
        if s.showHelp { s.showHelp = false; return [] }
        if s.spotCheck != nil { s.spotCheck = nil; return [] }
        // Esc in the detail or samples view of a latent with a running job stops the job first (what it finished stays).
        let shown = s.view == .detail ? s.detail.ref : (s.view == .samples ? s.samples.ref : nil)
        if let shown, let i = s.jobs.lastIndex(where: { $0.ref == shown && !$0.cancelling }) {
            s.jobs[i].cancelling = true
            s.jobs[i].progress = "stopping"
            s.message = StatusMessage(text: "stopping \(s.jobs[i].action.rawValue) of latent \(s.jobs[i].ref.latent); finished results are kept",
                                      isError: false)
            return [.cancelAction(id: s.jobs[i].id)]
        }
        if let prev = s.backStack.popLast() {
            s.view = prev
            return []
        }
        if s.view != .list { s.view = .list }
        return []
    }

    /// Shows `target`, loading what it needs for the focused latent.
    static func switchView(_ s: inout AppState, _ target: ViewID) -> [Effect] {
        let focus = s.view == .list || s.view == .prompt ? s.focusedLatent : (s.detail.ref ?? s.focusedLatent)
        if target != s.view {
            s.backStack.append(s.view)
            if s.backStack.count > 32 { s.backStack.removeFirst() }
        }
        s.view = target
        switch target {
        case .list, .prompt:
            return []
        case .overview:
            return loadOverviewIfNeeded(&s)
        case .detail:
            guard let ref = focus else { return [] }
            return loadDetailIfNeeded(&s, ref)
        case .samples:
            guard let ref = focus else { return [] }
            var effects = loadDetailIfNeeded(&s, ref)
            if s.samples.ref != ref || s.samples.content == .idle {
                s.samples = SamplesState()
                s.samples.ref = ref
                if let job = s.jobs.last(where: { $0.ref == ref && $0.action.isScore && !$0.cancelling }) {
                    // A score job of this latent runs: follow it (its samples so far, then each finished batch).
                    s.samples.following = job.id
                    if let scorer = job.liveScorer {
                        s.samples.scorer = scorer
                        s.samples.scorers = [scorer]
                        s.samples.content = .loaded(job.liveSamples)
                        return effects
                    }
                }
                s.samples.content = .loading
                effects.append(.loadSamples(ref, scorer: ""))
            }
            return effects
        case .heads:
            guard let ref = focus else { return [] }
            var effects = loadDetailIfNeeded(&s, ref)
            if s.heads.ref != ref {
                s.heads = HeadsState()
                s.heads.ref = ref
                s.heads.attribution = .loading
                s.heads.roles = .loading
                effects.append(.loadHeads(ref))
                effects.append(.loadHeadRoles(ref))
            }
            effects += loadTokenSplit(&s)
            return effects
        }
    }

    static func loadDetailIfNeeded(_ s: inout AppState, _ ref: LatentRef) -> [Effect] {
        if s.detail.ref == ref, s.detail.content != .idle { return [] }
        var d = DetailState()
        d.ref = ref
        d.content = .loading
        d.promoted = .loading
        d.showWhitespace = s.detail.showWhitespace
        d.wideContext = s.detail.wideContext
        s.detail = d
        return [.loadDetail(ref), .loadPromoted(ref)]
    }

    /// Number of promoted (and of suppressed) tokens the detail view lists.
    public static let promotedTokenCount = 10

    /// Opens the detail view of `ref`.
    static func openDetail(_ s: inout AppState, _ ref: LatentRef) -> [Effect] {
        if s.view != .detail {
            s.backStack.append(s.view)
        }
        s.view = .detail
        return loadDetailIfNeeded(&s, ref)
    }

    // MARK: - Spot-check

    static func startSpotCheck(_ s: inout AppState, _ d: LatentDetail) {
        guard let ref = s.detail.ref, let explanation = d.explanations.first?.text else {
            s.message = StatusMessage(text: "nothing to check: latent \(s.detail.ref?.latent ?? 0) has no explanation", isError: true)
            return
        }
        var positives: [SpotCheckItem] = []
        var negatives: [SpotCheckItem] = []
        for g in d.windowGroups {
            switch g.kind {
            case .quantile: if let w = g.windows.first { positives.append(SpotCheckItem(tokens: w.tokens, activating: true)) }
            case .random: negatives += g.windows.map { SpotCheckItem(tokens: $0.tokens, activating: false) }
            case .top: break
            }
        }
        var items = Array(positives.prefix(5)) + Array(negatives.prefix(5))
        guard !items.isEmpty else {
            s.message = StatusMessage(text: "no examples to check for latent \(ref.latent)", isError: true)
            return
        }
        // Deterministic shuffle keyed by the part and latent (the project's seeded generator), so a person cannot
        // learn the order.
        var rng = SplitMix64(seed: 0x5B07_C4EC, UInt64(truncatingIfNeeded: ref.part), UInt64(truncatingIfNeeded: ref.latent))
        rng.shuffle(&items)
        s.spotCheck = SpotCheckState(ref: ref, explanation: explanation, items: items)
    }

    static func answerSpotCheck(_ s: inout AppState, yes: Bool) -> [Effect] {
        guard var sc = s.spotCheck, sc.index < sc.items.count else { return [] }
        if sc.items[sc.index].activating == yes { sc.agreed += 1 }
        sc.answered += 1
        sc.index += 1
        if sc.index >= sc.items.count {
            s.spotCheck = nil
            let verdict = HumanVerdict(judged: sc.answered, agreed: sc.agreed)
            s.message = StatusMessage(text: "spot-check of latent \(sc.ref.latent): \(sc.agreed)/\(sc.answered) agreed — saving", isError: false)
            return [.saveVerdict(sc.ref, verdict)]
        }
        s.spotCheck = sc
        return []
    }

    // MARK: - Helpers

    /// Keeps every cursor and scroll offset inside its content after a size or data change.
    static func clampAll(_ s: inout AppState) {
        clampList(&s)
        clampDetail(&s)
        clampSamples(&s)
    }

    /// Rows of the list that fit on screen.
    public static func listPageSize(_ s: AppState) -> Int { max(1, Layout(size: s.size).body.height - 2) }
}
