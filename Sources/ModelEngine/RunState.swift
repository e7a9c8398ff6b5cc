import Foundation

/// Scratch buffers for a forward pass over up to `capacity` token rows, allocated once and reused.
final class RunState {
    let capacity: Int
    /// Residual stream [capacity, dim].
    let x: FloatBuffer
    /// Normalised input of the current sub-block [capacity, dim].
    let xb: FloatBuffer
    /// Queries [capacity, dim].
    let q: FloatBuffer
    /// Keys [capacity, kvDim].
    let k: FloatBuffer
    /// Values [capacity, kvDim].
    let v: FloatBuffer
    /// Per-head attention outputs, head-major [capacity, dim].
    let z: FloatBuffer
    /// Output of the attention or MLP projection [capacity, dim].
    let proj: FloatBuffer
    /// silu(gate)·up [capacity, hidden].
    let gate: FloatBuffer
    /// Stacked projections per row: q|k|v [capacity, dim + 2·kvDim], then gate|up [capacity, 2·hidden].
    let fused: FloatBuffer
    /// RoPE cos/sin per row [capacity, headDim/2].
    let ropeCos: FloatBuffer
    let ropeSin: FloatBuffer
    /// Per-block sums of the input vector for the 4-bit kernel.
    let blockSums: FloatBuffer
    /// Attention scores of one head [queries, keys]; grows on demand (never inside the per-token loop).
    private(set) var scores: FloatBuffer

    init(config c: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        x = FloatBuffer(count: capacity * c.dim)
        xb = FloatBuffer(count: capacity * c.dim)
        q = FloatBuffer(count: capacity * c.dim)
        k = FloatBuffer(count: capacity * c.kvDim)
        v = FloatBuffer(count: capacity * c.kvDim)
        z = FloatBuffer(count: capacity * c.dim)
        proj = FloatBuffer(count: capacity * c.dim)
        gate = FloatBuffer(count: capacity * c.hiddenDim)
        fused = FloatBuffer(count: capacity * max(c.dim + 2 * c.kvDim, 2 * c.hiddenDim))
        ropeCos = FloatBuffer(count: capacity * c.headDim / 2)
        ropeSin = FloatBuffer(count: capacity * c.headDim / 2)
        blockSums = FloatBuffer(count: max(c.dim, c.hiddenDim) / 32 + 1)
        scores = FloatBuffer(count: 1)
    }

    /// Makes `scores` hold at least `n` values.
    func reserveScores(_ n: Int) {
        if scores.count < n { scores = FloatBuffer(count: n) }
    }
}

/// Keys and values of every layer for the positions processed so far (one sequence).
public final class KVCache {
    /// Positions the cache can hold.
    public let maxLength: Int
    /// Positions filled.
    public internal(set) var length: Int = 0
    /// Per layer [maxLength, kvDim], after RoPE.
    let keys: [FloatBuffer]
    /// Per layer [maxLength, kvDim].
    let values: [FloatBuffer]

    init(config c: LlamaConfig, maxLength: Int) {
        self.maxLength = maxLength
        keys = (0 ..< c.layerCount).map { _ in FloatBuffer(count: maxLength * c.kvDim) }
        values = (0 ..< c.layerCount).map { _ in FloatBuffer(count: maxLength * c.kvDim) }
    }

    /// Forgets all positions (the buffers are kept).
    public func reset() { length = 0 }

    /// Keeps only the first `count` positions (clamped to what is held); later appends overwrite the rest.
    /// Attention at position p reads positions 0...p only, so the kept prefix is exactly as it was computed.
    public func truncate(to count: Int) { length = max(0, min(count, length)) }
}

/// Keeps one idle `RunState` so repeated forward passes reuse their scratch memory instead of
/// faulting in fresh pages each time. Thread-safe; concurrent callers beyond the first allocate.
final class RunStatePool: @unchecked Sendable {
    /// States larger than this many rows are not kept.
    static let maxRetainedRows = 2048
    private let lock = NSLock()
    private var idle: RunState?

    /// A state for at least `capacity` rows.
    func take(config: LlamaConfig, capacity: Int) -> RunState {
        lock.lock()
        defer { lock.unlock() }
        if let s = idle, s.capacity >= capacity {
            idle = nil
            return s
        }
        return RunState(config: config, capacity: capacity)
    }

    /// Returns a state for reuse (the larger one is kept).
    func give(_ state: RunState) {
        guard state.capacity <= Self.maxRetainedRows else { return }
        lock.lock()
        defer { lock.unlock() }
        if idle.map({ $0.capacity < state.capacity }) ?? true { idle = state }
    }
}
