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

extension FeaturescopePaths {
    /// Environment variable that overrides the per-user data folder.
    public static let dataDirEnv = "FEATURESCOPE_DATA_DIR"

    /// The per-user data folder (annotations Featurescope must not write into a cache, see
    /// `overlayDirectory`): `$FEATURESCOPE_DATA_DIR`, else `$XDG_DATA_HOME/featurescope`, else
    /// `~/.local/share/featurescope`.
    public static func dataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let e = environment[dataDirEnv], !e.isEmpty { return e }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/featurescope" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/featurescope"
    }

    /// Where new annotations of the cache `cacheID` go when the cache itself must stay untouched (the
    /// bundled sample, a read-only folder): `<data dir>/overlays/<cacheID>`.
    public static func overlayDirectory(cacheID: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        dataDirectory(environment: environment) + "/overlays/" + cacheID
    }
}
