import Foundation
import LatentCache
import TerminalUI
import TestSupport
import XCTest
@testable import BrowserAdapters

final class BrowserSourceTests: XCTestCase {
    var root = ""
    override func setUp() { root = CacheFixtures.temporaryDirectory("source") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// Every file and folder under `dir` with its bytes (folders: empty), and the folder's own listing.
    func snapshot(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = try XCTUnwrap(FileManager.default.enumerator(atPath: dir))
        while let rel = e.nextObject() as? String {
            out[rel] = FileManager.default.contents(atPath: dir + "/" + rel) ?? Data()
        }
        return out
    }

    func testDelphiRunIsImportedOnceAndBrowsable() async throws {
        let run = root + "/run"
        let cacheRoot = root + "/user-cache"
        let fixture = DelphiFixture.make(locationType: .u16)
        try fixture.write(to: run)
        let before = try snapshot(run)
        XCTAssertEqual(try BrowserSource.kind(of: run), .delphiRun)
        var stages = Set<String>()
        let first = try BrowserSource.open(run, useDefaultModel: false, cacheRoot: cacheRoot) { stage, _, _ in stages.insert(stage) }
        XCTAssertTrue(first.imported)
        XCTAssertEqual(first.kind, .delphiRun)
        XCTAssertTrue(stages.contains("latents"))
        XCTAssertEqual(first.cache.path, BrowserSource.importFolder(run: run, cacheRoot: cacheRoot))
        XCTAssertTrue(first.cache.path.hasPrefix(cacheRoot + "/" + BrowserSource.importsFolderName + "/run-"), first.cache.path)
        XCTAssertEqual(try snapshot(run), before, "the run folder is left byte-identical")
        let second = try BrowserSource.open(run, useDefaultModel: false, cacheRoot: cacheRoot)
        XCTAssertFalse(second.imported, "an up-to-date import is reused")
        // Another run (another path) gets its own import.
        try fixture.write(to: root + "/other/run")
        let other = try BrowserSource.open(root + "/other/run", useDefaultModel: false, cacheRoot: cacheRoot)
        XCTAssertTrue(other.imported)
        XCTAssertNotEqual(other.cache.path, second.cache.path)

        let data = CacheBrowserData(cache: second.cache)
        let partIndex = try XCTUnwrap(data.cache.parts.firstIndex { $0.manifest.spec.delphiHookpoint == "layers.3" || $0.name.contains("layers.3") })
        XCTAssertEqual(data.parts[partIndex].latentCount, 12)
        XCTAssertEqual(data.summary(part: partIndex, latent: 2).explanation, "Tokens after a comma")
        XCTAssertNotNil(data.summary(part: partIndex, latent: 2).detection)
        let detail = try data.detail(part: partIndex, latent: 2)
        XCTAssertTrue(detail.scores.map(\.scorer).contains("detection"))
        XCTAssertGreaterThan(detail.scores[0].counts.tp + detail.scores[0].counts.tn + detail.scores[0].counts.fp + detail.scores[0].counts.fn, 0)
        XCTAssertFalse(try data.scoredSamples(part: partIndex, latent: 2, scorer: "detection").isEmpty)

        var s = await Session(data: data)
        if partIndex != 0 { await s.keys(.tab) }
        let list = s.screen
        XCTAssertTrue(list.contains("Tokens after a comma"), list)

        // A changed run file triggers a new import.
        let expl = try XCTUnwrap(FileManager.default.enumerator(atPath: run + "/explanations")?.allObjects.first as? String)
        let p = run + "/explanations/" + expl
        try Data("\"Changed\"".utf8).write(to: URL(fileURLWithPath: p))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: p)
        let changed = try snapshot(run)
        let third = try BrowserSource.open(run, useDefaultModel: false, cacheRoot: cacheRoot)
        XCTAssertTrue(third.imported, "a changed run is imported again")
        XCTAssertEqual(third.cache.path, second.cache.path)
        XCTAssertEqual(try snapshot(run), changed, "the run folder is left byte-identical")
    }

    func testKindsAndErrors() throws {
        let cache = try CacheFixtures.build(at: root, withSAE: false)
        XCTAssertEqual(try BrowserSource.kind(of: cache), .cache)
        XCTAssertFalse(try BrowserSource.open(cache).imported)
        XCTAssertThrowsError(try BrowserSource.kind(of: root + "/missing")) { e in
            XCTAssertTrue("\(e)".contains("not a folder"), "\(e)")
        }
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        XCTAssertThrowsError(try BrowserSource.kind(of: root + "/empty")) { e in
            XCTAssertTrue("\(e)".contains("neither"), "\(e)")
        }
        XCTAssertTrue(BrowserSource.noSampleCacheMessage.contains("featurescope cache"))
    }
}
