import Foundation
import XCTest
@testable import LatentCache

/// `verify()` checks every cross-file invariant of docs/cache-format.md (issue 16, D9). Each test
/// corrupts one invariant and recomputes every CRC involved, so only the invariant check can catch it.
final class VerifyInvariantTests: XCTestCase {
    private var tmp: TempDir!
    private var path: String { tmp.sub("cache") }

    override func setUpWithError() throws {
        tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [6, 6], vocab: 100, seed: 9)
        try corpus.build(at: path, examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
    }

    override func tearDown() { tmp = nil }

    private func assertVerifyFails(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ matches: (String) -> Bool) {
        do {
            let cache = try LatentCacheDirectory.open(path)  // opening stays O(1) and lets these through
            try cache.verify()
            XCTFail("\(what): verify passed", file: file, line: line)
        } catch {
            let text = "\(error)"
            XCTAssertTrue(matches(text), "\(what): \(text)", file: file, line: line)
        }
    }

    private func editManifest(_ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: path + "/manifest.json")
        var m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&m)
        try JSONSerialization.data(withJSONObject: m).write(to: url)
    }

    private func append(_ file: String, _ bytes: Int) throws {
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path + "/" + file))
        h.seekToEndOfFile()
        h.write(Data(repeating: 7, count: bytes))
        h.closeFile()
    }

    /// Rewrites index entry `latent` of part 0 with `edit` applied, entry CRC recomputed.
    private func editEntry(_ latent: Int, _ edit: (inout IndexEntry) -> Void) throws {
        let part = try LatentCacheDirectory.open(path).parts[0]
        var e = try part.entry(latent)
        edit(&e)
        var w = ByteWriter(capacity: 64)
        e.encode(into: &w)
        let url = URL(fileURLWithPath: part.directory + "/index.bin")
        var data = try Data(contentsOf: url)
        data.replaceSubrange((64 + 64 * latent) ..< (128 + 64 * latent), with: w.bytes)
        try data.write(to: url)
    }

    /// A latent that fires (on fewer than every token).
    private func firingLatent() throws -> Int {
        let part = try LatentCacheDirectory.open(path).parts[0]
        return try XCTUnwrap((0 ..< 6).first { l in ((try? part.statistics(l).firingCount) ?? 0) > 0
            && ((try? part.statistics(l).firingCount) ?? 0) < part.totalTokens })
    }

    func testIntactCacheVerifies() throws {
        XCTAssertNoThrow(try LatentCacheDirectory.open(path).verify())
    }

    func testManifestRowsDisagreeingWithTokensBin() throws {
        try editManifest { m in
            var t = m["tokens"] as? [String: Any] ?? [:]
            t["rows"] = 5
            m["tokens"] = t
        }
        assertVerifyFails("tokens.rows") { $0.contains("tokens.rows is 5") }
    }

    func testBytesAppendedToTokensBin() throws {
        try append("tokens.bin", 6)
        assertVerifyFails("tokens.bin") { $0.contains("tokens.bin") && $0.contains("its header's 128 tokens") }
    }

    func testBytesAppendedToVocabBin() throws {
        try append("vocab.bin", 3)
        assertVerifyFails("vocab.bin") { $0.contains("vocab.bin") && $0.contains("strings end at") }
    }

    func testPartPointingAtAnotherPartsFolder() throws {
        try editManifest { m in
            var parts = m["parts"] as? [[String: Any]] ?? []
            parts[1]["directory"] = parts[0]["directory"]
            m["parts"] = parts
        }
        assertVerifyFails("shared folder") { $0.contains("part 1 ('blocks.1.hook_resid_post') is in folder 'parts/00-") }
    }

    func testNaNMaximum() throws {
        try editEntry(try firingLatent()) { $0.maxActivation = .nan }
        assertVerifyFails("NaN max") { $0.contains("must be finite") }
    }

    func testDensityAboveOne() throws {
        try editEntry(try firingLatent()) { $0.firingCount = 129 }
        assertVerifyFails("density") { $0.contains("fires on 129 of 128 tokens") }
    }

    func testWindowDensityAboveOne() throws {
        try editEntry(try firingLatent()) { $0.activeWindowCount = 5 }
        assertVerifyFails("window density") { $0.contains("5 active windows of 4") }
    }

    func testIndexAndRecordDisagree() throws {
        try editEntry(try firingLatent()) { $0.firingCount += 1 }
        assertVerifyFails("histogram") { $0.contains("histogram counts") }
    }

    func testMeanAboveMaximum() throws {
        try editEntry(try firingLatent()) { $0.meanActivation = $0.maxActivation * 2 }
        assertVerifyFails("mean") { $0.contains("0 < mean ≤ max") }
    }
}
