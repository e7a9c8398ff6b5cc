import BrowserAdapters
import Foundation
import SparseAutoencoders
import TerminalUI
import XCTest

/// The similar-latents panel's data on the bundled sample: decoder neighbours against a brute-force cosine scan,
/// and the aligned match pointing into the other layer.
final class NeighboursTests: XCTestCase {
    func testSampleNeighboursMatchBruteForce() throws {
        let data = try CacheBrowserData(path: SampleDataTests.root + "/cache")
        let latent = 100
        let n = try data.neighbours(part: 0, latent: latent)
        XCTAssertEqual(n.groups.map(\.title).prefix(3), ["decoder cosine", "encoder cosine", "co-occurrence (Jaccard of firing tokens)"])
        let sae = try data.engine.sae(part: 0)
        let d = sae.dIn
        func cos(_ a: Int, _ b: Int) -> Double {
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0 ..< d {
                let x = Double(sae.decoderWeight[a * d + j]), y = Double(sae.decoderWeight[b * d + j])
                dot += x * y; na += x * x; nb += y * y
            }
            return dot / (na * nb).squareRoot()
        }
        let ref = (0 ..< sae.dSAE).filter { $0 != latent }.map { ($0, cos(latent, $0)) }.sorted { $0.1 > $1.1 }.prefix(8)
        let dec = n.groups[0].entries
        XCTAssertEqual(dec.map(\.latent), ref.map(\.0))
        for (g, e) in zip(dec, ref) { XCTAssertEqual(g.score, e.1, accuracy: 1e-4) }
        XCTAssertEqual(n.groups[2].note?.contains("stored example windows"), true)
        let aligned = try XCTUnwrap(n.groups.last)
        XCTAssertEqual(aligned.part, 1)
        XCTAssertTrue(aligned.title.contains("blocks.12.attn.hook_z"))
        XCTAssertLessThanOrEqual(aligned.entries.count, 1)
    }
}
