import BrowserAdapters
import Foundation
import LatentCache
import SparseAutoencoders
import XCTest

/// The bundled `sample-data/`: what `featurescope` with no arguments opens. Checks that it is intact (every
/// CRC), complete (two hook_z parts of 4,608 latents over 999,936 tokens, ≥ 300 explanations and ≥ 100
/// detection + fuzz scores per part), that its SAEs load and are the ones the cache was built with, that its
/// evaluation report is there, and that it stays within the repository's 48 MiB budget.
final class SampleDataTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("sample-data").path

    func testSampleCacheIsIntactAndComplete() throws {
        let path = Self.root + "/cache"
        let (cache, kind, imported) = try BrowserSource.open(path, useDefaultModel: false)
        XCTAssertEqual(kind, .cache)
        XCTAssertFalse(imported)
        try cache.verify()

        // The 1M-token activation collection in whole rows: 3,906 rows of 256 tokens, spread over the corpus.
        XCTAssertEqual(cache.tokens.tokenCount, 3906 * 256)
        XCTAssertEqual(cache.parts.map(\.hook), ["blocks.3.attn.hook_z", "blocks.12.attn.hook_z"])
        let host = EngineHost(cache: cache)
        for (p, part) in cache.parts.enumerated() {
            XCTAssertEqual(part.latentCount, 4608, part.hook)
            var explained = 0, scored = 0, firing = 0
            for i in 0 ..< part.latentCount {
                let s = try part.summary(i)
                if s.firingCount > 0 { firing += 1 }
                if s.explanationPreview != nil { explained += 1 }
                if s.bestDetection != nil && s.bestFuzz != nil { scored += 1 }
            }
            print("[sample] \(part.hook): \(firing) latents fire, \(explained) explained, \(scored) with detection + fuzz")
            XCTAssertGreaterThanOrEqual(explained, 300, part.hook)
            XCTAssertGreaterThanOrEqual(scored, 100, part.hook)
            XCTAssertGreaterThan(firing, part.latentCount * 9 / 10, part.hook)

            // The SAE beside the cache is the one the cache was built with.
            let folder = try XCTUnwrap(host.saeFolder(part: p), "SAE of \(part.hook) not found")
            let sae = try SparseAutoencoder.load(folder: folder)
            XCTAssertEqual(sae.provenance.weightsSHA256, part.sae?.sha256, part.hook)
            XCTAssertEqual(sae.dSAE, part.latentCount)
        }
    }

    func testEvaluationReportAndSizeBudget() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/eval/eval-sae.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["hook"] as? String }, ["blocks.3.attn.hook_z", "blocks.12.attn.hook_z"])
        for r in results {
            let fvu = try XCTUnwrap(r["fvu"] as? Double)
            XCTAssertTrue(fvu > 0 && fvu < 0.3, "FVU \(fvu)")
            XCTAssertEqual(r["meanL0"] as? Double, 32)
        }

        var total = 0
        let e = FileManager.default.enumerator(atPath: Self.root)
        while let rel = e?.nextObject() as? String {
            let a = try FileManager.default.attributesOfItem(atPath: Self.root + "/" + rel)
            if (a[.type] as? FileAttributeType) == .typeRegular { total += (a[.size] as? NSNumber)?.intValue ?? 0 }
        }
        print("[sample] sample-data/ holds \(total) bytes")
        XCTAssertLessThanOrEqual(total, 48 << 20)
    }
}
