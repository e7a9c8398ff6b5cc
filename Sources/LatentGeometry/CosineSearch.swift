import CBLAS
import CKernels
import FeaturescopeCore
import Foundation

/// Settings of a top-k cosine search.
public struct CosineSearchOptions: Sendable {
    /// Neighbours kept per query row.
    public var k: Int
    /// Queries and keys are the same matrix: a row is not its own neighbour.
    public var excludeSelf: Bool
    /// When set, candidates are found in a random `projection`-dimensional Gaussian projection of the rows (a
    /// Johnson–Lindenstrauss sketch, cheaper by dim / projection) and the best `candidates` of each row are then
    /// re-scored exactly in the full space. nil: exact search.
    public var projection: Int?
    /// Candidates re-scored per row in projection mode (at least k).
    public var candidates: Int
    /// Rows × columns of one similarity tile per worker (4 bytes each; the default 2 MB stays in cache).
    public var blockRows: Int
    public var blockColumns: Int
    /// Seed of the projection.
    public var seed: UInt64
    /// Threads multiplying and selecting (nil: one per core).
    public var workers: Int?

    public init(k: Int = 10, excludeSelf: Bool = false, projection: Int? = nil, candidates: Int = 64, blockRows: Int = 256,
                blockColumns: Int = 2048, seed: UInt64 = 0x6c61_7465_6e74, workers: Int? = nil) {
        self.workers = workers
        self.k = k
        self.excludeSelf = excludeSelf
        self.projection = projection
        self.candidates = candidates
        self.blockRows = blockRows
        self.blockColumns = blockColumns
        self.seed = seed
    }
}

public enum GeometryError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case cancelled

    public var description: String {
        switch self {
        case .shape(let s): return "shape mismatch: \(s)"
        case .cancelled: return "cancelled"
        }
    }
}

/// Top-k cosine similarity between the rows of two matrices (decoder or encoder directions), in blocks through
/// BLAS: memory is the inputs plus one blockRows × blockColumns tile, whatever the number of rows.
public enum CosineSearch {
    /// A row-normalised copy of a rows × dim row-major matrix; zero rows stay zero (similarity 0 to everything).
    public static func normalizedRows(_ m: [Float], rows: Int, dim: Int) -> [Float] {
        var out = m
        out.withUnsafeMutableBufferPointer { p in
            for r in 0 ..< rows {
                let row = p.baseAddress! + r * dim
                let n = cblas_snrm2(Int32(dim), row, 1)
                if n > 0 && n.isFinite { cblas_sscal(Int32(dim), 1 / n, row, 1) }
            }
        }
        return out
    }

    /// The transpose of a rows × cols row-major matrix (e.g. W_enc [d_in, d_sae] → one row per latent).
    public static func transpose(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        let tile = 64
        m.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r0 in stride(from: 0, to: rows, by: tile) {
                    for c0 in stride(from: 0, to: cols, by: tile) {
                        for r in r0 ..< min(r0 + tile, rows) {
                            for c in c0 ..< min(c0 + tile, cols) { dst[c * rows + r] = src[r * cols + c] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The k most cosine-similar key rows of every query row (both rows × dim, row-major; they need not be
    /// normalised). `progress` gets the fraction done; `isCancelled` is polled between blocks.
    public static func topK(queries: [Float], keys: [Float], dim: Int, options: CosineSearchOptions,
                            progress: (@Sendable (Double) -> Void)? = nil,
                            isCancelled: (@Sendable () -> Bool)? = nil) throws -> NeighbourTable {
        try search(queries, keys, dim: dim, options: options, bothWays: false, progress: progress, isCancelled: isCancelled).0
    }

    /// Both directions from one pass over the similarity matrix: each query row's k best keys and each key row's
    /// k best queries (half the work of two searches).
    public static func topKBothWays(_ a: [Float], _ b: [Float], dim: Int, options: CosineSearchOptions,
                                    progress: (@Sendable (Double) -> Void)? = nil,
                                    isCancelled: (@Sendable () -> Bool)? = nil) throws -> (aToB: NeighbourTable, bToA: NeighbourTable) {
        let r = try search(a, b, dim: dim, options: options, bothWays: true, progress: progress, isCancelled: isCancelled)
        return (r.0, r.1!)
    }

    static func search(_ queries: [Float], _ keys: [Float], dim: Int, options: CosineSearchOptions, bothWays: Bool,
                       progress: (@Sendable (Double) -> Void)?, isCancelled: (@Sendable () -> Bool)?) throws -> (NeighbourTable, NeighbourTable?) {
        guard dim > 0, queries.count % dim == 0, keys.count % dim == 0 else {
            throw GeometryError.shape("matrices of \(queries.count) and \(keys.count) values are not rows of \(dim)")
        }
        let nq = queries.count / dim, nk = keys.count / dim
        if options.excludeSelf && nq != nk { throw GeometryError.shape("excludeSelf needs as many queries (\(nq)) as keys (\(nk))") }
        let q = normalizedRows(queries, rows: nq, dim: dim)
        let kn = normalizedRows(keys, rows: nk, dim: dim)
        guard let p = options.projection, p < dim else {
            return try exact(q, kn, dim: dim, k: options.k, options: options, columnsToo: bothWays, progress: progress, isCancelled: isCancelled)
        }
        // Candidates in the projected space, then exact re-scoring.
        var rng = Xoshiro256StarStar(seed: options.seed)
        var g = [Float](repeating: 0, count: dim * p)
        for i in g.indices { g[i] = rng.nextGaussian() }
        let qp = normalizedRows(multiply(q, rows: nq, dim: dim, by: g, cols: p), rows: nq, dim: p)
        let kp = normalizedRows(multiply(kn, rows: nk, dim: dim, by: g, cols: p), rows: nk, dim: p)
        let c = max(options.candidates, options.k)
        let coarse = try exact(qp, kp, dim: p, k: c, options: options, columnsToo: bothWays, progress: { progress?(0.97 * $0) },
                               isCancelled: isCancelled)
        let forward = rescore(coarse.0, q, kn, dim: dim, k: options.k)
        let backward = coarse.1.map { rescore($0, kn, q, dim: dim, k: options.k) }
        progress?(1)
        return (forward, backward)
    }

    /// Re-scores each row's candidates exactly (full-dimensional dot products of normalised rows) and keeps the best k.
    static func rescore(_ coarse: NeighbourTable, _ q: [Float], _ kn: [Float], dim: Int, k: Int) -> NeighbourTable {
        let nq = coarse.rows, c = coarse.k
        var out = NeighbourTable(rows: nq, k: k)
        let lists = ListBox(count: nq, capacity: k)
        let chunk = 256
        DispatchQueue.concurrentPerform(iterations: (nq + chunk - 1) / chunk) { ci in
            q.withUnsafeBufferPointer { qb in
                kn.withUnsafeBufferPointer { kb in
                    for r in ci * chunk ..< min(nq, ci * chunk + chunk) {
                        for i in 0 ..< c {
                            let j = coarse.indices[r * c + i]
                            if j < 0 { break }
                            let s = dotProduct(qb.baseAddress! + r * dim, kb.baseAddress! + Int(j) * dim, dim)
                            lists.pointer[r].insert(s, j)
                        }
                    }
                }
            }
        }
        for r in 0 ..< nq { out.set(row: r, lists.pointer[r]) }
        return out
    }

    /// rows × dim times dim × cols.
    static func multiply(_ a: [Float], rows: Int, dim: Int, by b: [Float], cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols), Int32(dim), 1, a, Int32(dim), b, Int32(cols),
                    0, &out, Int32(cols))
        return out
    }

    /// Exact blocked search over normalised rows. Row blocks are dealt out to one worker per core; each worker
    /// computes its own cache-sized tile with `ck_dot_tile` (no BLAS on worker threads: OpenBLAS 0.3.21 deadlocked in
    /// `exec_blas_async_wait` once when its thread count was switched to 1 around a BLAS-calling search and back)
    /// and selects from it while it is still in cache (row lists of its own rows, and column lists of its own,
    /// merged at the end), so nothing is shared between workers and ties are broken by index whatever the split.
    static func exact(_ q: [Float], _ kn: [Float], dim: Int, k: Int, options: CosineSearchOptions, columnsToo: Bool = false,
                      progress: (@Sendable (Double) -> Void)?, isCancelled: (@Sendable () -> Bool)?) throws -> (NeighbourTable, NeighbourTable?) {
        let nq = q.count / dim, nk = kn.count / dim
        var out = NeighbourTable(rows: nq, k: k)
        var colOut: NeighbourTable? = columnsToo ? NeighbourTable(rows: nk, k: k) : nil
        guard nq > 0, nk > 0, k > 0 else { return (out, colOut) }
        let br = max(1, min(options.blockRows, nq)), bc = max(1, min(options.blockColumns, nk))
        let blocks = (nq + br - 1) / br
        let workers = max(1, min(options.workers ?? ProcessInfo.processInfo.activeProcessorCount, blocks))
        let rowLists = ListBox(count: nq, capacity: k)
        let colLists = columnsToo ? (0 ..< workers).map { _ in ListBox(count: nk, capacity: k) } : []
        let tiles = (0 ..< workers).map { _ in FloatBuffer(count: br * bc) }
        let packs = (0 ..< workers).map { _ in FloatBuffer(count: ck_dot_tile_pack_floats(Int32(bc), Int32(dim))) }
        let state = SearchState()
        let excludeSelf = options.excludeSelf
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            q.withUnsafeBufferPointer { qb in
                kn.withUnsafeBufferPointer { kb in
                    let qp = qb.baseAddress!, kp = kb.baseAddress!
                    let tile = tiles[w].pointer, pack = packs[w].pointer
                    var b = w
                    while b < blocks {
                        if state.cancelled || isCancelled?() == true { state.cancel(); return }
                        let r0 = b * br, rows = min(br, nq - r0)
                        for c0 in stride(from: 0, to: nk, by: bc) {
                            let cols = min(bc, nk - c0)
                            ck_dot_tile(qp + r0 * dim, Int32(rows), kp + c0 * dim, Int32(cols), Int32(dim), tile, Int32(cols), pack)
                            for i in 0 ..< rows {
                                select(tile + i * cols, count: cols, offset: c0, skip: excludeSelf ? r0 + i - c0 : -1,
                                       into: &rowLists.pointer[r0 + i])
                            }
                            if columnsToo {
                                let lists = colLists[w].pointer.baseAddress! + c0
                                for first in stride(from: 0, to: cols, by: 16) {
                                    selectColumns(tile, rows: rows, cols: cols, first: first, rowOffset: r0, lists: lists)
                                }
                            }
                        }
                        let done = state.add(rows)
                        if let progress { progress(Double(done) / Double(nq)) }
                        b += workers
                    }
                }
            }
        }
        if state.cancelled { throw GeometryError.cancelled }
        for r in 0 ..< nq { out.set(row: r, rowLists.pointer[r]) }
        if columnsToo {
            for c in 0 ..< nk {
                var merged = colLists[0].pointer[c]
                for w in 1 ..< workers {
                    let l = colLists[w].pointer[c]
                    for e in 0 ..< l.count { merged.insert(l.values[e], l.indices[e]) }
                }
                colOut?.set(row: c, merged)
            }
        }
        return (out, colOut)
    }

    /// Offers the rows of up to 16 tile columns (from `first`) to those columns' lists, 16 values per row at once.
    static func selectColumns(_ tile: UnsafeMutablePointer<Float>, rows: Int, cols: Int, first: Int, rowOffset: Int,
                              lists: UnsafeMutablePointer<TopKList>) {
        let width = min(16, cols - first)
        var t = SIMD16<Float>(repeating: .infinity)
        for e in 0 ..< width { t[e] = lists[first + e].threshold }
        let raw = UnsafeRawPointer(tile)
        var i = 0
        if width == 16 {
            // Groups of 8 rows without a value above the thresholds are skipped in C (AVX2); only hit groups come here.
            var tt = [Float](repeating: 0, count: 16)
            while i < rows {
                for e in 0 ..< 16 { tt[e] = t[e] }
                i = Int(ck_scan_rows_ge(tile, Int32(rows), Int32(cols), Int32(first), Int32(i), tt))
                guard i < rows else { return }
                for ii in i ..< min(rows, i + 8) {
                    let v = raw.loadUnaligned(fromByteOffset: (ii * cols + first) * 4, as: SIMD16<Float>.self)
                    for e in 0 ..< 16 where v[e] >= t[e] && v[e] > -.infinity {
                        lists[first + e].insert(v[e], Int32(rowOffset + ii))
                        t[e] = lists[first + e].threshold
                    }
                }
                i += 8
            }
            return
        }
        while i < rows {
            defer { i += 1 }
            let base = i * cols + first
            let v: SIMD16<Float>
            if width == 16 {
                v = raw.loadUnaligned(fromByteOffset: base * 4, as: SIMD16<Float>.self)
            } else {
                var w = SIMD16<Float>(repeating: -.infinity)
                for e in 0 ..< width { w[e] = tile[base + e] }
                v = w
            }
            if any(v .>= t) {
                for e in 0 ..< width where v[e] >= t[e] && v[e] > -.infinity {
                    lists[first + e].insert(v[e], Int32(rowOffset + i))
                    t[e] = lists[first + e].threshold
                }
            }
        }
    }

    /// Offers one row of a tile to a top-k list, eight values at a time against the list's threshold.
    @inline(__always)
    static func select(_ row: UnsafeMutablePointer<Float>, count: Int, offset: Int, skip: Int, into list: inout TopKList) {
        if skip >= 0 && skip < count { row[skip] = -.infinity }
        var j = 0
        var t = list.threshold
        let raw = UnsafeRawPointer(row)
        // Blocks of 32 values without one above the threshold are skipped in C (AVX2); only hit blocks come here.
        while j < count {
            j += Int(ck_scan_ge(row + j, Int32(count - j), t))
            guard j < count else { return }
            for e in j ..< min(count, j + 32) where row[e] >= t && row[e] > -.infinity {
                list.insert(row[e], Int32(offset + e))
                t = list.threshold
            }
            j += 32
        }
        while j + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            if any(v .>= SIMD8(repeating: t)) {
                for e in 0 ..< 8 where v[e] >= t && v[e] > -.infinity {
                    list.insert(v[e], Int32(offset + j + e))
                    t = list.threshold
                }
            }
            j += 8
        }
        while j < count {
            let v = row[j]
            if v >= t && v > -.infinity {
                list.insert(v, Int32(offset + j))
                t = list.threshold
            }
            j += 1
        }
    }
}

/// Rows done and the cancelled flag, shared by the search workers.
final class SearchState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var stopped = false
    var cancelled: Bool { lock.withLock { stopped } }
    func cancel() { lock.withLock { stopped = true } }
    func add(_ n: Int) -> Int { lock.withLock { done += n; return done } }
}

/// Per-row top-k lists written by concurrent workers, each worker its own rows.
final class ListBox: @unchecked Sendable {
    let pointer: UnsafeMutableBufferPointer<TopKList>
    init(count: Int, capacity: Int) {
        pointer = .allocate(capacity: count)
        _ = pointer.initialize(from: (0 ..< count).map { _ in TopKList(capacity: capacity) })
    }
    deinit {
        pointer.deinitialize()
        pointer.deallocate()
    }
}

extension CosineSearch {
    /// The full rows(a) × rows(b) matrix of dot products of two row-major matrices with `dim` columns.
    public static func multiplyTransposed(_ a: [Float], rows na: Int, by b: [Float], rows nb: Int, dim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: na * nb)
        guard na > 0, nb > 0 else { return out }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(na), Int32(nb), Int32(dim), 1, a, Int32(dim), b, Int32(dim),
                    0, &out, Int32(nb))
        return out
    }
}
