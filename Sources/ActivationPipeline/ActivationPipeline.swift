import ModelEngine
import SparseAutoencoders

/// The one path from tokens to sparse codes: token rows → hook activations (a forward pass with captures, or an
/// activation store) → each SAE's encoding → sparse codes per row and encoder.
///
/// `featurescope cache` feeds its codes to the latent cache builder (`PipelineCacheSource`), `collect` stores the
/// activations of its source (`ActivationCollector`), and the browser's live prompt encodes one prompt with
/// `encode(prompt:…)`, which also returns the pass's logits and any extra captures.
public struct ActivationPipeline {
    public let source: HookActivationSource
    public let encoders: [HookEncoder]
    /// For each encoder, the index of its hook in `source.hooks`.
    let hookIndex: [Int]

    /// `encoders` over `source`, which must provide every encoder's hook.
    public init(source: HookActivationSource, encoders: [HookEncoder]) throws {
        self.source = source
        self.encoders = encoders
        hookIndex = try encoders.map { e in
            guard let i = source.hooks.firstIndex(of: e.hook) else { throw PipelineError.missingHook(e.hook, source: source.name) }
            return i
        }
    }

    /// `encoders` over forward passes of `model`, capturing each encoder's hook once.
    public init(model: TransformerModel, encoders: [HookEncoder]) throws {
        try self.init(source: EngineHookSource(model: model, hooks: encoders.map(\.hook)), encoders: encoders)
    }

    /// The sparse codes of every row ([row][encoder]); rows are `firstRow ..< firstRow + rows.count` of the
    /// token source (a store reads them by index).
    public func codes(rows: [[Int32]], firstRow: Int = 0) throws -> [[SparseCodes]] {
        let acts = try source.activations(rows: rows, firstRow: firstRow)
        guard acts.count == rows.count else { throw PipelineError.rowCount(expected: rows.count, found: acts.count, source: source.name) }
        return try zip(rows, acts).map { row, perHook in
            try zip(encoders, hookIndex).map { e, h in try e.encode(activation: perHook[h], count: row.count) }
        }
    }
}

/// One prompt through the model: every encoder's codes, with the pass itself (logits, extra captures).
public struct EncodedPrompt: Sendable {
    public let tokens: [Int32]
    /// The forward pass: logits as asked, the encoders' hooks and `alsoCapture`.
    public let pass: ForwardResult
    /// One per encoder, in order.
    public let codes: [SparseCodes]
}

extension ActivationPipeline {
    /// Runs `tokens` through `model` once, capturing every encoder's hook and `alsoCapture`, with `interventions`
    /// applied (captures are taken after an intervention on the same hook), and encodes each encoder's hook.
    public static func encode(prompt tokens: [Int32], model: TransformerModel, encoders: [HookEncoder],
                              alsoCapture: Set<HookPoint> = [], logits: LogitsMode = .last,
                              interventions: [HookPoint: HookIntervention] = [:]) throws -> EncodedPrompt {
        guard !tokens.isEmpty else { throw PipelineError.input("the prompt has no tokens") }
        guard tokens.count <= model.config.contextLength else {
            throw PipelineError.input("the prompt has \(tokens.count) tokens; the model takes \(model.config.contextLength)")
        }
        let captures = alsoCapture.union(encoders.map(\.hook))
        let pass = try model.forward(tokens: tokens, captures: captures, logits: logits, interventions: interventions)
        let codes = try encoders.map { e in
            try e.encode(activation: try EngineHookSource.tensor(pass, e.hook).data, count: tokens.count)
        }
        return EncodedPrompt(tokens: tokens, pass: pass, codes: codes)
    }
}
