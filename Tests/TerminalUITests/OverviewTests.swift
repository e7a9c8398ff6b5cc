import Foundation
import XCTest
@testable import TerminalUI

/// A cache whose densities, max activations, explanations and scores are known by construction.
final class KnownDensityData: BrowserDataSource, @unchecked Sendable {
    let n = 200
    let tokens = 1_000_000.0
    var parts: [PartInfo] { [PartInfo(hookName: "blocks.3.hook_resid_post", dSAE: n)] }

    /// latent i: dead for i < 10; dense (20 %) for 10…14; else density 10^-(2 + (i mod 4)) (four decades, 46 each);
    /// max activation i / 10; explained when even; detection (i mod 10) / 10 when i mod 3 == 0.
    func summary(part: Int, latent i: Int) -> BrowserLatentSummary {
        let density: Double = i < 10 ? 0 : (i < 15 ? 0.2 : pow(10, -Double(2 + i % 4)))
        return BrowserLatentSummary(index: i, explanation: i % 2 == 0 ? "latent \(i)" : nil, density: density,
                                    maxActivation: i < 10 ? 0 : Float(i) / 10,
                                    detection: i % 3 == 0 ? Double(i % 10) / 10 : nil, fuzz: nil)
    }
    func detail(part: Int, latent: Int) throws -> LatentDetail { throw BrowserError("no detail") }
    func scorers(part: Int, latent: Int) -> [String] { [] }
    func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] { [] }
    func headAttribution(part: Int, latent: Int) -> [Float]? { nil }
    func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws {}
}

final class OverviewTests: XCTestCase {
    func testHistogramsCountTheKnownDensities() throws {
        let data = KnownDensityData()
        let o = try XCTUnwrap(PartOverview.compute(part: 0, data: data))
        XCTAssertEqual(o.latents, 200)
        XCTAssertEqual(o.dead, 10)
        XCTAssertEqual(o.dense, 5)
        XCTAssertEqual(o.explained, 100)
        XCTAssertEqual(o.scored, (0 ..< 200).filter { $0 % 3 == 0 }.count)
        let expectedL0 = (0 ..< 200).map { data.summary(part: 0, latent: $0).density }.reduce(0, +)
        XCTAssertEqual(o.meanL0, expectedL0, accuracy: 1e-12)
        let d = try XCTUnwrap(o.histogram(.density))
        XCTAssertEqual(d.missing, 10)
        XCTAssertEqual(d.counts.reduce(0, +), 190)
        // 185 latents spread over the decades 1e-2…1e-5: each lands in the bin starting at its exponent.
        for e in 2 ... 5 {
            let b = try XCTUnwrap(d.bin(of: -Double(e)))
            let expected = (15 ..< 200).filter { 2 + $0 % 4 == e }.count
            XCTAssertEqual(d.counts[b], expected, "1e-\(e)")
        }
        XCTAssertEqual(d.counts[try XCTUnwrap(d.bin(of: log10(0.2)))], 5)
        let det = try XCTUnwrap(o.histogram(.detection))
        XCTAssertEqual(det.counts.reduce(0, +) + det.missing, 200)
        XCTAssertEqual(det.counts[0], (0 ..< 200).filter { $0 % 3 == 0 && $0 % 10 == 0 }.count)
        XCTAssertEqual(o.histogram(.fuzz)?.missing, 200)
        let act = try XCTUnwrap(o.histogram(.maxActivation))
        XCTAssertEqual(act.counts.reduce(0, +), 190)
        XCTAssertEqual(act.edges.last ?? 0, Double(Float(199) / 10))
    }

    func testSelectingABinFiltersTheListToExactlyItsLatents() async throws {
        var d = Driver(data: KnownDensityData())
        await d.keys(.char("6"))
        XCTAssertEqual(d.state.view, .overview)
        XCTAssertTrue(d.effectsSeen.contains(.computeOverview(part: 0)))
        let o = try XCTUnwrap(d.state.overview.content.value)
        let h = try XCTUnwrap(o.histogram(.density))
        let target = try XCTUnwrap(h.bin(of: -3))
        // Move the cursor to the 1e-3 bin and press Enter.
        while d.state.overview.bin < target { await d.keys(.down) }
        await d.keys(.enter)
        XCTAssertEqual(d.state.view, .list)
        let expected = (15 ..< 200).filter { 2 + $0 % 4 == 3 }.map { Int32($0) }
        XCTAssertEqual(d.state.list.rows, expected)
        XCTAssertEqual(d.state.list.rows?.count, h.counts[target])
        // → switches to the max-activation histogram; its bins filter on maxact.
        await d.keys(.char("6"), .right)
        XCTAssertEqual(d.state.overview.metric, .maxActivation)
        await d.keys(.end, .enter)
        let act = try XCTUnwrap(o.histogram(.maxActivation))
        XCTAssertEqual(d.state.list.rows?.count, act.counts.last)
    }

    func testReadableAt80x24InASCII() async throws {
        var d = Driver(data: KnownDensityData())
        await d.keys(.char("6"))
        let screen = d.render()
        let text = screen.text
        XCTAssertTrue(text.contains("Overview"))
        XCTAssertTrue(text.contains("dead 10 (5.0%)"), text)
        XCTAssertTrue(text.contains("dense 5"), text)
        XCTAssertTrue(text.contains("dead (never fire): 10"), text)
        XCTAssertTrue(text.contains("-1.0…-0.5 dense"), text)
        for y in 0 ..< 23 {
            XCTAssertEqual(DisplayText.width(screen.rowText(y)), 80)
            // Every glyph has an ASCII stand-in other than '?' (bars, arrows, ellipses).
            var ascii = ""
            for x in 0 ..< 80 where !screen[x, y].isContinuation { ascii += ASCIIFallback.map(screen[x, y].text, width: 1) }
            XCTAssertFalse(ascii.contains("?"), "row \(y): \(ascii)")
        }
    }
}
