import Corpus
import Foundation
import TensorFormats
import TestSupport
import XCTest

/// Characterization of the activation pipeline through the binary: `corpus` → `collect` → `cache` (live forward
/// pass and from the activation store) on the tiny Llama checkpoint (Tests/Fixtures/tiny-models/llama3) with two
/// seeded SAEs (hook_z of block 1, top-k; resid_post of block 0, standard), and `run --sae`. Every data file written
/// (and run's JSON) is compared, byte for byte, with the SHA-256 list in Tests/Fixtures/pipeline/digests.txt,
/// recorded before the pipeline moved out of the command files. Run with FEATURESCOPE_UPDATE_PIPELINE=1 to rewrite the list after a deliberate change
/// (review why the bytes changed first).
///
/// Deterministic by construction: one OpenBLAS thread with a pinned kernel set (OPENBLAS_CORETYPE=Haswell), one
/// corpus worker. The digests are those of the debug build (release builds contract multiply-adds into FMAs).
final class PipelineCharacterizationTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static var digestFile: String { fixtures.appendingPathComponent("pipeline/digests.txt").path }

    /// Relative path → SHA-256 of every file under `root` except the manifests (they record paths and commands); of a
    /// token file, the SHA-256 of its shape and token ids.
    static func digests(under root: String, prefix: String) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        for case let rel as String in walker {
            var isDir: ObjCBool = false
            let path = root + "/" + rel
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                  !rel.hasSuffix("manifest.json") else { continue }
            if rel.hasSuffix(".tokens") {
                // The header's provenance records the command (with its temporary paths): pin the token ids.
                let file = try TokenFile(path: path)
                var h = SHA256()
                h.update(Array("\(file.rowCount)x\(file.contextLength)\n".utf8))
                for r in 0 ..< file.rowCount {
                    try file.rowArray(r).withUnsafeBytes { h.update($0) }
                }
                out[prefix + "/" + rel + " (token ids)"] = SHA256.hex(h.finalize())
            } else {
                out[prefix + "/" + rel] = try SHA256.hexDigest(ofFileAt: path)
            }
        }
        return out
    }

    func testCorpusCollectAndCacheWriteTheRecordedBytes() throws {
        guard let binary = Tmux.binary() else { return XCTFail("featurescope binary not found; build it first (swift build)") }
        let text = Self.fixtures.appendingPathComponent("pipeline/documents.jsonl").path
        let dir = NSTemporaryDirectory() + "fs-pipeline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try CLIRunner.tinyModel(in: dir)
        let featurescope = CLIRunner(binary: binary, cwd: dir)

        // hook_z of block 1 is 4 heads × 16 = 64 wide, like the residual stream.
        try SAEFixtures.writeSAELens(folder: dir + "/sae-z1", weights: .random(dIn: 64, dSAE: 96, seed: 41), architecture: "topk",
                                     k: 6, hookName: "blocks.1.attn.hook_z")
        try SAEFixtures.writeSAELens(folder: dir + "/sae-r0", weights: .random(dIn: 64, dSAE: 80, seed: 42),
                                     hookName: "blocks.0.hook_resid_post")

        try featurescope(["corpus", text, "--out", "corpus", "--model", model, "--context-length", "24",
                          "--heldout-fraction", "0", "--workers", "1", "--json"])
        try featurescope(["collect", "--tokens", "corpus/train.tokens", "--model", model, "--out", "store",
                          "--hooks", "blocks.1.attn.hook_z,blocks.0.hook_resid_post", "--rows-per-forward", "3",
                          "--shard-tokens", "96", "--json"])
        let cacheArgs = ["--sae", "sae-z1", "--sae", "sae-r0", "--tokens", "corpus/train.tokens", "--model", model,
                         "--batch", "3", "--window", "8", "--top", "4", "--per-quantile", "2", "--random", "3", "--json"]
        try featurescope(["cache", "--out", "cache-live"] + cacheArgs)
        try featurescope(["cache", "--out", "cache-store", "--activations", "store", "--keep-top", "5"] + cacheArgs)

        // `run`: one prompt through the model and an SAE (its JSON, with the temporary folder taken out).
        let run = try featurescope(["run", "--ids", "1,40,41,42,300,7,7,9", "--model", model, "--sae", "sae-z1", "--top", "4", "--json"])
        var h = SHA256()
        h.update(Array(run.replacingOccurrences(of: dir.replacingOccurrences(of: "/", with: "\\/"), with: "<dir>").utf8))

        var got: [String: String] = ["run --json (stdout)": SHA256.hex(h.finalize())]
        for sub in ["corpus", "store", "cache-live", "cache-store"] {
            got.merge(try Self.digests(under: dir + "/" + sub, prefix: sub)) { a, _ in a }
        }
        XCTAssertGreaterThan(got.count, 8, "too few files written: \(got.keys.sorted())")
        let lines = got.keys.sorted().map { "\(got[$0]!)  \($0)" }.joined(separator: "\n") + "\n"
        if ProcessInfo.processInfo.environment["FEATURESCOPE_UPDATE_PIPELINE"] == "1" {
            try lines.write(toFile: Self.digestFile, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = FileManager.default.contents(atPath: Self.digestFile) else {
            return XCTFail("no \(Self.digestFile); run this test with FEATURESCOPE_UPDATE_PIPELINE=1 to record it")
        }
        XCTAssertEqual(lines, String(decoding: expected, as: UTF8.self),
                       "corpus/collect/cache wrote different bytes than recorded in \(Self.digestFile)")
    }
}
