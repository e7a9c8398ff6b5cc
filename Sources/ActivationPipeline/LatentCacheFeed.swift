import Corpus
import LatentCache
import ModelEngine
import SAETraining
import SparseAutoencoders

/// The latent cache builder's activation source: one part per encoder of a pipeline.
public struct PipelineCacheSource: CacheActivationSource {
    public let pipeline: ActivationPipeline

    public init(pipeline: ActivationPipeline) { self.pipeline = pipeline }

    public func activations(rows: [[Int32]], firstRow: Int) throws -> [[SparseRowActivations]] {
        try pipeline.codes(rows: rows, firstRow: firstRow).map { perEncoder in
            perEncoder.map { SparseRowActivations(offsets: $0.offsets, latents: $0.indices, values: $0.values) }
        }
    }
}

/// Token rows of a packed token file.
public struct TokenFileRows: CacheRowSource {
    public let file: TokenFile
    public init(file: TokenFile) { self.file = file }
    public var rowCount: Int { file.rowCount }
    public func row(_ index: Int) throws -> [Int32] { try file.rowArray(index) }
}

/// The token-file rows an activation store holds, in stored order.
public struct StoredTokenRows: CacheRowSource {
    public let file: TokenFile
    public let manifest: ActivationManifest
    public init(file: TokenFile, manifest: ActivationManifest) {
        self.file = file
        self.manifest = manifest
    }
    public var rowCount: Int { manifest.rowsDone }
    public func row(_ index: Int) throws -> [Int32] { try file.rowArray(manifest.fileRow(ofStoredRow: index)) }
}

/// What `featurescope cache` builds from: the parts (one per SAE), the activation source and the token rows.
public struct CacheInputs {
    public let parts: [PartSpec]
    public let source: CacheActivationSource
    public let rows: CacheRowSource

    /// One part per SAE folder (named after its hook; a second SAE on the same hook gets `#index`), activations
    /// from forward passes of `model` or, with `activationStore`, from that store (whose rows are then the
    /// cache's rows).
    public static func make(model: TransformerModel, saes: [(folder: String, encoder: HookEncoder)], tokens file: TokenFile,
                            tokensPath: String, activationStore: String?) throws -> CacheInputs {
        var parts: [PartSpec] = []
        for (folder, e) in saes {
            var name = e.hook.description
            if parts.contains(where: { $0.name == name }) { name += "#\(parts.count)" }
            parts.append(PartSpec(name: name, hook: e.hook.description, latentCount: e.sae.dSAE,
                                  sae: SAEInfo(path: folder, sha256: e.sae.weightsSHA256,
                                               architecture: e.sae.config.architecture.rawValue, dIn: e.sae.dIn),
                                  hookOut: e.sae.isTranscoder ? e.sae.config.outputHookName : nil))
        }
        let encoders = saes.map(\.encoder)
        guard let store = activationStore else {
            return CacheInputs(parts: parts, source: PipelineCacheSource(pipeline: try ActivationPipeline(model: model, encoders: encoders)),
                               rows: TokenFileRows(file: file))
        }
        let source = try StoreHookSource(directory: store, hooks: encoders.map(\.hook), tokensPath: tokensPath,
                                         contextLength: file.contextLength, tokenFileRows: file.rowCount)
        for (e, w) in zip(encoders, encoders.map { e in source.widths[source.hooks.firstIndex(of: e.hook)!] }) where w != e.sae.dIn {
            throw PipelineError.store(directory: store, reason: "\(e.hook) has width \(w), the SAE expects \(e.sae.dIn)")
        }
        return CacheInputs(parts: parts, source: PipelineCacheSource(pipeline: try ActivationPipeline(source: source, encoders: encoders)),
                           rows: StoredTokenRows(file: file, manifest: source.manifest))
    }
}
