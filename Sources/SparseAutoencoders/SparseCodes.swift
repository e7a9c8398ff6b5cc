/// Sparse latent activations of a batch of tokens, stored struct-of-arrays (CSR).
///
/// Token t's active latents are `indices[offsets[t] ..< offsets[t+1]]` with `values` at the same
/// positions, ordered by descending value (ties: lower latent index first). Only strictly positive
/// activations are stored.
public struct SparseCodes: Sendable, Equatable {
    /// Number of tokens.
    public let tokenCount: Int
    /// Number of latents of the SAE (d_sae).
    public let latentCount: Int
    /// [tokenCount + 1] start of each token's entries.
    public internal(set) var offsets: [Int]
    /// Latent index of each entry.
    public internal(set) var indices: [Int32]
    /// Activation of each entry.
    public internal(set) var values: [Float]
    /// Per-token factor and shift that undo the input normalisation after decoding
    /// (`constant_norm_rescale`, `layer_norm`); empty when the SAE does not normalise per token.
    public internal(set) var outputScale: [Float]
    public internal(set) var outputShift: [Float]

    public init(tokenCount: Int, latentCount: Int, offsets: [Int], indices: [Int32], values: [Float],
                outputScale: [Float] = [], outputShift: [Float] = []) {
        self.tokenCount = tokenCount
        self.latentCount = latentCount
        self.offsets = offsets
        self.indices = indices
        self.values = values
        self.outputScale = outputScale
        self.outputShift = outputShift
    }

    /// True when offsets, indices and values agree (what `decode` checks before reading).
    public var isWellFormed: Bool {
        guard tokenCount >= 0, offsets.count == tokenCount + 1, offsets.first == 0, offsets.last == values.count,
              indices.count == values.count, outputScale.count == outputShift.count,
              outputScale.isEmpty || outputScale.count == tokenCount else { return false }
        for t in 0 ..< tokenCount where offsets[t] > offsets[t + 1] { return false }
        return indices.allSatisfy { $0 >= 0 && Int($0) < latentCount }
    }

    /// Total number of stored entries.
    public var entryCount: Int { values.count }

    /// The range of entries of token `t`.
    public func range(ofToken t: Int) -> Range<Int> { offsets[t] ..< offsets[t + 1] }

    /// Token `t`'s (latent, value) pairs, strongest first.
    public func latents(ofToken t: Int) -> [(latent: Int, value: Float)] {
        range(ofToken: t).map { (Int(indices[$0]), values[$0]) }
    }

    /// Token `t`'s activations as a dense [latentCount] vector.
    public func dense(token t: Int) -> [Float] {
        var out = [Float](repeating: 0, count: latentCount)
        for e in range(ofToken: t) { out[Int(indices[e])] = values[e] }
        return out
    }

    /// Mean number of active latents per token (L0).
    public var meanL0: Double { tokenCount == 0 ? 0 : Double(entryCount) / Double(tokenCount) }
}

/// Keeps the `capacity` best (value, index) pairs seen, in O(log capacity) per accepted candidate.
///
/// A min-heap whose root is the worst kept pair; buffers are allocated once and reused per token.
struct TopKSelector: ~Copyable {
    let capacity: Int
    private let heapValues: UnsafeMutablePointer<Float>
    private let heapIndices: UnsafeMutablePointer<Int32>
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        heapValues = .allocate(capacity: self.capacity)
        heapIndices = .allocate(capacity: self.capacity)
    }

    deinit {
        heapValues.deallocate()
        heapIndices.deallocate()
    }

    /// a is better than b: larger value, or equal value and lower index.
    @inline(__always) static func better(_ av: Float, _ ai: Int32, _ bv: Float, _ bi: Int32) -> Bool {
        av > bv || (av == bv && ai < bi)
    }

    mutating func reset() { count = 0 }

    /// Offers a candidate.
    @inline(__always) mutating func offer(_ v: Float, _ i: Int32) {
        if count < capacity {
            var c = count
            count += 1
            // Sift up: parents must be worse than children.
            while c > 0 {
                let p = (c - 1) / 2
                if TopKSelector.better(heapValues[p], heapIndices[p], v, i) {
                    heapValues[c] = heapValues[p]; heapIndices[c] = heapIndices[p]; c = p
                } else { break }
            }
            heapValues[c] = v; heapIndices[c] = i
        } else if TopKSelector.better(v, i, heapValues[0], heapIndices[0]) {
            siftDownFromRoot(v, i)
        }
    }

    private mutating func siftDownFromRoot(_ v: Float, _ i: Int32) {
        var c = 0
        while true {
            let l = 2 * c + 1
            if l >= count { break }
            var w = l
            let r = l + 1
            if r < count, TopKSelector.better(heapValues[l], heapIndices[l], heapValues[r], heapIndices[r]) { w = r }
            if TopKSelector.better(v, i, heapValues[w], heapIndices[w]) {
                heapValues[c] = heapValues[w]; heapIndices[c] = heapIndices[w]; c = w
            } else { break }
        }
        heapValues[c] = v; heapIndices[c] = i
    }

    /// Appends the kept pairs, best first, and empties the selector.
    mutating func drain(indices: inout [Int32], values: inout [Float]) {
        let n = count
        // Pop the worst repeatedly into the tail of a small output window.
        let start = values.count
        values.append(contentsOf: repeatElement(0, count: n))
        indices.append(contentsOf: repeatElement(0, count: n))
        var slot = start + n - 1
        while count > 0 {
            values[slot] = heapValues[0]; indices[slot] = heapIndices[0]
            slot -= 1
            count -= 1
            if count > 0 { siftDownFromRoot(heapValues[count], heapIndices[count]) }
        }
    }
}
