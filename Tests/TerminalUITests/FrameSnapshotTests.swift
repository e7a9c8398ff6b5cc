import Foundation
import TestSupport
import XCTest
@testable import TerminalUI

/// Whole-frame snapshots of every view and overlay at 80×24 and 120×40 on fixed synthetic data (SyntheticBrowserData,
/// 500 latents, seed 42, with its synthetic prompt engine and action runner, and TestSupport's scripted steering engine), compared with the text files in
/// Tests/Fixtures/snapshots/ (characters, a style layer and its legend: `ScreenSnapshot`). A missing snapshot fails;
/// `scripts/update-snapshots` (FEATURESCOPE_UPDATE_SNAPSHOTS=1) rewrites them after a deliberate change — review
/// the diff.
final class FrameSnapshotTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/snapshots").path
    static let sizes = [Size(width: 80, height: 24), Size(width: 120, height: 40)]

    /// Every named state, reached by keys from a fresh browser.
    static let scenes: [(name: String, keys: [Key])] = [
        ("list", []),
        ("list-help", [.char("?")]),
        ("list-search", [.char("/"), .char("c"), .char("o"), .char("d"), .char("e")]),
        ("list-filter", [.char("f"), .char("e"), .char("x"), .char("p"), .char("l"), .char("a"), .char("i"), .char("n"), .char("e"), .char("d"), .enter]),
        ("list-sorted", [.char(">"), .char(">"), .down, .down]),
        ("detail", [.down, .down, .enter]),
        ("detail-whitespace-wide", [.down, .down, .enter, .char("w"), .char("x")]),
        ("samples", [.down, .down, .enter, .char("3")]),
        ("spot-check", [.down, .down, .enter, .char("v")]),
        ("heads", [.char("P"), .down, .enter, .char("4")]),
        ("detail-hook-z", [.char("P"), .down, .enter]),
        ("prompt-editor", [.char("5")]),
        ("prompt-run", [.char("5"), .char("T"), .char("h"), .char("e"), .char(" "), .char("c"), .char("a"), .char("t"), .enter]),
        ("prompt-trace", [.char("P"), .char("5"), .char("T"), .char("h"), .char("e"), .char(" "), .char("d"), .char("o"), .char("g"),
                          .enter, .right, .down]),
        ("prompt-attention", [.char("5")] + "the cat saw the cat".map { Key.char($0) } + [.enter, .char("a"), .char("]"), .char("]"), .left]),
        ("steer-prompt", [.char("5")] + "The cat".map { Key.char($0) } + [.enter, .char("t"), .char("+"), .char("a"), .char("7"), .enter, .enter]),
        ("steer-detail-input", [.down, .down, .enter, .char("t")] + "Once upon a time".map { Key.char($0) }),
        ("steer-frozen", [.char("5")] + "The cat".map { Key.char($0) } + [.enter, .char("t"), .char("+"), .char("f"), .char("["), .enter]),
        // Latent 6 has embedding, simulation and intervention scores (SyntheticBrowserData.hasNewScores).
        ("detail-new-scorers", Array(repeating: Key.down, count: 6) + [.enter]),
        ("samples-embedding", Array(repeating: Key.down, count: 6) + [.enter, .char("3"), .char("c"), .char("c")]),
        ("samples-simulation", Array(repeating: Key.down, count: 6) + [.enter, .char("3"), .char("c"), .char("c"), .char("c")]),
        ("samples-intervention", Array(repeating: Key.down, count: 6) + [.enter, .char("3"), .char("c"), .char("c"), .char("c"), .char("c")]),
    ]

    /// A score job of latent 6 half-way: view 3 shows the batches finished so far.
    static func liveScoring(_ d: inout Driver) async throws {
        for _ in 0..<6 { await d.keys(.down) }
        await d.keys(.enter, .char("3"))
        let effects = d.sendOnly(.key(.char("s")))
        guard case let .runAction(_, ref, id)? = effects.first else { throw BrowserError("no job started: \(effects)") }
        let all = try d.data.scoredSamples(part: ref.part, latent: ref.latent, scorer: "detection")
        _ = d.sendOnly(.actionProgress(id: id, "detection: batch 2/8 · 7/10 correct so far"))
        _ = d.sendOnly(.actionPartial(id: id, .samples(scorer: "detection", Array(all.prefix(10)))))
    }

    func testEveryViewMatchesItsSnapshot() async throws {
        var failures: [String] = []
        for size in Self.sizes {
            for scene in Self.scenes {
                var d = Driver(latents: 500, size: size)
                for k in scene.keys { await d.send(.key(k)) }
                let path = Self.directory + "/\(scene.name)-\(size.width)x\(size.height).txt"
                if let f = ScreenSnapshot.check(d.render(), against: path) { failures.append(f) }
            }
        }
        for size in Self.sizes {
            var d = Driver(latents: 500, size: size)
            try await Self.liveScoring(&d)
            let path = Self.directory + "/samples-live-\(size.width)x\(size.height).txt"
            if let f = ScreenSnapshot.check(d.render(), against: path) { failures.append(f) }
        }
        XCTAssertEqual(failures, [], failures.joined(separator: "\n\n"))
        // No stale snapshots of scenes that no longer exist.
        let expected = Set(Self.sizes.flatMap { s in (Self.scenes.map(\.name) + ["samples-live"]).map { "\($0)-\(s.width)x\(s.height).txt" } })
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: Self.directory)) ?? [])
        XCTAssertEqual(present.subtracting(expected), [], "snapshots of no scene; delete them")
    }
}
