import Foundation

/// Integer that a JSON file may also write as an integral float (`32` or `32.0`).
struct FlexibleInt: Decodable, Sendable {
    let value: Int
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { value = i; return }
        let d = try c.decode(Double.self)
        guard d == d.rounded(), abs(d) < 1e15 else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(d) is not an integer")
        }
        value = Int(d)
    }
}

/// `normalize_activations`: a string in v6, a boolean in old flat files.
enum NormalizeField: Decodable, Sendable {
    case name(String)
    case flag(Bool)
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .flag(b); return }
        self = .name(try c.decode(String.self))
    }
}

/// `model_from_pretrained_kwargs`: only the key that changes what a hook sees.
struct ModelKwargs: Decodable, Sendable {
    var foldValueBiases: Bool?
    enum CodingKeys: String, CodingKey { case foldValueBiases = "fold_value_biases" }
}

/// The `metadata` object of a SAELens v6 `cfg.json` (every key optional).
struct SAELensMetadataFile: Decodable, Sendable {
    var modelName: String?
    var hookName: String?
    var hookHeadIndex: FlexibleInt?
    var contextSize: FlexibleInt?
    var datasetPath: String?
    var prependBOS: Bool?
    var neuronpediaID: String?
    var saeLensVersion: String?
    var modelFromPretrainedKwargs: ModelKwargs?

    enum CodingKeys: String, CodingKey {
        case modelName = "model_name", hookName = "hook_name", hookHeadIndex = "hook_head_index"
        case contextSize = "context_size", datasetPath = "dataset_path", prependBOS = "prepend_bos"
        case neuronpediaID = "neuronpedia_id", saeLensVersion = "sae_lens_version"
        case modelFromPretrainedKwargs = "model_from_pretrained_kwargs"
    }
}

/// `activation_fn_kwargs` of an old flat `cfg.json`.
struct ActivationKwargs: Decodable, Sendable {
    var k: FlexibleInt?
}

/// A SAELens `cfg.json`, v6 (nested `metadata`) or legacy (flat), every key optional.
struct SAELensConfigFile: Decodable, Sendable {
    var dIn: FlexibleInt?
    var dSAE: FlexibleInt?
    var dtype: String?
    var architecture: String?
    var applyBDecToInput: Bool?
    var normalizeActivations: NormalizeField?
    var reshapeActivations: String?
    var k: FlexibleInt?
    var rescaleActsByDecoderNorm: Bool?
    var metadata: SAELensMetadataFile?
    var meta: SAELensMetadataFile?
    // Legacy flat keys.
    var modelName: String?
    var hookName: String?
    var hookPoint: String?
    var hookHeadIndex: FlexibleInt?
    var hookPointHeadIndex: FlexibleInt?
    var contextSize: FlexibleInt?
    var datasetPath: String?
    var prependBOS: Bool?
    var neuronpediaID: String?
    var saeLensVersion: String?
    var activationFnStr: String?
    var activationFnKwargs: ActivationKwargs?
    var modelFromPretrainedKwargs: ModelKwargs?

    enum CodingKeys: String, CodingKey {
        case dIn = "d_in", dSAE = "d_sae", dtype, architecture, applyBDecToInput = "apply_b_dec_to_input"
        case normalizeActivations = "normalize_activations", reshapeActivations = "reshape_activations", k
        case rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm", metadata, meta
        case modelName = "model_name", hookName = "hook_name", hookPoint = "hook_point"
        case hookHeadIndex = "hook_head_index", hookPointHeadIndex = "hook_point_head_index"
        case contextSize = "context_size", datasetPath = "dataset_path", prependBOS = "prepend_bos"
        case neuronpediaID = "neuronpedia_id", saeLensVersion = "sae_lens_version"
        case activationFnStr = "activation_fn_str", activationFnKwargs = "activation_fn_kwargs"
        case modelFromPretrainedKwargs = "model_from_pretrained_kwargs"
    }

    /// The normalised config; `path` names the file in errors.
    func resolve(path: String) throws -> SAEConfig {
        guard let dIn else { throw SAEError.missingConfigField(path: path, field: "d_in") }
        guard let dSAE else { throw SAEError.missingConfigField(path: path, field: "d_sae") }
        let nested = metadata ?? meta
        let rawHook = nested?.hookName ?? hookName ?? hookPoint
        guard let rawHook else { throw SAEError.missingConfigField(path: path, field: "hook_name") }

        // Architecture: v6 names it; legacy may say activation_fn_str = topk on a "standard" architecture.
        let archName = (architecture ?? "standard").lowercased()
        var arch: SAEArchitecture
        switch TranscoderNames.baseArchitecture(archName) {
        case "standard", "relu": arch = .standard
        case "topk": arch = .topk
        case "jumprelu": arch = .jumprelu
        case "gated": arch = .gated
        default: throw SAEError.unknownArchitecture(path: path, name: archName)
        }
        var kValue = k?.value
        if let fn = activationFnStr?.lowercased() {
            switch fn {
            case "relu": break
            case "topk":
                guard arch == .standard || arch == .topk else {
                    throw SAEError.invalidConfigValue(path: path, field: "activation_fn_str", value: fn, expected: "relu with architecture \(archName)")
                }
                arch = .topk
                if kValue == nil { kValue = activationFnKwargs?.k?.value }
            default:
                throw SAEError.unsupported(path: path, feature: "activation_fn_str '\(fn)'", reason: "only relu and topk are implemented")
            }
        }

        let norm: ActivationNormalization
        switch normalizeActivations {
        case nil: norm = .none
        case .flag(let b)?: norm = b ? .expectedAverageOnlyIn : .none
        case .name(let s)?:
            guard let n = ActivationNormalization(rawValue: s) else {
                throw SAEError.invalidConfigValue(path: path, field: "normalize_activations", value: s,
                                                  expected: "none, expected_average_only_in, constant_norm_rescale or layer_norm")
            }
            norm = n
        }
        let meta = SAEMetadata(
            modelName: nested?.modelName ?? modelName,
            hookName: HookNames.canonical(rawHook),
            originalHookName: rawHook,
            hookHeadIndex: (nested?.hookHeadIndex ?? hookHeadIndex ?? hookPointHeadIndex)?.value,
            contextSize: (nested?.contextSize ?? contextSize)?.value,
            datasetPath: nested?.datasetPath ?? datasetPath,
            prependBOS: nested?.prependBOS ?? prependBOS,
            neuronpediaID: nested?.neuronpediaID ?? neuronpediaID,
            saeLensVersion: nested?.saeLensVersion ?? saeLensVersion,
            // SAELens loads training models with from_pretrained_no_processing: the kwargs say whether b_V was folded.
            foldedValueBiases: (nested?.modelFromPretrainedKwargs ?? modelFromPretrainedKwargs).map { $0.foldValueBiases ?? false })
        let config = SAEConfig(
            dIn: dIn.value, dSAE: dSAE.value, architecture: arch, k: arch == .topk ? kValue : nil,
            applyBDecToInput: applyBDecToInput ?? true, normalizeActivations: norm,
            reshapeActivations: reshapeActivations ?? "none",
            rescaleActsByDecoderNorm: arch == .topk && (rescaleActsByDecoderNorm ?? false),
            reluBeforeTopK: false, dtype: dtype ?? "float32", format: .saeLens, metadata: meta)
        try config.validate(path: path)
        return config
    }
}

/// A sparsify (EleutherAI) `cfg.json`.
struct SparsifyConfigFile: Decodable, Sendable {
    var activation: String?
    var k: FlexibleInt?
    var numLatents: FlexibleInt?
    var expansionFactor: FlexibleInt?
    var normalizeDecoder: Bool?
    var multiTopK: Bool?
    var skipConnection: Bool?
    var transcode: Bool?
    var dIn: FlexibleInt?

    enum CodingKeys: String, CodingKey {
        case activation, k, numLatents = "num_latents", expansionFactor = "expansion_factor"
        case normalizeDecoder = "normalize_decoder", multiTopK = "multi_topk", skipConnection = "skip_connection"
        case transcode, dIn = "d_in"
    }

    /// The normalised config for the hookpoint `hookpoint` (the folder's name).
    func resolve(path: String, hookpoint: String, modelName: String?) throws -> SAEConfig {
        guard let dIn else { throw SAEError.missingConfigField(path: path, field: "d_in") }
        guard let k else { throw SAEError.missingConfigField(path: path, field: "k") }
        let act = activation ?? "topk"
        guard act == "topk" else {
            throw SAEError.unsupported(path: path, feature: "activation '\(act)'", reason: "only topk sparsify SAEs are implemented")
        }
        if skipConnection == true, transcode != true {
            throw SAEError.unsupported(path: path, feature: "skip_connection", reason: "W_skip is not applied by Featurescope's decoder")
        }
        var latents = numLatents?.value ?? 0
        if latents <= 0 {
            guard let e = expansionFactor?.value, e > 0 else {
                throw SAEError.missingConfigField(path: path, field: "num_latents (or expansion_factor)")
            }
            let (p, o) = dIn.value.multipliedReportingOverflow(by: e)
            guard !o else {
                throw SAEError.invalidConfigValue(path: path, field: "expansion_factor", value: "\(e)", expected: "a size that fits")
            }
            latents = p
        }
        var config = SAEConfig(
            dIn: dIn.value, dSAE: latents, architecture: .topk, k: k.value, applyBDecToInput: true,
            normalizeActivations: .none, reshapeActivations: hookpoint.hasSuffix("hook_z") ? "hook_z" : "none",
            rescaleActsByDecoderNorm: false, reluBeforeTopK: true, dtype: "float32", format: .sparsify,
            metadata: SAEMetadata(modelName: modelName, hookName: HookNames.canonical(hookpoint), originalHookName: hookpoint))
        applyTranscode(to: &config, hookpoint: hookpoint)
        try config.validate(path: path)
        return config
    }
}

enum ConfigReader {
    /// Decodes `T` from the JSON file at `path`, mapping every failure to `SAEError`.
    static func read<T: Decodable>(_: T.Type, path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SAEError.configUnreadable(path: path, reason: "file is missing or unreadable")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            throw SAEError.configUnreadable(path: path, reason: describe(e))
        } catch {
            throw SAEError.configUnreadable(path: path, reason: "not valid JSON")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        func keyPath(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch e {
        case let .typeMismatch(t, c): return "field '\(keyPath(c.codingPath))' is not a \(t)"
        case let .valueNotFound(t, c): return "field '\(keyPath(c.codingPath))' is null, expected a \(t)"
        case let .keyNotFound(k, _): return "field '\(k.stringValue)' is missing"
        case let .dataCorrupted(c):
            return c.codingPath.isEmpty ? "not valid JSON" : "field '\(keyPath(c.codingPath))': \(c.debugDescription)"
        @unknown default: return "undecodable"
        }
    }
}
