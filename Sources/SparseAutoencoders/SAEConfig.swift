/// Encoder nonlinearity of an SAE.
public enum SAEArchitecture: String, Codable, Sendable, CaseIterable {
    /// relu(pre)
    case standard
    /// keep the k largest pre-activations, then relu
    case topk
    /// relu(pre) · [pre > threshold]
    case jumprelu
    /// [x·W_enc + b_gate > 0] · relu(x·(W_enc ∘ exp(r_mag)) + b_mag)
    case gated
}

/// How SAELens rescales the input before encoding (and undoes it after decoding).
public enum ActivationNormalization: String, Codable, Sendable {
    case none
    /// x · s with a dataset-wide factor s; Featurescope folds s into the weights at load.
    case expectedAverageOnlyIn = "expected_average_only_in"
    /// Per token: x · √d_in / ‖x‖; decode divides by the same factor.
    case constantNormRescale = "constant_norm_rescale"
    /// Per token: (x − mean) / (std + 1e-5) with the unbiased std; decode undoes it.
    case layerNorm = "layer_norm"
}

/// Which on-disk layout an SAE came from.
public enum SAESourceFormat: String, Codable, Sendable {
    case saeLens = "saelens"
    case sparsify
    /// Gemma Scope `params.npz`.
    case gemmaScope = "gemma_scope"
    /// A PyTorch `.pt` state dict (e.g. the attention-SAE paper's files).
    case torch
    /// A Llama Scope folder (`hyperparams.json` + `checkpoints/final.safetensors`).
    case llamaScope = "llama_scope"
    /// Built in memory (tests, training).
    case memory
}

/// Provenance of an SAE: the model and hook it reads, and the data it was trained on.
public struct SAEMetadata: Codable, Sendable, Equatable {
    public var modelName: String?
    /// Hook name in TransformerLens convention (`blocks.L.hook_resid_post`…).
    public var hookName: String
    /// The hook name exactly as the file spelled it (`layers.3`, `hook_point`…).
    public var originalHookName: String?
    public var hookHeadIndex: Int?
    public var contextSize: Int?
    public var datasetPath: String?
    public var prependBOS: Bool?
    public var neuronpediaID: String?
    public var saeLensVersion: String?
    /// True when the SAE was trained on TransformerLens activations of a model loaded with `fold_value_biases`
    /// (TL's `from_pretrained` default): its `hook_z` input lacks the constant b_V + β·W_V per head, which the
    /// engine's raw hook_z carries (`SparseAutoencoder.prepared(for:)` accounts for it). nil when nothing says.
    public var foldedValueBiases: Bool?
    /// Transcoders: the hook the decoder writes (TransformerLens name); nil for an SAE.
    public var hookNameOut: String?
    /// Transcoders: the output hook exactly as the file spelled it.
    public var originalHookNameOut: String?

    enum CodingKeys: String, CodingKey {
        case modelName = "model_name", hookName = "hook_name", originalHookName = "original_hook_name"
        case hookHeadIndex = "hook_head_index", contextSize = "context_size", datasetPath = "dataset_path"
        case prependBOS = "prepend_bos", neuronpediaID = "neuronpedia_id", saeLensVersion = "sae_lens_version"
        case foldedValueBiases = "fold_value_biases"
        case hookNameOut = "hook_name_out", originalHookNameOut = "original_hook_name_out"
    }

    public init(modelName: String? = nil, hookName: String, originalHookName: String? = nil, hookHeadIndex: Int? = nil,
                contextSize: Int? = nil, datasetPath: String? = nil, prependBOS: Bool? = nil,
                neuronpediaID: String? = nil, saeLensVersion: String? = nil, foldedValueBiases: Bool? = nil) {
        self.modelName = modelName
        self.hookName = hookName
        self.originalHookName = originalHookName
        self.hookHeadIndex = hookHeadIndex
        self.contextSize = contextSize
        self.datasetPath = datasetPath
        self.prependBOS = prependBOS
        self.neuronpediaID = neuronpediaID
        self.saeLensVersion = saeLensVersion
        self.foldedValueBiases = foldedValueBiases
    }
}

/// The normalised description of a loaded SAE, whatever format it came from.
public struct SAEConfig: Codable, Sendable, Equatable {
    public var dIn: Int
    public var dSAE: Int
    public var architecture: SAEArchitecture
    /// Latents kept per token (topk only).
    public var k: Int?
    /// Subtract b_dec from the input before encoding.
    public var applyBDecToInput: Bool
    public var normalizeActivations: ActivationNormalization
    /// `hook_z`: the input is the per-head attention output, heads concatenated head-major.
    public var reshapeActivations: String
    /// topk: pre-activations were scaled by ‖W_dec[f]‖ (folded into the weights at load).
    public var rescaleActsByDecoderNorm: Bool
    /// sparsify: relu is applied before the top-k selection (the same kept set, documented for clarity).
    public var reluBeforeTopK: Bool
    /// The dtype the config names (the file's tensor dtypes are in `SparseAutoencoder.weightsDType`).
    public var dtype: String
    public var format: SAESourceFormat
    public var metadata: SAEMetadata
    /// Transcoders: the decoder's output width (nil: d_in, an SAE).
    public var dOut: Int?

    enum CodingKeys: String, CodingKey {
        case dIn = "d_in", dSAE = "d_sae", architecture, k, dOut = "d_out"
        case applyBDecToInput = "apply_b_dec_to_input", normalizeActivations = "normalize_activations"
        case reshapeActivations = "reshape_activations", rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm"
        case reluBeforeTopK = "relu_before_topk", dtype, format, metadata
    }

    public init(dIn: Int, dSAE: Int, architecture: SAEArchitecture, k: Int? = nil, applyBDecToInput: Bool = true,
                normalizeActivations: ActivationNormalization = .none, reshapeActivations: String = "none",
                rescaleActsByDecoderNorm: Bool = false, reluBeforeTopK: Bool = false, dtype: String = "float32",
                format: SAESourceFormat = .memory, metadata: SAEMetadata) {
        self.dIn = dIn
        self.dSAE = dSAE
        self.architecture = architecture
        self.k = k
        self.applyBDecToInput = applyBDecToInput
        self.normalizeActivations = normalizeActivations
        self.reshapeActivations = reshapeActivations
        self.rescaleActsByDecoderNorm = rescaleActsByDecoderNorm
        self.reluBeforeTopK = reluBeforeTopK
        self.dtype = dtype
        self.format = format
        self.metadata = metadata
    }

    /// True when the SAE reads `hook_z` (per-head attention outputs).
    public var isHookZ: Bool {
        reshapeActivations == "hook_z" || metadata.hookName.hasSuffix("hook_z")
    }

    /// Checks sizes and architecture-specific fields; `path` names the source in errors.
    public func validate(path: String) throws {
        guard dIn > 0, dIn <= 1 << 20 else {
            throw SAEError.invalidConfigValue(path: path, field: "d_in", value: "\(dIn)", expected: "1…1048576")
        }
        guard dSAE > 0, dSAE <= 1 << 24 else {
            throw SAEError.invalidConfigValue(path: path, field: "d_sae", value: "\(dSAE)", expected: "1…16777216")
        }
        guard dIn.multipliedReportingOverflow(by: dSAE).partialValue <= 1 << 34 else {
            throw SAEError.invalidConfigValue(path: path, field: "d_in × d_sae", value: "\(dIn) × \(dSAE)", expected: "at most 2^34 weights")
        }
        if architecture == .topk {
            guard let k else { throw SAEError.missingConfigField(path: path, field: "k") }
            guard k > 0, k <= dSAE else {
                throw SAEError.invalidConfigValue(path: path, field: "k", value: "\(k)", expected: "1…d_sae (\(dSAE))")
            }
        }
        if let dOut {
            guard dOut > 0, dOut <= 1 << 20 else {
                throw SAEError.invalidConfigValue(path: path, field: "d_out", value: "\(dOut)", expected: "1…1048576")
            }
            guard dOut.multipliedReportingOverflow(by: dSAE).partialValue <= 1 << 34 else {
                throw SAEError.invalidConfigValue(path: path, field: "d_sae × d_out", value: "\(dSAE) × \(dOut)", expected: "at most 2^34 weights")
            }
        }
        try validateTranscoder(path: path)
        guard reshapeActivations == "none" || reshapeActivations == "hook_z" else {
            throw SAEError.invalidConfigValue(path: path, field: "reshape_activations", value: reshapeActivations, expected: "none or hook_z")
        }
    }
}
