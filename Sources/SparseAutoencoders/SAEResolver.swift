import Foundation
import ModelEngine

/// Turns what a user passes to `--sae` into a loaded SAE: a path (any folder or file `SparseAutoencoder.load` reads),
/// `RELEASE/SAE_ID` from the release registry (SAELens's `pretrained_saes.yaml`), or `ORG/REPO/HOOK` of a sparsify repo
/// — the last two found in the Hugging Face hub cache, offline. One function serves every command that takes `--sae`.
public enum SAEResolver {
    /// Where a spec points.
    public struct Resolution: Sendable, Equatable {
        /// The folder or file to load.
        public var path: String
        /// The release and SAE id, when it came from the registry.
        public var release: String?
        public var saeID: String?
        /// `norm_scaling_factor` from the registry (folded for expected_average_only_in SAEs).
        public var activationScale: Float?
    }

    /// Loads `spec` (see the type's description). `registry` is read only when `spec` is not a path.
    public static func load(_ spec: String, options: SAELoadOptions = SAELoadOptions(), registry: SAERegistry? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SparseAutoencoder {
        try load(try resolve(spec, registry: registry, environment: environment), options: options)
    }

    /// Loads what `resolve` found.
    public static func load(_ r: Resolution, options: SAELoadOptions = SAELoadOptions()) throws -> SparseAutoencoder {
        var o = options
        if o.activationScale == nil { o.activationScale = r.activationScale }
        return try SparseAutoencoder.load(folder: r.path, options: o)
    }

    /// Loads `spec` and prepares it for `model`'s activations (`SparseAutoencoder.prepared(for:)`).
    public static func load(_ spec: String, for model: TransformerModel, options: SAELoadOptions = SAELoadOptions(),
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SparseAutoencoder {
        try load(spec, options: options, environment: environment).prepared(for: model)
    }

    /// Where `spec` points, checking that the files it needs are there.
    public static func resolve(_ spec: String, registry: SAERegistry? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolution {
        let fm = FileManager.default
        if fm.fileExists(atPath: spec) || spec.hasPrefix("/") || spec.hasPrefix(".") || spec.hasPrefix("~") {
            return Resolution(path: spec)
        }
        let parts = spec.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw SAEError.notResolved(spec: spec, reason: "no such file or folder, and not of the form RELEASE/SAE_ID")
        }
        let reg = try registry ?? SAERegistry.load(environment: environment)
        if let release = reg.release(parts[0]) {
            return try resolve(release: release, saeID: parts[1], environment: environment)
        }
        // sparsify: ORG/REPO/HOOK (or ORG/REPO holding one SAE).
        let pieces = spec.split(separator: "/", maxSplits: 2).map(String.init)
        if pieces.count >= 2, let snapshot = ModelLocator.huggingFaceSnapshot(repo: pieces[0] + "/" + pieces[1], environment: environment) {
            let folder = pieces.count == 3 ? snapshot + "/" + pieces[2] : snapshot
            guard fm.fileExists(atPath: folder) else {
                let hooks = ((try? fm.contentsOfDirectory(atPath: snapshot)) ?? []).filter { fm.fileExists(atPath: snapshot + "/" + $0 + "/cfg.json") }.sorted()
                throw SAEError.notResolved(spec: spec, reason: "\(pieces[0])/\(pieces[1]) is in the Hugging Face cache but has no '\(pieces.count == 3 ? pieces[2] : "")' folder; cached: \(hooks.prefix(12).joined(separator: ", "))")
            }
            return Resolution(path: folder)
        }
        throw SAEError.notResolved(spec: spec, reason: "no such file or folder; no release '\(parts[0])' in the registry (\(reg.releases.count) releases, from \(reg.source)); "
            + "not a repo in the Hugging Face cache (\(ModelLocator.huggingFaceCache(environment: environment)))")
    }

    /// The files of one SAE of `release`, relative to the repo root.
    public static func files(of entry: SAEReleaseEntry, in release: SAERelease) -> [String] {
        let p = entry.path
        switch release.conversionFunc ?? "sae_lens" {
        case "connor_rob_hook_z": return [p, (p.hasSuffix(".pt") ? String(p.dropLast(3)) : p) + "_cfg.json"]
        case "gemma_2": return [p + "/params.npz"]
        case "gemma_3": return [p + "/" + SparseAutoencoder.gemmaScope2WeightsFile]
        case "llama_scope": return [p + "/hyperparams.json", p + "/checkpoints/final.safetensors"]
        case "sparsify": return [p + "/cfg.json", p + "/sae.safetensors"]
        default: return [p + "/cfg.json", p + "/" + SparseAutoencoder.saeLensWeightsFile]
        }
    }

    static func resolve(release: SAERelease, saeID: String, environment: [String: String]) throws -> Resolution {
        guard let entry = release.saes.first(where: { $0.id == saeID }) else {
            let ids = release.saes.prefix(8).map(\.id).joined(separator: ", ")
            throw SAEError.notResolved(spec: release.name + "/" + saeID,
                                       reason: "release \(release.name) has no SAE '\(saeID)' (it has \(release.saes.count): \(ids)\(release.saes.count > 8 ? ", …" : ""))")
        }
        guard release.isReadable else {
            throw SAEError.unsupported(path: release.name + "/" + saeID, feature: "SAELens conversion '\(release.conversionFunc ?? "")'",
                                       reason: "Featurescope reads SAE releases in SAELens, sparsify, Gemma Scope (gemma_2), Gemma Scope 2 (gemma_3, not its transcoders), Llama Scope and attention-SAE .pt (connor_rob_hook_z) layouts")
        }
        let files = files(of: entry, in: release)
        let command = "huggingface-cli download \(release.repoID) " + files.joined(separator: " ")
        guard let snapshot = ModelLocator.huggingFaceSnapshot(repo: release.repoID, environment: environment) else {
            throw SAEError.notResolved(spec: release.name + "/" + saeID,
                                       reason: "\(release.repoID) is not in the Hugging Face cache (\(ModelLocator.huggingFaceCache(environment: environment))); fetch it with: \(command)")
        }
        let fm = FileManager.default
        for f in files where !fm.fileExists(atPath: snapshot + "/" + f) {
            throw SAEError.notResolved(spec: release.name + "/" + saeID,
                                       reason: "\(f) of \(release.repoID) is not in the Hugging Face cache (\(snapshot)); fetch it with: \(command)")
        }
        let path = snapshot + "/" + (release.conversionFunc == "gemma_2" ? entry.path + "/params.npz" : entry.path)
        return Resolution(path: path, release: release.name, saeID: saeID, activationScale: entry.normScalingFactor.map { Float($0) })
    }
}

extension SAEResolver {
    /// One SAE of a release and whether its files are in the hub cache.
    public struct EntryStatus: Codable, Sendable, Equatable {
        public var id: String
        public var path: String
        public var l0: Double?
        public var cached: Bool
    }

    /// One release and what of it is in the hub cache.
    public struct ReleaseStatus: Codable, Sendable, Equatable {
        public var release: String
        public var repoID: String
        public var model: String?
        public var conversion: String
        /// Whether Featurescope reads the release's files.
        public var readable: Bool
        public var saeCount: Int
        public var cachedCount: Int
        public var saes: [EntryStatus]?

        enum CodingKeys: String, CodingKey {
            case release, repoID = "repo_id", model, conversion, readable, saeCount = "sae_count", cachedCount = "cached_count", saes
        }
    }

    /// The releases of `registry` with their cache status; `withEntries` lists every SAE too.
    public static func status(of registry: SAERegistry, withEntries: Bool,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> [ReleaseStatus] {
        let fm = FileManager.default
        return registry.releases.map { r in
            let snapshot = ModelLocator.huggingFaceSnapshot(repo: r.repoID, environment: environment)
            let entries = r.saes.map { e in
                EntryStatus(id: e.id, path: e.path, l0: e.l0,
                            cached: snapshot.map { s in files(of: e, in: r).allSatisfy { fm.fileExists(atPath: s + "/" + $0) } } ?? false)
            }
            return ReleaseStatus(release: r.name, repoID: r.repoID, model: r.model, conversion: r.conversionFunc ?? "sae_lens",
                                 readable: r.isReadable, saeCount: r.saes.count, cachedCount: entries.filter(\.cached).count,
                                 saes: withEntries ? entries : nil)
        }
    }
}
