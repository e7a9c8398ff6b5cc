import BrowserAdapters
import Foundation
import TerminalUI

/// Times the browser's top-token search on a real cache: building one part's index (every latent's
/// record read once) and searches over explanations + the index afterwards. Not a test: timings
/// depend on the machine.
public enum SearchIndexBenchmark {
    /// One search after indexing.
    public struct Search: Sendable, Codable, Equatable {
        public var query: String
        /// Whole list query (explanations, latent numbers, index), as the browser runs it, in ms.
        public var searchMs: Double
        /// The index scan alone, in ms.
        public var indexScanMs: Double
        public var matches: Int
        public var tokenMatches: Int
    }

    public struct Result: Sendable, Codable, Equatable {
        public var path: String
        public var part: Int
        public var hook: String
        public var latents: Int
        public var indexMs: Double
        public var indexedLatentsPerSecond: Double
        public var searches: [Search]
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    /// Opens the cache at `path`, indexes `part` and runs each query.
    public static func run(path: String, part: Int = 0, queries: [String] = ["the", "python", " of", "ing"]) throws -> Result {
        let data = try CacheBrowserData(path: path)
        guard data.parts.indices.contains(part) else { throw BrowserError("no part \(part) in \(path) (\(data.parts.count) parts)") }
        let clock = ContinuousClock()
        let index = TopTokenIndex()
        let buildTime = clock.measure { index.build(part: part, data: data, isCancelled: { false }) { _ in } }
        let n = data.parts[part].latentCount
        var searches: [Search] = []
        for q in queries {
            var rows: [Int32] = []
            var hits: [Int32] = []
            let scan = clock.measure { hits = index.matches(part: part, search: q).latents }
            let whole = clock.measure {
                rows = EffectPerformer.computeRows(RowQuery(part: part, sort: SortSpec(), filter: ListFilter(), search: q), data: data, index: index)
            }
            searches.append(Search(query: q, searchMs: ms(whole), indexScanMs: ms(scan), matches: rows.count, tokenMatches: hits.count))
        }
        let seconds = max(1e-9, ms(buildTime) / 1000)
        return Result(path: path, part: part, hook: data.parts[part].hookName, latents: n, indexMs: ms(buildTime),
                      indexedLatentsPerSecond: Double(n) / seconds, searches: searches)
    }
}
