import Foundation

/// Moving a per-user overlay's annotations into the cache's own log (`featurescope import overlay`): how a
/// maintainer refreshes a pristine cache such as the bundled sample with what was explained and scored on it.
extension LatentCachePart {
    /// What one fold did.
    public struct OverlayFold: Sendable, Equatable {
        /// Annotations the cache's own log held before.
        public var before: Int
        /// Annotations taken from the overlay.
        public var fromOverlay: Int
        /// Annotations the cache's own log holds now.
        public var after: Int
    }

    /// The overlay's annotations of a latent only, oldest first (none without an overlay).
    public func overlayAnnotations(_ latent: Int) throws -> [Annotation] {
        guard latent >= 0, latent < latentCount else { throw CacheError.latentOutOfRange(latent: latent, latentCount: latentCount) }
        return try overlayStore(create: false)?.annotations(latent) ?? []
    }

    /// Rewrites the cache's own annotation log to hold, latent by latent, its annotations (or none with
    /// `replacing`) followed by the overlay's, each passed through `transform`; then deletes the overlay's files
    /// of this part. The new log and index are written and synced beside the old ones and renamed over them (log
    /// first), so an interruption leaves either the old files or the new ones, plus the overlay until the end.
    /// Writes even into a cache that carries the PRISTINE marker. Reopen the cache before reading it again.
    public func foldOverlay(replacing: Bool, transform: (Annotation) -> Annotation = { $0 }) throws -> OverlayFold {
        guard let overlay = try overlayStore(create: false), let overlayDirectory else {
            let n = try (0 ..< latentCount).reduce(0) { $0 + (try annotationStore.annotations($1).count) }
            return OverlayFold(before: n, fromOverlay: 0, after: n)
        }
        var all: [Annotation] = []
        var before = 0, moved = 0
        for latent in 0 ..< latentCount {
            let own = try annotationStore.annotations(latent)
            before += own.count
            if !replacing { all += own.map(transform) }
            let extra = try overlay.annotations(latent)
            moved += extra.count
            all += extra.map(transform)
        }
        let staging = directory + "/.overlay-fold.tmp"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        } catch {
            throw CacheError.writeFailed(path: staging, reason: "cannot create the staging folder: \(error)")
        }
        try AnnotationStore.create(directory: staging, latentCount: latentCount, version: formatVersion)
        try AnnotationStore(directory: staging, latentCount: latentCount, version: formatVersion).append(all)
        for file in [CacheFormat.annotationLogFile, CacheFormat.annotationIndexFile] {
            guard rename(staging + "/" + file, directory + "/" + file) == 0 else {
                throw CacheError.writeFailed(path: directory + "/" + file, reason: "cannot rename the new file into place: \(String(cString: strerror(errno)))")
            }
        }
        FileUtil.fsyncDirectory(directory)
        try? FileManager.default.removeItem(atPath: staging)
        for file in [CacheFormat.annotationLogFile, CacheFormat.annotationIndexFile] {
            try? FileManager.default.removeItem(atPath: overlayDirectory + "/" + file)
        }
        try? FileManager.default.removeItem(atPath: overlayDirectory)
        return OverlayFold(before: before, fromOverlay: moved, after: all.count)
    }
}
