import FeaturescopeCore
import Foundation
import TensorFormats

/// An opened latent cache folder: manifest, shared tokens and display strings, and its parts.
///
/// Opening reads the manifest and the headers only (all data files are memory-mapped), so it is
/// O(1) in the number of latents.
public final class LatentCacheDirectory: @unchecked Sendable {
    public let path: String
    public let manifest: CacheManifest
    public let tokens: TokenStore
    public let vocabulary: VocabularyStore
    public let parts: [LatentCachePart]

    private init(path: String, manifest: CacheManifest, tokens: TokenStore, vocabulary: VocabularyStore, parts: [LatentCachePart]) {
        self.path = path; self.manifest = manifest; self.tokens = tokens; self.vocabulary = vocabulary; self.parts = parts
    }

    /// File that marks a cache as pristine (the bundled sample): new annotations go to the per-user overlay.
    public static let pristineMarkerFile = "PRISTINE"

    /// The overlay folder new annotations go to (nil: they are appended to the cache's own files).
    public var overlayDirectory: String? { parts.first?.overlayDirectory }

    /// A stable id of the cache: the first 16 hex digits of its manifest's SHA-256 (the manifest names the
    /// model, SAEs, corpus and parts; annotations live in other files, so it never changes after the build).
    public static func cacheID(manifestData: Data) -> String {
        let hex = manifestData.withUnsafeBytes { SHA256.hexDigest(of: $0) }
        return String(hex.prefix(16))
    }

    /// Whether new annotations of the cache at `path` must go to an overlay: it carries the pristine
    /// marker, or its annotation files cannot be written.
    public static func needsOverlay(_ path: String, manifest: CacheManifest) -> Bool {
        if FileManager.default.fileExists(atPath: path + "/" + pristineMarkerFile) { return true }
        for p in manifest.parts {
            let dir = path + "/" + p.directory
            for f in [CacheFormat.annotationLogFile, CacheFormat.annotationIndexFile] where access(dir + "/" + f, W_OK) != 0 {
                return true
            }
        }
        return false
    }

    /// Opens the cache at `path`, validating the version and every file's header and size. A pristine or
    /// read-only cache gets the per-user overlay (`FeaturescopePaths.overlayDirectory`): its annotations are
    /// read together with the cache's own, and new ones are written there.
    public static func open(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> LatentCacheDirectory {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw CacheError.cannotOpen(path: path, reason: "no such folder")
        }
        let manifestPath = path + "/" + CacheFormat.manifestFile
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw CacheError.cannotOpen(path: manifestPath, reason: "missing (not a latent cache folder, or an unfinished build)")
        }
        let manifest = try decodeManifest(data, path: manifestPath)
        let version = manifest.version
        let tokens = try TokenStore(path: path + "/" + CacheFormat.tokensFile, version: version)
        guard tokens.tokenCount == manifest.tokens.tokenCount, tokens.rowLength == manifest.tokens.rowLength else {
            throw CacheError.invalidManifest(path: manifestPath, reason: "it lists \(manifest.tokens.tokenCount) tokens in rows of \(manifest.tokens.rowLength); tokens.bin has \(tokens.tokenCount) in rows of \(tokens.rowLength)")
        }
        // Version 2 declares the token width in the manifest too; version 1 has none (always 4 bytes).
        let declaredWidth = manifest.tokens.bytesPerToken ?? (version == 1 ? 4 : 0)
        guard declaredWidth == tokens.bytesPerToken else {
            throw CacheError.invalidManifest(path: manifestPath, reason: "it lists \(manifest.tokens.bytesPerToken.map(String.init) ?? "no") bytes per token; tokens.bin has \(tokens.bytesPerToken)")
        }
        let vocab = try VocabularyStore(path: path + "/" + CacheFormat.vocabFile, version: version)
        guard vocab.count == manifest.vocabularyCount else {
            throw CacheError.invalidManifest(path: manifestPath, reason: "it lists \(manifest.vocabularyCount) display strings; vocab.bin has \(vocab.count)")
        }
        let overlayRoot = needsOverlay(path, manifest: manifest)
            ? FeaturescopePaths.overlayDirectory(cacheID: cacheID(manifestData: data), environment: environment) : nil
        var parts: [LatentCachePart] = []
        for p in manifest.parts {
            guard !p.directory.contains(".."), !p.directory.hasPrefix("/") else {
                throw CacheError.invalidManifest(path: manifestPath, reason: "part folder '\(p.directory)' leaves the cache folder")
            }
            parts.append(try LatentCachePart(manifest: p, cacheDirectory: path, tokens: tokens, vocabulary: vocab,
                                             windowLength: manifest.examples.windowLength, formatVersion: version,
                                             overlayDirectory: overlayRoot.map { $0 + "/" + p.directory }))
        }
        return LatentCacheDirectory(path: path, manifest: manifest, tokens: tokens, vocabulary: vocab, parts: parts)
    }

    static func decodeManifest(_ data: Data, path: String) throws -> CacheManifest {
        // Check the format and version first so an old or foreign manifest gets the right message.
        struct Probe: Decodable { var format: String?; var version: Int? }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: data) else {
            throw CacheError.invalidManifest(path: path, reason: "not a JSON object")
        }
        guard probe.format == CacheManifest.formatName else {
            throw CacheError.invalidManifest(path: path, reason: "format is '\(probe.format ?? "missing")', expected '\(CacheManifest.formatName)'")
        }
        guard let v = probe.version, CacheFormat.supportedVersions.contains(v) else {
            throw CacheError.unsupportedVersion(path: path, found: probe.version ?? -1, supported: CacheFormat.version)
        }
        let m: CacheManifest
        do { m = try JSONDecoder().decode(CacheManifest.self, from: data) } catch {
            throw CacheError.invalidManifest(path: path, reason: "\(error)")
        }
        do { try m.examples.validate() } catch { throw CacheError.invalidManifest(path: path, reason: "\(error)") }
        if m.version >= 2, m.examples.windowLength > CacheFormat.maxWindowLengthV2 {
            throw CacheError.invalidManifest(path: path, reason: "window length \(m.examples.windowLength) exceeds version 2's limit of \(CacheFormat.maxWindowLengthV2)")
        }
        guard Set(m.parts.map(\.spec.name)).count == m.parts.count else {
            throw CacheError.invalidManifest(path: path, reason: "part names are not unique")
        }
        for p in m.parts where p.spec.latentCount < 0 || p.spec.latentCount > 1 << 31 {
            throw CacheError.invalidManifest(path: path, reason: "part '\(p.spec.name)' has \(p.spec.latentCount) latents")
        }
        return m
    }

    /// The part with this name.
    public func part(named name: String) throws -> LatentCachePart {
        guard let p = parts.first(where: { $0.name == name }) else {
            throw CacheError.unknownPart(name: name, available: parts.map(\.name))
        }
        return p
    }

    /// Display string of a token (untrusted: sanitise before printing).
    public func displayString(_ token: Int) -> String { vocabulary.string(token) }

    /// Checks every checksum of every file and every invariant between files that
    /// docs/cache-format.md states (reads the whole cache).
    public func verify() throws {
        try verifyLayout()
        try tokens.verify()
        for p in parts { try p.verify() }
    }
}
