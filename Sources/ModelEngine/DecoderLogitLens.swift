import CBLAS
import FeaturescopeCore
import Foundation
import TensorFormats

/// A decoder logit lens failure (missing tensor, wrong shape, a hook it cannot map).
public struct LogitLensError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One token of a logit lens: its id and logit.
public struct TokenScore: Sendable, Equatable {
    public var token: Int
    public var logit: Float
    public init(token: Int, logit: Float) { self.token = token; self.logit = logit }
}

/// The tokens a direction promotes (largest logits first) and suppresses (most negative first).
public struct LogitLensResult: Sendable, Equatable {
    public var promoted: [TokenScore]
    public var suppressed: [TokenScore]
    /// How the logits were computed (a formula naming the tensors).
    public var method: String
}

/// Reads an SAE decoder direction straight through the model's output path ("logit lens" of the
/// decoder row) from the GGUF weights, without running the model:
///
/// - For an SAE on `blocks.L.attn.hook_z` the decoder row d ∈ R^{n_heads·d_head} holds the heads'
///   z vectors concatenated head-major, exactly as the engine lays out hook_z (the input columns of
///   `blk.L.attn_output.weight`). It first goes through that layer's output projection:
///   x = W_O·d (W_O is [d_model, n_heads·d_head]; the product sums the per-head projections), times the
///   post-attention norm's gain where the family has one (Gemma 2/3).
/// - For residual-stream, attention-output and MLP-output hooks d already lives in the residual
///   stream: x = d.
/// - Then the final RMSNorm's weight g is applied elementwise and the unembedding W_U
///   (`output.weight`, or the tied `token_embd.weight` as in SmolLM2) gives logits = W_U·(g ⊙ x).
///   The norm's 1/rms(x) factor is left out on purpose: a direction has no norm statistics of its own,
///   and a positive scale would not change which tokens come first. The decoder row is used as stored.
///
/// The tensors come from a GGUF file or a Hugging Face folder (`ModelTensors`, under GGUF names). The unembedding is
/// decoded in blocks of rows into a small scratch buffer per call, so the lens holds no copy of it (the mapped file
/// is shared with everything else that reads the model).
public final class DecoderLogitLens: @unchecked Sendable {
    public let tensors: ModelTensors
    public let dModel: Int
    public let vocabSize: Int
    /// `output.weight` or `token_embd.weight`.
    public let unembeddingName: String
    let unembedding: WeightMatrix
    let normWeight: [Float]
    /// Rows of W_U decoded at a time.
    let chunkRows: Int
    private let lock = NSLock()
    private var outputProjections: [Int: [Float]] = [:]

    /// Checks the tensors the lens needs: the unembedding [vocab, d_model] and `output_norm.weight` [d_model].
    public init(tensors: ModelTensors, chunkRows: Int = 1024) throws {
        self.tensors = tensors
        self.chunkRows = max(1, chunkRows)
        let path = tensors.path
        let name = tensors.has("output.weight") ? "output.weight" : "token_embd.weight"
        guard tensors.has(name) else {
            throw LogitLensError("\(path): no unembedding (neither output.weight nor token_embd.weight)")
        }
        let dims = try Self.checked { try tensors.dims(name) }
        guard dims.count == 2, dims[0] > 0, dims[1] > 0 else {
            throw LogitLensError("\(path): \(name) has shape \(dims); expected [d_model, vocab]")
        }
        unembeddingName = name
        unembedding = try Self.checked { try tensors.matrix(name) }
        dModel = dims[0]
        vocabSize = dims[1]
        guard tensors.has("output_norm.weight") else {
            throw LogitLensError("\(path): no output_norm.weight (the final norm)")
        }
        let normDims = try Self.checked { try tensors.dims("output_norm.weight") }
        guard normDims == [dModel] else {
            throw LogitLensError("\(path): output_norm.weight has shape \(normDims); expected [\(dModel)]")
        }
        normWeight = try Self.checked { try tensors.floats("output_norm.weight") }
    }

    /// The lens over a GGUF file.
    public convenience init(file: GGUFFile, chunkRows: Int = 1024) throws {
        try self.init(tensors: ModelTensors(gguf: file), chunkRows: chunkRows)
    }

    /// Runs `body`, turning engine errors into lens errors (the message names file and tensor).
    static func checked<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as LogitLensError { throw e } catch { throw LogitLensError("\(error)") }
    }

    /// W_O of `layer` as [d_model, d_in] row-major (decoded once per layer).
    func outputProjection(layer: Int) throws -> (weights: [Float], dIn: Int) {
        let name = "blk.\(layer).attn_output.weight"
        guard tensors.has(name) else { throw LogitLensError("\(tensors.path): no \(name) (is layer \(layer) in this model?)") }
        let dims = try Self.checked { try tensors.dims(name) }
        guard dims.count == 2, dims[1] == dModel, dims[0] > 0 else {
            throw LogitLensError("\(tensors.path): \(name) has shape \(dims); expected [n_heads·d_head, \(dModel)]")
        }
        if let w = lock.withLock({ outputProjections[layer] }) { return (w, dims[0]) }
        let w = try Self.checked { try tensors.floats(name) }
        lock.withLock { outputProjections[layer] = w }
        return (w, dims[0])
    }

    /// The residual-stream direction x of a decoder row read at `hook`.
    public func residualDirection(_ row: [Float], hook: HookPoint) throws -> [Float] {
        switch hook.site {
        case .z:
            let (wo, dIn) = try outputProjection(layer: hook.layer)
            guard row.count == dIn else {
                throw LogitLensError("the SAE's decoder rows have \(row.count) values; \(hook) feeds W_O with \(dIn)")
            }
            var x = [Float](repeating: 0, count: dModel)
            guard wo.count >= dModel * dIn else { throw LogitLensError("\(tensors.path): W_O of layer \(hook.layer) is too short") }
            wo.withUnsafeBufferPointer { w in
                row.withUnsafeBufferPointer { d in
                    guard let wb = w.baseAddress, let db = d.baseAddress else { return }
                    for o in 0 ..< dModel { x[o] = dotProduct(wb + o * dIn, db, dIn) }
                }
            }
            // Gemma 2/3 scale the attention output by a post-attention norm's gain before the residual.
            let post = "blk.\(hook.layer).post_attention_norm.weight"
            if tensors.has(post), (try? tensors.dims(post)) == [dModel] {
                let g = try Self.checked { try tensors.floats(post) }
                for o in 0 ..< dModel { x[o] *= g[o] }
            }
            return x
        case .residPre, .residMid, .residPost, .attnOut, .mlpIn, .mlpOut:
            guard row.count == dModel else {
                throw LogitLensError("the SAE's decoder rows have \(row.count) values; the residual stream has \(dModel)")
            }
            return row
        case .q, .k, .v, .pattern:
            throw LogitLensError("promoted tokens need an SAE on the residual stream, an attention/MLP output or hook_z; this one reads \(hook)")
        }
    }

    /// logits = W_U·(g ⊙ x) over the whole vocabulary.
    public func logits(residual x: [Float]) throws -> [Float] {
        try logits(residuals: [x])[0]
    }

    /// The logits of several directions at once, [directions.count][vocab]: W_U is decoded once, in blocks of
    /// `chunkRows` rows, and each block multiplies every direction in one sgemm (what an export of thousands
    /// of latents needs; one direction at a time would decode W_U per latent).
    public func logits(residuals xs: [[Float]]) throws -> [[Float]] {
        let k = xs.count
        guard k > 0 else { return [] }
        var u = [Float](repeating: 0, count: k * dModel)
        for (i, x) in xs.enumerated() {
            guard x.count == dModel else { throw LogitLensError("direction has \(x.count) values; the model has d_model \(dModel)") }
            for j in 0 ..< dModel { u[i * dModel + j] = x[j] * normWeight[j] }
        }
        guard unembedding.rows == vocabSize, unembedding.cols == dModel else {
            throw LogitLensError("\(tensors.path): \(unembeddingName) is not [\(vocabSize), \(dModel)]")
        }
        var out = [Float](repeating: 0, count: k * vocabSize)
        var scratch = [Float](repeating: 0, count: min(chunkRows, vocabSize) * dModel)
        let w = unembedding, dm = dModel, vocab = vocabSize
        out.withUnsafeMutableBufferPointer { o in
            scratch.withUnsafeMutableBufferPointer { s in
                u.withUnsafeBufferPointer { up in
                    guard let sb = s.baseAddress, let ub = up.baseAddress, let ob = o.baseAddress else { return }
                    var start = 0
                    while start < vocab {
                        let rows = min(chunkRows, vocab - start)
                        w.decodeRows(start ..< start + rows, into: sb)
                        if k == 1 {
                            for r in 0 ..< rows { ob[start + r] = dotProduct(sb + r * dm, ub, dm) }
                        } else {
                            // out[:, start ..< start+rows] = U [k, d] · block [rows, d]ᵀ
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(k), Int32(rows), Int32(dm),
                                        1, ub, Int32(dm), sb, Int32(dm), 0, ob + start, Int32(vocab))
                        }
                        start += rows
                    }
                }
            }
        }
        return (0 ..< k).map { Array(out[$0 * vocabSize ..< ($0 + 1) * vocabSize]) }
    }

    /// The `count` largest and most negative logits of a decoder row read at `hook` (for a transcoder: its
    /// output hook, the space its decoder writes), as token ids. Used by the browser's promoted tokens and
    /// the Neuronpedia export's logit lens.
    public func topTokens(decoderRow row: [Float], hook: HookPoint, count: Int) throws -> LogitLensResult {
        try topTokens(decoderRows: [row], hook: hook, count: count)[0]
    }

    /// `topTokens` for many decoder rows of one hook, sharing one pass over W_U.
    public func topTokens(decoderRows rows: [[Float]], hook: HookPoint, count: Int) throws -> [LogitLensResult] {
        let xs = try rows.map { try residualDirection($0, hook: hook) }
        let all = try logits(residuals: xs)
        let k = max(0, min(count, vocabSize))
        let method = hook.site == .z
            ? "logits = W_U (g * W_O d): W_O of layer \(hook.layer), final norm weight g, W_U = \(unembeddingName)"
            : "logits = W_U (g * d): final norm weight g, W_U = \(unembeddingName)"
        return all.map { l in
            let top = Logits.topIndices(l, count: k, largest: true)
            let bottom = Logits.topIndices(l, count: k, largest: false)
            return LogitLensResult(promoted: top.map { TokenScore(token: $0, logit: l[$0]) },
                                   suppressed: bottom.map { TokenScore(token: $0, logit: l[$0]) }, method: method)
        }
    }
}
