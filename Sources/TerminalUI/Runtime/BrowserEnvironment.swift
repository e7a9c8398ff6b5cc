import Foundation

/// What effects run against: the data source and the optional engine and action runner.
public struct BrowserEnvironment: Sendable {
    public var data: BrowserDataSource
    public var promptEngine: PromptEngine?
    public var actionRunner: ActionRunner?
    /// Generates steered continuations for the steering panel.
    public var steeringEngine: SteeringEngine?
    /// The top-token search index over `data` (built in the background when search is first used).
    public var tokenIndex: TopTokenIndex

    public init(data: BrowserDataSource, promptEngine: PromptEngine? = nil, actionRunner: ActionRunner? = nil,
                steeringEngine: SteeringEngine? = nil, tokenIndex: TopTokenIndex = TopTokenIndex()) {
        self.data = data
        self.promptEngine = promptEngine
        self.actionRunner = actionRunner
        self.steeringEngine = steeringEngine
        self.tokenIndex = tokenIndex
    }

    /// What the UI may offer.
    public var capabilities: Capabilities {
        Capabilities(promptEngine: promptEngine != nil, actionRunner: actionRunner != nil, steering: steeringEngine != nil)
    }

    /// The initial state for a terminal of `size`.
    public func initialState(size: Size) -> AppState {
        AppState(size: size, parts: data.parts, capabilities: capabilities)
    }
}

/// Performs effects (off the UI loop) and turns their outcome into messages.
public enum EffectPerformer {
    /// Runs one effect. `send` delivers messages (progress and results); returns when the work is done.
    /// `.quit` and `.suspend` are handled by the runtime itself and do nothing here.
    public static func perform(_ effect: Effect, env: BrowserEnvironment, send: @escaping @Sendable (Msg) -> Void) async {
        let data = env.data
        switch effect {
        case let .computeRows(q, generation):
            let rows = computeRows(q, data: data, index: env.tokenIndex)
            if !Task.isCancelled { send(.rowsComputed(generation: generation, rows: rows)) }
        case let .buildTokenIndex(part):
            await env.tokenIndex.buildInBackground(part: part, data: data) { send(.tokenIndexProgress(part: part, $0)) }
        case let .loadHeadRoles(ref):
            do { send(.headRolesLoaded(ref, .success(try data.headRoles(part: ref.part)))) }
            catch { send(.headRolesLoaded(ref, .failure(asBrowserError(error)))) }
        case let .loadNeighbours(ref):
            do { send(.neighboursLoaded(ref, .success(try data.neighbours(part: ref.part, latent: ref.latent)))) }
            catch { send(.neighboursLoaded(ref, .failure(asBrowserError(error)))) }
        case let .computeOverview(part):
            let o = PartOverview.compute(part: part, data: data) { Task.isCancelled }
            if !Task.isCancelled { send(.overviewComputed(part: part, o)) }
        case let .loadPromoted(ref):
            do {
                let p = try data.promotedTokens(part: ref.part, latent: ref.latent, count: Update.promotedTokenCount)
                send(.promotedLoaded(ref, .success(p)))
            } catch { send(.promotedLoaded(ref, .failure(asBrowserError(error)))) }
        case let .loadDetail(ref):
            do { send(.detailLoaded(ref, .success(try data.detail(part: ref.part, latent: ref.latent)))) }
            catch { send(.detailLoaded(ref, .failure(asBrowserError(error)))) }
        case let .loadSamples(ref, scorer):
            let scorers = data.scorers(part: ref.part, latent: ref.latent)
            let chosen = scorer.isEmpty ? (scorers.first ?? "") : scorer
            guard !chosen.isEmpty else {
                send(.samplesLoaded(ref, scorer: "", scorers: [], .failure(BrowserError("latent \(ref.latent) has not been scored yet (press s to score it)"))))
                return
            }
            do { send(.samplesLoaded(ref, scorer: chosen, scorers: scorers, .success(try data.scoredSamples(part: ref.part, latent: ref.latent, scorer: chosen)))) }
            catch { send(.samplesLoaded(ref, scorer: chosen, scorers: scorers, .failure(asBrowserError(error)))) }
        case let .loadHeads(ref):
            send(.headsLoaded(ref, attribution: data.headAttribution(part: ref.part, latent: ref.latent), table: data.headTable(part: ref.part)))
        case let .loadTokenSplit(t):
            send(.tokenSplitLoaded(t, data.tokenHeadSplit(part: t.latent.part, latent: t.latent.latent, group: t.group, window: t.window, token: t.token)))
        case let .runPrompt(text, part, generation):
            guard let engine = env.promptEngine else {
                send(.promptRan(generation: generation, .failure(BrowserError("no model engine in this session"))))
                return
            }
            do { send(.promptRan(generation: generation, .success(try await engine.run(text: text, part: part)))) }
            catch { send(.promptRan(generation: generation, .failure(asBrowserError(error)))) }
        case let .trace(run, latent, token, generation):
            guard let engine = env.promptEngine else { return }
            do { send(.traceLoaded(generation: generation, .success(try await engine.trace(run: run, latent: latent, token: token)))) }
            catch { send(.traceLoaded(generation: generation, .failure(asBrowserError(error)))) }
        case let .runAction(action, ref, id):
            guard let runner = env.actionRunner else {
                send(.actionFinished(id: id, .failure(BrowserError("no LLM client configured"))))
                return
            }
            do {
                let text = try await runner.run(action, part: ref.part, latent: ref.latent,
                                                progress: { p in send(.actionProgress(id: id, p)) },
                                                partial: { p in send(.actionPartial(id: id, p)) })
                send(.actionFinished(id: id, .success(text)))
            } catch is CancellationError {
                send(.actionFinished(id: id, .failure(BrowserError("stopped"))))
            } catch { send(.actionFinished(id: id, .failure(asBrowserError(error)))) }
        case let .saveVerdict(ref, verdict):
            do {
                try data.saveVerdict(part: ref.part, latent: ref.latent, verdict: verdict)
                send(.verdictSaved(ref, .success(verdict)))
            } catch { send(.verdictSaved(ref, .failure(asBrowserError(error)))) }
        case let .loadSteerUnit(ref):
            let unit = data.parts.indices.contains(ref.part) && ref.latent >= 0 && ref.latent < data.parts[ref.part].latentCount
                ? data.summary(part: ref.part, latent: ref.latent).maxActivation : nil
            send(.steerUnitLoaded(ref, unit.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }))
        case let .steer(request, generation):
            guard let engine = env.steeringEngine else {
                send(.steerFinished(generation: generation, error: BrowserError("no steering engine in this session")))
                return
            }
            do {
                try await engine.steer(request) { send(.steerEvent(generation: generation, $0)) }
                send(.steerFinished(generation: generation, error: nil))
            } catch is CancellationError {
                send(.steerFinished(generation: generation, error: BrowserError("stopped")))
            } catch { send(.steerFinished(generation: generation, error: asBrowserError(error))) }
        case .quit, .suspend, .cancelAction, .cancelSteer:
            break
        }
    }

    static func asBrowserError(_ e: Error) -> BrowserError {
        (e as? BrowserError) ?? BrowserError(String(describing: e))
    }

    /// Filters, searches and sorts one part's latents. Reads summaries only when a filter or search needs them.
    ///
    /// A search matches the explanation, the latent number, and the top tokens: from `index` for the
    /// latents it covers so far, else from the summary (which may hold only some of them).
    public static func computeRows(_ q: RowQuery, data: BrowserDataSource, index: TopTokenIndex? = nil) -> [Int32] {
        guard data.parts.indices.contains(q.part) else { return [] }
        let n = data.parts[q.part].latentCount
        var rows: [Int32] = []
        rows.reserveCapacity(n)
        let needle = q.search.lowercased()
        if q.filter.isEmpty && needle.isEmpty {
            for i in 0..<n { rows.append(Int32(truncatingIfNeeded: i)) }
        } else {
            var indexed: (indexed: Int, latents: [Int32]) = (0, [])
            if !needle.isEmpty, let index { indexed = index.matches(part: q.part, search: needle) }
            var nextHit = 0
            for i in 0..<n {
                if i & 1023 == 0 && Task.isCancelled { return [] }
                let s = data.summary(part: q.part, latent: i)
                guard q.filter.accepts(s) else { continue }
                if !needle.isEmpty {
                    var tokenHit = false
                    if i < indexed.indexed {
                        while nextHit < indexed.latents.count && Int(indexed.latents[nextHit]) < i { nextHit += 1 }
                        tokenHit = nextHit < indexed.latents.count && Int(indexed.latents[nextHit]) == i
                    } else {
                        tokenHit = s.topTokens.contains { $0.lowercased().contains(needle) }
                    }
                    let hit = tokenHit || (s.explanation?.lowercased().contains(needle) ?? false)
                        || "#\(i)" == needle || "\(i)" == needle
                    if !hit { continue }
                }
                rows.append(Int32(truncatingIfNeeded: i))
            }
        }
        guard q.sort != SortSpec() else { return rows }
        if q.sort.column == .index {
            if q.sort.descending { rows.reverse() }
            return rows
        }
        // Sort by a key array built once: O(n) reads, then an index sort. Missing values go last.
        var keys = [Double](repeating: 0, count: n)
        let missing = q.sort.descending ? -Double.infinity : Double.infinity
        if q.sort.column == .explanation {
            // Alphabetical by explanation: compare strings once per pair via a precomputed rank.
            let texts = rows.map { data.summary(part: q.part, latent: Int($0)).explanation?.lowercased() }
            let order = texts.indices.sorted { a, b in
                switch (texts[a], texts[b]) {
                case let (x?, y?): return q.sort.descending ? x > y : x < y
                case (nil, _?): return false
                case (_?, nil): return true
                default: return rows[a] < rows[b]
                }
            }
            return order.map { rows[$0] }
        }
        for r in rows { keys[Int(r)] = data.sortValue(part: q.part, latent: Int(r), column: q.sort.column) ?? missing }
        let desc = q.sort.descending
        rows.sort { a, b in
            let ka = keys[Int(a)], kb = keys[Int(b)]
            if ka != kb { return desc ? ka > kb : ka < kb }
            return a < b
        }
        return rows
    }
}
