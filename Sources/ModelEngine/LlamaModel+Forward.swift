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
    var captured: [[HookPoint: HookTensor]]

    func wants(_ hook: HookPoint) -> Bool { captures.contains(hook) || interventions[hook] != nil }
}

extension LlamaModel {
    /// The forward pass over a packed batch, in the llama2.c shape: embed, then per block
    /// rmsnorm → q,k,v → RoPE → attention → output projection → residual → rmsnorm → SwiGLU → residual,
    /// then the final norm and the (tied) output projection. With `cache`, there is one span whose keys
    /// and values are appended to the cache and attention reads the whole cache.
    /// `quantized` uses the 4/8-bit mat-vec kernels (for a handful of rows) instead of BLAS on Float weights.
    func run(tokens: [Int32], spans: [SequenceSpan], state s: RunState, cache: KVCache?,
             captures: Set<HookPoint>, logits: LogitsMode, interventions: [HookPoint: HookIntervention],
             quantized: Bool) throws -> [ForwardResult] {
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
        var ctx = HookContext(captures: captures, interventions: interventions,
                              captured: Array(repeating: [:], count: spans.count))
        let dim = c.dim, kvDim = c.kvDim, hidden = c.hiddenDim, hd = c.headDim

        // Embedding and RoPE tables.
        weights.tokenEmbedding.withPointer { e in
            for (r, t) in tokens.enumerated() {
                (s.x.pointer + r * dim).update(from: e + Int(t) * dim, count: dim)
            }
        }
        var positions = [Int](repeating: 0, count: rows)
        for span in spans { for i in 0 ..< span.count { positions[span.row + i] = span.startPos + i } }
        ropeTables(cos: s.ropeCos.pointer, sin: s.ropeSin.pointer, positions: positions, headDim: hd, base: c.ropeBase)
        let maxKeys = spans.map { $0.startPos + $0.count }.max() ?? 0
        let maxQueries = spans.map(\.count).max() ?? 0
        s.reserveScores(maxQueries * max(maxKeys, cache?.maxLength ?? 0))

        if lastLayer >= 0 {
            for l in 0 ... lastLayer {
                let w = weights.layers[l]
                try hook(&ctx, .residPre, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
                // Attention block.
                w.attnNorm.withPointer { rmsnorm(s.xb.pointer, s.x.pointer, $0, rows: rows, dim: dim, eps: c.normEpsilon) }
                let qkvWidth = dim + 2 * kvDim
                if quantized {
                    for r in 0 ..< rows {
                        w.qkvQuant.multiply(s.xb.pointer + r * dim, into: s.fused.pointer + r * qkvWidth, scratch: s.blockSums.pointer, threads: decodeThreads)
                    }
                } else {
                    w.wqkv.withPointer { linear(s.fused.pointer, s.xb.pointer, $0, rows: rows, inDim: dim, outDim: qkvWidth) }
                }
                for r in 0 ..< rows {
                    let row = s.fused.pointer + r * qkvWidth
                    (s.q.pointer + r * dim).update(from: row, count: dim)
                    (s.k.pointer + r * kvDim).update(from: row + dim, count: kvDim)
                    (s.v.pointer + r * kvDim).update(from: row + dim + kvDim, count: kvDim)
                }
                try hook(&ctx, .q, l, s.q.pointer, width: dim, shape: [c.headCount, hd], spans: spans)
                try hook(&ctx, .k, l, s.k.pointer, width: kvDim, shape: [c.kvHeadCount, hd], spans: spans)
                try hook(&ctx, .v, l, s.v.pointer, width: kvDim, shape: [c.kvHeadCount, hd], spans: spans)
                rope(s.q.pointer, rows: rows, heads: c.headCount, headDim: hd, cos: s.ropeCos.pointer, sin: s.ropeSin.pointer)
                rope(s.k.pointer, rows: rows, heads: c.kvHeadCount, headDim: hd, cos: s.ropeCos.pointer, sin: s.ropeSin.pointer)
                for (i, span) in spans.enumerated() {
                    let pattern = attention(layer: l, span: span, state: s, cache: cache,
                                            capturePattern: ctx.captures.contains(.pattern(l)))
                    if let pattern { ctx.captured[i][.pattern(l)] = pattern }
                }
                try hook(&ctx, .z, l, s.z.pointer, width: dim, shape: [dim], spans: spans)
                if quantized {
                    for r in 0 ..< rows {
                        w.woQuant.multiply(s.z.pointer + r * dim, into: s.proj.pointer + r * dim, scratch: s.blockSums.pointer, threads: decodeThreads)
                    }
                } else {
                    w.wo.withPointer { linear(s.proj.pointer, s.z.pointer, $0, rows: rows, inDim: dim, outDim: dim) }
                }
                try hook(&ctx, .attnOut, l, s.proj.pointer, width: dim, shape: [dim], spans: spans)
                addInPlace(s.x.pointer, s.proj.pointer, count: rows * dim)
                try hook(&ctx, .residMid, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
                // MLP block.
                w.ffnNorm.withPointer { rmsnorm(s.xb.pointer, s.x.pointer, $0, rows: rows, dim: dim, eps: c.normEpsilon) }
                if quantized {
                    for r in 0 ..< rows {
                        w.gateUpQuant.multiply(s.xb.pointer + r * dim, into: s.fused.pointer + r * 2 * hidden, scratch: s.blockSums.pointer, threads: decodeThreads)
                    }
                } else {
                    w.wGateUp.withPointer { linear(s.fused.pointer, s.xb.pointer, $0, rows: rows, inDim: dim, outDim: 2 * hidden) }
                }
                for r in 0 ..< rows {
                    let row = s.fused.pointer + r * 2 * hidden
                    swiglu(s.gate.pointer + r * hidden, gate: row, up: row + hidden, count: hidden)
                }
                if quantized {
                    for r in 0 ..< rows {
                        w.downQuant.multiply(s.gate.pointer + r * hidden, into: s.proj.pointer + r * dim, scratch: s.blockSums.pointer, threads: decodeThreads)
                    }
                } else {
                    w.wDown.withPointer { linear(s.proj.pointer, s.gate.pointer, $0, rows: rows, inDim: hidden, outDim: dim) }
                }
                try hook(&ctx, .mlpOut, l, s.proj.pointer, width: dim, shape: [dim], spans: spans)
                addInPlace(s.x.pointer, s.proj.pointer, count: rows * dim)
                try hook(&ctx, .residPost, l, s.x.pointer, width: dim, shape: [dim], spans: spans)
            }
        }
        if let cache, let span = spans.first { cache.length = span.startPos + span.count }

        // Final norm and output projection for the rows that need logits.
        var logitRows: [[Int]] = spans.map { _ in [] }
        switch logits {
        case .none: break
        case .last: logitRows = spans.map { [$0.row + $0.count - 1] }
        case .all: logitRows = spans.map { Array($0.row ..< $0.row + $0.count) }
        }
        let flatRows = logitRows.flatMap { $0 }
        var allLogits = [Float]()
        if !flatRows.isEmpty {
            for (i, r) in flatRows.enumerated() {
                weights.outputNorm.withPointer {
                    rmsnorm(s.xb.pointer + i * dim, s.x.pointer + r * dim, $0, rows: 1, dim: dim, eps: c.normEpsilon)
                }
            }
            allLogits = outputProjection(s.xb.pointer, rows: flatRows.count, quantized: quantized, state: s)
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

    /// logits [rows, vocab] = xNormed [rows, dim] · Eᵀ (the tied embedding, or `output.weight`).
    private func outputProjection(_ xn: UnsafeMutablePointer<Float>, rows: Int, quantized: Bool, state s: RunState) -> [Float] {
        let c = config
        return [Float](unsafeUninitializedCapacity: rows * c.vocabSize) { buf, n in
            guard let out = buf.baseAddress else { n = 0; return }
            if quantized {
                for r in 0 ..< rows {
                    weights.outputQuant.multiply(xn + r * c.dim, into: out + r * c.vocabSize, scratch: s.blockSums.pointer, threads: decodeThreads)
                }
            } else {
                (weights.output ?? weights.tokenEmbedding).withPointer {
                    linear(out, xn, $0, rows: rows, inDim: c.dim, outDim: c.vocabSize)
                }
            }
            n = rows * c.vocabSize
        }
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
            if ctx.captures.contains(point) { ctx.captured[i][point] = tensor }
        }
    }
}
