import ModelEngine

/// Where dense hook activations come from: a forward pass of the model, or an activation store.
public protocol HookActivationSource {
    /// The hooks provided, in the order of each row's arrays.
    var hooks: [HookPoint] { get }
    /// A name for errors ("the engine", a store's folder).
    var name: String { get }
    /// For each row of `rows` (rows `firstRow ..< firstRow + rows.count` of the token source), one
    /// [tokens, width] row-major array per hook of `hooks`.
    func activations(rows: [[Int32]], firstRow: Int) throws -> [[[Float]]]
}

/// One forward pass per batch of rows, capturing every hook at once; the pass stops after the last block a
/// hook needs (no logits).
public struct EngineHookSource: HookActivationSource {
    public let model: TransformerModel
    public let hooks: [HookPoint]
    public var name: String { "the engine" }

    /// `hooks` in order, each once.
    public init(model: TransformerModel, hooks: [HookPoint]) {
        self.model = model
        var seen = Set<HookPoint>()
        self.hooks = hooks.filter { seen.insert($0).inserted }
    }

    public func activations(rows: [[Int32]], firstRow: Int) throws -> [[[Float]]] {
        let results = try model.forward(batch: rows, captures: Set(hooks), logits: .none)
        guard results.count == rows.count else { throw PipelineError.rowCount(expected: rows.count, found: results.count, source: name) }
        return try results.map { r in try hooks.map { try Self.tensor(r, $0).data } }
    }

    /// Values per token at each hook, from a pass over the first (at most two) tokens of `probe`.
    public func widths(probe: [Int32]) throws -> [Int] {
        let r = try model.forward(tokens: Array(probe.prefix(2)), captures: Set(hooks), logits: .none)
        return try hooks.map { try Self.tensor(r, $0).rowWidth }
    }

    /// The [tokens, …] activation at `hook`, checked to hold one row per token.
    static func tensor(_ r: ForwardResult, _ hook: HookPoint) throws -> HookTensor {
        guard let t = r.activation(hook), t.shape.count >= 2, t.shape[0] == r.tokenCount,
              t.data.count == r.tokenCount * t.rowWidth else {
            throw PipelineError.missingHook(hook, source: "the engine")
        }
        return t
    }
}
