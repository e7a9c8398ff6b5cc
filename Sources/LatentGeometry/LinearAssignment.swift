/// A one-to-one matching of rows to columns: `columnOf[r]` is row r's column, or -1 when row r stays unmatched
/// (no candidate above the minimum similarity was worth taking). Columns are used at most once.
public struct Assignment: Sendable, Equatable {
    public let columnOf: [Int]
    /// The similarity of each row's matched edge (NaN when unmatched).
    public let similarity: [Float]
    public let columns: Int

    public var matchedCount: Int { columnOf.lazy.filter { $0 >= 0 }.count }
    /// Sum of the matched similarities (the objective both solvers maximise).
    public var total: Double { zip(columnOf, similarity).reduce(0) { $1.0 >= 0 ? $0 + Double($1.1) : $0 } }
    /// Columns no row took.
    public var unmatchedColumns: [Int] {
        var used = [Bool](repeating: false, count: columns)
        for c in columnOf where c >= 0 { used[c] = true }
        return used.indices.filter { !used[$0] }
    }
}

/// A sparse bipartite graph of candidate pairs: row r's candidates are `column[offsets[r] ..< offsets[r + 1]]` with
/// their `similarity` (higher is better).
public struct CandidateGraph: Sendable {
    public let rows: Int
    public let columns: Int
    public let offsets: [Int]
    public let column: [Int32]
    public let similarity: [Float]

    /// Row r's candidates are its neighbours in `forward` (a rows × k table over the columns) plus, when given, every
    /// row that lists r in `backward` (a columns × k table over the rows); duplicates are kept once.
    public init(forward: NeighbourTable, backward: NeighbourTable? = nil, columns: Int) {
        var lists = [[(Int32, Float)]](repeating: [], count: forward.rows)
        for r in 0 ..< forward.rows {
            for e in forward.neighbours(of: r) { lists[r].append((Int32(e.index), e.value)) }
        }
        if let backward {
            for c in 0 ..< backward.rows {
                for e in backward.neighbours(of: c) where e.index < forward.rows { lists[e.index].append((Int32(c), e.value)) }
            }
        }
        var offsets = [0], col: [Int32] = [], sim: [Float] = []
        for var l in lists {
            l.sort { $0.0 < $1.0 }
            var last: Int32 = -1
            for (c, s) in l where c != last && c >= 0 && Int(c) < columns {
                col.append(c)
                sim.append(s)
                last = c
            }
            offsets.append(col.count)
        }
        self.rows = forward.rows
        self.columns = columns
        self.offsets = offsets
        self.column = col
        self.similarity = sim
    }

    /// Every pair of a dense rows × columns similarity matrix (row-major).
    public init(dense: [Float], rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        offsets = (0 ... rows).map { $0 * columns }
        column = (0 ..< rows * columns).map { Int32($0 % max(columns, 1)) }
        similarity = dense
    }

    public var edgeCount: Int { column.count }
}

/// Maximum-similarity one-to-one matching (the linear assignment problem), with every row free to stay unmatched
/// at value `minimumSimilarity`: each row gets a private "unmatched" option, so the problem is always feasible
/// and no row is forced onto a poor or absent candidate.
public enum LinearAssignment {
    /// Dense Hungarian algorithm (Jonker–Volgenant shortest augmenting paths with potentials), O(n²·(m + n)) time
    /// and O(n + m) memory beyond the matrix: for up to a few thousand rows.
    public static func solveDense(similarity: [Float], rows n: Int, columns m: Int, minimumSimilarity floor: Float = 0) -> Assignment {
        precondition(similarity.count == n * m, "similarity is not rows × columns")
        let mm = m + n  // real columns, then one private unmatched column per row
        let forbidden = 1e9
        @inline(__always) func cost(_ i: Int, _ j: Int) -> Double {
            if j < m { return -Double(similarity[i * m + j]) }
            return j - m == i ? -Double(floor) : forbidden
        }
        // 1-based: row 0 / column 0 are the algorithm's sentinels.
        var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: mm + 1)
        var p = [Int](repeating: 0, count: mm + 1), way = [Int](repeating: 0, count: mm + 1)
        var minv = [Double](repeating: .infinity, count: mm + 1)
        var used = [Bool](repeating: false, count: mm + 1)
        for i in 1 ... max(n, 1) where n > 0 {
            p[0] = i
            var j0 = 0
            for j in 0 ... mm {
                minv[j] = .infinity
                used[j] = false
            }
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = Double.infinity, j1 = 0
                for j in 1 ... mm where !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if cur < minv[j] {
                        minv[j] = cur
                        way[j] = j0
                    }
                    if minv[j] < delta {
                        delta = minv[j]
                        j1 = j
                    }
                }
                for j in 0 ... mm {
                    if used[j] {
                        u[p[j]] += delta
                        v[j] -= delta
                    } else {
                        minv[j] -= delta
                    }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var columnOf = [Int](repeating: -1, count: n), sim = [Float](repeating: .nan, count: n)
        for j in 1 ... mm where p[j] > 0 && j - 1 < m {
            columnOf[p[j] - 1] = j - 1
            sim[p[j] - 1] = similarity[(p[j] - 1) * m + j - 1]
        }
        return Assignment(columnOf: columnOf, similarity: sim, columns: m)
    }

    /// Sparse successive shortest augmenting paths (Dijkstra on reduced costs with column potentials, one search per
    /// row): exact for the candidate graph, and fast when most rows find a free good candidate. Rows whose candidates
    /// are all taken or below `minimumSimilarity` stay unmatched.
    public static func solveSparse(_ g: CandidateGraph, minimumSimilarity floor: Float = 0) -> Assignment {
        let n = g.rows, m = g.columns, mm = m + n
        let dummyCost = -Double(floor)
        var v = [Double](repeating: 0, count: mm)
        var colRow = [Int32](repeating: -1, count: mm)
        var rowCol = [Int](repeating: -1, count: n)
        var rowCost = [Double](repeating: 0, count: n)
        var dist = [Double](repeating: .infinity, count: mm)
        var pred = [Int32](repeating: -1, count: mm)
        var final = [Bool](repeating: false, count: mm)
        var touched: [Int] = [], finalized: [Int] = []
        var heap = MinHeap()

        for s in 0 ..< n {
            // u_s makes every reduced cost of row s non-negative.
            var us = dummyCost - v[m + s]
            for e in g.offsets[s] ..< g.offsets[s + 1] { us = min(us, -Double(g.similarity[e]) - v[Int(g.column[e])]) }
            @inline(__always) func relax(_ i: Int, _ ui: Double, _ d0: Double) {
                for e in g.offsets[i] ..< g.offsets[i + 1] {
                    let j = Int(g.column[e])
                    if final[j] { continue }
                    let nd = d0 + (-Double(g.similarity[e]) - ui - v[j])
                    if nd < dist[j] {
                        if dist[j] == .infinity { touched.append(j) }
                        dist[j] = nd
                        pred[j] = Int32(i)
                        heap.push(nd, j)
                    }
                }
                let j = m + i
                if !final[j] {
                    let nd = d0 + (dummyCost - ui - v[j])
                    if nd < dist[j] {
                        if dist[j] == .infinity { touched.append(j) }
                        dist[j] = nd
                        pred[j] = Int32(i)
                        heap.push(nd, j)
                    }
                }
            }
            relax(s, us, 0)
            var sink = -1, delta = 0.0
            while let (d, j) = heap.pop() {
                if final[j] || d > dist[j] { continue }
                final[j] = true
                finalized.append(j)
                let i = Int(colRow[j])
                if i < 0 {
                    sink = j
                    delta = d
                    break
                }
                relax(i, rowCost[i] - v[j], d)
            }
            precondition(sink >= 0, "the private unmatched column keeps every row feasible")
            for j in finalized { v[j] -= delta - dist[j] }
            // Augment along the predecessors.
            var j = sink
            while true {
                let i = Int(pred[j])
                let previous = rowCol[i]
                rowCol[i] = j
                colRow[j] = Int32(i)
                rowCost[i] = j >= m ? dummyCost : edgeCost(g, i, j)
                if i == s { break }
                j = previous
            }
            for t in touched {
                dist[t] = .infinity
                final[t] = false
            }
            touched.removeAll(keepingCapacity: true)
            finalized.removeAll(keepingCapacity: true)
            heap.removeAll()
        }
        var columnOf = [Int](repeating: -1, count: n), sim = [Float](repeating: .nan, count: n)
        for i in 0 ..< n where rowCol[i] >= 0 && rowCol[i] < m {
            columnOf[i] = rowCol[i]
            sim[i] = Float(-rowCost[i])
        }
        return Assignment(columnOf: columnOf, similarity: sim, columns: m)
    }

    static func edgeCost(_ g: CandidateGraph, _ i: Int, _ j: Int) -> Double {
        for e in g.offsets[i] ..< g.offsets[i + 1] where Int(g.column[e]) == j { return -Double(g.similarity[e]) }
        preconditionFailure("edge (\(i), \(j)) is not in the graph")
    }
}

/// A binary min-heap of (key, column) pairs; ties pop the smaller column first.
struct MinHeap {
    private var keys: [Double] = []
    private var items: [Int] = []

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
    }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        keys[a] < keys[b] || (keys[a] == keys[b] && items[a] < items[b])
    }

    mutating func push(_ key: Double, _ item: Int) {
        keys.append(key)
        items.append(item)
        var c = keys.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard less(c, p) else { break }
            keys.swapAt(c, p)
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> (Double, Int)? {
        guard let k = keys.first, let it = items.first else { return nil }
        let last = keys.count - 1
        keys.swapAt(0, last)
        items.swapAt(0, last)
        keys.removeLast()
        items.removeLast()
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < keys.count && less(l, m) { m = l }
            if r < keys.count && less(r, m) { m = r }
            if m == p { break }
            keys.swapAt(p, m)
            items.swapAt(p, m)
            p = m
        }
        return (k, it)
    }
}
