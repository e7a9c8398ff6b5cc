import FeaturescopeCore
import Foundation
import TensorFormats
import XCTest
@testable import LatentCache

/// Annotations of a pristine (the bundled sample) or read-only cache go to the per-user overlay; the cache's
/// files stay byte-identical and readers see both.
final class OverlayTests: XCTestCase {
    func makeCache(_ tmp: TempDir) throws -> String {
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [6], vocab: 100, seed: 5)
        try corpus.build(at: tmp.sub("cache"), examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        return tmp.sub("cache")
    }

    /// SHA-256 of every file under `path`, by relative path.
    func digests(_ path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for case let rel as String in FileManager.default.enumerator(atPath: path)?.allObjects ?? [] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path + "/" + rel, isDirectory: &isDir), !isDir.boolValue else { continue }
            out[rel] = try SHA256.hexDigest(ofFileAt: path + "/" + rel)
        }
        return out
    }

    func testPristineCacheStaysByteIdenticalAndReadsTheOverlay() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let env = ["FEATURESCOPE_DATA_DIR": tmp.sub("data"), "HOME": tmp.path]
        // The cache's own annotation, written before it is marked.
        try LatentCacheDirectory.open(path, environment: env).parts[0]
            .appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "explainer", model: "old", text: "shipped"))
        try Data("bundled sample\n".utf8).write(to: URL(fileURLWithPath: path + "/" + LatentCacheDirectory.pristineMarkerFile))
        let before = try digests(path)

        let cache = try LatentCacheDirectory.open(path, environment: env)
        let overlay = try XCTUnwrap(cache.overlayDirectory)
        XCTAssertTrue(overlay.hasPrefix(tmp.sub("data") + "/overlays/"), overlay)
        XCTAssertFalse(FileManager.default.fileExists(atPath: overlay), "reading creates no overlay")
        let part = cache.parts[0]
        XCTAssertEqual(try part.summary(2).explanationPreview, "shipped")
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 2, method: "explainer", model: "new", text: "mine"))
        XCTAssertEqual(try digests(path), before, "the pristine cache was written")
        XCTAssertEqual(try part.annotations(2).map(\.text), ["shipped", "mine"])
        XCTAssertEqual(try part.summary(2).explanationPreview, "mine")
        XCTAssertEqual(try part.summary(2).annotationCount, 2)

        // A new process (reopen) sees both; another data folder sees only the cache's own.
        XCTAssertEqual(try LatentCacheDirectory.open(path, environment: env).parts[0].annotations(2).map(\.text), ["shipped", "mine"])
        let other = ["FEATURESCOPE_DATA_DIR": tmp.sub("other"), "HOME": tmp.path]
        XCTAssertEqual(try LatentCacheDirectory.open(path, environment: other).parts[0].annotations(2).map(\.text), ["shipped"])
        XCTAssertEqual(try digests(path), before)
    }

    func testWritableCacheHasNoOverlay() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let env = ["FEATURESCOPE_DATA_DIR": tmp.sub("data"), "HOME": tmp.path]
        let cache = try LatentCacheDirectory.open(path, environment: env)
        XCTAssertNil(cache.overlayDirectory)
        try cache.parts[0].appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "explainer", model: "m", text: "x"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.sub("data")))
        XCTAssertEqual(try LatentCacheDirectory.open(path, environment: env).parts[0].annotations(1).map(\.text), ["x"])
    }

    func testCacheIDIsStableAndFollowsTheManifest() throws {
        let a = LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":1}".utf8))
        XCTAssertEqual(a.count, 16)
        XCTAssertEqual(a, LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":1}".utf8)))
        XCTAssertNotEqual(a, LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":2}".utf8)))
    }
}
