import Foundation
import ModelEngine
import SparseAutoencoders
import TensorFormats
import XCTest

/// SAEs in the formats of public releases (Gemma Scope params.npz, the attention-SAE paper's .pt, Llama Scope, a
/// SAELens hook_z SAE trained on TransformerLens activations) encode as SAELens's own loaders + encode do on the
/// same inputs (Tests/Fixtures/sae-formats/expected.json, scripts/make-sae-fixtures.py).
final class FormatLoaderTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sae-formats").path
    static let tinyGPT2 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-models/gpt2").path
    static let gemmaNPZ = root + "/gemma-scope-2b-pt-att/layer_1/width_16k/average_l0_12/params.npz"
    static var kissanePT: String {
        let dir = root + "/kissane"
        let name = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).first { $0.hasSuffix(".pt") } ?? "missing.pt"
        return dir + "/" + name
    }

    struct Case {
        let inputs: [Float]
        let rows: Int
        let dSAE: Int
        let activations: [Float]
        let raw: [String: Any]
    }

    static func expected(_ name: String) throws -> Case {
        let path = root + "/expected.json"
        guard let data = FileManager.default.contents(atPath: path),
              let all = try JSONSerialization.jsonObject(with: data) as? [String: Any], let c = all[name] as? [String: Any] else {
            XCTFail("\(path) lacks '\(name)'; run scripts/make-sae-fixtures.py")
            throw SAEError.invalidArgument("fixture missing")
        }
        let x = (c["inputs"] as? [[Double]] ?? []).flatMap { $0.map(Float.init) }
        let a = (c["activations"] as? [[Double]] ?? []).flatMap { $0.map(Float.init) }
        let rows = (c["shape"] as? [Int])?.first ?? 0
        return Case(inputs: x, rows: rows, dSAE: c["d_sae"] as? Int ?? 0, activations: a, raw: c)
    }

    /// Dense activations of `sae` on `x`.
    static func dense(_ sae: SparseAutoencoder, _ x: [Float], rows: Int) throws -> [Float] {
        let codes = try sae.encode(x, count: rows)
        var out = [Float](repeating: 0, count: rows * sae.dSAE)
        for t in 0 ..< rows {
            let scale = t < codes.outputScale.count ? codes.outputScale[t] : 1
            for e in codes.latents(ofToken: t) { out[t * sae.dSAE + e.latent] = e.value * scale }
        }
        return out
    }

    func assertMatchesSAELens(_ sae: SparseAutoencoder, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try Self.expected(name)
        XCTAssertEqual(sae.dSAE, c.dSAE, file: file, line: line)
        let got = try Self.dense(sae, c.inputs, rows: c.rows)
        let scale = c.activations.map(abs).max() ?? 1
        XCTAssertLessThan(maxAbsDiff(got, c.activations), 1e-5 * max(1, scale), "\(name): activations differ from SAELens", file: file, line: line)
        let firing = zip(got, c.activations).filter { ($0.0 > 0) != ($0.1 > 0) }.count
        XCTAssertEqual(firing, 0, "\(name): a latent fires here and not in SAELens (or back)", file: file, line: line)
        XCTAssertGreaterThan(c.activations.filter { $0 > 0 }.count, 0, "the fixture fires some latents", file: file, line: line)
    }

    func testGemmaScopeNPZ() throws {
        let sae = try SparseAutoencoder.load(folder: Self.gemmaNPZ)
        XCTAssertEqual(sae.config.architecture, .jumprelu)
        XCTAssertFalse(sae.config.applyBDecToInput)
        XCTAssertEqual(sae.config.metadata.hookName, "blocks.1.attn.hook_z", "hook from the repo name and layer_1")
        XCTAssertEqual(sae.config.metadata.modelName, "gemma-2-2b")
        XCTAssertEqual(sae.config.format, .gemmaScope)
        try assertMatchesSAELens(sae, "gemma_scope")
        // Its folder loads too; --hook overrides.
        let folder = (Self.gemmaNPZ as NSString).deletingLastPathComponent
        let other = try SparseAutoencoder.load(folder: folder, options: SAELoadOptions(hookpoint: "blocks.1.hook_resid_post"))
        XCTAssertEqual(other.config.metadata.hookName, "blocks.1.hook_resid_post")
    }

    func testAttentionSAEPaperPT() throws {
        let sae = try SparseAutoencoder.load(folder: Self.kissanePT)
        XCTAssertEqual(sae.config.architecture, .standard)
        XCTAssertTrue(sae.config.applyBDecToInput)
        XCTAssertEqual(sae.config.metadata.hookName, "blocks.1.attn.hook_z")
        XCTAssertEqual(sae.config.metadata.contextSize, 128)
        XCTAssertEqual(sae.config.metadata.foldedValueBiases, true, "trained through TransformerLens's from_pretrained")
        XCTAssertTrue(sae.config.isHookZ)
        try assertMatchesSAELens(sae, "kissane")
    }

    func testLlamaScopeFolder() throws {
        let sae = try SparseAutoencoder.load(folder: Self.root + "/llama-scope/Llama3_1-8B-Base-L1A-8x")
        XCTAssertEqual(sae.config.format, .llamaScope)
        XCTAssertEqual(sae.config.metadata.hookName, "blocks.1.hook_attn_out")
        XCTAssertEqual(sae.weightsDType, "BF16")
        let c = try Self.expected("llama_scope")
        XCTAssertEqual(Double(sae.foldedActivationScale ?? 0), c.raw["norm_scaling_factor"] as? Double ?? 0, accuracy: 1e-6)
        try assertMatchesSAELens(sae, "llama_scope")
    }

    /// The tiny GPT-2's raw hook_z, adjusted for a TransformerLens-trained SAE, encodes as SAELens encodes TL's
    /// hook_z (value biases folded) — and differs from encoding the raw one.
    func testHookZSAETrainedOnTransformerLensActivations() throws {
        let sae = try SparseAutoencoder.loadSAELens(folder: Self.root + "/saelens-hookz")
        XCTAssertEqual(sae.config.metadata.foldedValueBiases, true, "from model_from_pretrained_kwargs.fold_value_biases")
        let c = try Self.expected("saelens_hookz_tl")
        let ids = (c.raw["ids"] as? [Int] ?? []).map(Int32.init)
        let model = try TransformerModel(path: Self.tinyGPT2)
        let result = try model.forward(tokens: ids, captures: [.z(1)], logits: .last)
        guard let z = result.activation(.z(1)) else { return XCTFail("no hook_z") }
        let rawRef = (c.raw["raw_hook_z"] as? [[Double]] ?? []).flatMap { $0.map(Float.init) }
        XCTAssertLessThan(maxAbsDiff(z.data, rawRef), 1e-4, "engine hook_z = transformers' c_proj input")
        // What TL removes: b_V + β·W_V per head.
        let offset = try model.foldedValueBias(layer: 1)
        let tlMinusRaw = (c.raw["tl_minus_raw"] as? [Double] ?? []).map(Float.init)
        XCTAssertLessThan(maxAbsDiff(offset.map { -$0 }, tlMinusRaw), 1e-4)
        XCTAssertGreaterThan(offset.map(abs).max() ?? 0, 0.01, "GPT-2 has value and LayerNorm biases")

        let prepared = try sae.prepared(for: model)
        let got = try Self.dense(prepared, z.data, rows: ids.count)
        XCTAssertLessThan(maxAbsDiff(got, c.activations), 1e-4, "prepared SAE on raw z = SAELens on TL z")
        let unprepared = try Self.dense(sae, z.data, rows: ids.count)
        let rawExpected = (c.raw["raw_activations"] as? [[Double]] ?? []).flatMap { $0.map(Float.init) }
        XCTAssertLessThan(maxAbsDiff(unprepared, rawExpected), 1e-4)
        XCTAssertGreaterThan(maxAbsDiff(unprepared, c.activations), 1e-2, "the convention matters on this model")
        // Reconstructions come back in raw space: decode(prepared) = decode(original) + offset.
        let a = try prepared.decode(try prepared.encode(z.data, count: ids.count))
        let b = try sae.decode(try sae.encode(z.data.enumerated().map { $0.element - offset[$0.offset % 64] }, count: ids.count))
        XCTAssertLessThan(maxAbsDiff(a, b.enumerated().map { $0.element + offset[$0.offset % 64] }), 1e-4)
        // A model without value or norm biases has nothing to fold.
        let llama = try TransformerModel(path: (Self.tinyGPT2 as NSString).deletingLastPathComponent + "/llama3")
        XCTAssertEqual(try llama.foldedValueBias(layer: 0).filter { $0 != 0 }.count, 0)
        XCTAssertTrue(try sae.prepared(for: model).config.metadata.foldedValueBiases == false, "marked as adjusted")
    }

    func testExportOfAPTToASAELensFolderRoundTrips() throws {
        let scratch = try SAEScratch()
        let sae = try SparseAutoencoder.load(folder: Self.kissanePT)
        let out = scratch.folder("kk")
        let report = try SAEFolderConversion.exportSAELens(sae, output: out)
        XCTAssertEqual(report.convertedTensors, 4)
        let back = try SparseAutoencoder.load(folder: out)
        XCTAssertEqual(back.config.metadata.hookName, "blocks.1.attn.hook_z")
        XCTAssertEqual(back.config.metadata.foldedValueBiases, true, "the TL convention survives the conversion")
        XCTAssertEqual(back.encoderWeight, sae.encoderWeight)
        XCTAssertEqual(back.decoderWeight, sae.decoderWeight)
        try assertMatchesSAELens(back, "kissane")
        XCTAssertThrowsError(try SAEFolderConversion.exportSAELens(sae, output: out), "exists without overwrite")
        // Gemma Scope too: jumprelu with its threshold.
        let gs = try SAEFolderConversion.exportSAELens(try SparseAutoencoder.load(folder: Self.gemmaNPZ), output: scratch.folder("gs"))
        XCTAssertEqual(gs.convertedTensors, 5)
        try assertMatchesSAELens(try SparseAutoencoder.load(folder: scratch.folder("gs")), "gemma_scope")
    }

    func testCorruptAndRefusedInputs() throws {
        let scratch = try SAEScratch()
        let fm = FileManager.default
        // A pickled class: refused with the global's name.
        assertSAEError(try SparseAutoencoder.load(folder: Self.root + "/refused-global.pt"), "refused global") {
            "\($0)".contains("collections.Counter")
        }
        // Truncated .pt and .npz.
        let pt = fm.contents(atPath: Self.kissanePT) ?? Data()
        let cutPT = scratch.folder("cut.pt")
        _ = fm.createFile(atPath: cutPT, contents: pt.prefix(pt.count / 2))
        assertSAEError(try SparseAutoencoder.load(folder: cutPT), "truncated pt") { if case .format = $0 { return true }; return false }
        let npz = fm.contents(atPath: Self.gemmaNPZ) ?? Data()
        let cutNPZ = scratch.folder("params.npz")
        _ = fm.createFile(atPath: cutNPZ, contents: npz.prefix(npz.count - 30))
        assertSAEError(try SparseAutoencoder.load(folder: cutNPZ, options: SAELoadOptions(hookpoint: "blocks.0.hook_resid_post")), "truncated npz") {
            if case .format = $0 { return true }; return false
        }
        // A .pt without a config or --hook: asks for --hook.
        let lone = scratch.folder("lone")
        try fm.createDirectory(atPath: lone, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.kissanePT, toPath: lone + "/sae.pt")
        assertSAEError(try SparseAutoencoder.load(folder: lone + "/sae.pt"), "no hook") { "\($0)".contains("--hook") }
        let hooked = try SparseAutoencoder.load(folder: lone + "/sae.pt", options: SAELoadOptions(hookpoint: "blocks.1.attn.hook_z"))
        XCTAssertEqual(hooked.dIn, 64)
        XCTAssertEqual(hooked.dSAE, 128)
        XCTAssertNil(hooked.config.metadata.foldedValueBiases, "nothing says how it was trained")
        // A config that disagrees with the tensors: a shape error naming the tensor.
        let cfgPath = (Self.kissanePT as NSString).deletingPathExtension + "_cfg.json"
        let wrong = scratch.folder("wrong")
        try fm.createDirectory(atPath: wrong, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.kissanePT, toPath: wrong + "/x.pt")
        let cfg = String(decoding: fm.contents(atPath: cfgPath) ?? Data(), as: UTF8.self).replacingOccurrences(of: "\"dict_size\": 128", with: "\"dict_size\": 256")
        _ = fm.createFile(atPath: wrong + "/x_cfg.json", contents: Data(cfg.utf8))
        assertSAEError(try SparseAutoencoder.load(folder: wrong + "/x.pt"), "shape mismatch") {
            if case let .tensorShape(_, t, _, _) = $0 { return t == "W_enc" }; return false
        }
        // A Gemma Scope npz whose path says nothing: asks for --hook.
        let plain = scratch.folder("plain.npz")
        try fm.copyItem(atPath: Self.gemmaNPZ, toPath: plain)
        assertSAEError(try SparseAutoencoder.load(folder: plain), "npz without hook") { "\($0)".contains("--hook") }
        // Llama Scope hyperparams without the norm.
        let ls = scratch.folder("ls")
        try fm.copyItem(atPath: Self.root + "/llama-scope/Llama3_1-8B-Base-L1A-8x", toPath: ls)
        let hp = String(decoding: fm.contents(atPath: ls + "/hyperparams.json") ?? Data(), as: UTF8.self)
            .replacingOccurrences(of: "dataset_average_activation_norm", with: "renamed")
        _ = fm.createFile(atPath: ls + "/hyperparams.json", contents: Data(hp.utf8))
        assertSAEError(try SparseAutoencoder.load(folder: ls), "llama scope norm") { "\($0)".contains("dataset_average_activation_norm") }
    }

    /// An SAE for another model says which model it needs, and which architecture is missing when the engine
    /// cannot run that model's family.
    func testAnSAEForAnotherModelSaysWhatIsMissing() throws {
        let model = try TransformerModel(path: Self.tinyGPT2)
        let gemma = try SparseAutoencoder.load(folder: Self.gemmaNPZ)
        assertSAEError(try gemma.prepared(for: model), "gemma SAE on gpt2") {
            "\($0)".contains("gemma-2-2b") && "\($0)".contains("gives 64 values") && "\($0)".contains("--model")
        }
        let mamba = try SparseAutoencoder.load(folder: Self.kissanePT, options: SAELoadOptions(hookpoint: "blocks.7.hook_resid_post", modelName: "state-spaces/mamba-2.8b"))
        assertSAEError(try mamba.prepared(for: model), "mamba SAE") {
            "\($0)".contains("Mamba (state-space) model, an architecture Featurescope cannot run") && "\($0)".contains("gptneox")
                && "\($0)".contains("has 2 layers")
        }
        XCTAssertNoThrow(try SparseAutoencoder.load(folder: Self.kissanePT).prepared(for: model), "the SAE made for this width")
        // The release's id spelling of the hook is the same hook.
        let short = try SparseAutoencoder.load(folder: Self.kissanePT, options: SAELoadOptions(hookpoint: "blocks.1.hook_z"))
        XCTAssertEqual(short.config.metadata.hookName, "blocks.1.attn.hook_z")
        XCTAssertEqual(HookNames.canonical("blocks.10.hook_resid_post"), "blocks.10.hook_resid_post")
    }

    func testGemmaScope2Folder() throws {
        let folder = Self.root + "/gemma-scope-2-270m-pt/resid_post/layer_3_width_16k_l0_small"
        let sae = try SparseAutoencoder.load(folder: folder)
        XCTAssertEqual(sae.config.architecture, .jumprelu)
        XCTAssertFalse(sae.config.applyBDecToInput)
        let c = try Self.expected("gemma_scope_2")
        XCTAssertEqual(sae.config.metadata.hookName, c.raw["hook"] as? String)
        XCTAssertEqual(sae.config.metadata.modelName, c.raw["model"] as? String)
        try assertMatchesSAELens(sae, "gemma_scope_2")
        // A transcoder folder is refused; so is a transcoder release.
        let scratch = try SAEScratch()
        let tc = scratch.folder("transcoder_all/layer_3_width_16k_l0_small")
        try FileManager.default.createDirectory(atPath: (tc as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder, toPath: tc)
        assertSAEError(try SparseAutoencoder.load(folder: tc), "transcoder") { "\($0)".contains("transcoder") }
        let release = SAERelease(name: "gemma-scope-2-270m-pt-transcoders", repoID: "google/gemma-scope-2-270m-pt", model: nil,
                                 conversionFunc: "gemma_3", saes: [])
        XCTAssertFalse(release.isReadable)
        XCTAssertTrue(SAERelease(name: "gemma-scope-2-270m-pt-res", repoID: "google/gemma-scope-2-270m-pt", model: nil,
                                 conversionFunc: "gemma_3", saes: []).isReadable)
    }
}
