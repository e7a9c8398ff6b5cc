import Foundation
import SparseAutoencoders
import TensorFormats
import TestSupport
import XCTest

/// Loading every format, architecture and dtype from fixtures.
final class LoadingTests: XCTestCase {
    var scratch: SAEScratch!
    override func setUpWithError() throws { scratch = try SAEScratch() }
    override func tearDown() { scratch = nil }

    /// Values as they come back from a file of `dtype`.
    func stored(_ v: [Float], _ dtype: SafetensorsDType) -> [Float] {
        switch dtype {
        case .F16: return v.map { HalfFloat.toFloat(HalfFloat.fromFloat($0)) }
        case .BF16: return v.map { HalfFloat.bf16ToFloat(HalfFloat.floatToBF16($0)) }
        default: return v
        }
    }

    func testSAELensEveryArchitectureAndDType() throws {
        let w = SAEFixtureWeights.random(dIn: 8, dSAE: 20, seed: 5)
        for style in [SAELensConfigStyle.v6, .legacy] {
            for arch in ["standard", "topk", "jumprelu", "gated"] {
                for dtype in [SafetensorsDType.F32, .F16, .BF16] {
                    let folder = scratch.folder("\(style)-\(arch)-\(dtype.rawValue)")
                    try SAEFixtures.writeSAELens(folder: folder, weights: w, architecture: arch, k: arch == "topk" ? 4 : nil,
                                                 dtype: dtype, style: style)
                    let sae = try SparseAutoencoder.load(folder: folder)
                    let what = "\(style) \(arch) \(dtype)"
                    XCTAssertEqual(sae.config.architecture.rawValue, arch, what)
                    XCTAssertEqual(sae.config.format, .saeLens)
                    XCTAssertEqual(sae.dIn, 8)
                    XCTAssertEqual(sae.dSAE, 20)
                    XCTAssertEqual(sae.config.k, arch == "topk" ? 4 : nil, what)
                    XCTAssertEqual(sae.weightsDType, dtype.rawValue)
                    XCTAssertEqual(sae.encoderWeight, stored(w.wEnc, dtype), what)
                    XCTAssertEqual(sae.decoderWeight, stored(w.wDec, dtype), what)
                    XCTAssertEqual(sae.decoderBias, stored(w.bDec, dtype), what)
                    XCTAssertEqual(sae.encoderBias, stored(arch == "gated" ? w.bGate : w.bEnc, dtype), what)
                    XCTAssertEqual(sae.threshold, arch == "jumprelu" ? stored(w.threshold, dtype) : nil, what)
                    XCTAssertEqual(sae.gated?.bMag, arch == "gated" ? stored(w.bMag, dtype) : nil, what)
                    XCTAssertEqual(sae.gated?.rMag, arch == "gated" ? stored(w.rMag, dtype) : nil, what)
                    let m = sae.config.metadata
                    XCTAssertEqual(m.hookName, "blocks.3.hook_resid_post")
                    XCTAssertEqual(m.modelName, "SmolLM2-135M-Instruct")
                    XCTAssertEqual(m.contextSize, 128)
                    XCTAssertEqual(m.datasetPath, "fixture/dataset")
                    XCTAssertEqual(m.prependBOS, true)
                    XCTAssertNil(m.hookHeadIndex)
                    XCTAssertEqual(m.saeLensVersion, style == .v6 ? "6.5.1" : "3.12.0")
                    XCTAssertEqual(sae.config.normalizeActivations, .none)
                    XCTAssertTrue(sae.config.applyBDecToInput)
                    XCTAssertEqual(sae.weightsSHA256?.count, 64)
                }
            }
        }
    }

    func testSparsifyLoadTransposesEncoderAndMapsHookName() throws {
        let w = SAEFixtureWeights.random(dIn: 6, dSAE: 12, seed: 8)
        for dtype in [SafetensorsDType.F32, .BF16] {
            let folder = scratch.folder("\(dtype.rawValue)/layers.7")
            try SAEFixtures.writeSparsify(folder: folder, weights: w, k: 3, dtype: dtype)
            let sae = try SparseAutoencoder.load(folder: folder + "/", options: SAELoadOptions(modelName: "HuggingFaceTB/SmolLM2-135M"))
            XCTAssertEqual(sae.config.format, .sparsify)
            XCTAssertEqual(sae.config.architecture, .topk)
            XCTAssertEqual(sae.config.k, 3)
            XCTAssertTrue(sae.config.reluBeforeTopK)
            XCTAssertEqual(sae.config.metadata.hookName, "blocks.7.hook_resid_post")
            XCTAssertEqual(sae.config.metadata.originalHookName, "layers.7")
            XCTAssertEqual(sae.config.metadata.modelName, "HuggingFaceTB/SmolLM2-135M")
            XCTAssertEqual(sae.encoderWeight, stored(w.wEnc, dtype), "encoder.weight is transposed into W_enc")
            XCTAssertEqual(sae.decoderWeight, stored(w.wDec, dtype), "W_dec is already latent-major")
            XCTAssertEqual(sae.encoderBias, stored(w.bEnc, dtype))
        }
    }

    func testSparsifyNumLatentsFromExpansionFactor() throws {
        let w = SAEFixtureWeights.random(dIn: 4, dSAE: 8, seed: 1)
        let folder = scratch.folder("layers.0")
        try SAEFixtures.writeSparsify(folder: folder, weights: w, k: 2, extraConfig: ["num_latents": 0, "expansion_factor": 2])
        XCTAssertEqual(try SparseAutoencoder.load(folder: folder).dSAE, 8)
    }

    func testHookZMetadataAndSparsityFile() throws {
        let w = SAEFixtureWeights.random(dIn: 8, dSAE: 10, seed: 2)
        let folder = scratch.folder("z")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, hookName: "blocks.2.attn.hook_z",
                                     extraConfig: ["metadata": ["hook_name": "blocks.2.attn.hook_z", "hook_head_index": 3,
                                                                "model_name": "m", "context_size": 64] as [String: any Sendable]])
        var s = SafetensorsWriter()
        let logs: [Float] = (0 ..< 10).map { -Float($0) / 2 }
        try s.add("sparsity", floats: logs, shape: [10])
        try s.write(to: folder + "/sparsity.safetensors")
        let sae = try SparseAutoencoder.load(folder: folder)
        XCTAssertTrue(sae.config.isHookZ)
        XCTAssertEqual(sae.config.reshapeActivations, "hook_z")
        XCTAssertEqual(sae.config.metadata.hookName, "blocks.2.attn.hook_z")
        XCTAssertEqual(sae.config.metadata.hookHeadIndex, 3)
        XCTAssertEqual(sae.config.metadata.contextSize, 64)
        XCTAssertEqual(sae.logFeatureSparsity, logs)
    }

    func testLegacyTopKAndBooleanNormalisation() throws {
        let w = SAEFixtureWeights.random(dIn: 4, dSAE: 6, seed: 3)
        let folder = scratch.folder("legacy")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, architecture: "topk", k: 2, style: .legacy)
        let sae = try SparseAutoencoder.load(folder: folder)
        XCTAssertEqual(sae.config.architecture, .topk, "activation_fn_str topk on a standard architecture")
        XCTAssertEqual(sae.config.k, 2, "k from activation_fn_kwargs")
        XCTAssertEqual(sae.config.metadata.originalHookName, "blocks.3.hook_resid_post")

        let f2 = scratch.folder("legacy-norm")
        try SAEFixtures.writeSAELens(folder: f2, weights: w, style: .legacy, extraConfig: ["normalize_activations": true])
        assertSAEError(try SparseAutoencoder.load(folder: f2), "true = expected_average_only_in") {
            if case .needsScalingFactor = $0 { return true }
            return false
        }
        XCTAssertEqual(try SparseAutoencoder.load(folder: f2, options: SAELoadOptions(activationScale: 1.5)).foldedActivationScale, 1.5)
    }

    func testJumpReLULogThreshold() throws {
        let w = SAEFixtureWeights.random(dIn: 4, dSAE: 5, seed: 4)
        let folder = scratch.folder("logthr")
        try SAEFixtures.writeSAELens(folder: folder, weights: w, architecture: "jumprelu", corruption: .missingTensor("threshold"))
        // Add log_threshold to the weights file by rewriting it.
        var s = SafetensorsWriter()
        try s.add("W_enc", floats: w.wEnc, shape: [4, 5])
        try s.add("W_dec", floats: w.wDec, shape: [5, 4])
        try s.add("b_enc", floats: w.bEnc, shape: [5])
        try s.add("b_dec", floats: w.bDec, shape: [4])
        try s.add("log_threshold", floats: [0, 1, -1, 0.5, 2], shape: [5])
        try s.write(to: folder + "/sae_weights.safetensors")
        let sae = try SparseAutoencoder.load(folder: folder)
        let t = try XCTUnwrap(sae.threshold)
        XCTAssertLessThan(maxAbsDiff(t, [0, 1, -1, 0.5, 2].map { expf($0) }), 1e-6)
    }

    func testDigestIsSHA256OfWeightsFile() throws {
        let folder = scratch.folder("digest")
        try SAEFixtures.writeSAELens(folder: folder, weights: .random(dIn: 4, dSAE: 4, seed: 1))
        let sae = try SparseAutoencoder.load(folder: folder)
        XCTAssertEqual(sae.weightsPath, folder + "/sae_weights.safetensors")
        let digest = try XCTUnwrap(sae.weightsSHA256)
        XCTAssertEqual(digest, try SHA256.hexDigest(ofFileAt: folder + "/sae_weights.safetensors"))
        XCTAssertNil(try SparseAutoencoder.load(folder: folder, options: SAELoadOptions(computeDigest: false)).weightsSHA256)
        // Cross-check with the system's sha256sum when there is one.
        let tool = "/usr/bin/sha256sum"
        guard FileManager.default.isExecutableFile(atPath: tool) else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = [folder + "/sae_weights.safetensors"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(String(out.prefix(64)), digest)
    }

    func testSHA256KnownVectors() {
        func hex(_ s: String) -> String { Array(s.utf8).withUnsafeBytes { SHA256.hexDigest(of: $0) } }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Streaming in uneven pieces gives the same digest as one call.
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var s = SHA256()
        var i = 0, step = 1
        while i < million.count {
            let j = min(million.count, i + step)
            million[i ..< j].withUnsafeBytes { s.update($0) }
            i = j
            step = step * 3 % 997 + 1
        }
        XCTAssertEqual(SHA256.hex(s.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testHookNameMapping() {
        XCTAssertEqual(HookNames.canonical("layers.3"), "blocks.3.hook_resid_post")
        XCTAssertEqual(HookNames.canonical("model.layers.12"), "blocks.12.hook_resid_post")
        XCTAssertEqual(HookNames.canonical("layers.4.mlp"), "blocks.4.hook_mlp_out")
        XCTAssertEqual(HookNames.canonical("layers.4.self_attn"), "blocks.4.hook_attn_out")
        XCTAssertEqual(HookNames.canonical("embed_tokens"), "hook_embed")
        XCTAssertEqual(HookNames.canonical("blocks.2.attn.hook_z"), "blocks.2.attn.hook_z")
        XCTAssertEqual(HookNames.canonical("layers.x"), "layers.x")
        XCTAssertEqual(HookNames.layer(of: "blocks.11.hook_resid_pre"), 11)
        XCTAssertNil(HookNames.layer(of: "hook_embed"))
    }

    func testInMemoryConstructionChecksSizes() throws {
        let cfg = SAEConfig(dIn: 2, dSAE: 3, architecture: .standard, metadata: SAEMetadata(hookName: "blocks.0.hook_resid_post"))
        let w = TinySAE.weights()
        XCTAssertNoThrow(try SparseAutoencoder(config: cfg, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec))
        assertSAEError(try SparseAutoencoder(config: cfg, encoderWeight: [1], encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec), "W_enc") {
            if case let .inputShape(what, e, f) = $0 { return what.contains("W_enc") && e == 6 && f == 1 }
            return false
        }
        var j = cfg
        j.architecture = .jumprelu
        assertSAEError(try SparseAutoencoder(config: j, encoderWeight: w.wEnc, encoderBias: w.bEnc, decoderWeight: w.wDec, decoderBias: w.bDec), "threshold") {
            if case let .missingTensor(_, t) = $0 { return t == "threshold" }
            return false
        }
    }
}

final class ProvenanceTests: XCTestCase {
    func testFolderScanAndProvenanceJSON() throws {
        let scratch = try SAEScratch()
        let w = SAEFixtureWeights.random(dIn: 4, dSAE: 4, seed: 1)
        try SAEFixtures.writeSparsify(folder: scratch.folder("run/layers.0"), weights: w, k: 1)
        try SAEFixtures.writeSparsify(folder: scratch.folder("run/layers.1"), weights: w, k: 1)
        try SAEFixtures.writeSAELens(folder: scratch.folder("release/blocks.3"), weights: w)
        XCTAssertEqual(SparseAutoencoder.folders(in: scratch.folder("run")), [scratch.folder("run/layers.0"), scratch.folder("run/layers.1")])
        XCTAssertEqual(SparseAutoencoder.folders(in: scratch.path).count, 3)
        XCTAssertEqual(SparseAutoencoder.folders(in: scratch.folder("release/blocks.3")), [scratch.folder("release/blocks.3")])
        XCTAssertEqual(SparseAutoencoder.folders(in: scratch.folder("absent")), [])

        let sae = try SparseAutoencoder.load(folder: scratch.folder("run/layers.1"))
        let data = try JSONEncoder().encode(sae.provenance)
        let back = try JSONDecoder().decode(SAEProvenance.self, from: data)
        XCTAssertEqual(back, sae.provenance)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"hook_name\":\"blocks.1.hook_resid_post\""), text)
        XCTAssertTrue(text.contains("\"weights_sha256\":\"\(sae.weightsSHA256 ?? "?")\""))
    }
}
