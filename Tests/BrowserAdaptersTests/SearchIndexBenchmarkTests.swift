import Benchmarks
import Foundation
import TerminalUI
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
                // Promoted tokens: first call (opens the model file) and later ones, with a few examples.
                let clock = ContinuousClock()
                var unavailable: String?
                let first = clock.measure {
                    do { _ = try data.promotedTokens(part: part, latent: 0, count: 10) } catch { unavailable = "\(error)" }
                }
                if let unavailable {
                    print("[promoted] \(data.parts[part].hookName): unavailable: \(unavailable)")
                    continue
                }
                var shown = 0
                var later: [Duration] = []
                for l in 1 ..< min(400, data.parts[part].latentCount) {
                    let s = data.summary(part: part, latent: l)
                    guard let e = s.explanation else { continue }
                    var p: PromotedTokens?
                    later.append(try clock.measure { p = try data.promotedTokens(part: part, latent: l, count: 10) })
                    if shown < 4, let p {
                        shown += 1
                        print("[promoted] \(data.parts[part].hookName) #\(l) “\(e)”\n   up: \(p.promoted.map { "\($0.token.debugDescription) \(String(format: "%.2f", $0.logit))" }.joined(separator: ", "))\n   down: \(p.suppressed.prefix(5).map { $0.token.debugDescription }.joined(separator: ", "))")
                    }
                    if later.count >= 20 { break }
                }
                print("[promoted] first call \(first), then median \(later.sorted()[later.count / 2]) per latent")
            }
        }
    }
}
