import CBLAS
import Foundation

/// Rows `row ..< row + count` of a packed batch hold one sequence at positions `startPos ..< startPos + count`.
struct SequenceSpan {
    let row: Int
    let count: Int
    let startPos: Int
}

/// Activations captured so far, one dictionary per sequence, and the interventions to apply.
struct HookContext {
    let captures: Set<HookPoint>
    let interventions: [HookPoint: HookIntervention]
    /// Attention patterns [heads, T, T] by layer that replace the computed ones (frozen attention).
    var frozenPatterns: [Int: HookTensor] = [:]
    var captured: [[HookPoint: HookTensor]]

    func wants(_ hook: HookPoint) -> Bool { captures.contains(hook) || interventions[hook] != nil }
}

extension TransformerModel {
    /// The forward pass over a packed batch: embed, then per block norm → q,k,v (+bias) → QK-norm → RoPE →
    /// attention → output projection (→ post-norm) → residual → norm → MLP (→ post-norm) → residual (attention
    /// and MLP both read the block input with a parallel residual), then the final norm and the output
    /// projection. With `cache`, there is one span whose keys and values are appended to the cache and
    /// attention reads the whole cache. `quantized` uses the block mat-vec kernels (for a handful of rows)
    /// instead of BLAS on Float weights.
    func run(tokens: [Int32], spans: [SequenceSpan], state s: RunState, cache: KVCache?,
             captures: Set<HookPoint>, logits: LogitsMode, interventions: [HookPoint: HookIntervention],
             frozenPatterns: [Int: HookTensor] = [:], quantized: Bool) throws -> [ForwardResult] {
        let c = config
        let rows = tokens.count
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= c.vocabSize {
            throw EngineError.tokenOutOfRange(token: t, position: i, vocabSize: c.vocabSize)
        }
        for hook in captures.union(interventions.keys) where hook.layer >= c.layerCount {
            throw EngineError.invalidHook(name: hook.description, reason: "the model has \(c.layerCount) blocks (0…\(c.layerCount - 1))")
        }
        if interventions.keys.contains(where: { $0.site == .pattern }) {
            throw EngineError.invalidIntervention(hook: "attn.hook_pattern", reason: "attention patterns can be captured but not modified")
        }
        for (layer, p) in frozenPatterns {
            guard (0 ..< c.layerCount).contains(layer) else {
                throw EngineError.invalidIntervention(hook: "blocks.\(layer).attn.hook_pattern", reason: "the model has \(c.layerCount) blocks")
            }
            let needed = spans.map { $0.startPos + $0.count }.max() ?? 0
            guard p.shape.count == 3, p.shape[0] == c.headCount, p.shape[1] == p.shape[2], p.shape[1] >= needed,
                  p.data.count == p.shape.reduce(1, *) else {
                throw EngineError.invalidIntervention(hook: "blocks.\(layer).attn.hook_pattern",
                    reason: "a frozen pattern must have shape [\(c.headCount), T, T] with T ≥ \(needed) positions; got \(p.shape)")
            }
        }
        if c.parallelResidual, let mid = captures.union(interventions.keys).first(where: { $0.site == .residMid }) {
            throw EngineError.invalidHook(name: mid.description, reason: "\(c.architecture.rawValue) adds attention and MLP to the residual together; there is no hook_resid_mid")
        }
        if let cache {
            guard spans.count == 1, let span = spans.first, span.startPos == cache.length else {
                throw EngineError.cacheMismatch(reason: "a cached pass takes one sequence that continues at the cache length \(cache.length)")
            }
            guard cache.length + span.count <= cache.maxLength else {
                throw EngineError.sequenceTooLong(length: cache.length + span.count, limit: cache.maxLength, what: "generation session")
            }
        }
        // Stop after the last block anything needs.
        let hookLayers = captures.union(interventions.keys).map(\.layer)
        let lastLayer = logits == .none ? (hookLayers.max() ?? -1) : c.layerCount - 1
        var ctx = HookContext(captures: captures, interventions: interventions, frozenPatterns: frozenPatterns,
                              captured: Array(repeating: [:], count: spans.count))
        let dim = c.dim

        // Embedding (scaled, plus learned positions) and RoPE tables.
        var positions = [Int](repeating: 0, count: rows)
        for span in spans { for i in 0 ..< span.count { positions[span.row + i] = span.startPos + i } }
        for (r, t) in tokens.enumerated() {
            let xr = s.x.pointer + r * dim
            weights.tokenEmbedding.decodeRows(Int(t) ..< Int(t) + 1, into: xr)
            if let scale = c.embeddingScale { for i in 0 ..< dim { xr[i] *= scale } }
        }
        if let pos = weights.positionEmbedding {
            if let p = positions.first(where: { $0 >= c.contextLength }) {
                throw EngineError.sequenceTooLong(length: p + 1, limit: c.contextLength, what: "learned positions")
            }
            pos.withPointer { pe in
                for r in 0 ..< rows { addInPlace(s.x.pointer + r * dim, pe + positions[r] * dim, count: dim) }
            }
        }
        if c.ropeDims > 0 {
            ropeTables(cos: s.ropeCos.pointer, sin: s.ropeSin.pointer, positions: positions, dims: c.ropeDims,
                       base: c.ropeBase, freqFactors: weights.ropeFreqFactors, scaling: c.ropeScaling)
            if let local = c.ropeLocalBase {
                ropeTables(cos: s.ropeCosLocal.pointer, sin: s.ropeSinLocal.pointer, positions: positions, dims: c.ropeDims,
                           base: local, freqFactors: nil, scaling: nil)
            }
        }
        let maxKeys = spans.map { $0.startPos + $0.count }.max() ?? 0
        let maxQueries = spans.map(\.count).max() ?? 0
        s.reserveScores(maxQueries * max(maxKeys, cache?.maxLength ?? 0), second: quantized && decodeThreads >= 2)

        if lastLayer >= 0 {
            for l in 0 ... lastLayer {
                try block(l, rows: rows, spans: spans, state: s, cache: cache, ctx: &ctx, quantized: quantized)
            }
        }
        if let cache, let span = spans.first { cache.length = span.startPos + span.count }

        // Final norm and output projection for the rows that need logits.
        var logitRows: [[Int]] = spans.map { _ in [] }
        switch logits {
        case .none: break
        case .last: logitRows = spans.map { [$0.row + $0.count - 1] }
        case .all: logitRows = spans.map { Array($0.row ..< $0.row + $0.count) }
        case .positions(let wanted):
            for span in spans {
                if let bad = wanted.first(where: { !(0 ..< span.count).contains($0) }) {
                    throw EngineError.invalidHook(name: "logits", reason: "position \(bad) is outside the sequence of \(span.count) tokens")
                }
            }
            logitRows = spans.map { span in wanted.map { span.row + $0 } }
        }
        let flatRows = logitRows.flatMap { $0 }
        var allLogits = [Float]()
        if !flatRows.isEmpty {
            for (i, r) in flatRows.enumerated() {
                norm(s.xb.pointer + i * dim, s.x.pointer + r * dim, weights.outputNorm, rows: 1)
            }
            allLogits = outputProjection(s.xb.pointer, rows: flatRows.count, quantized: quantized, state: s)
            if let cap = c.finalSoftcap {
                allLogits.withUnsafeMutableBufferPointer { p in p.baseAddress.map { softcap($0, count: p.count, cap: cap) } }
            }
            if let bad = allLogits.firstIndex(where: { !$0.isFinite }) {
                throw EngineError.nonFiniteResult(what: "logit \(bad % c.vocabSize) of row \(bad / c.vocabSize)", path: path)
            }
        }
        var results: [ForwardResult] = []
        var offset = 0
        for (i, span) in spans.enumerated() {
            let n = logitRows[i].count * c.vocabSize
            let part = n == 0 ? [] : (spans.count == 1 ? allLogits : Array(allLogits[offset ..< offset + n]))
            offset += n
            results.append(ForwardResult(tokenCount: span.count, vocabSize: c.vocabSize, logits: part,
                                         activations: ctx.captured[i]))
        }
        return results
    }

    /// Block `l` over all rows: attention then MLP, with hooks.
    private func block(_ l: Int, rows: Int, spans: [SequenceSpan], state s: RunState, cache: KVCache?,
                       ctx: inout HookContext, quantized: Bool) throws {
        let c = config
        let w = weights.layers[l]
        let dim = c.dim, kvDim = c.kvDim, qDim = c.qDim, hidden = c.hiddenDim, hd = c.headDim
        try hook(&ctx, .residPre, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
        // Attention block.
        norm(s.xb.pointer, s.x.pointer, w.attnNorm, rows: rows)
        let qkvWidth = qDim + 2 * kvDim
        project(s.fused.pointer, s.xb.pointer, w.qkv, bias: w.qkvBias, rows: rows, inDim: dim, outDim: qkvWidth,
                quantized: quantized, state: s)
        for r in 0 ..< rows {
            let row = s.fused.pointer + r * qkvWidth
            (s.q.pointer + r * qDim).update(from: row, count: qDim)
            (s.k.pointer + r * kvDim).update(from: row + qDim, count: kvDim)
            (s.v.pointer + r * kvDim).update(from: row + qDim + kvDim, count: kvDim)
        }
        try hook(&ctx, .q, l, s.q.pointer, width: qDim, shape: [c.headCount, hd], spans: spans)
        try hook(&ctx, .k, l, s.k.pointer, width: kvDim, shape: [c.kvHeadCount, hd], spans: spans)
        try hook(&ctx, .v, l, s.v.pointer, width: kvDim, shape: [c.kvHeadCount, hd], spans: spans)
        if let qn = w.qNorm, let kn = w.kNorm {
            qn.withPointer { rmsnorm(s.q.pointer, s.q.pointer, $0, rows: rows * c.headCount, dim: hd, eps: c.normEpsilon) }
            kn.withPointer { rmsnorm(s.k.pointer, s.k.pointer, $0, rows: rows * c.kvHeadCount, dim: hd, eps: c.normEpsilon) }
        }
        if c.ropeDims > 0 {
            let local = c.ropeLocalBase != nil && c.isSliding(l)
            let cosT = local ? s.ropeCosLocal.pointer : s.ropeCos.pointer
            let sinT = local ? s.ropeSinLocal.pointer : s.ropeSin.pointer
            rope(s.q.pointer, rows: rows, heads: c.headCount, headDim: hd, dims: c.ropeDims, cos: cosT, sin: sinT)
            rope(s.k.pointer, rows: rows, heads: c.kvHeadCount, headDim: hd, dims: c.ropeDims, cos: cosT, sin: sinT)
        }
        for (i, span) in spans.enumerated() {
            let capture = ctx.captures.contains(.pattern(l))
            let pattern = ctx.frozenPatterns[l].map { frozenAttention(layer: l, span: span, state: s, cache: cache, pattern: $0, capturePattern: capture) }
                ?? attention(layer: l, span: span, state: s, cache: cache, capturePattern: capture,
                             splitHeads: quantized && decodeThreads >= 2, useBLAS: !quantized)
            if let pattern { ctx.captured[i][.pattern(l)] = pattern }
        }
        try hook(&ctx, .z, l, s.z.pointer, width: qDim, shape: [qDim], spans: spans)
        project(s.proj.pointer, s.z.pointer, w.wo, bias: w.woBias, rows: rows, inDim: qDim, outDim: dim,
                quantized: quantized, state: s)
        if let g = w.postAttnNorm {
            g.withPointer { rmsnorm(s.proj.pointer, s.proj.pointer, $0, rows: rows, dim: dim, eps: c.normEpsilon) }
        }
        try hook(&ctx, .attnOut, l, s.proj.pointer, width: dim, shape: [dim], spans: spans)
        if c.parallelResidual {
            s.side.pointer.update(from: s.proj.pointer, count: rows * dim)
        } else {
            addInPlace(s.x.pointer, s.proj.pointer, count: rows * dim)
            try hook(&ctx, .residMid, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
        }
        // MLP block.
        norm(s.xb.pointer, s.x.pointer, w.ffnNorm, rows: rows)
        try hook(&ctx, .mlpIn, l, s.xb.pointer, width: dim, shape: [dim], spans: spans)
        let upWidth = c.gatedMLP ? 2 * hidden : hidden
        project(s.fused.pointer, s.xb.pointer, w.gateUp, bias: w.upBias, rows: rows, inDim: dim,
                outDim: upWidth, quantized: quantized, state: s)
        for r in 0 ..< rows {
            let row = s.fused.pointer + r * upWidth
            let out = s.gate.pointer + r * hidden
            switch c.mlpKind {
            case .swiglu: swiglu(out, gate: row, up: row + hidden, count: hidden)
            case .geglu: geglu(out, gate: row, up: row + hidden, count: hidden)
            case .geluTanh, .geluErf:
                out.update(from: row, count: hidden)
                geluInPlace(out, count: hidden, exact: c.mlpKind == .geluErf)
            }
        }
        project(s.proj.pointer, s.gate.pointer, w.down, bias: w.downBias, rows: rows, inDim: hidden,
                outDim: dim, quantized: quantized, state: s)
        if let g = w.postFfnNorm {
            g.withPointer { rmsnorm(s.proj.pointer, s.proj.pointer, $0, rows: rows, dim: dim, eps: c.normEpsilon) }
        }
        try hook(&ctx, .mlpOut, l, s.proj.pointer, width: dim, shape: [dim], spans: spans)
        if c.parallelResidual { addInPlace(s.x.pointer, s.side.pointer, count: rows * dim) }
        addInPlace(s.x.pointer, s.proj.pointer, count: rows * dim)
        try hook(&ctx, .residPost, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
    }

    /// The family's norm of `rows` rows of width d_model.
    private func norm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: NormWeights, rows: Int) {
        let c = config
        n.weight.withPointer { w in
            if let b = n.bias {
                b.withPointer { layernorm(out, x, w, $0, rows: rows, dim: c.dim, eps: c.normEpsilon) }
            } else {
                rmsnorm(out, x, w, rows: rows, dim: c.dim, eps: c.normEpsilon)
            }
        }
    }

    /// logits [rows, vocab] = xNormed [rows, dim] · Wᵀ (`output.weight`, or the tied embedding).
    private func outputProjection(_ xn: UnsafeMutablePointer<Float>, rows: Int, quantized: Bool, state s: RunState) -> [Float] {
        let c = config
        return [Float](unsafeUninitializedCapacity: rows * c.vocabSize) { buf, n in
            guard let out = buf.baseAddress else { n = 0; return }
            project(out, xn, weights.output, bias: nil, rows: rows, inDim: c.dim, outDim: c.vocabSize, quantized: quantized, state: s)
            n = rows * c.vocabSize
        }
    }

    /// out[rows, outDim] = x · Wᵀ (+ bias) with W the row-concatenation of `parts`: the int8 kernels (`quantized`: a
    /// generation step, or a quantized prompt where they beat BLAS for the type), else BLAS on decoded tiles.
    private func project(_ out: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ parts: [WeightMatrix],
                         bias: [Float]?, rows: Int, inDim: Int, outDim: Int, quantized: Bool, state s: RunState) {
        var offset = 0
        var tiledBlock = 0  // the block size x is quantized for in s.blockSums (0: not yet)
        for m in parts {
            if quantized && m.usesTiles(inputRows: rows) {
                if tiledBlock != m.tileBlock {
                    tiledBlock = m.tileBlock
                    WeightMatrix.quantizeTiled(x, rows: rows, cols: inDim, block: tiledBlock, into: s.blockSums.pointer,
                                               threads: decodeThreads)
                }
                m.multiplyTiled(s.blockSums.pointer, inputRows: rows, into: out + offset, ldOut: outDim, threads: decodeThreads)
            } else if quantized && (rows == 1 || m.integerBatchWins) {
                tiledBlock = 0
                m.multiplyQuantized(x, rows: rows, into: out + offset, ldOut: outDim, scratch: s.blockSums.pointer,
                                    threads: decodeThreads)
            } else {
                tiledBlock = 0
                m.multiplyBatch(x, rows: rows, into: out + offset, ldOut: outDim, tile: s.tile.pointer, threads: decodeThreads)
            }
            offset += m.rows
        }
        if let bias { bias.withPointer { addBias(out, $0, rows: rows, width: outDim) } }
    }

    /// Applies the intervention at (site, layer) to each sequence's rows of `buffer` (rows of `width`),
    /// then captures them. `shape` is the per-position shape ([dim] or [heads, d_head]).
    private func hook(_ ctx: inout HookContext, _ site: HookPoint.Site, _ layer: Int, _ buffer: UnsafeMutablePointer<Float>,
                      width: Int, shape: [Int], spans: [SequenceSpan]) throws {
        let point = HookPoint(layer: layer, site: site)
        guard ctx.wants(point) else { return }
        for (i, span) in spans.enumerated() {
            let base = buffer + span.row * width
            let n = span.count * width
            var tensor = HookTensor(shape: [span.count] + shape, data: Array(UnsafeBufferPointer(start: base, count: n)))
            if let intervention = ctx.interventions[point] {
                let expected = tensor.shape
                try intervention(&tensor)
                guard tensor.shape == expected, tensor.data.count == n else {
                    throw EngineError.invalidIntervention(hook: point.description,
                        reason: "changed the activation to shape \(tensor.shape) with \(tensor.data.count) values; expected \(expected)")
                }
                tensor.data.withPointer { base.update(from: $0, count: n) }
            }
            if ctx.captures.contains(point) {
                if let bad = tensor.data.firstIndex(where: { !$0.isFinite }) {
                    throw EngineError.nonFiniteResult(what: "value at \(point) (element \(bad))", path: path)
                }
                ctx.captured[i][point] = tensor
            }
        }
    }
}
