import Foundation
import TensorFormats

/// Named float tensors from any file format, with SAE-flavoured checks.
struct NamedTensors {
    let path: String
    var tensors: [String: (shape: [Int], values: [Float])]
    var dtype: String

    func has(_ name: String) -> Bool { tensors[name] != nil }

    func expect(_ name: String, _ shape: [Int]) throws -> [Float] {
        guard let t = tensors[name] else { throw SAEError.missingTensor(path: path, tensor: name) }
        guard t.shape == shape else { throw SAEError.tensorShape(path: path, tensor: name, found: t.shape, expected: shape) }
        if let bad = TensorSource.firstNonFinite(t.values) {
            throw SAEError.nonFiniteWeight(path: path, tensor: name, index: bad, value: t.values[bad])
        }
        return t.values
    }

    /// d_in and d_sae from `W_enc` [d_in, d_sae].
    func inferredSizes() throws -> (Int, Int) {
        guard let w = tensors["W_enc"] else { throw SAEError.missingTensor(path: path, tensor: "W_enc") }
        guard w.shape.count == 2 else { throw SAEError.tensorShape(path: path, tensor: "W_enc", found: w.shape, expected: [-1, -1]) }
        return (w.shape[0], w.shape[1])
    }

    /// The architecture the tensor names imply: threshold → jumprelu, b_gate/b_mag/r_mag → gated, else standard.
    var inferredArchitecture: SAEArchitecture {
        if has("threshold") || has("log_threshold") { return .jumprelu }
        if has("b_gate") && has("b_mag") && has("r_mag") { return .gated }
        return .standard
    }

    /// Builds the SAE from SAELens-named tensors (`W_enc` [d_in, d_sae], `W_dec` [d_sae, d_in], `b_enc`, `b_dec`,
    /// jumprelu `threshold`/`log_threshold`, gated `b_gate`/`b_mag`/`r_mag`), every shape checked against `config`.
    func autoencoder(_ config: SAEConfig, options: SAELoadOptions) throws -> SparseAutoencoder {
        var config = config
        let dIn = config.dIn, dSAE = config.dSAE
        var wEnc = try expect("W_enc", [dIn, dSAE])
        var wDec = try expect("W_dec", [dSAE, dIn])
        var bDec = try expect("b_dec", [dIn])
        let bEnc = try expect(config.architecture == .gated ? "b_gate" : "b_enc", [dSAE])
        var threshold: [Float]?
        if config.architecture == .jumprelu {
            threshold = has("threshold") ? try expect("threshold", [dSAE]) : try expect("log_threshold", [dSAE]).map { expf($0) }
        }
        var gated: GatedMagnitude?
        if config.architecture == .gated {
            gated = GatedMagnitude(bMag: try expect("b_mag", [dSAE]), rMag: try expect("r_mag", [dSAE]))
        }
        var folded: Float?
        if config.normalizeActivations == .expectedAverageOnlyIn {
            guard let s = options.activationScale else { throw SAEError.needsScalingFactor(path: path) }
            guard s.isFinite, s > 0 else { throw SAEError.invalidArgument("\(path): activation scale \(s) must be a positive finite number") }
            SparseAutoencoder.foldInputScale(s, wEnc: &wEnc, wDec: &wDec, bDec: &bDec)
            config.normalizeActivations = .none
            folded = s
        }
        let digest = try options.computeDigest ? SAEError.wrapping { try SHA256.hexDigest(ofFileAt: path) } : nil
        return try SparseAutoencoder(config: config, encoderWeight: wEnc, encoderBias: bEnc, decoderWeight: wDec, decoderBias: bDec,
                                     threshold: threshold, gated: gated, weightsDType: dtype, weightsPath: path,
                                     weightsSHA256: digest, foldedActivationScale: folded)
    }
}

extension SparseAutoencoder {
    /// Gemma Scope's weights file name.
    public static let gemmaScopeWeightsFile = "params.npz"

    /// Loads a Gemma Scope `params.npz` (numpy arrays `W_enc`/`w_enc` [d_in, d_sae], `W_dec` [d_sae, d_in], `b_enc`,
    /// `b_dec`, `threshold`): a JumpReLU SAE with apply_b_dec_to_input false, as SAELens's `gemma_2` loader reads it.
    ///
    /// The hook comes from `options.hookpoint`, else from the path as the hub lays it out
    /// (`…gemma-scope-2b-pt-att…/layer_12/…` → `blocks.12.attn.hook_z`; `-res` → `hook_resid_post`, `-mlp` → `hook_mlp_out`,
    /// `embedding` → `hook_embed`).
    public static func loadGemmaScope(file: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let npz: NumpyArchive
        do { npz = try NumpyArchive(path: file) } catch let e as FormatError { throw SAEError.format(e) }
        var named = NamedTensors(path: file, tensors: [:], dtype: "F32")
        for name in npz.names {
            let a: NumpyArray
            do { a = try npz.array(name) } catch let e as FormatError { throw SAEError.format(e) }
            let key = name.hasPrefix("w_") ? "W_" + name.dropFirst(2) : name
            named.tensors[key] = (a.shape, a.values)
            if key == "W_enc" { named.dtype = numpyDType(a.descr) }
        }
        let (dIn, dSAE) = try named.inferredSizes()
        let guess = gemmaScopeHook(path: file)
        guard let hook = options.hookpoint ?? guess.hook else {
            throw SAEError.missingConfigField(path: file, field: "hook (a Gemma Scope params.npz does not say where it reads; pass --hook, e.g. blocks.12.hook_resid_post)")
        }
        if file.contains("embedding"), named.has("W_enc"), named.has("W_dec") {
            // SAELens rescales Gemma Scope's embedding SAEs by √d_in (they were trained on unscaled embeddings).
            let s = Float(Double(dIn).squareRoot())
            named.tensors["W_enc"]!.values = named.tensors["W_enc"]!.values.map { $0 / s }
            named.tensors["W_dec"]!.values = named.tensors["W_dec"]!.values.map { $0 * s }
        }
        let config = SAEConfig(
            dIn: dIn, dSAE: dSAE, architecture: .jumprelu, applyBDecToInput: false, normalizeActivations: .none,
            reshapeActivations: HookNames.canonical(hook).hasSuffix("hook_z") ? "hook_z" : "none", dtype: "float32", format: .gemmaScope,
            metadata: SAEMetadata(modelName: options.modelName ?? guess.model, hookName: HookNames.canonical(hook), originalHookName: hook,
                                  contextSize: 1024, datasetPath: "monology/pile-uncopyrighted", prependBOS: true))
        try config.validate(path: file)
        return try named.autoencoder(config, options: options)
    }

    /// The hook and model a Gemma Scope path implies (SAELens `get_gemma_2_config_from_hf`'s rules).
    static func gemmaScopeHook(path: String) -> (hook: String?, model: String?) {
        let lower = path.lowercased()
        var model: String?
        for size in ["27b", "9b", "2b"] where lower.contains("gemma-scope-\(size)") {
            model = "gemma-2-\(size)" + (lower.contains("\(size)-it") ? "-it" : "")
            break
        }
        let layer = path.range(of: #"layer_(\d+)"#, options: .regularExpression).flatMap { Int(path[$0].dropFirst(6)) }
        let repo = path.range(of: #"gemma-scope-[0-9a-z-]+"#, options: [.regularExpression, .caseInsensitive]).map { String(lower[$0]) } ?? ""
        if repo.contains("res") && lower.contains("embedding") { return ("hook_embed", model) }
        guard let layer else { return (nil, model) }
        if repo.contains("res") { return ("blocks.\(layer).hook_resid_post", model) }
        if repo.contains("mlp") { return ("blocks.\(layer).hook_mlp_out", model) }
        if repo.contains("att") { return ("blocks.\(layer).attn.hook_z", model) }
        return (nil, model)
    }

    static func numpyDType(_ descr: String) -> String {
        switch descr.dropFirst() {
        case "f2": return "F16"
        case "f8": return "F64"
        default: return "F32"
        }
    }

    /// Loads a PyTorch `.pt` state dict (read by a restricted unpickler: tensors, dicts and numbers only; any other
    /// pickled class is refused and nothing in the file is executed).
    ///
    /// Tensor names are SAELens's (`W_enc`, `W_dec`, `b_enc`, `b_dec`, optional `threshold`, gated `b_gate`/`b_mag`/
    /// `r_mag`), possibly under one prefix (`state_dict.`, `sae.`…). The config comes from, in order: a `cfg.json`
    /// (SAELens) in the same folder; the attention-SAE paper's `<name>_cfg.json` beside the file (`act_name`,
    /// `act_size`, `dict_size`; trained through TransformerLens with folded value biases); else from the tensors
    /// (d_in, d_sae from `W_enc`; architecture from the names; apply_b_dec_to_input true). `options.hookpoint`
    /// overrides the hook; without one from anywhere, loading fails and says to pass `--hook`.
    public static func loadTorch(file: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let ckpt: TorchCheckpoint
        do { ckpt = try TorchCheckpoint(path: file) } catch let e as FormatError { throw SAEError.format(e) } catch let e as PickleError {
            throw SAEError.unsupported(path: file, feature: "this pickle", reason: e.description)
        }
        var named = NamedTensors(path: file, tensors: [:], dtype: "F32")
        let wanted: Set<String> = ["W_enc", "W_dec", "b_enc", "b_dec", "threshold", "log_threshold", "b_gate", "b_mag", "r_mag"]
        // Strip one common prefix: keep the last dotted component when it is a SAELens name.
        for (name, t) in ckpt.tensors {
            let leaf = String(name.split(separator: ".").last ?? "")
            guard wanted.contains(leaf) else { continue }
            if named.tensors[leaf] != nil {
                throw SAEError.unsupported(path: file, feature: "several tensors named \(leaf)", reason: "the file holds more than one SAE; convert the one you want")
            }
            named.tensors[leaf] = (t.shape, t.values)
            if leaf == "W_enc" { named.dtype = t.dtype.rawValue }
        }
        guard named.has("W_enc") else {
            let names = ckpt.tensors.prefix(12).map(\.name).joined(separator: ", ")
            throw SAEError.unrecognizedFolder(path: file, reason: "no W_enc tensor among \(names.isEmpty ? "(no tensors)" : names)")
        }
        let folder = (file as NSString).deletingLastPathComponent
        let fm = FileManager.default
        let paperConfig = (file as NSString).deletingPathExtension + "_cfg.json"
        var config: SAEConfig
        if fm.fileExists(atPath: paperConfig) {
            config = try ConfigReader.read(AttentionSAEPaperConfig.self, path: paperConfig).resolve(path: paperConfig)
        } else if fm.fileExists(atPath: folder + "/cfg.json") {
            config = try ConfigReader.read(SAELensConfigFile.self, path: folder + "/cfg.json").resolve(path: folder + "/cfg.json")
        } else {
            let (dIn, dSAE) = try named.inferredSizes()
            guard let hook = options.hookpoint else {
                throw SAEError.missingConfigField(path: file, field: "hook (no cfg.json or <name>_cfg.json beside the file; pass --hook, e.g. blocks.5.attn.hook_z)")
            }
            let canonical = HookNames.canonical(hook)
            config = SAEConfig(dIn: dIn, dSAE: dSAE, architecture: named.inferredArchitecture, applyBDecToInput: true,
                               reshapeActivations: canonical.hasSuffix("hook_z") ? "hook_z" : "none", format: .torch,
                               metadata: SAEMetadata(modelName: options.modelName, hookName: canonical, originalHookName: hook))
        }
        if let hook = options.hookpoint {
            config.metadata.hookName = HookNames.canonical(hook)
            config.metadata.originalHookName = hook
            config.reshapeActivations = config.metadata.hookName.hasSuffix("hook_z") ? "hook_z" : "none"
        }
        if let m = options.modelName { config.metadata.modelName = m }
        config.format = .torch
        try config.validate(path: file)
        return try named.autoencoder(config, options: options)
    }

    /// Loads a Llama Scope folder: `hyperparams.json` (`d_model`, `d_sae`, `hook_point_in`, `jump_relu_threshold`,
    /// `dataset_average_activation_norm.in`) + `checkpoints/final.safetensors` (`encoder.weight` [d_sae, d_model],
    /// `decoder.weight` [d_model, d_sae], `encoder.bias`, `decoder.bias`), as SAELens's `llama_scope` loader does: a
    /// JumpReLU with one scalar threshold, apply_b_dec_to_input false, and the input scale s = √d_model / average norm
    /// folded into the weights (W_enc·s, W_dec/s, b_dec/s) with the threshold scaled by s.
    public static func loadLlamaScope(folder: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let cfgPath = folder + "/hyperparams.json"
        let hp = try ConfigReader.read(LlamaScopeHyperparams.self, path: cfgPath)
        guard let dIn = hp.dModel?.value else { throw SAEError.missingConfigField(path: cfgPath, field: "d_model") }
        guard let dSAE = hp.dSAE?.value else { throw SAEError.missingConfigField(path: cfgPath, field: "d_sae") }
        guard let rawHook = options.hookpoint ?? hp.hookPointIn else { throw SAEError.missingConfigField(path: cfgPath, field: "hook_point_in") }
        guard let threshold = hp.jumpReluThreshold else { throw SAEError.missingConfigField(path: cfgPath, field: "jump_relu_threshold") }
        if let fn = hp.actFn, fn.lowercased() != "jumprelu" {
            throw SAEError.unsupported(path: cfgPath, feature: "act_fn '\(fn)'", reason: "only JumpReLU Llama Scope SAEs are read")
        }
        if let out = hp.hookPointOut, let inp = hp.hookPointIn, out != inp {
            throw SAEError.unsupported(path: cfgPath, feature: "hook_point_out \(out) ≠ hook_point_in \(inp)", reason: "a transcoder, not an SAE")
        }
        let scale: Float
        if let s = options.activationScale {
            scale = s
        } else {
            guard let norm = hp.averageNorm?.input, norm > 0 else {
                throw SAEError.missingConfigField(path: cfgPath, field: "dataset_average_activation_norm.in")
            }
            scale = Float(Double(dIn).squareRoot() / norm)
        }
        guard scale.isFinite, scale > 0 else { throw SAEError.invalidArgument("\(cfgPath): activation scale \(scale) must be positive and finite") }
        let weightsPath = folder + "/checkpoints/final.safetensors"
        let file = try TensorSource(path: weightsPath)
        for (name, shape) in [("encoder.weight", [dSAE, dIn]), ("decoder.weight", [dIn, dSAE]), ("encoder.bias", [dSAE]), ("decoder.bias", [dIn])] {
            try file.expect(name, shape)
        }
        let enc = try file.floats("encoder.weight"), dec = try file.floats("decoder.weight")
        var wEnc = [Float](repeating: 0, count: dIn * dSAE), wDec = [Float](repeating: 0, count: dSAE * dIn)
        for f in 0 ..< dSAE {
            for i in 0 ..< dIn {
                wEnc[i * dSAE + f] = enc[f * dIn + i]
                wDec[f * dIn + i] = dec[i * dSAE + f]
            }
        }
        var bDec = try file.floats("decoder.bias")
        foldInputScale(scale, wEnc: &wEnc, wDec: &wDec, bDec: &bDec)
        let hook = HookNames.canonical(rawHook)
        let config = SAEConfig(
            dIn: dIn, dSAE: dSAE, architecture: .jumprelu, applyBDecToInput: false, normalizeActivations: .none,
            reshapeActivations: hook.hasSuffix("hook_z") ? "hook_z" : "none", dtype: "bfloat16", format: .llamaScope,
            metadata: SAEMetadata(modelName: options.modelName ?? "meta-llama/Llama-3.1-8B", hookName: hook, originalHookName: rawHook,
                                  contextSize: 1024, datasetPath: "cerebras/SlimPajama-627B", prependBOS: true))
        let digest = try options.computeDigest ? SAEError.wrapping { try SHA256.hexDigest(ofFileAt: weightsPath) } : nil
        return try SparseAutoencoder(
            config: config, encoderWeight: wEnc, encoderBias: try file.floats("encoder.bias"), decoderWeight: wDec, decoderBias: bDec,
            threshold: [Float](repeating: Float(threshold) * scale, count: dSAE), weightsDType: file.dtype("encoder.weight"),
            weightsPath: weightsPath, weightsSHA256: digest, foldedActivationScale: scale)
    }
}

extension SparseAutoencoder {
    /// Gemma Scope 2's weights file name.
    public static let gemmaScope2WeightsFile = "params.safetensors"

    /// Loads a Gemma Scope 2 folder (Gemma 3): `params.safetensors` (`w_enc` [d_in, d_sae], `w_dec`, `b_enc`, `b_dec`,
    /// `threshold`) + optional `config.json` (`model_name`, `hf_hook_point_in`), as SAELens's `gemma_3` loader reads
    /// it: JumpReLU, apply_b_dec_to_input false; the hook from the folder (`resid_post/layer_12_…` →
    /// `blocks.12.hook_resid_post`, `attn_out` → `blocks.12.attn.hook_z`, `mlp_out` → `blocks.12.hook_mlp_out`) or
    /// `options.hookpoint`. Transcoder and CLT folders are refused (they map one hook to another).
    public static func loadGemmaScope2(folder: String, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        let lower = folder.lowercased()
        if lower.contains("transcoder") || lower.contains("/clt") {
            throw SAEError.unsupported(path: folder, feature: "a Gemma Scope 2 transcoder", reason: "transcoders read one hook and write another; this loader reads SAEs")
        }
        let weightsPath = folder + "/" + gemmaScope2WeightsFile
        let file = try TensorSource(path: weightsPath)
        var named = NamedTensors(path: weightsPath, tensors: [:], dtype: file.dtype("w_enc"))
        for (key, name) in [("W_enc", "w_enc"), ("W_dec", "w_dec"), ("b_enc", "b_enc"), ("b_dec", "b_dec"), ("threshold", "threshold")] {
            guard file.has(name) else { throw SAEError.missingTensor(path: weightsPath, tensor: name) }
            named.tensors[key] = (try file.file.info(name).shape, try file.floats(name, allowNonFinite: true))
        }
        let (dIn, dSAE) = try named.inferredSizes()
        var modelName: String?
        let cfgPath = folder + "/config.json"
        if FileManager.default.fileExists(atPath: cfgPath) {
            let raw = try ConfigReader.read(GemmaScope2Config.self, path: cfgPath)
            if let a = raw.architecture, a != "jump_relu" {
                throw SAEError.unsupported(path: cfgPath, feature: "architecture '\(a)'", reason: "Gemma Scope 2 SAEs are jump_relu")
            }
            modelName = raw.modelName.map { n in
                var m = n.contains("google") ? n : "google/" + n
                m = m.replacingOccurrences(of: "-v3", with: "-3")
                if m.contains("270m") { m = m.replacingOccurrences(of: "-pt", with: "") }
                return m
            }
        }
        let layer = folder.range(of: #"layer_(\d+)"#, options: .regularExpression).flatMap { Int(folder[$0].dropFirst(6)) }
        var guess: String?
        if let layer {
            if lower.contains("resid_post") { guess = "blocks.\(layer).hook_resid_post" }
            else if lower.contains("attn_out") { guess = "blocks.\(layer).attn.hook_z" }
            else if lower.contains("mlp_out") { guess = "blocks.\(layer).hook_mlp_out" }
        }
        guard let hook = options.hookpoint ?? guess else {
            throw SAEError.missingConfigField(path: folder, field: "hook (the folder name says neither resid_post, attn_out nor mlp_out with layer_N; pass --hook)")
        }
        let canonical = HookNames.canonical(hook)
        let config = SAEConfig(
            dIn: dIn, dSAE: dSAE, architecture: .jumprelu, applyBDecToInput: false, normalizeActivations: .none,
            reshapeActivations: canonical.hasSuffix("hook_z") ? "hook_z" : "none", dtype: "float32", format: .gemmaScope,
            metadata: SAEMetadata(modelName: options.modelName ?? modelName, hookName: canonical, originalHookName: hook,
                                  contextSize: 1024, datasetPath: "monology/pile-uncopyrighted", prependBOS: true))
        try config.validate(path: folder)
        return try named.autoencoder(config, options: options)
    }
}

/// Gemma Scope 2's `config.json` (the keys the loader uses).
struct GemmaScope2Config: Decodable, Sendable {
    var architecture: String?
    var modelName: String?
    enum CodingKeys: String, CodingKey { case architecture, modelName = "model_name" }
}

/// The attention-SAE paper's `<name>_cfg.json` (Kissane et al.; what SAELens's `connor_rob_hook_z` loader reads).
struct AttentionSAEPaperConfig: Decodable, Sendable {
    var actName: String?
    var actSize: FlexibleInt?
    var dictSize: FlexibleInt?
    var modelName: String?
    var seqLen: FlexibleInt?

    enum CodingKeys: String, CodingKey {
        case actName = "act_name", actSize = "act_size", dictSize = "dict_size", modelName = "model_name", seqLen = "seq_len"
    }

    func resolve(path: String) throws -> SAEConfig {
        guard let actName else { throw SAEError.missingConfigField(path: path, field: "act_name") }
        guard let actSize else { throw SAEError.missingConfigField(path: path, field: "act_size") }
        guard let dictSize else { throw SAEError.missingConfigField(path: path, field: "dict_size") }
        let hook = HookNames.canonical(actName)
        return SAEConfig(
            dIn: actSize.value, dSAE: dictSize.value, architecture: .standard, applyBDecToInput: true, normalizeActivations: .none,
            reshapeActivations: hook.hasSuffix("hook_z") ? "hook_z" : "none", format: .torch,
            metadata: SAEMetadata(modelName: modelName ?? "gpt2-small", hookName: hook, originalHookName: actName,
                                  contextSize: seqLen?.value ?? 128, datasetPath: "Skylion007/openwebtext", prependBOS: true,
                                  foldedValueBiases: true))
    }
}

/// Llama Scope's `hyperparams.json` (the keys the loader needs).
struct LlamaScopeHyperparams: Decodable, Sendable {
    struct AverageNorm: Decodable, Sendable {
        var input: Double?
        enum CodingKeys: String, CodingKey { case input = "in" }
    }
    var dModel: FlexibleInt?
    var dSAE: FlexibleInt?
    var hookPointIn: String?
    var hookPointOut: String?
    var actFn: String?
    var jumpReluThreshold: Double?
    var averageNorm: AverageNorm?

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", dSAE = "d_sae", hookPointIn = "hook_point_in", hookPointOut = "hook_point_out"
        case actFn = "act_fn", jumpReluThreshold = "jump_relu_threshold", averageNorm = "dataset_average_activation_norm"
    }
}
