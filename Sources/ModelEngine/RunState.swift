import FeaturescopeCore
import Foundation

/// Scratch buffers for a forward pass over up to `capacity` token rows, allocated once and reused.
final class RunState {
    let capacity: Int
    /// Residual stream [capacity, dim].
    let x: FloatBuffer
    /// Normalised input of the current sub-block [capacity, dim].
    let xb: FloatBuffer
    /// Queries [capacity, qDim].
    let q: FloatBuffer
    /// Keys [capacity, kvDim].
    let k: FloatBuffer
    /// Values [capacity, kvDim].
    let v: FloatBuffer
    /// Per-head attention outputs, head-major [capacity, qDim].
    let z: FloatBuffer
    /// Output of the attention or MLP projection [capacity, dim].
    let proj: FloatBuffer
    /// The attention output kept aside while the MLP runs on the same residual (parallel residual) [capacity, dim].
    let side: FloatBuffer
    /// silu(gate)·up [capacity, hidden].
    let gate: FloatBuffer
    /// Stacked projections per row: q|k|v [capacity, dim + 2·kvDim], then gate|up [capacity, 2·hidden].
    let fused: FloatBuffer
    /// RoPE cos/sin per row [capacity, ropeDims/2] (global layers).
    let ropeCos: FloatBuffer
    let ropeSin: FloatBuffer
    /// RoPE cos/sin of sliding-window layers with their own base (Gemma 3).
    let ropeCosLocal: FloatBuffer
    let ropeSinLocal: FloatBuffer
    /// The input rows of a product quantized to int8 for the integer kernels (`WeightMatrix.quantizeInput`, or
    /// `quantizeTiled` for the tiled GEMM), [capacity rows of the widest input], reused by every product.
    let blockSums: FloatBuffer
    /// Decoded rows of a weight tile for BLAS [tileRows, widest input] (prompt processing only).
    let tile: FloatBuffer
    /// Attention scores of one head [queries, keys]; grows on demand (never inside the per-token loop).
    private(set) var scores: FloatBuffer
    /// The second thread's scores when attention heads are split over two threads (quantized passes; as `scores`).
    private(set) var scoresSecond: FloatBuffer

    init(config c: ModelConfig, capacity: Int) {
        self.capacity = capacity
        x = FloatBuffer(count: capacity * c.dim)
        xb = FloatBuffer(count: capacity * c.dim)
        q = FloatBuffer(count: capacity * c.qDim)
        k = FloatBuffer(count: capacity * c.kvDim)
        v = FloatBuffer(count: capacity * c.kvDim)
        z = FloatBuffer(count: capacity * c.qDim)
        proj = FloatBuffer(count: capacity * c.dim)
        side = FloatBuffer(count: c.parallelResidual ? capacity * c.dim : 1)
        gate = FloatBuffer(count: capacity * c.hiddenDim)
        fused = FloatBuffer(count: capacity * max(c.qDim + 2 * c.kvDim, 2 * c.hiddenDim))
        let half = max(1, c.ropeDims / 2)
        ropeCos = FloatBuffer(count: capacity * half)
        ropeSin = FloatBuffer(count: capacity * half)
        let local = c.ropeLocalBase != nil
        ropeCosLocal = FloatBuffer(count: local ? capacity * half : 1)
        ropeSinLocal = FloatBuffer(count: local ? capacity * half : 1)
        let widest = max(c.dim, c.hiddenDim, c.qDim)
        blockSums = FloatBuffer(count: max(WeightMatrix.quantizedInputCount(rows: capacity, cols: widest),
                                           capacity >= WeightMatrix.tiledMinimumRows ? WeightMatrix.tiledInputCount(rows: capacity, cols: widest) : 0))
        tile = FloatBuffer(count: WeightMatrix.tileRows * max(c.dim, c.hiddenDim, c.qDim))
        scores = FloatBuffer(count: 1)
        scoresSecond = FloatBuffer(count: 1)
    }

    /// Makes `scores` (and with `second`, `scoresSecond`) hold at least `n` values.
    func reserveScores(_ n: Int, second: Bool = false) {
        if scores.count < n { scores = FloatBuffer(count: n) }
        if second, scoresSecond.count < n { scoresSecond = FloatBuffer(count: n) }
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

    init(config c: ModelConfig, maxLength: Int) {
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
    func take(config: ModelConfig, capacity: Int) -> RunState {
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
