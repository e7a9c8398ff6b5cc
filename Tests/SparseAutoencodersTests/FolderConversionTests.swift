import FeaturescopeCore
import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// `SAEFolderConversion`: an SAE folder rewritten with f16 weights loads, encodes like the original to f16
/// precision, keeps the other files byte for byte, and bad requests fail cleanly.
final class FolderConversionTests: XCTestCase {
    func testF16CopyLoadsAndEncodesLikeTheOriginal() throws {
        let scratch = try SAEScratch()
        let w = SAEFixtureWeights.random(dIn: 12, dSAE: 40, seed: 9)
        let source = scratch.folder("src")
        try SAEFixtures.writeSAELens(folder: source, weights: w, architecture: "topk", k: 4, hookName: "blocks.3.attn.hook_z")
        let log = Data("{\"step\":1}\n".utf8)
        try log.write(to: URL(fileURLWithPath: source + "/train_log.jsonl"))
        let out = scratch.folder("f16")
        let r = try SAEFolderConversion.convert(folder: source, output: out, dtype: .F16)
        XCTAssertEqual(r.convertedTensors, 4)
        XCTAssertEqual(Set(r.copiedFiles), ["cfg.json", "train_log.jsonl"])
        XCTAssertLessThan(r.bytesAfter, r.bytesBefore)
        XCTAssertGreaterThan(r.worstAbsoluteError, 0)
        XCTAssertLessThan(r.worstAbsoluteError, 1e-2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/train_log.jsonl")), log)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/cfg.json")),
                       try Data(contentsOf: URL(fileURLWithPath: source + "/cfg.json")))
        let file = try SafetensorsFile(path: out + "/sae_weights.safetensors")
        for t in file.tensorNames { XCTAssertEqual(try file.info(t).dtype, .F16, t) }

        let a = try SparseAutoencoder.load(folder: source), b = try SparseAutoencoder.load(folder: out)
        var rng = SplitMix64(seed: 3)
        let x = (0 ..< 12 * 5).map { _ in Float(rng.unit()) * 2 - 1 }
        let da = try a.encodeDense(x, count: 5), db = try b.encodeDense(x, count: 5)
        XCTAssertEqual(da.count, db.count)
        XCTAssertLessThan(maxAbsDiff(da, db), 0.02)

        // Existing output needs overwrite; bad dtype and a non-SAE folder are clear errors.
        XCTAssertThrowsError(try SAEFolderConversion.convert(folder: source, output: out, dtype: .F16))
        XCTAssertNoThrow(try SAEFolderConversion.convert(folder: out, output: out + "32", dtype: .F32))
        XCTAssertThrowsError(try SAEFolderConversion.convert(folder: source, output: scratch.folder("i8"), dtype: .I8))
        XCTAssertThrowsError(try SAEFolderConversion.convert(folder: scratch.folder("missing"), output: scratch.folder("x"), dtype: .F16))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.folder("x")))
    }
}
