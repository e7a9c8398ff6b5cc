import Foundation
import LatentCache
import TerminalUI
import XCTest
@testable import BrowserAdapters

/// Search over every latent's top tokens in a real cache, whatever rows the list has read.
final class CacheSearchIndexTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("search") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// `searchTokens` is the distinct tokens at the peaks of the 8 strongest windows, read from the record.
    func testSearchTokensAreThePeaksOfTheTopWindows() throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root))
        let part = data.cache.parts[0]
        for latent in [0, 3, 39] {
            let r = try part.record(latent)
            var expected: [String] = []
            for w in r.top.prefix(8) {
                let peak = w.activations.indices.max { w.activations[$0] < w.activations[$1] } ?? 0
                let t = part.displayString(w.tokens[peak])
                if !expected.contains(t) { expected.append(t) }
            }
            XCTAssertFalse(expected.isEmpty)
            XCTAssertEqual(data.searchTokens(part: 0, latent: latent), expected, "latent \(latent)")
        }
        XCTAssertEqual(data.searchTokens(part: 0, latent: 40), [])
        XCTAssertEqual(data.searchTokens(part: 5, latent: 0), [])
    }

    /// With the record budget spent (list rows carry no top tokens, as during a scan of a big cache),
    /// the search still finds every latent whose top tokens contain the text, through the index.
    func testSearchFindsEveryLatentByTopTokenThroughTheIndex() async throws {
        let data = try CacheBrowserData(path: try CacheFixtures.build(at: root))
        while data.recordBudget.take() {}
        XCTAssertEqual(data.summary(part: 0, latent: 33).topTokens, [], "rationed: no tokens in list rows")
        // Latent l < 39 fires on tokens ≡ l (mod 10): " w13" (id 13) is a top token of latents 3, 13, 23, 33.
        let expected = (0 ..< 40).filter { data.searchTokens(part: 0, latent: $0).contains(" w13") }.map { Int32($0) }
        XCTAssertEqual(expected, [3, 13, 23, 33])
        var s = await Session(data: data)
        await s.keys(.char("/"))
        XCTAssertEqual(s.state.tokenIndex[0], TokenIndexProgress(indexed: 40, total: 40))
        for c in "w13" { await s.keys(.char(c)) }
        XCTAssertEqual(s.state.list.rows, expected)
        XCTAssertTrue(s.screen.contains("#33"), s.screen)
    }
}
