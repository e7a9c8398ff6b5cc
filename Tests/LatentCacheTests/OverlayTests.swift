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

    func testFoldMovesTheOverlayIntoThePristineCache() throws {
        let tmp = TempDir()
        let path = try makeCache(tmp)
        let env = ["FEATURESCOPE_DATA_DIR": tmp.sub("data"), "HOME": tmp.path]
        try LatentCacheDirectory.open(path, environment: env).parts[0].appendAnnotations([
            Annotation(kind: .explanation, latent: 2, method: "explainer", model: "old", text: "shipped"),
            Annotation(kind: .explanation, latent: 4, method: "explainer", model: "old", text: "shipped 4"),
        ])
        try Data("bundled sample\n".utf8).write(to: URL(fileURLWithPath: path + "/" + LatentCacheDirectory.pristineMarkerFile))
        let cache = try LatentCacheDirectory.open(path, environment: env)
        try cache.parts[0].appendAnnotations([
            Annotation(kind: .explanation, latent: 2, method: "explainer", model: "new", text: "mine"),
            Annotation(kind: .explanation, latent: 5, method: "explainer", model: "new", text: "mine 5"),
            Annotation(kind: .explanation, latent: 2, method: "explainer", model: "new", text: "mine again"),
        ])
        XCTAssertEqual(try cache.parts[0].overlayAnnotations(2).map(\.text), ["mine", "mine again"])
        let overlay = try XCTUnwrap(cache.overlayDirectory) + "/" + cache.parts[0].manifest.directory
        let kept = try cache.parts[0].foldOverlay(replacing: false) { a in
            var b = a
            b.extra = ["folded": "yes"]
            return b
        }
        XCTAssertEqual(kept, LatentCachePart.OverlayFold(before: 2, fromOverlay: 3, after: 5))
        XCTAssertFalse(FileManager.default.fileExists(atPath: overlay + "/" + CacheFormat.annotationLogFile))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/" + LatentCacheDirectory.pristineMarkerFile))
        // Another user (no overlay) now reads the folded annotations from the cache itself, newest last.
        let other = ["FEATURESCOPE_DATA_DIR": tmp.sub("other"), "HOME": tmp.path]
        let part = try LatentCacheDirectory.open(path, environment: other).parts[0]
        XCTAssertEqual(try part.annotations(2).map(\.text), ["shipped", "mine", "mine again"])
        XCTAssertEqual(try part.annotations(2).map(\.extra), Array(repeating: ["folded": "yes"], count: 3))
        XCTAssertEqual(try part.annotations(4).map(\.text), ["shipped 4"])
        XCTAssertEqual(try part.annotations(5).map(\.text), ["mine 5"])
        XCTAssertEqual(try part.summary(2).explanationPreview, "mine again")
        XCTAssertTrue(try part.annotations(0).isEmpty)

        // --replace: the cache's own annotations are dropped.
        let again = try LatentCacheDirectory.open(path, environment: env)
        try again.parts[0].appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "explainer", model: "newer", text: "only"))
        XCTAssertEqual(try again.parts[0].foldOverlay(replacing: true), LatentCachePart.OverlayFold(before: 5, fromOverlay: 1, after: 1))
        let replaced = try LatentCacheDirectory.open(path, environment: other).parts[0]
        XCTAssertEqual(try replaced.annotations(1).map(\.text), ["only"])
        XCTAssertTrue(try replaced.annotations(2).isEmpty)
        try replaced.verify()
    }

    func testCacheIDIsStableAndFollowsTheManifest() throws {
        let a = LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":1}".utf8))
        XCTAssertEqual(a.count, 16)
        XCTAssertEqual(a, LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":1}".utf8)))
        XCTAssertNotEqual(a, LatentCacheDirectory.cacheID(manifestData: Data("{\"a\":2}".utf8)))
    }
}
