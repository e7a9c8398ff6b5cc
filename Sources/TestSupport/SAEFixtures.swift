import FeaturescopeCore
import Foundation
import TensorFormats

/// SAE weights in SAELens layout: W_enc [d_in, d_sae], W_dec [d_sae, d_in] (row-major).
public struct SAEFixtureWeights: Sendable {
    public var dIn: Int
    public var dSAE: Int
    public var wEnc: [Float]
    public var bEnc: [Float]
    public var wDec: [Float]
    public var bDec: [Float]
    /// jumprelu
    public var threshold: [Float]
    /// gated
    public var bGate: [Float]
    public var bMag: [Float]
    public var rMag: [Float]

    public init(dIn: Int, dSAE: Int, wEnc: [Float], bEnc: [Float], wDec: [Float], bDec: [Float],
                threshold: [Float]? = nil, bGate: [Float]? = nil, bMag: [Float]? = nil, rMag: [Float]? = nil) {
        self.dIn = dIn
        self.dSAE = dSAE
        self.wEnc = wEnc
        self.bEnc = bEnc
        self.wDec = wDec
        self.bDec = bDec
        self.threshold = threshold ?? [Float](repeating: 0, count: dSAE)
        self.bGate = bGate ?? bEnc
        self.bMag = bMag ?? [Float](repeating: 0, count: dSAE)
        self.rMag = rMag ?? [Float](repeating: 0, count: dSAE)
    }

    /// Seeded random weights (values in ±1; thresholds in [0, 0.5); r_mag in ±0.5).
    public static func random(dIn: Int, dSAE: Int, seed: UInt64) -> SAEFixtureWeights {
        var r = SplitMix64(seed: seed)
        return SAEFixtureWeights(
            dIn: dIn, dSAE: dSAE, wEnc: r.floats(dIn * dSAE), bEnc: r.floats(dSAE, -0.3, 0.3),
            wDec: r.floats(dSAE * dIn), bDec: r.floats(dIn, -0.2, 0.2), threshold: r.floats(dSAE, 0, 0.5),
            bGate: r.floats(dSAE, -0.3, 0.3), bMag: r.floats(dSAE, -0.3, 0.3), rMag: r.floats(dSAE, -0.5, 0.5))
    }

    /// W_enc transposed: [d_sae, d_in] (sparsify's `encoder.weight`).
    public var encoderRows: [Float] {
        var out = [Float](repeating: 0, count: dIn * dSAE)
        for i in 0 ..< dIn { for f in 0 ..< dSAE { out[f * dIn + i] = wEnc[i * dSAE + f] } }
        return out
    }
}

/// How a SAELens cfg.json is laid out.
public enum SAELensConfigStyle: Sendable {
    /// v6: `metadata` object holds model/hook/dataset keys.
    case v6
    /// Pre-v6 flat file: `hook_point`, `activation_fn_str` + `activation_fn_kwargs`, boolean normalisation.
    case legacy
}

/// One deliberate defect of a fixture SAE folder.
public enum SAEFolderCorruption: Sendable, Equatable {
    /// The cfg.json key is removed (top level and inside `metadata`).
    case missingConfigField(String)
    /// The cfg.json key's value replaced by a JSON string "oops".
    case configFieldWrongType(String)
    /// cfg.json is not JSON.
    case nonJSONConfig
    /// The named tensor gets one extra row.
    case wrongTensorShape(String)
    /// The named tensor is left out.
    case missingTensor(String)
    /// The named tensor is stored as I32.
    case integerTensor(String)
    /// The weights file is absent.
    case missingWeightsFile
    /// The weights file's header length runs past the end.
    case corruptWeightsHeader
}

/// Writers of SAELens and sparsify folders for tests.
public enum SAEFixtures {
    /// Writes a SAELens folder (`cfg.json` + `sae_weights.safetensors`).
    ///
    /// `architecture` is written as given (so unknown names can be tested); `extraConfig` entries
    /// are merged into the top level of cfg.json last.
    public static func writeSAELens(folder: String, weights w: SAEFixtureWeights, architecture: String = "standard",
                                    k: Int? = nil, dtype: SafetensorsDType = .F32, style: SAELensConfigStyle = .v6,
                                    hookName: String = "blocks.3.hook_resid_post", extraConfig: [String: any Sendable] = [:],
                                    corruption: SAEFolderCorruption? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var cfg: [String: Any] = ["d_in": w.dIn, "d_sae": w.dSAE, "dtype": dtype == .F32 ? "float32" : (dtype == .F16 ? "float16" : "bfloat16"),
                                  "apply_b_dec_to_input": true]
        let meta: [String: Any] = ["model_name": "SmolLM2-135M-Instruct", "hook_name": hookName, "hook_head_index": NSNull(),
                                   "context_size": 128, "dataset_path": "fixture/dataset", "prepend_bos": true,
                                   "sae_lens_version": style == .v6 ? "6.5.1" : "3.12.0"]
        switch style {
        case .v6:
            cfg["architecture"] = architecture
            cfg["normalize_activations"] = "none"
            cfg["reshape_activations"] = hookName.hasSuffix("hook_z") ? "hook_z" : "none"
            if let k { cfg["k"] = k }
            cfg["metadata"] = meta
        case .legacy:
            for (key, v) in meta where key != "hook_name" { cfg[key] = v }
            cfg["hook_point"] = hookName
            cfg["hook_point_layer"] = 3
            cfg["normalize_activations"] = false
            if architecture == "topk" {
                cfg["architecture"] = "standard"
                cfg["activation_fn_str"] = "topk"
                cfg["activation_fn_kwargs"] = ["k": k ?? 1]
            } else {
                cfg["architecture"] = architecture
                cfg["activation_fn_str"] = "relu"
            }
        }
        for (key, v) in extraConfig { cfg[key] = v }

        var tensors: [(String, [Int], [Float])] = [("W_enc", [w.dIn, w.dSAE], w.wEnc), ("W_dec", [w.dSAE, w.dIn], w.wDec), ("b_dec", [w.dIn], w.bDec)]
        switch architecture {
        case "gated": tensors += [("b_gate", [w.dSAE], w.bGate), ("b_mag", [w.dSAE], w.bMag), ("r_mag", [w.dSAE], w.rMag)]
        case "jumprelu": tensors += [("b_enc", [w.dSAE], w.bEnc), ("threshold", [w.dSAE], w.threshold)]
        default: tensors.append(("b_enc", [w.dSAE], w.bEnc))
        }
        try writeFolder(folder: folder, config: cfg, weightsFile: "sae_weights.safetensors", tensors: tensors,
                        dtype: dtype, corruption: corruption)
    }

    /// Writes a sparsify hookpoint folder (`cfg.json` + `sae.safetensors`); `folder`'s last
    /// component is the hookpoint (e.g. `…/layers.3`).
    public static func writeSparsify(folder: String, weights w: SAEFixtureWeights, k: Int, dtype: SafetensorsDType = .F32,
                                     extraConfig: [String: any Sendable] = [:], corruption: SAEFolderCorruption? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var cfg: [String: Any] = ["activation": "topk", "k": k, "num_latents": w.dSAE, "expansion_factor": max(1, w.dSAE / max(1, w.dIn)),
                                  "normalize_decoder": true, "multi_topk": false, "skip_connection": false, "transcode": false,
                                  "d_in": w.dIn]
        for (key, v) in extraConfig { cfg[key] = v }
        let tensors: [(String, [Int], [Float])] = [("encoder.weight", [w.dSAE, w.dIn], w.encoderRows), ("encoder.bias", [w.dSAE], w.bEnc),
                                                    ("W_dec", [w.dSAE, w.dIn], w.wDec), ("b_dec", [w.dIn], w.bDec)]
        try writeFolder(folder: folder, config: cfg, weightsFile: "sae.safetensors", tensors: tensors, dtype: dtype,
                        corruption: corruption)
    }

    private static func writeFolder(folder: String, config: [String: Any], weightsFile: String,
                                    tensors: [(String, [Int], [Float])], dtype: SafetensorsDType,
                                    corruption: SAEFolderCorruption?) throws {
        var cfg = config
        if case .missingConfigField(let key)? = corruption {
            cfg[key] = nil
            if var m = cfg["metadata"] as? [String: Any] { m[key] = nil; cfg["metadata"] = m }
        }
        if case .configFieldWrongType(let key)? = corruption { cfg[key] = "oops" }
        var cfgData = try JSONSerialization.data(withJSONObject: cfg, options: [.sortedKeys, .prettyPrinted])
        if corruption == .nonJSONConfig { cfgData = Data("{\"d_in\": 4, oops".utf8) }
        try FixtureFiles.write(cfgData, to: folder + "/cfg.json")
        if corruption == .missingWeightsFile { return }

        var fixture = SafetensorsFixture()
        fixture.metadata = ["format": "pt"]
        for (name, shape, values) in tensors {
            if corruption == .missingTensor(name) { continue }
            var shape = shape
            var values = values
            if corruption == .wrongTensorShape(name) {
                let row = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
                shape[0] += 1
                values += [Float](repeating: 0.5, count: row)
            }
            if corruption == .integerTensor(name) {
                var d = Data()
                for v in values { withUnsafeBytes(of: Int32(v.rounded()).littleEndian) { d.append(contentsOf: $0) } }
                fixture.tensors.append(.init(name: name, dtype: "I32", shape: shape, data: d))
                continue
            }
            let data: Data
            switch dtype {
            case .F16: data = TensorBytes.f16(values)
            case .BF16: data = TensorBytes.bf16(values)
            default: data = TensorBytes.f32(values)
            }
            fixture.tensors.append(.init(name: name, dtype: dtype == .F16 ? "F16" : (dtype == .BF16 ? "BF16" : "F32"), shape: shape, data: data))
        }
        try fixture.write(to: folder + "/" + weightsFile,
                          corruption: corruption == .corruptWeightsHeader ? .headerLengthPastEnd : nil)
    }
}
