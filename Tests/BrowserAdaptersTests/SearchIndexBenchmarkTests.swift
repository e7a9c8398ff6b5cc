import Foundation
import XCTest
@testable import BrowserAdapters

final class SearchIndexBenchmarkTests: XCTestCase {
    /// The benchmark runs on a small cache and reports consistent numbers.
    func testBenchmarkReportsIndexAndSearchTimes() throws {
        let root = CacheFixtures.temporaryDirectory("bench")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try SearchIndexBenchmark.run(path: try CacheFixtures.build(at: root), queries: ["w13", "zzz"])
        XCTAssertEqual(r.latents, 40)
        XCTAssertGreaterThan(r.indexMs, 0)
        XCTAssertEqual(r.searches.map(\.query), ["w13", "zzz"])
        XCTAssertEqual(r.searches[0].tokenMatches, 4)
        XCTAssertEqual(r.searches[1].matches, 0)
        XCTAssertThrowsError(try SearchIndexBenchmark.run(path: root + "/cache", part: 3))
    }

    /// Timings on real caches, only on request: FEATURESCOPE_SEARCH_BENCH=path1:path2 (prints JSON).
    func testMeasureRealCaches() throws {
        guard let paths = ProcessInfo.processInfo.environment["FEATURESCOPE_SEARCH_BENCH"] else {
            throw XCTSkip("set FEATURESCOPE_SEARCH_BENCH=CACHE[:CACHE…] to time the search index on real caches")
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        for p in paths.split(separator: ":").map(String.init) {
            let data = try CacheBrowserData(path: p)
            for part in data.parts.indices {
                let r = try SearchIndexBenchmark.run(path: p, part: part)
                print("[search-bench] " + (String(data: try enc.encode(r), encoding: .utf8) ?? ""))
            }
        }
    }
}
