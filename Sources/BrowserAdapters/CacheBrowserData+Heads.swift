import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import TerminalUI

extension CacheBrowserData {
    /// Head layout of a hook_z part, from the part info (the engine's own layout is used for DFA).
    func headLayout(_ p: Int) -> AttentionHeadLayout? {
        guard p >= 0, p < parts.count, parts[p].isHookZ, let n = parts[p].nHeads, let d = parts[p].dHead else { return nil }
        return try? AttentionHeadLayout(headCount: n, headDim: d, kvHeadCount: n)
    }

    /// ‖W_dec[latent, head block]‖ fractions; nil when the part is not hook_z or its SAE is not reachable.
    public func headAttribution(part p: Int, latent: Int) -> [Float]? {
        guard let layout = headLayout(p), engine.hasSAE(part: p), let sae = try? engine.sae(part: p) else { return nil }
        return try? sae.headAttribution(latent: latent, layout: layout)
    }

    /// For each head, the 8 latents whose decoder rows lie most in it (computed once per part).
    public func headTable(part p: Int) -> [HeadTableRow]? {
        if let t = headTableMemo.value(p) { return t }
        guard let layout = headLayout(p), engine.hasSAE(part: p), let sae = try? engine.sae(part: p),
              let top = try? sae.topLatentsPerHead(layout: layout, count: 8), p < cache.parts.count else { return nil }
        let part = cache.parts[p]
        let rows = top.enumerated().map { h, list in
            HeadTableRow(head: h, topLatents: list.map {
                HeadTableLatent(latent: $0.latent, fraction: $0.fraction,
                                explanation: (try? part.summary($0.latent))?.explanationPreview.map(Self.firstLine))
            })
        }
        headTableMemo.set(p, rows)
        return rows
    }

    /// Runs the engine over the window's corpus row up to the window's end (so attention sees the
    /// same context as when the cache was built) and splits the latent at `token` by head and by
    /// source position inside the window.
    public func tokenHeadSplit(part p: Int, latent: Int, group: Int, window: Int, token: Int) -> TokenHeadSplit? {
        try? tokenHeadSplitOrError(part: p, latent: latent, group: group, window: window, token: token)
    }

    /// `tokenHeadSplit` with the reason when it is unavailable.
    public func tokenHeadSplitOrError(part p: Int, latent: Int, group: Int, window: Int, token: Int) throws -> TokenHeadSplit {
        let part = try part(p)
        guard parts[p].isHookZ else { throw BrowserError("per-head views need a hook_z part") }
        guard let hook = try? HookPoint(part.hook), hook.site == .z else { throw BrowserError("'\(part.hook)' is not an engine hook_z point") }
        let record = try part.record(latent)
        let groups = Self.cacheWindowGroups(record)
        guard group >= 0, group < groups.count, window >= 0, window < groups[group].windows.count else {
            throw BrowserError("no window \(window) in group \(group)")
        }
        let w = groups[group].windows[window]
        guard token >= 0, token < w.tokens.count else { throw BrowserError("no token \(token) in the window") }
        let sae = try engine.sae(part: p)
        let rowStart = w.row * cache.tokens.rowLength
        let key = WindowCaptureKey(part: p, start: w.start)
        let capture: AttentionCapture
        if let c = captureMemo.value(key) {
            capture = c
        } else {
            let ids = try cache.tokens.tokens(start: rowStart, count: w.start + w.tokens.count - rowStart).map { Int32(truncatingIfNeeded: $0) }
            capture = try AttentionCapture.run(model: try engine.loadModel().model, tokens: ids, layer: hook.layer)
            captureMemo.set(key, capture)
        }
        let offset = w.start - rowStart
        let s = try capture.split(sae: sae, latent: latent, destination: offset + token)
        var dfa = [Float](repeating: 0, count: w.tokens.count)
        for i in 0 ... token { dfa[i] = s.dfaBySource[offset + i] }
        return TokenHeadSplit(perHead: s.perHead, dfaBySource: dfa)
    }
}
