import FeaturescopeCore
import Foundation

/// How explain/score runs on a cache sample examples by default, recorded in the cache's metadata
/// (`extra["sampling.*"]`), e.g. from an imported delphi run's `run_config.json`. Nil = Featurescope's default.
public struct CacheSamplingDefaults: Sendable, Equatable, Codable {
    /// Tokens per example window (delphi `constructor_cfg.example_ctx_len`).
    public var windowLength: Int?
    /// Quantiles (delphi `sampler_cfg.n_quantiles`).
    public var quantiles: Int?
    /// Explainer examples in all (delphi `sampler_cfg.n_examples_train`).
    public var trainExamples: Int?
    /// Scorer activating examples in all (delphi `sampler_cfg.n_examples_test`).
    public var testExamples: Int?
    /// Scorer non-activating examples (delphi `constructor_cfg.n_non_activating`).
    public var nonActivating: Int?
    /// Fewest activating examples for a latent to be explained (delphi `constructor_cfg.min_examples`).
    public var minExamples: Int?
    /// Seed of every random choice (delphi `seed`).
    public var seed: UInt64?
    /// Where the values came from (e.g. "delphi run_config.json of RUN").
    public var source: String?

    static let prefix = "sampling."
    static let keys = ["window_length", "quantiles", "train_examples", "test_examples", "non_activating", "min_examples", "seed"]

    public init(windowLength: Int? = nil, quantiles: Int? = nil, trainExamples: Int? = nil, testExamples: Int? = nil,
                nonActivating: Int? = nil, minExamples: Int? = nil, seed: UInt64? = nil, source: String? = nil) {
        self.windowLength = windowLength; self.quantiles = quantiles; self.trainExamples = trainExamples
        self.testExamples = testExamples; self.nonActivating = nonActivating; self.minExamples = minExamples
        self.seed = seed; self.source = source
    }

    /// The defaults recorded in a cache's metadata (values that do not parse are ignored).
    public init(metadata: CacheMetadata) {
        func int(_ k: String) -> Int? { metadata.extra[Self.prefix + k].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil } }
        self.init(windowLength: int("window_length"), quantiles: int("quantiles"), trainExamples: int("train_examples"),
                  testExamples: int("test_examples"), nonActivating: int("non_activating"), minExamples: int("min_examples"),
                  seed: metadata.extra[Self.prefix + "seed"].flatMap { UInt64($0) }, source: metadata.extra[Self.prefix + "source"])
    }

    /// The defaults recorded in the cache at `path` (none when its manifest cannot be read).
    public static func recorded(inCacheAt path: String) -> CacheSamplingDefaults {
        guard let d = FileManager.default.contents(atPath: path + "/manifest.json"),
              let m = try? LatentCacheDirectory.decodeManifest(d, path: path + "/manifest.json") else { return CacheSamplingDefaults() }
        return CacheSamplingDefaults(metadata: m.metadata)
    }

    /// True when nothing is recorded.
    public var isEmpty: Bool { self == CacheSamplingDefaults(source: source) }

    /// Explainer examples per quantile (train ÷ quantiles, at least 1).
    public var trainPerQuantile: Int? { perQuantile(trainExamples) }
    /// Scorer examples per quantile (test ÷ quantiles, at least 1).
    public var testPerQuantile: Int? { perQuantile(testExamples) }

    private func perQuantile(_ total: Int?) -> Int? {
        guard let t = total else { return nil }
        return max(1, t / max(1, quantiles ?? 10))
    }

    /// Writes the set values into metadata `extra`.
    public func record(into extra: inout [String: String]) {
        let values: [(String, String?)] = [("window_length", windowLength.map(String.init)), ("quantiles", quantiles.map(String.init)),
                                           ("train_examples", trainExamples.map(String.init)), ("test_examples", testExamples.map(String.init)),
                                           ("non_activating", nonActivating.map(String.init)), ("min_examples", minExamples.map(String.init)),
                                           ("seed", seed.map(String.init)), ("source", source)]
        for (k, v) in values { if let v { extra[Self.prefix + k] = v } }
    }
}

/// What Featurescope reads of a delphi run's `run_config.json` (delphi.config.RunConfig, written by
/// `run_cfg.save_json`): who explained and scored, and how examples were sampled.
public struct DelphiRunConfig: Sendable {
    /// The file's whole content, kept so an export can write back what Featurescope does not use.
    var json: PythonJSON
    public var model: String?
    public var hookpoints: [String]
    /// The LLM that explained and scored (`explainer_model`).
    public var explainerModel: String?
    public var scorers: [String]
    /// Per-hookpoint explainer models and per-scorer models (Featurescope's `featurescope` section, or a
    /// top-level `scorer_model`), overriding `explainerModel`.
    public var explainerModels: [String: String]
    public var scorerModels: [String: String]
    public var sampling: CacheSamplingDefaults
    /// Settings Featurescope does not reproduce (e.g. a `train_type` other than quantiles).
    public var notes: [String]

    static let maxCount = 10_000_000
    /// Metadata `extra` key of the imported file's content (compact JSON).
    public static let extraKey = "delphiRunConfig"

    /// The run config an import recorded in a cache, if any.
    public static func recorded(in metadata: CacheMetadata) -> DelphiRunConfig? {
        guard let s = metadata.extra[extraKey], let v = DelphiImport.decodeJSON(JSONValue.self, Data(s.utf8)) else { return nil }
        return try? DelphiRunConfig(json: PythonJSON(v), path: "manifest.json")
    }

    /// Reads `RUN/run_config.json`; nil when the run has none. Throws naming the key on a wrong type.
    public static func load(run: String) throws -> DelphiRunConfig? {
        let path = run + "/run_config.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard data.count < 16 << 20 else { throw CacheError.invalidDelphiRun(path: path, reason: "larger than 16 MiB") }
        guard let v = DelphiImport.decodeJSON(JSONValue.self, data), case .object = v else {
            throw CacheError.invalidDelphiRun(path: path, reason: "not a JSON object")
        }
        return try DelphiRunConfig(json: PythonJSON(v), path: path)
    }

    init(json: PythonJSON, path: String) throws {
        self.json = json
        func bad(_ key: String, _ expected: String) -> CacheError {
            .invalidDelphiRun(path: path, reason: "`\(key)` must be \(expected)")
        }
        func string(_ v: PythonJSON?, _ key: String) throws -> String? {
            switch v {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw bad(key, "a string")
            }
        }
        func strings(_ v: PythonJSON?, _ key: String) throws -> [String] {
            switch v {
            case nil, .null?: return []
            case .array(let a)?: return try a.map { guard case .string(let s) = $0 else { throw bad(key, "a list of strings") }; return s }
            default: throw bad(key, "a list of strings")
            }
        }
        func count(_ section: String?, _ key: String) throws -> Int? {
            let v = section.map { json[$0]?[key] } ?? json[key]
            let name = (section.map { $0 + "." } ?? "") + key
            switch v {
            case nil, .null?: return nil
            case .int(let i)?: guard i >= 0, i <= Self.maxCount else { throw bad(name, "an integer 0…\(Self.maxCount), got \(i)") }; return i
            default: throw bad(name, "an integer")
            }
        }
        func map(_ v: PythonJSON?, _ key: String) throws -> [String: String] {
            guard case .object(let items)? = v else { return [:] }
            var out: [String: String] = [:]
            for (k, x) in items { out[k] = try string(x, key + "." + k) }
            return out
        }
        model = try string(json["model"], "model")
        hookpoints = try strings(json["hookpoints"], "hookpoints")
        explainerModel = try string(json["explainer_model"], "explainer_model")
        scorers = try strings(json["scorers"], "scorers")
        explainerModels = try map(json["featurescope"]?["explainer_models"], "featurescope.explainer_models")
        scorerModels = try map(json["featurescope"]?["scorer_models"], "featurescope.scorer_models")
        if let s = try string(json["scorer_model"], "scorer_model") {
            for scorer in scorers where scorerModels[scorer] == nil { scorerModels[scorer] = s }
        }
        let seed: UInt64?
        switch json["seed"] {
        case nil, .null?: seed = nil
        case .int(let i)?: guard i >= 0 else { throw bad("seed", "a non-negative integer") }; seed = UInt64(i)
        default: throw bad("seed", "an integer")
        }
        sampling = CacheSamplingDefaults(
            windowLength: try count("constructor_cfg", "example_ctx_len"), quantiles: try count("sampler_cfg", "n_quantiles"),
            trainExamples: try count("sampler_cfg", "n_examples_train"), testExamples: try count("sampler_cfg", "n_examples_test"),
            nonActivating: try count("constructor_cfg", "n_non_activating"), minExamples: try count("constructor_cfg", "min_examples"),
            seed: seed, source: "delphi run_config.json")
        // The cache format's limits (ExampleConfiguration.validate), as the import cuts windows and quantiles by them.
        if let w = sampling.windowLength, !(1 ... 4096).contains(w) { throw bad("constructor_cfg.example_ctx_len", "1…4096, got \(w)") }
        if let q = sampling.quantiles, !(1 ... 1000).contains(q) { throw bad("sampler_cfg.n_quantiles", "1…1000, got \(q)") }
        var notes: [String] = []
        if let t = try string(json["sampler_cfg"]?["train_type"], "sampler_cfg.train_type"), t != "quantiles" {
            notes.append("the run sampled explainer examples by \"\(t)\"; Featurescope's explain samples by quantiles")
        }
        if let s = try string(json["constructor_cfg"]?["non_activating_source"], "constructor_cfg.non_activating_source"), s != "random" {
            notes.append("the run drew non-activating examples from \"\(s)\"; Featurescope's scorers draw random ones")
        }
        self.notes = notes
    }

    /// The model an explanation of `hookpoint` is credited to.
    public func explainer(hookpoint: String) -> String? { explainerModels[hookpoint] ?? explainerModel }
    /// The model a `scorer` score is credited to.
    public func scorer(_ scorer: String) -> String? { scorerModels[scorer] ?? explainerModel }
}
