import FeaturescopeCore
import XCTest
@testable import LatentGeometry

final class LinearAssignmentTests: XCTestCase {
    /// The best total over every partial matching (each row: one allowed column not yet used, or unmatched at `floor`).
    static func bruteForce(_ allowed: [[(Int, Float)]], columns: Int, floor: Float) -> Double {
        var used = [Bool](repeating: false, count: columns)
        func go(_ r: Int) -> Double {
            if r == allowed.count { return 0 }
            var best = Double(floor) + go(r + 1)
            for (c, s) in allowed[r] where !used[c] {
                used[c] = true
                best = max(best, Double(s) + go(r + 1))
                used[c] = false
            }
            return best
        }
        return go(0)
    }

    /// The solver's objective: matched similarities plus `floor` for each unmatched row.
    static func objective(_ a: Assignment, floor: Float) -> Double {
        a.total + Double(a.columnOf.count - a.matchedCount) * Double(floor)
    }

    func testDenseAndSparseAreOptimalOnRandomMatrices() {
        var rng = SplitMix64(seed: 11)
        for trial in 0 ..< 60 {
            let n = 1 + rng.below(6), m = 1 + rng.below(6)
            let floor: Float = trial % 3 == 0 ? 0 : Float(rng.unit()) * 0.5
            let s = (0 ..< n * m).map { _ in Float(rng.unit() * 2 - 1) }
            let allowed = (0 ..< n).map { i in (0 ..< m).map { ($0, s[i * m + $0]) } }
            let best = Self.bruteForce(allowed, columns: m, floor: floor)
            let dense = LinearAssignment.solveDense(similarity: s, rows: n, columns: m, minimumSimilarity: floor)
            let sparse = LinearAssignment.solveSparse(CandidateGraph(dense: s, rows: n, columns: m), minimumSimilarity: floor)
            XCTAssertEqual(Self.objective(dense, floor: floor), best, accuracy: 1e-5, "trial \(trial) dense \(n)×\(m)")
            XCTAssertEqual(Self.objective(sparse, floor: floor), best, accuracy: 1e-5, "trial \(trial) sparse \(n)×\(m)")
            for a in [dense, sparse] {
                let cols = a.columnOf.filter { $0 >= 0 }
                XCTAssertEqual(Set(cols).count, cols.count, "a column used twice")
                for (i, c) in a.columnOf.enumerated() where c >= 0 {
                    XCTAssertEqual(a.similarity[i], s[i * m + c])
                    XCTAssertGreaterThanOrEqual(a.similarity[i], floor)
                }
            }
        }
    }

    func testSparseIsOptimalOnPartialGraphsAndLeavesRowsWithoutCandidatesUnmatched() {
        var rng = SplitMix64(seed: 12)
        for trial in 0 ..< 60 {
            let n = 1 + rng.below(7), m = 1 + rng.below(7)
            var fwd: [[(index: Int, value: Float)]] = []
            for _ in 0 ..< n {
                var row: [(index: Int, value: Float)] = []
                for c in 0 ..< m where rng.unit() < 0.4 { row.append((c, Float(rng.unit()))) }
                row.sort { $0.value > $1.value }
                fwd.append(row)
            }
            let g = CandidateGraph(forward: NeighbourTable(rows: fwd, k: m), columns: m)
            let a = LinearAssignment.solveSparse(g, minimumSimilarity: 0.05)
            let best = Self.bruteForce(fwd.map { $0.map { ($0.index, $0.value) } }, columns: m, floor: 0.05)
            XCTAssertEqual(Self.objective(a, floor: 0.05), best, accuracy: 1e-5, "trial \(trial)")
            for (i, row) in fwd.enumerated() where row.isEmpty { XCTAssertEqual(a.columnOf[i], -1) }
        }
    }

    func testCandidateGraphMergesBothDirections() {
        let fwd = NeighbourTable(rows: [[(1, 0.9)], [(1, 0.8)]], k: 1)
        let bwd = NeighbourTable(rows: [[(1, 0.7)], [(0, 0.9)], [(0, 0.2)]], k: 1)
        let g = CandidateGraph(forward: fwd, backward: bwd, columns: 3)
        XCTAssertEqual(Array(g.column[g.offsets[0] ..< g.offsets[1]]), [1, 2])
        XCTAssertEqual(Array(g.column[g.offsets[1] ..< g.offsets[2]]), [0, 1])
        // Row 1 wants column 1 (0.8) but row 0 holds it at 0.9; column 0 reached row 1 only through the backward table.
        let a = LinearAssignment.solveSparse(g)
        XCTAssertEqual(a.columnOf, [1, 0])
        XCTAssertEqual(a.unmatchedColumns, [2])
    }
}
