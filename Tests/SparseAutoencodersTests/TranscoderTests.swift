import Foundation
import ModelEngine
import SparseAutoencoders
import TestSupport
import XCTest

/// Transcoders written by the real SAELens 6 and sparsify (Tests/Fixtures/transcoders, made by
/// scripts/make-transcoder-fixtures.py): loading, encoding at the input hook and the output they write,
/// compared with what those libraries computed on the same inputs.
final class TranscoderTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/transcoders").path

    struct Reference: Decodable {
        var inputs: [Float]; var count: Int; var d_in: Int
        var feature_acts: [Float]; var d_sae: Int
        var output: [Float]; var d_out: Int
    }

    func reference(_ folder: String) throws -> Reference {
        let path = folder + "/reference.json"
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "missing fixture \(path)")
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    func check(_ name: String, arch: SAEArchitecture, skip: Bool, hookIn: String, hookOut: String, dOut: Int) throws {
        let folder = Self.fixtures + "/" + name
        let tc = try SparseAutoencoder.load(folder: folder)
        let ref = try reference(folder)
        XCTAssertTrue(tc.isTranscoder, name)
        XCTAssertEqual(tc.config.architecture, arch, name)
        XCTAssertEqual(tc.skipWeight != nil, skip, name)
        XCTAssertEqual(tc.config.metadata.hookName, hookIn, name)
        XCTAssertEqual(tc.config.outputHookName, hookOut, name)
        XCTAssertEqual(tc.dIn, ref.d_in); XCTAssertEqual(tc.dOut, dOut); XCTAssertEqual(ref.d_out, dOut)
        XCTAssertFalse(tc.config.applyBDecToInput, name)
        let dense = try tc.encodeDense(ref.inputs, count: ref.count)
        XCTAssertEqual(dense.count, ref.feature_acts.count)
        var firing = 0
        for (i, (a, b)) in zip(dense, ref.feature_acts).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "\(name) feature_acts[\(i)]")
            XCTAssertEqual(a > 0, b > 0, "\(name) firing set at \(i)")
            if b > 0 { firing += 1 }
        }
        XCTAssertGreaterThan(firing, ref.count, "\(name): the fixture must have firing latents")
        let out = try tc.transcode(ref.inputs, count: ref.count)
        XCTAssertEqual(out.count, ref.output.count)
        for (i, (a, b)) in zip(out, ref.output).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "\(name) output[\(i)]")
        }
        // The plain-loop reference path agrees with the BLAS path on the decode side too.
        let codes = try tc.encode(ref.inputs, count: ref.count)
        var plain = tc.referenceDecode(codes)
        try tc.addSkip(ref.inputs, count: ref.count, into: &plain)
        for (a, b) in zip(plain, out) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    func testSAELensTranscoders() throws {
        for (name, arch, skip) in [("saelens-transcoder", SAEArchitecture.standard, false), ("saelens-skip-transcoder", .standard, true),
                                   ("saelens-jumprelu-transcoder", .jumprelu, false), ("saelens-jumprelu-skip-transcoder", .jumprelu, true)] {
            try check(name, arch: arch, skip: skip, hookIn: "blocks.1.hook_resid_mid", hookOut: "blocks.1.hook_mlp_out", dOut: 6)
        }
    }

    func testSparsifyTranscoders() throws {
        try check("sparsify-transcoder/layers.1.mlp", arch: .topk, skip: false,
                  hookIn: "blocks.1.mlp.hook_in", hookOut: "blocks.1.hook_mlp_out", dOut: 8)
        try check("sparsify-skip-transcoder/layers.2.mlp", arch: .topk, skip: true,
                  hookIn: "blocks.2.mlp.hook_in", hookOut: "blocks.2.hook_mlp_out", dOut: 8)
        // The engine captures that hook, so a sparsify MLP transcoder runs live.
        let live = try SparseAutoencoder.load(folder: Self.fixtures + "/sparsify-transcoder/layers.1.mlp")
        XCTAssertEqual(live.hookPoint, HookPoint(layer: 1, site: .mlpIn))
    }

    func testSkipConnectionMatters() throws {
        // Without W_skip the output differs: the fixture's skip term is not negligible.
        let folder = Self.fixtures + "/saelens-skip-transcoder"
        let tc = try SparseAutoencoder.load(folder: folder)
        let ref = try reference(folder)
        let noSkip = try tc.decode(try tc.encode(ref.inputs, count: ref.count))
        let diff = zip(noSkip, ref.output).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(diff, 0.05)
    }

    func testTranscoderHooksAndInterventions() throws {
        let tc = try SparseAutoencoder.load(folder: Self.fixtures + "/saelens-transcoder")
        XCTAssertEqual(tc.hookPoint, HookPoint(layer: 1, site: .residMid))
        XCTAssertEqual(tc.outputHookPoint, HookPoint(layer: 1, site: .mlpOut))
        XCTAssertEqual(try tc.decoderRow(3).count, 6)
        // Interventions at the input hook are refused, not silently wrong-sized.
        var t = HookTensor(shape: [1, 8], data: [Float](repeating: 0.5, count: 8))
        XCTAssertThrowsError(try tc.spliceIntervention()(&t)) { e in
            XCTAssertTrue("\(e)".contains("transcoder"), "\(e)")
        }
    }

    func testCorruptTranscoderConfigs() throws {
        let scratch = try SAEScratch()
        func copy(_ name: String, edit: (inout [String: Any]) -> Void) throws -> String {
            let dst = scratch.folder(UUID().uuidString)
            try FileManager.default.copyItem(atPath: Self.fixtures + "/" + name, toPath: dst)
            let cfgPath = dst + "/cfg.json"
            var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cfgPath))) as! [String: Any]
            edit(&cfg)
            try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: cfgPath))
            return dst
        }
        // apply_b_dec_to_input true is refused (SAELens refuses it too).
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") { $0["apply_b_dec_to_input"] = true })) { e in
            guard case let SAEError.invalidConfigValue(_, f, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, "apply_b_dec_to_input")
        }
        // d_out disagreeing with W_dec names the tensor.
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") { $0["d_out"] = 7 })) { e in
            guard case let SAEError.tensorShape(_, t, found, expected) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(t, "W_dec"); XCTAssertEqual(found, [16, 6]); XCTAssertEqual(expected, [16, 7])
        }
        // A skip transcoder without W_skip in its weights.
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") { $0["architecture"] = "skip_transcoder" })) { e in
            guard case let SAEError.missingTensor(_, t) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(t, "W_skip")
        }
        // d_out without a transcoder architecture.
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") { $0["architecture"] = "standard" })) { e in
            guard case let SAEError.invalidConfigValue(_, f, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, "architecture")
        }
        // Output normalisation is not undone by SAELens for transcoders: refused.
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") { $0["normalize_activations"] = "layer_norm" })) { e in
            guard case SAEError.unsupported = e else { return XCTFail("\(e)") }
        }
        // Missing output hook.
        XCTAssertThrowsError(try SparseAutoencoder.load(folder: copy("saelens-transcoder") {
            var m = $0["metadata"] as! [String: Any]; m["hook_name_out"] = nil; $0["metadata"] = m
        })) { e in
            guard case let SAEError.missingConfigField(_, f) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, "metadata.hook_name_out")
        }
    }
}
