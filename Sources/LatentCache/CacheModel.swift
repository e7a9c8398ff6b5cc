import Foundation

/// How examples are cut and sampled; delphi's defaults (docs/autointerp.md).
public struct ExampleConfiguration: Codable, Sendable, Equatable {
    /// Tokens per window (delphi `example_ctx_len`).
    public var windowLength: Int
    /// Number of equal slices of the sorted activating windows (delphi `n_quantiles`); quantile 0 = strongest.
    public var quantiles: Int
    /// Windows sampled per quantile slice (delphi needs 4 train + 5 test; 10 leaves them disjoint).
    public var perQuantile: Int
    /// Strongest windows kept.
    public var topCount: Int
    /// Random non-activating windows kept.
    public var randomCount: Int
    /// Bins of the activation histogram (linear over 0 … max activation).
    public var histogramBins: Int
    /// Seed of every random choice (quantile samples, non-activating windows).
    public var seed: UInt64

    public init(windowLength: Int = 32, quantiles: Int = 10, perQuantile: Int = 10, topCount: Int = 20,
                randomCount: Int = 50, histogramBins: Int = 32, seed: UInt64 = 22) {
        self.windowLength = windowLength
        self.quantiles = quantiles
        self.perQuantile = perQuantile
        self.topCount = topCount
        self.randomCount = randomCount
        self.histogramBins = histogramBins
        self.seed = seed
    }

    /// Checks that every count is positive and small enough for the format.
    public func validate() throws {
        func check(_ v: Int, _ name: String, _ range: ClosedRange<Int>) throws {
            guard range.contains(v) else { throw CacheError.invalidArgument("\(name) must be in \(range), got \(v)") }
        }
        try check(windowLength, "window length", 1 ... 4096)
        try check(quantiles, "quantiles", 1 ... 1000)
        try check(perQuantile, "windows per quantile", 0 ... 100_000)
        try check(topCount, "top windows", 0 ... 100_000)
        try check(randomCount, "random windows", 0 ... 100_000)
        try check(histogramBins, "histogram bins", 1 ... 65536)
    }
}

/// The SAE behind a part.
public struct SAEInfo: Codable, Sendable, Equatable {
    public var path: String
    /// SHA-256 of the weights file (hex), when known.
    public var sha256: String?
    public var architecture: String?
    public var dIn: Int?
    public init(path: String, sha256: String? = nil, architecture: String? = nil, dIn: Int? = nil) {
        self.path = path; self.sha256 = sha256; self.architecture = architecture; self.dIn = dIn
    }
}

/// Provenance of a cache.
public struct CacheMetadata: Codable, Sendable, Equatable {
    /// Model name (e.g. `SmolLM2-135M-Instruct`).
    public var model: String?
    public var modelPath: String?
    public var modelSHA256: String?
    /// Where the token rows came from (file, dataset, split…).
    public var corpus: String?
    public var corpusSHA256: String?
    /// The command line that created the cache.
    public var creationCommand: String?
    /// ISO-8601 creation time (set by the builder when nil).
    public var createdAt: String?
    /// Free-form notes (e.g. "display strings are token ids: no vocabulary was available").
    public var notes: [String]
    /// Extra key/value provenance (e.g. delphi's config.json fields).
    public var extra: [String: String]

    public init(model: String? = nil, modelPath: String? = nil, modelSHA256: String? = nil, corpus: String? = nil,
                corpusSHA256: String? = nil, creationCommand: String? = nil, createdAt: String? = nil,
                notes: [String] = [], extra: [String: String] = [:]) {
        self.model = model; self.modelPath = modelPath; self.modelSHA256 = modelSHA256
        self.corpus = corpus; self.corpusSHA256 = corpusSHA256
        self.creationCommand = creationCommand; self.createdAt = createdAt
        self.notes = notes; self.extra = extra
    }
}

extension CacheMetadata {
    /// Same model and corpus (what a resumed build must share; dates and command lines may differ).
    func sameInputs(as other: CacheMetadata) -> Bool {
        model == other.model && modelPath == other.modelPath && modelSHA256 == other.modelSHA256
            && corpus == other.corpus && corpusSHA256 == other.corpusSHA256
    }
}

/// What a builder is told about one part (one hook point + SAE).
public struct PartSpec: Codable, Sendable, Equatable {
    /// Unique name of the part, usually the hook name (`blocks.6.hook_resid_post`).
    public var name: String
    /// TransformerLens hook name.
    public var hook: String
    /// Number of latents (d_sae).
    public var latentCount: Int
    public var sae: SAEInfo?
    /// The hookpoint name delphi used, when imported from or exported to delphi.
    public var delphiHookpoint: String?
    /// Transcoders: the hook the decoder writes (`hook` is the one it reads and the activations come from).
    public var hookOut: String?

    public init(name: String, hook: String? = nil, latentCount: Int, sae: SAEInfo? = nil, delphiHookpoint: String? = nil,
                hookOut: String? = nil) {
        self.name = name; self.hook = hook ?? name; self.latentCount = latentCount
        self.sae = sae; self.delphiHookpoint = delphiHookpoint; self.hookOut = hookOut
    }
}

/// One part as recorded in the manifest.
public struct PartManifest: Codable, Sendable, Equatable {
    public var spec: PartSpec
    /// Folder of the part, relative to the cache folder.
    public var directory: String
    /// True when `activations.bin` holds every nonzero activation (needed for an exact delphi export).
    public var hasAllActivations: Bool
}

/// Where the shared token rows live.
public struct TokenStoreInfo: Codable, Sendable, Equatable {
    public var tokenCount: Int
    public var rowLength: Int
    public var rows: Int
    /// Bytes per stored token id: 2 (u16) or 4 (u32) in version 2; absent in version 1 (always 4).
    public var bytesPerToken: Int?
}

/// `manifest.json`: the human-readable root of a cache.
public struct CacheManifest: Codable, Sendable, Equatable {
    public static let formatName = "featurescope-latent-cache"
    public var format: String
    /// Format version: 2 for new caches; 1 still reads.
    public var version: Int
    public var metadata: CacheMetadata
    public var examples: ExampleConfiguration
    public var tokens: TokenStoreInfo
    /// Number of display strings, and where they came from (`gguf`, `tokenizer`, `token-ids`).
    public var vocabularyCount: Int
    public var vocabularySource: String
    public var parts: [PartManifest]
}

// MARK: - What readers get back

/// Summary statistics of one latent, read from the fixed-size index without touching its record.
public struct LatentSummary: Sendable, Equatable {
    public var latent: Int
    /// Tokens with a nonzero activation.
    public var firingCount: Int
    /// Windows with at least one nonzero activation.
    public var activeWindowCount: Int
    /// firingCount / tokens in the corpus.
    public var densityPerToken: Double
    /// activeWindowCount / windows in the corpus.
    public var densityPerWindow: Double
    public var maxActivation: Float
    /// Mean over firing tokens.
    public var meanActivation: Float
    /// The newest explanation (untrusted text: sanitise before printing).
    public var explanationPreview: String?
    /// Best balanced accuracy of detection and fuzz scores, when any.
    public var bestDetection: Float?
    public var bestFuzz: Float?
    public var annotationCount: Int
}

/// One window of 32 (window length) tokens and this latent's activation on each.
public struct CacheWindow: Sendable, Equatable {
    /// Index of the window's first token in the shared token store.
    public var start: Int
    /// Row of the token store and position in it.
    public var row: Int
    public var position: Int
    /// Largest activation in the window (0 for non-activating windows).
    public var maxActivation: Float
    public var tokens: [Int]
    /// Per-token activations (stored as f16), same length as `tokens`.
    public var activations: [Float]
}

/// One quantile slice of the sorted activating windows.
public struct QuantileSample: Sendable, Equatable {
    /// 0 = strongest.
    public var quantile: Int
    /// Windows in the slice (delphi: activating windows / n_quantiles).
    public var sliceSize: Int
    /// Window maxima at the slice's strong and weak ends.
    public var strongest: Float
    public var weakest: Float
    /// Windows sampled from the slice, strongest first.
    public var windows: [CacheWindow]
}

/// Activation histogram over (0, upperBound], equal-width bins.
public struct ActivationHistogram: Sendable, Equatable {
    public var upperBound: Float
    public var counts: [Int]
    /// Bin `i` covers `[i·w, (i+1)·w)` with `w = upperBound / counts.count` (the max falls in the last bin).
    public var binWidth: Float { counts.isEmpty ? 0 : upperBound / Float(counts.count) }
}

/// Everything the cache stores about one latent.
public struct LatentRecord: Sendable, Equatable {
    public var latent: Int
    public var windowLength: Int
    public var activeWindowCount: Int
    public var histogram: ActivationHistogram
    /// Strongest windows, strongest first.
    public var top: [CacheWindow]
    public var quantiles: [QuantileSample]
    /// Random windows where the latent never fires.
    public var random: [CacheWindow]
}
