/// The k nearest neighbours of every row: `indices[r·k + i]` is row r's i-th neighbour (strongest first) with
/// score `values[r·k + i]`; -1 / -∞ fill the slots of a row with fewer than k candidates.
public struct NeighbourTable: Sendable, Equatable {
    public let rows: Int
    public let k: Int
    public internal(set) var indices: [Int32]
    public internal(set) var values: [Float]

    public init(rows: Int, k: Int) {
        self.rows = rows
        self.k = k
        indices = [Int32](repeating: -1, count: rows * k)
        values = [Float](repeating: -.infinity, count: rows * k)
    }

    /// Builds a table from per-row lists (each sorted strongest first; longer lists are cut to k).
    public init(rows lists: [[(index: Int, value: Float)]], k: Int) {
        self.init(rows: lists.count, k: k)
        for (r, list) in lists.enumerated() {
            for (i, e) in list.prefix(k).enumerated() {
                indices[r * k + i] = Int32(e.index)
                values[r * k + i] = e.value
            }
        }
    }

    /// Row r's neighbours, strongest first (empty slots left out).
    public func neighbours(of r: Int) -> [(index: Int, value: Float)] {
        var out: [(index: Int, value: Float)] = []
        for i in 0 ..< k where indices[r * k + i] >= 0 {
            out.append((Int(indices[r * k + i]), values[r * k + i]))
        }
        return out
    }

    mutating func set(row r: Int, _ list: TopKList) {
        for i in 0 ..< k {
            if i < list.count {
                indices[r * k + i] = list.indices[i]
                values[r * k + i] = list.values[i]
            } else {
                indices[r * k + i] = -1
                values[r * k + i] = -.infinity
            }
        }
    }
}

/// A bounded list of the k largest (value, index) pairs seen, kept sorted (largest first; ties: smaller index
/// first), so the result is the same whatever order candidates arrive in.
struct TopKList {
    let capacity: Int
    var count = 0
    var values: [Float]
    var indices: [Int32]

    init(capacity: Int) {
        self.capacity = capacity
        values = [Float](repeating: -.infinity, count: capacity)
        indices = [Int32](repeating: -1, count: capacity)
    }

    /// The value a candidate must beat (or tie with a smaller index) to enter: -∞ while not full.
    var threshold: Float { count < capacity ? -.infinity : values[capacity - 1] }

    mutating func reset() { count = 0 }

    @inline(__always)
    static func before(_ v: Float, _ i: Int32, _ w: Float, _ j: Int32) -> Bool { v > w || (v == w && i < j) }

    mutating func insert(_ v: Float, _ i: Int32) {
        guard capacity > 0, !v.isNaN else { return }
        if count == capacity {
            guard Self.before(v, i, values[capacity - 1], indices[capacity - 1]) else { return }
        } else {
            count += 1
        }
        var p = count - 1
        while p > 0, Self.before(v, i, values[p - 1], indices[p - 1]) {
            values[p] = values[p - 1]
            indices[p] = indices[p - 1]
            p -= 1
        }
        values[p] = v
        indices[p] = i
    }
}
