import Foundation
import XCTest
@testable import TerminalUI

/// Synthetic data plus a fixed neighbours answer: two similar latents in the same part, the aligned match in part 1.
final class NeighbourData: BrowserDataSource, @unchecked Sendable {
    let base = SyntheticBrowserData(latentCount: 50)
    var parts: [PartInfo] { base.parts }
    func summary(part: Int, latent: Int) -> BrowserLatentSummary { base.summary(part: part, latent: latent) }
    func detail(part: Int, latent: Int) throws -> LatentDetail { try base.detail(part: part, latent: latent) }
    func scorers(part: Int, latent: Int) -> [String] { base.scorers(part: part, latent: latent) }
    func scoredSamples(part: Int, latent: Int, scorer: String) throws -> [BrowserScoredSample] { try base.scoredSamples(part: part, latent: latent, scorer: scorer) }
    func headAttribution(part: Int, latent: Int) -> [Float]? { base.headAttribution(part: part, latent: latent) }
    func saveVerdict(part: Int, latent: Int, verdict: HumanVerdict) throws {}
    func headTable(part: Int) -> [HeadTableRow]? { base.headTable(part: part) }
    func headRoles(part: Int) throws -> [HeadRoleRow] {
        (0 ..< 9).map { HeadRoleRow(head: $0, previousToken: $0 == 2 ? 0.71 : 0.1, induction: $0 == 5 ? 0.87 : 0.02, firstToken: 0.1, selfAttention: 0.05, entropy: 2) }
    }
    func neighbours(part: Int, latent: Int) throws -> LatentNeighbours {
        LatentNeighbours(groups: [
            NeighbourGroup(title: "decoder cosine", part: part, entries: [NeighbourEntry(latent: latent + 1, score: 0.9, explanation: "next one"),
                                                                          NeighbourEntry(latent: latent + 2, score: 0.8, explanation: nil)]),
            NeighbourGroup(title: "aligned match in the other part", part: 1 - part, entries: [NeighbourEntry(latent: 7, score: 0.5, explanation: "seven")]),
        ])
    }
}

final class NeighboursPanelTests: XCTestCase {
    func testPanelListsNeighboursAndEnterJumpsAcrossParts() async throws {
        var d = Driver(data: NeighbourData())
        await d.keys(.down, .down, .down, .enter)  // latent 3's detail
        XCTAssertEqual(d.state.view, .detail)
        XCTAssertEqual(d.state.detail.ref, LatentRef(part: 0, latent: 3))
        await d.keys(.char("n"))
        XCTAssertTrue(d.effectsSeen.contains(.loadNeighbours(LatentRef(part: 0, latent: 3))))
        let c = try XCTUnwrap(d.state.neighbours?.content.value)
        XCTAssertEqual(c.rows.count, 3)
        let text = d.render().text
        XCTAssertTrue(text.contains("Similar to #3"), text)
        XCTAssertTrue(text.contains("#4") && text.contains("next one"), text)
        XCTAssertTrue(text.contains("aligned match in the other part"), text)
        // Enter on the first row opens latent 4 in the same part.
        await d.keys(.enter)
        XCTAssertNil(d.state.neighbours)
        XCTAssertEqual(d.state.detail.ref, LatentRef(part: 0, latent: 4))
        // The aligned match (third row) switches part.
        await d.keys(.char("n"), .down, .down, .enter)
        XCTAssertEqual(d.state.detail.ref, LatentRef(part: 1, latent: 7))
        XCTAssertEqual(d.state.part, 1)
        // Esc closes without moving.
        await d.keys(.char("n"), .escape)
        XCTAssertNil(d.state.neighbours)
        XCTAssertEqual(d.state.detail.ref, LatentRef(part: 1, latent: 7))
    }

    func testSourcesWithoutAnIndexSayWhy() async {
        var d = Driver(data: KnownDensityData())
        await d.keys(.enter)
        await d.keys(.char("n"))
        guard case let .failed(m)? = d.state.neighbours?.content else { return XCTFail("expected a failure") }
        XCTAssertTrue(m.contains("no similarity index"))
    }
}

final class HeadRolesViewTests: XCTestCase {
    func testHeadsViewShowsEachHeadsRole() async throws {
        var d = Driver(data: NeighbourData(), size: Size(width: 120, height: 30))
        await d.keys(.char("P"), .enter, .char("4"))
        XCTAssertEqual(d.state.view, .heads)
        let ref = try XCTUnwrap(d.state.heads.ref)
        XCTAssertTrue(d.effectsSeen.contains(.loadHeadRoles(ref)))
        XCTAssertEqual(d.state.heads.roles.value?.count, 9)
        let text = d.render().text
        XCTAssertTrue(text.contains("ind .87"), text)
        XCTAssertTrue(text.contains("prev .71"), text)
        XCTAssertTrue(text.contains("mix"), text)
    }
}
