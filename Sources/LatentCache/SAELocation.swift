import Foundation

/// Where the SAE a cache part names lives. The manifest records the path as `featurescope cache --sae` was given it,
/// usually relative to the folder the build ran in (the bundled sample: `saes/L3`, built in `sample-data/` with
/// `--out cache`), so a moved or copied cache needs a search. The one resolver for every caller (browser, `score`,
/// `steer`, `align`).
public enum SAELocation {
    /// The places tried for `recorded`, in order: with `root` given, `root/recorded` and `root/<last component>` (so
    /// `root` may be the folder the path is relative to or the folder holding the SAE folders); an absolute path as
    /// recorded; a relative one against the cache folder's parent, the cache folder and the current directory.
    /// Absolute, standardised, without duplicates.
    public static func candidates(recorded: String, cacheDirectory: String, root: String? = nil,
                                  currentDirectory: String = FileManager.default.currentDirectoryPath) -> [String] {
        func absolute(_ p: String, in base: String) -> String {
            (p.hasPrefix("/") ? URL(fileURLWithPath: p) : URL(fileURLWithPath: base).appendingPathComponent(p)).standardized.path
        }
        let cache = absolute(cacheDirectory, in: currentDirectory)
        var out: [String] = []
        if let root {
            let r = absolute(root, in: currentDirectory)
            if !recorded.hasPrefix("/") { out.append(absolute(recorded, in: r)) }
            out.append(absolute((recorded as NSString).lastPathComponent, in: r))
        }
        if recorded.hasPrefix("/") {
            out.append(absolute(recorded, in: "/"))
        } else {
            out += [absolute(recorded, in: (cache as NSString).deletingLastPathComponent), absolute(recorded, in: cache),
                    absolute(recorded, in: currentDirectory)]
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }

    /// The first of `candidates` that exists (a folder or a file); else `CacheError.saeNotFound` listing them all.
    public static func resolve(recorded: String, part: String, cacheDirectory: String, root: String? = nil,
                               currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> String {
        let tried = candidates(recorded: recorded, cacheDirectory: cacheDirectory, root: root, currentDirectory: currentDirectory)
        if let found = tried.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw CacheError.saeNotFound(part: part, recorded: recorded, tried: tried)
    }
}

extension SAELocation {
    /// The folder (or file) of the SAE `part` of the cache at `cacheDirectory` was built with; `root` is the caller's
    /// override (`browse --sae-root`).
    public static func resolve(part: LatentCachePart, cacheDirectory: String, root: String? = nil) throws -> String {
        guard let recorded = part.sae?.path, !recorded.isEmpty else {
            throw CacheError.invalidArgument("part \(part.name) of \(cacheDirectory) names no SAE (the cache was imported without one)")
        }
        return try resolve(recorded: recorded, part: part.name, cacheDirectory: cacheDirectory, root: root)
    }
}

extension LatentCacheDirectory {
    /// `SAELocation.resolve(part:cacheDirectory:root:)` for a part of this cache.
    public func saeLocation(of part: LatentCachePart, root: String? = nil) throws -> String {
        try SAELocation.resolve(part: part, cacheDirectory: path, root: root)
    }
}
