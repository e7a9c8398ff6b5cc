import Foundation

// The JSON that Neuronpedia's tools write and serve (docs/neuronpedia.md cites the sources):
//
// - SAEDashboard's Neuronpedia runner (`sae_dashboard/neuronpedia/neuronpedia_runner.py` writes
//   `batch-N.json`, `skipped_indexes.json` and `run_settings.json`; the batch object is
//   `NeuronpediaDashboardBatch.to_dict` in `neuronpedia_dashboard.py`, filled by `neuronpedia_converter.py`).
// - Neuronpedia's database rows as its API (`/api/feature/MODEL/SOURCE/INDEX`) and its exports
//   (`v1/MODEL/SOURCE/{features,activations,explanations}/batch-N.jsonl.gz`) give them: the `Neuron`,
//   `Activation`, `Explanation` and `ExplanationScore` models of `apps/webapp/prisma/schema.prisma`.

/// `NeuronpediaDashboardBatch.to_dict`: one batch file of the SAEDashboard Neuronpedia runner.
public struct NeuronpediaBatch: Codable, Sendable, Equatable {
    public var modelID: String
    public var layer: Int
    public var saeSet: String
    public var saeIDSuffix: String?
    public var features: [NeuronpediaDashboardFeature]

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", layer, saeSet = "sae_set", saeIDSuffix = "sae_id_suffix", features
    }

    public init(modelID: String, layer: Int, saeSet: String, saeIDSuffix: String? = nil, features: [NeuronpediaDashboardFeature]) {
        self.modelID = modelID; self.layer = layer; self.saeSet = saeSet; self.saeIDSuffix = saeIDSuffix; self.features = features
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(layer, forKey: .layer)
        try c.encode(saeSet, forKey: .saeSet)
        try c.encode(saeIDSuffix, forKey: .saeIDSuffix)  // null when absent, as the runner writes it
        try c.encode(features, forKey: .features)
    }
}

/// `NeuronpediaDashboardActivation.to_dict`: one example window of a feature.
public struct NeuronpediaDashboardActivation: Codable, Sendable, Equatable {
    /// Top-activation group: −1 / feature max / −1. Interval groups: the interval's bounds and the
    /// fraction of activating windows it holds.
    public var binMin: Float
    public var binMax: Float
    public var binContains: Double
    public var tokens: [String]
    public var values: [Float]
    /// Position of the window's strongest token.
    public var qualifyingTokenIndex: Int

    enum CodingKeys: String, CodingKey {
        case binMin = "bin_min", binMax = "bin_max", binContains = "bin_contains", tokens, values
        case qualifyingTokenIndex = "qualifying_token_index"
    }

    public init(binMin: Float, binMax: Float, binContains: Double, tokens: [String], values: [Float], qualifyingTokenIndex: Int) {
        self.binMin = binMin; self.binMax = binMax; self.binContains = binContains
        self.tokens = tokens; self.values = values; self.qualifyingTokenIndex = qualifyingTokenIndex
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        binMin = try c.decodeIfPresent(Float.self, forKey: .binMin) ?? 0
        binMax = try c.decodeIfPresent(Float.self, forKey: .binMax) ?? 0
        binContains = try c.decodeIfPresent(Double.self, forKey: .binContains) ?? 0
        tokens = try c.decode([String].self, forKey: .tokens)
        values = try c.decode([Float].self, forKey: .values)
        qualifyingTokenIndex = try c.decodeIfPresent(Int.self, forKey: .qualifyingTokenIndex) ?? 0
    }
}

/// `NeuronpediaDashboardFeature.to_dict`: every key the runner writes. Featurescope fills the activations,
/// logit lens (pos/neg), density and activation histogram; the neuron-alignment, correlation, logit
/// histogram and decoder-weight fields are written empty (SAEDashboard computes them from the model run).
public struct NeuronpediaDashboardFeature: Codable, Sendable, Equatable {
    public var featureIndex: Int
    public var neuronAlignmentIndices: [Int] = []
    public var neuronAlignmentValues: [Float] = []
    public var neuronAlignmentL1: [Float] = []
    public var correlatedNeuronsIndices: [Int] = []
    public var correlatedNeuronsL1: [Float] = []
    public var correlatedNeuronsPearson: [Float] = []
    public var correlatedFeaturesIndices: [Int] = []
    public var correlatedFeaturesL1: [Float] = []
    public var correlatedFeaturesPearson: [Float] = []
    public var negStr: [String] = []
    public var negValues: [Float] = []
    public var posStr: [String] = []
    public var posValues: [Float] = []
    public var fracNonzero: Double = 0
    public var freqHistDataBarValues: [Float] = []
    public var freqHistDataBarHeights: [Int] = []
    public var logitsHistDataBarHeights: [Int] = []
    public var logitsHistDataBarValues: [Float] = []
    public var nPromptsTotal: Int = 0
    public var nTokensInPrompt: Int = 0
    public var dataset: String = ""
    public var decoderWeightsDist: [Float] = []
    public var activations: [NeuronpediaDashboardActivation] = []
    public var vector: [Float] = []

    enum CodingKeys: String, CodingKey {
        case featureIndex = "feature_index"
        case neuronAlignmentIndices = "neuron_alignment_indices", neuronAlignmentValues = "neuron_alignment_values"
        case neuronAlignmentL1 = "neuron_alignment_l1", correlatedNeuronsIndices = "correlated_neurons_indices"
        case correlatedNeuronsL1 = "correlated_neurons_l1", correlatedNeuronsPearson = "correlated_neurons_pearson"
        case correlatedFeaturesIndices = "correlated_features_indices", correlatedFeaturesL1 = "correlated_features_l1"
        case correlatedFeaturesPearson = "correlated_features_pearson"
        case negStr = "neg_str", negValues = "neg_values", posStr = "pos_str", posValues = "pos_values"
        case fracNonzero = "frac_nonzero", freqHistDataBarValues = "freq_hist_data_bar_values"
        case freqHistDataBarHeights = "freq_hist_data_bar_heights", logitsHistDataBarHeights = "logits_hist_data_bar_heights"
        case logitsHistDataBarValues = "logits_hist_data_bar_values", nPromptsTotal = "n_prompts_total"
        case nTokensInPrompt = "n_tokens_in_prompt", dataset, decoderWeightsDist = "decoder_weights_dist", activations, vector
    }

    public init(featureIndex: Int) { self.featureIndex = featureIndex }

    /// Reads a batch feature; only `feature_index` is required (a hand-made or older file may leave the rest out).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        featureIndex = try c.decode(Int.self, forKey: .featureIndex)
        func list<T: Decodable>(_ k: CodingKeys) throws -> [T] { try c.decodeIfPresent([T].self, forKey: k) ?? [] }
        negStr = try list(.negStr); negValues = try list(.negValues); posStr = try list(.posStr); posValues = try list(.posValues)
        fracNonzero = try c.decodeIfPresent(Double.self, forKey: .fracNonzero) ?? 0
        freqHistDataBarValues = try list(.freqHistDataBarValues)
        freqHistDataBarHeights = try (c.decodeIfPresent([Double].self, forKey: .freqHistDataBarHeights) ?? []).map { Int($0) }
        nPromptsTotal = try c.decodeIfPresent(Int.self, forKey: .nPromptsTotal) ?? 0
        nTokensInPrompt = try c.decodeIfPresent(Int.self, forKey: .nTokensInPrompt) ?? 0
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset) ?? ""
        activations = try list(.activations)
    }
}

/// `ExplanationScore` (prisma): one score of an explanation.
public struct NeuronpediaExplanationScore: Codable, Sendable, Equatable {
    public var value: Double
    public var explanationScoreTypeName: String?
    public var explanationScoreModelName: String?
    /// Free-form JSON text; Featurescope writes its whole score annotation here (round trip).
    public var jsonDetails: String?
    public var createdAt: String?

    public init(value: Double, explanationScoreTypeName: String?, explanationScoreModelName: String?, jsonDetails: String?, createdAt: String?) {
        self.value = value; self.explanationScoreTypeName = explanationScoreTypeName
        self.explanationScoreModelName = explanationScoreModelName; self.jsonDetails = jsonDetails; self.createdAt = createdAt
    }
}

/// `Explanation` (prisma): a feature's explanation as the API and the explanation exports give it.
public struct NeuronpediaExplanation: Codable, Sendable, Equatable {
    public var modelId: String?
    /// The source id (`6-res-jb`, `20-gemmascope-res-16k`).
    public var layer: String?
    /// The feature index (a string in Neuronpedia's rows).
    public var index: NeuronpediaIndex?
    public var description: String
    public var typeName: String?
    public var explanationModelName: String?
    public var authorId: String?
    public var notes: String?
    public var createdAt: String?
    public var scores: [NeuronpediaExplanationScore]?

    public init(modelId: String?, layer: String?, index: Int, description: String, typeName: String?, explanationModelName: String?,
                authorId: String?, notes: String? = nil, createdAt: String?, scores: [NeuronpediaExplanationScore]?) {
        self.modelId = modelId; self.layer = layer; self.index = NeuronpediaIndex(value: index); self.description = description
        self.typeName = typeName; self.explanationModelName = explanationModelName; self.authorId = authorId
        self.notes = notes; self.createdAt = createdAt; self.scores = scores
    }
}

/// `Activation` (prisma): one example as the API and the activation exports give it.
public struct NeuronpediaActivation: Codable, Sendable, Equatable {
    public var modelId: String?
    public var layer: String?
    public var index: NeuronpediaIndex?
    public var tokens: [String]
    public var values: [Float]
    public var maxValue: Float?
    public var maxValueTokenIndex: Int?
    public var binMin: Double?
    public var binMax: Double?
    public var binContains: Double?
}

/// A `Neuron` row (prisma) with the `activations` and `explanations` the API includes: what
/// `/api/feature/MODEL/SOURCE/INDEX` returns and a feature export line holds.
public struct NeuronpediaFeature: Codable, Sendable {
    public var modelId: String?
    public var layer: String?
    public var index: NeuronpediaIndex
    public var hookName: String?
    public var fracNonzero: Double?
    public var activations: [NeuronpediaActivation]?
    public var explanations: [NeuronpediaExplanation]?

    enum CodingKeys: String, CodingKey {
        case modelId, layer, index, hookName, fracNonzero = "frac_nonzero", activations, explanations
    }
}

/// Neuronpedia writes feature indices as strings (`"10956"`); hand-made files often use numbers. Both read.
public struct NeuronpediaIndex: Codable, Sendable, Equatable {
    public var value: Int
    public init(value: Int) { self.value = value }
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { value = i; return }
        let s = try c.decode(String.self)
        guard let i = Int(s.trimmingCharacters(in: .whitespaces)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "feature index '\(s)' is not an integer")
        }
        value = i
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(value))  // as Neuronpedia stores it
    }
}

/// The runner's `run_settings.json` keys Featurescope writes and reads (`NeuronpediaRunnerConfig`), plus the hooks.
public struct NeuronpediaRunSettings: Codable, Sendable, Equatable {
    public var saeSet: String
    public var saePath: String
    public var outputsDir: String
    public var modelID: String
    public var layer: Int
    public var nPromptsTotal: Int
    public var nTokensInPrompt: Int
    public var huggingfaceDatasetPath: String
    public var nFeaturesAtATime: Int
    /// Featurescope additions: the hook the latents read, and for a transcoder the hook it writes.
    public var hookName: String?
    public var hookNameOut: String?

    enum CodingKeys: String, CodingKey {
        case saeSet = "sae_set", saePath = "sae_path", outputsDir = "outputs_dir", modelID = "model_id", layer
        case nPromptsTotal = "n_prompts_total", nTokensInPrompt = "n_tokens_in_prompt"
        case huggingfaceDatasetPath = "huggingface_dataset_path", nFeaturesAtATime = "n_features_at_a_time"
        case hookName = "featurescope_hook_name", hookNameOut = "featurescope_hook_name_out"
    }
}
