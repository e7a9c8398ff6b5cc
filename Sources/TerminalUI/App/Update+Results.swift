extension Update {
    /// Applies the result of background work; stale results (for another latent or query) are dropped.
    static func result(_ s: inout AppState, _ msg: Msg) -> [Effect] {
        switch msg {
        case let .rowsComputed(generation, rows):
            guard generation == s.list.generation else { return [] }
            let keep = s.latent(atRow: s.list.cursor)
            s.list.rows = rows
            s.list.computing = false
            if let keep, let i = rows.firstIndex(of: Int32(truncatingIfNeeded: keep)) {
                s.list.cursor = i
                // Show the kept row at the same height on screen when possible.
            } else {
                s.list.cursor = 0
                s.list.top = 0
            }
            clampList(&s)
            return []
        case let .detailLoaded(ref, r):
            guard ref == s.detail.ref else { return [] }
            switch r {
            case let .success(d):
                s.detail.content = .loaded(d)
                s.detail.window = 0
                s.detail.token = strongestToken(DetailDocument.window(d, 0))
                s.detail.scroll = 0
                if s.pendingSpotCheck == ref {
                    s.pendingSpotCheck = nil
                    startSpotCheck(&s, d)
                }
                if s.view == .heads { return loadTokenSplit(&s) }
            case let .failure(e):
                s.detail.content = .failed(e.message)
                if s.pendingSpotCheck == ref { s.pendingSpotCheck = nil }
            }
            return []
        case let .samplesLoaded(ref, scorer, scorers, r):
            guard ref == s.samples.ref, s.samples.following == nil else { return [] }
            s.samples.scorer = scorer
            s.samples.scorers = scorers
            switch r {
            case let .success(v): s.samples.content = .loaded(v)
            case let .failure(e): s.samples.content = .failed(e.message)
            }
            clampSamples(&s)
            return []
        case let .headsLoaded(ref, attribution, table):
            guard ref == s.heads.ref else { return [] }
            s.heads.attribution = attribution.map { .loaded($0) } ?? .failed("no head attribution for this part")
            s.heads.table = table
            return []
        case let .tokenSplitLoaded(t, split):
            guard t == s.heads.splitToken else { return [] }
            s.heads.split = split.map { .loaded($0) } ?? .failed("no per-token head split available")
            return []
        case let .promptRan(generation, r):
            guard generation == s.prompt.generation else { return [] }
            switch r {
            case let .success(run):
                s.prompt.run = .loaded(run)
                s.prompt.token = max(0, run.tokens.count - 1)
                if let att = run.attention {
                    // Keep the chosen head and layer across runs of the same model; start at the part's layer.
                    if s.prompt.attentionLayer >= att.layers.count || !s.prompt.showAttention { s.prompt.attentionLayer = att.preferredLayerIndex }
                    s.prompt.attentionHead = min(s.prompt.attentionHead, att.headCount - 1)
                } else {
                    s.prompt.showAttention = false
                }
                s.prompt.latentCursor = 0
                return traceSelected(&s)
            case let .failure(e):
                s.prompt.run = .failed(e.message)
                s.prompt.editing = true
            }
            return []
        case let .traceLoaded(generation, r):
            guard generation == s.prompt.traceGeneration else { return [] }
            switch r {
            case let .success(t): s.prompt.trace = .loaded(t)
            case let .failure(e): s.prompt.trace = .failed(e.message)
            }
            return []
        case let .actionProgress(id, text):
            if let i = s.jobs.firstIndex(where: { $0.id == id }) { s.jobs[i].progress = text }
            return []
        case let .actionPartial(id, partial):
            guard let i = s.jobs.firstIndex(where: { $0.id == id }) else { return [] }
            let job = s.jobs[i]
            switch partial {
            case let .explanation(text):
                if s.detail.ref == job.ref { s.detail.liveExplanation = text }
            case let .scores(lines):
                if s.detail.ref == job.ref { s.detail.liveScores = lines }
            case let .samples(scorer, samples):
                s.jobs[i].liveScorer = scorer
                s.jobs[i].liveSamples = samples
                // View 3 of this latent shows the batches as they finish, unless the person picked a stored scorer.
                if s.samples.ref == job.ref, s.samples.following == nil || s.samples.following == id {
                    s.samples.following = id
                    s.samples.scorer = scorer
                    if !s.samples.scorers.contains(scorer) { s.samples.scorers.append(scorer) }
                    s.samples.content = .loaded(samples)
                    clampSamples(&s)
                }
            }
            return []
        case let .actionFinished(id, r):
            guard let i = s.jobs.firstIndex(where: { $0.id == id }) else { return [] }
            let job = s.jobs.remove(at: i)
            if s.detail.ref == job.ref {
                if job.action == .explain { s.detail.liveExplanation = nil } else { s.detail.liveScores = [] }
            }
            switch r {
            case let .success(text): s.message = StatusMessage(text: text, isError: false)
            case let .failure(e):
                s.message = StatusMessage(text: "\(job.action.rawValue) latent \(job.ref.latent) failed: \(e.message)", isError: true)
            }
            // Show the new explanation or scores if that latent is open.
            var effects: [Effect] = []
            if s.samples.following == id {
                // Back to what is stored: the finished scores (or the batches kept from a stopped run).
                s.samples.following = nil
                if let ref = s.samples.ref { effects.append(.loadSamples(ref, scorer: s.samples.scorer)) }
            }
            if s.detail.ref == job.ref {
                s.detail.content = .loading
                effects.append(.loadDetail(job.ref))
            }
            return effects
        case let .promotedLoaded(ref, r):
            guard ref == s.detail.ref else { return [] }
            switch r {
            case let .success(p): s.detail.promoted = .loaded(p)
            case let .failure(e): s.detail.promoted = .failed(e.message)
            }
            return []
        case let .tokenIndexProgress(part, progress):
            let before = s.tokenIndex[part]
            s.tokenIndex[part] = progress
            // Stream results in: re-run an active search over the grown index (unless a run is still
            // going, so a slow scan is not cancelled over and over; the final report always re-runs).
            guard part == s.part, !s.list.search.isEmpty, before != progress,
                  !s.list.computing || progress.isComplete else { return [] }
            return requery(&s)
        case let .verdictSaved(ref, r):
            switch r {
            case let .success(v):
                s.message = StatusMessage(text: "saved spot-check of latent \(ref.latent): \(v.agreed)/\(v.judged) agreed", isError: false)
                if s.detail.ref == ref, var d = s.detail.content.value {
                    d.summary.verdict = v
                    s.detail.content = .loaded(d)
                }
            case let .failure(e):
                s.message = StatusMessage(text: "could not save the verdict: \(e.message)", isError: true)
            }
            return []
        case let .headRolesLoaded(ref, r):
            guard ref == s.heads.ref else { return [] }
            switch r {
            case let .success(rows): s.heads.roles = .loaded(rows)
            case let .failure(e): s.heads.roles = .failed(e.message)
            }
            return []
        case let .neighboursLoaded(ref, r):
            return neighboursLoaded(&s, ref, r)
        case let .steerUnitLoaded(ref, unit): return steerUnitLoaded(&s, ref, unit)
        case let .steerEvent(generation, e): return steerEvent(&s, generation: generation, e)
        case let .steerFinished(generation, error): return steerFinished(&s, generation: generation, error: error)
        case let .overviewComputed(part, o):
            return overviewComputed(&s, part: part, o)
        default:
            return []
        }
    }
}
