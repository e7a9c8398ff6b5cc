import Foundation

/// Where Featurescope keeps downloaded models and other per-user data.
public enum FeaturescopePaths {
    /// Environment variable that overrides the cache folder.
    public static let cacheDirEnv = "FEATURESCOPE_CACHE_DIR"

    /// The per-user cache folder: `$FEATURESCOPE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/featurescope`, else `~/.cache/featurescope`.
    public static func cacheDirectory(override: String? = nil,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let o = override, !o.isEmpty { return o }
        if let e = environment[cacheDirEnv], !e.isEmpty { return e }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/featurescope" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.cache/featurescope"
    }
}
