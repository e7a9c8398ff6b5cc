import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import TensorFormats
import TerminalUI

/// What `featurescope browse PATH` opens: a Featurescope cache folder, or a delphi run imported on
/// the fly into the per-user cache folder (`$XDG_CACHE_HOME/featurescope/delphi-imports/<key>`, keyed by
/// the run's path; re-imported only when the run's files changed). The run folder is never written.
public enum BrowserSource {
    /// Folder under the per-user cache folder holding imported delphi runs.
    public static let importsFolderName = "delphi-imports"
    /// File inside that cache recording which run files it was imported from.
    public static let importStampName = "imported-from.json"
    /// Opened when `featurescope` runs without arguments.
    public static let sampleCachePath = "sample-data/cache"

    /// How the path was understood.
    /// The bundled sample cache: `sample-data/cache` under the working directory, else beside the checkout the
    /// running executable was built in (`<repo>/.build/…/featurescope` → `<repo>/sample-data/cache`).
    public static func locateSampleCache(executable: String = CommandLine.arguments.first ?? "") -> String? {
        let fm = FileManager.default
        if fm.fileExists(atPath: sampleCachePath) { return sampleCachePath }
        guard !executable.isEmpty else { return nil }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0 ..< 6 {
            let candidate = dir.appendingPathComponent(sampleCachePath).path
            if fm.fileExists(atPath: candidate + "/manifest.json") { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }

    public enum Kind: Equatable, Sendable {
        case cache
        case delphiRun
    }

    /// A problem with PATH, worded for the command line.
    public struct OpenError: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ d: String) { description = d }
    }

    /// True for a folder with `latents/` holding a hookpoint `config.json` (delphi's layout).
    public static func isDelphiRun(_ path: String) -> Bool {
        let latents = path + "/latents"
        guard directoryExists(latents), let e = FileManager.default.enumerator(atPath: latents) else { return false }
        while let rel = e.nextObject() as? String {
            if FileUtilities.name(rel) == "config.json" || rel.hasSuffix(".safetensors") { return true }
        }
        return false
    }

    static func directoryExists(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }

    /// Classifies PATH.
    public static func kind(of path: String) throws -> Kind {
        guard directoryExists(path) else { throw OpenError("'\(SafeText.sanitize(path))' is not a folder") }
        if FileManager.default.fileExists(atPath: path + "/manifest.json") { return .cache }
        if isDelphiRun(path) { return .delphiRun }
        throw OpenError("'\(SafeText.sanitize(path))' is neither a Featurescope cache (no manifest.json) nor a delphi run (no latents/<hookpoint>/ with config.json and split files)")
    }

    /// Opens PATH as a cache, importing a delphi run first when needed.
    /// - Parameters:
    ///   - modelPath: GGUF whose tokenizer gives display strings for a delphi import (default: the
    ///     bundled SmolLM2 when the run used it).
    ///   - progress: (stage, done, total) while importing.
    ///   - cacheRoot: the per-user cache folder (default `FeaturescopePaths.cacheDirectory()`).
    public static func open(_ path: String, modelPath: String? = nil, useDefaultModel: Bool = true, cacheRoot: String? = nil,
                            progress: ((String, Int, Int) -> Void)? = nil) throws -> (cache: LatentCacheDirectory, kind: Kind, imported: Bool) {
        switch try kind(of: path) {
        case .cache:
            return (try LatentCacheDirectory.open(path), .cache, false)
        case .delphiRun:
            let (dir, imported) = try importDelphiRunIfNeeded(path, modelPath: modelPath, useDefaultModel: useDefaultModel,
                                                                cacheRoot: cacheRoot, progress: progress)
            return (try LatentCacheDirectory.open(dir), .delphiRun, imported)
        }
    }

    /// A fingerprint of the run's inputs: run_config.json and every file under latents/, explanations/ and
    /// scores/ with its size and modification time.
    static func fingerprint(run: String) -> [String] {
        var out: [String] = []
        if let a = try? FileManager.default.attributesOfItem(atPath: run + "/run_config.json") {
            let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            out.append("run_config.json\t\((a[.size] as? NSNumber)?.int64Value ?? -1)\t\(Int64(mtime * 1000))")
        }
        for sub in ["latents", "explanations", "scores"] {
            guard let e = FileManager.default.enumerator(atPath: run + "/" + sub) else { continue }
            while let rel = e.nextObject() as? String {
                let full = run + "/" + sub + "/" + rel
                guard let a = try? FileManager.default.attributesOfItem(atPath: full),
                      (a[.type] as? FileAttributeType) == .typeRegular else { continue }
                let size = (a[.size] as? NSNumber)?.int64Value ?? -1
                let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                out.append("\(sub)/\(rel)\t\(size)\t\(Int64(mtime * 1000))")
            }
        }
        return out.sorted()
    }

    struct ImportStamp: Codable, Equatable {
        var featurescopeImport: Int
        var run: String?
        var model: String?
        var files: [String]
    }

    /// Where the import of `run` lives: `<cacheRoot>/delphi-imports/<name>-<SHA-256 of its absolute path, 16 hex>`.
    public static func importFolder(run: String, cacheRoot: String? = nil) -> String {
        let absolute = URL(fileURLWithPath: run).standardizedFileURL.resolvingSymlinksInPath().path
        var h = SHA256()
        h.update(Array(absolute.utf8))
        let hex = h.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
        let name = String(FileUtilities.name(absolute).unicodeScalars.map {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) ? Character($0) : "_"
        }.prefix(40))
        return (cacheRoot ?? FeaturescopePaths.cacheDirectory()) + "/" + importsFolderName + "/" + name + "-" + hex
    }

    /// Imports the run into its folder under the per-user cache (`importFolder`) unless a cache made from
    /// the same files is there. Nothing is written inside the run.
    public static func importDelphiRunIfNeeded(_ run: String, modelPath: String? = nil, useDefaultModel: Bool = true,
                                               cacheRoot: String? = nil,
                                               progress: ((String, Int, Int) -> Void)? = nil) throws -> (path: String, imported: Bool) {
        let out = importFolder(run: run, cacheRoot: cacheRoot)
        let model = modelPath ?? (useDefaultModel ? defaultModelForRun(run) : nil)
        let stamp = ImportStamp(featurescopeImport: 2, run: URL(fileURLWithPath: run).standardizedFileURL.path, model: model,
                                files: fingerprint(run: run))
        if let d = FileManager.default.contents(atPath: out + "/" + importStampName),
           let old = try? JSONDecoder().decode(ImportStamp.self, from: d), old == stamp,
           (try? LatentCacheDirectory.open(out)) != nil {
            return (out, false)
        }
        var vocab: [[UInt8]]?
        var source = "token-ids"
        if let m = model {
            do {
                let t = try Tokenizer(modelAt: m)
                vocab = (0 ..< t.vocabSize).map { Array(t.displayString(Int32($0)).utf8) }
                source = "gguf"
            } catch {
                throw OpenError("could not read the tokenizer of \(SafeText.sanitize(m)): \(error)")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: FileUtilities.parent(out), withIntermediateDirectories: true)
            _ = try DelphiImport.run(run, output: out, options: DelphiImportOptions(
                vocabulary: vocab, vocabularySource: source, creationCommand: "featurescope browse \(run)", overwrite: true),
                progress: progress)
        } catch { throw OpenError("importing the delphi run \(SafeText.sanitize(run)) failed: \(error)") }
        try AtomicFile.writeJSON(stamp, to: out + "/" + importStampName)
        return (out, true)
    }

    /// The bundled model when the run's config names SmolLM2-135M and the model file exists.
    static func defaultModelForRun(_ run: String) -> String? {
        guard DelphiImport.modelName(run: run)?.lowercased().contains("smollm2-135m") == true else { return nil }
        let p = ModelLocator.resolve(explicit: nil)
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// The message shown when `featurescope` runs without arguments and there is no sample cache.
    public static let noSampleCacheMessage = """
        no cache to open: \(sampleCachePath) does not exist here.
        Open one with `featurescope browse PATH` (a cache folder or a delphi run), build one with
        `featurescope cache --sae SAE_FOLDER --tokens TOKENS --out CACHE`, import one with
        `featurescope import delphi RUN --out CACHE`, or try the browser on made-up data with
        `featurescope browse --demo 1000`.
        """
}

/// Path helpers without Foundation's URL round trips.
enum FileUtilities {
    static func name(_ p: String) -> String { p.split(separator: "/").last.map(String.init) ?? p }
    static func parent(_ p: String) -> String { (p as NSString).deletingLastPathComponent }
}
