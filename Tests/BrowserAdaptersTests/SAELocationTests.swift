import Foundation
import LatentCache
import SparseAutoencoders
import XCTest
@testable import BrowserAdapters

/// A copied cache finds its SAE (`SAELocation`): the tiny cache records its SAE as `sae`, relative to the folder it
/// was built in (as the sample records `saes/L3`); a copy elsewhere resolves it beside the copy, inside it, through
/// `--sae-root`, or fails naming every place tried.
final class SAELocationTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("sae-location") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testCandidatesInOrder() {
        XCTAssertEqual(SAELocation.candidates(recorded: "saes/L3", cacheDirectory: "data/cache", currentDirectory: "/w"),
                       ["/w/data/saes/L3", "/w/data/cache/saes/L3", "/w/saes/L3"])
        XCTAssertEqual(SAELocation.candidates(recorded: "saes/L3", cacheDirectory: "/c/cache", root: "/r", currentDirectory: "/w"),
                       ["/r/saes/L3", "/r/L3", "/c/saes/L3", "/c/cache/saes/L3", "/w/saes/L3"])
        XCTAssertEqual(SAELocation.candidates(recorded: "/a/sae", cacheDirectory: "/c/cache", currentDirectory: "/w"), ["/a/sae"])
        XCTAssertEqual(SAELocation.candidates(recorded: "/a/sae", cacheDirectory: "/c/cache", root: "/r", currentDirectory: "/w"),
                       ["/r/sae", "/a/sae"])
        // Duplicates (the cache's parent is the current directory) are tried once.
        XCTAssertEqual(SAELocation.candidates(recorded: "../s", cacheDirectory: "/w/cache", currentDirectory: "/w"),
                       ["/s", "/w/s"])
    }

    func testACopiedCacheResolvesItsSAE() throws {
        let built = root + "/built"
        try FileManager.default.createDirectory(atPath: built, withIntermediateDirectories: true)
        _ = try CacheFixtures.build(at: built, latents: 20, rows: 2, hook: "blocks.0.hook_resid_post", dIn: 16, recordedSAEPath: "sae")
        let fm = FileManager.default
        let elsewhere = root + "/elsewhere"
        try fm.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try fm.copyItem(atPath: built + "/cache", toPath: elsewhere + "/cache")
        let copy = try LatentCacheDirectory.open(elsewhere + "/cache")

        // Nowhere: the error lists every place tried, and the browser shows it.
        XCTAssertThrowsError(try copy.saeLocation(of: copy.parts[0])) { error in
            let message = "\(error)"
            for place in [elsewhere + "/sae", elsewhere + "/cache/sae", fm.currentDirectoryPath + "/sae"] {
                XCTAssertTrue(message.contains(place), "\(message) lacks \(place)")
            }
            XCTAssertTrue(message.contains("--sae-root"), message)
        }
        XCTAssertFalse(EngineHost(cache: copy).hasSAE(part: 0))
        XCTAssertThrowsError(try EngineHost(cache: copy).sae(part: 0)) { XCTAssertTrue("\($0)".contains(elsewhere + "/cache/sae"), "\($0)") }

        // The override: the folder the path is relative to, or the folder holding the SAE.
        XCTAssertEqual(try copy.saeLocation(of: copy.parts[0], root: built), built + "/sae")
        let host = EngineHost(cache: copy, saeRoot: built)
        XCTAssertEqual(try host.sae(part: 0).config.dSAE, 20)

        // Inside the copied cache folder, then beside it (the parent wins).
        try fm.copyItem(atPath: built + "/sae", toPath: elsewhere + "/cache/sae")
        XCTAssertEqual(try copy.saeLocation(of: copy.parts[0]), elsewhere + "/cache/sae")
        try fm.copyItem(atPath: built + "/sae", toPath: elsewhere + "/sae")
        XCTAssertEqual(try copy.saeLocation(of: copy.parts[0]), elsewhere + "/sae")
        XCTAssertEqual(try EngineHost(cache: copy).sae(part: 0).config.dSAE, 20)
    }
}
