import FeaturescopeCore
import Foundation
import XCTest
@testable import LatentCache

/// Stored annotations pass the one secret redaction (issue 16, D11).
final class SecretRedactionTests: XCTestCase {
    func testAnnotationEchoingARegisteredKeyIsStoredRedacted() throws {
        let key = "sk-stored-annotation-987654321"
        SecretRedaction.register(key)
        let tmp = TempDir()
        let corpus = DenseCorpus.random(rows: 4, rowLength: 32, latentCounts: [6], vocab: 100, seed: 5)
        try corpus.build(at: tmp.sub("cache"), examples: ExampleConfiguration(quantiles: 2, perQuantile: 2, topCount: 3, randomCount: 2))
        let part = try LatentCacheDirectory.open(tmp.sub("cache")).parts[0]
        try part.appendAnnotation(Annotation(kind: .explanation, latent: 1, method: "m", model: "x/\(key)", text: "the key \(key) and a/b"))
        let log = try Data(contentsOf: URL(fileURLWithPath: part.directory + "/annotations.log"))
        XCTAssertNil(log.range(of: Data(key.utf8)), "the key must not reach the file")
        let stored = try XCTUnwrap(try LatentCacheDirectory.open(tmp.sub("cache")).parts[0].annotations(1).first)
        XCTAssertEqual(stored.text, "the key <redacted> and a/b")
        XCTAssertEqual(stored.model, "x/<redacted>")
        XCTAssertEqual(SecretRedaction.redact("short"), "short")
    }
}
