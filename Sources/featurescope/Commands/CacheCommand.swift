import ArgumentParser
import Corpus
import FeaturescopeCore
import Foundation
import LatentCache
import SAETraining
import ModelEngine
import SparseAutoencoders
import TensorFormats

/// `featurescope cache`: run the model + SAEs over a packed token file and write a latent cache.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Build a latent cache from a model, one or more SAEs and a packed token file.",
        discussion: """
        Runs the model over every row of --tokens (or the first --max-rows), encodes the hooked activations with each \
        SAE, and writes windows, quantiles, histograms and all nonzero activations per latent (docs/cache-format.md). \
        The build is resumable: run the same command again after an interruption and it continues from its last \
        checkpoint (kept in <out>.partial/).
        """)

    @Option(name: .customLong("sae"), help: "SAE folder (SAELens or sparsify); repeat for several hook points.")
    var saes: [String] = []
    @Option(help: "Packed token file (featurescope corpus).") var tokens: String
    @Option(help: "Where to write the cache.") var out: String
    @Option(help: "Use only the first N rows of the token file.") var maxRows: Int?
    @Option(help: "GGUF model (default: the bundled SmolLM2-135M-Instruct).") var model: String?
    @Option(help: ArgumentHelp("Read the hook activations from an activation store (featurescope collect) of the same token file instead of running the model.",
                               discussion: "The store holds f16 activations, so latent values can differ from a live forward pass in the 3rd significant digit."))
    var activations: String?
    @Option(help: "Rows per forward pass.") var batch = 8
    @Option(help: "Rows between checkpoints.") var checkpointEvery = 64
    @Option(help: "Keep at most this many latents per token (for non-topk SAEs with a large L0).") var keepTop: Int?
    @Flag(help: "Keep only sampled windows (no activations.bin; smaller, but delphi export becomes lossy).")
    var sampledOnly = false
    @Flag(help: "Replace an existing cache at --out (and discard an incompatible interrupted build).") var force = false
    @OptionGroup var examples: CacheExampleOptions
    @Flag(help: "Print the build statistics as JSON.") var json = false

    func validate() throws {
        guard !saes.isEmpty else { throw ValidationError("give at least one --sae folder") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be at least 1") }
        if let m = maxRows, m < 1 { throw ValidationError("--max-rows must be at least 1") }
    }

    func run() async throws {
        let modelPath = try ModelLocator.locate(explicit: model)
        let (llama, tokenizer) = try TransformerModel.loadWithTokenizer(path: modelPath)
        let file = try TokenFile(path: tokens)
        guard file.vocabSize <= tokenizer.vocabSize else {
            throw ValidationError("\(tokens) was made with a \(file.vocabSize)-token vocabulary; the model has \(tokenizer.vocabSize)")
        }
        var encoders: [(hook: HookPoint, sae: SparseAutoencoder)] = []
        var parts: [PartSpec] = []
        for dir in saes {
            let sae = try SparseAutoencoder.load(folder: dir)
            guard let hook = sae.hookPoint else {
                throw ValidationError("\(dir): hook '\(SafeText.sanitize(sae.config.metadata.hookName))' is not a hook point of the engine")
            }
            var name = hook.description
            if parts.contains(where: { $0.name == name }) { name += "#\(parts.count)" }
            encoders.append((hook, sae))
            parts.append(PartSpec(name: name, hook: hook.description, latentCount: sae.dSAE,
                                  sae: SAEInfo(path: dir, sha256: sae.weightsSHA256, architecture: sae.config.architecture.rawValue, dIn: sae.dIn)))
        }
        let corpus = ([tokens] + file.provenance.sources).joined(separator: "; ")
        let meta = CacheMetadata(model: URL(fileURLWithPath: modelPath).lastPathComponent, modelPath: modelPath,
                                 modelSHA256: try ModelFetcher.sha256(ofModelAt: modelPath), corpus: corpus,
                                 corpusSHA256: try ModelFetcher.sha256(ofFile: tokens),
                                 creationCommand: CommandLine.arguments.joined(separator: " "),
                                 extra: ["corpus.command": file.provenance.command, "corpus.tokenizer": file.provenance.tokenizer])
        let source: CacheActivationSource
        if let dir = activations {
            source = try ShardActivationSource(directory: dir, tokensPath: tokens, contextLength: file.contextLength, encoders: encoders, keepTop: keepTop)
        } else {
            source = EngineActivationSource(model: llama, encoders: encoders, keepTop: keepTop)
        }
        let builder = try LatentCacheBuilder.start(
            output: out, parts: parts,
            options: BuildOptions(examples: examples.configuration, rowLength: file.contextLength,
                                  keepAllActivations: !sampledOnly, checkpointEveryRows: checkpointEvery),
            metadata: meta, vocabulary: vocabulary(of: tokenizer), vocabularySource: "tokenizer", overwrite: force)
        var rowSource: CacheRowSource = TokenFileRows(file: file)
        if let s = source as? ShardActivationSource {
            if let fileRows = s.manifest.fileRows, fileRows != file.rowCount {
                throw ValidationError("\(activations ?? "") was collected from a token file of \(fileRows) rows; \(tokens) has \(file.rowCount)")
            }
            rowSource = StoredTokenRows(file: file, manifest: s.manifest)
        }
        let total = min(rowSource.rowCount, maxRows ?? rowSource.rowCount)
        if builder.resumed && !json {
            FileHandle.standardError.write(Data("resuming an interrupted build at row \(builder.rowsCompleted) of \(total)\n".utf8))
        }
        let bar = ProgressBar(total: total * file.contextLength, label: "cache", unit: "tok",
                              initial: builder.rowsCompleted * file.contextLength, enabled: !json)
        var finalizing: ProgressBar?
        let stats = try CacheBuildDriver.run(
            builder: builder, rows: rowSource, maxRows: total, batchSize: batch,
            source: source,
            progress: { done, _ in bar.update(done * file.contextLength) },
            finalizeProgress: { done, all in
                if finalizing == nil { bar.finish(); finalizing = ProgressBar(total: all, label: "finalize", unit: "latents", enabled: !json) }
                finalizing?.update(done)
            })
        finalizing?.finish()
        if json { try printJSON(stats); return }
        print("wrote \(SafeText.sanitize(out)): \(parts.count) part(s), \(stats.tokens) tokens (\(stats.rowsSkipped) rows resumed)")
        print(String(format: "model + SAE %.1f s, cache streaming %.1f s, finalize %.1f s: the cache added %.1f%%",
                     stats.sourceSeconds, stats.streamSeconds, stats.finalizeSeconds, stats.overheadPercent))
    }
}

/// Token rows of a packed token file.
struct TokenFileRows: CacheRowSource {
    let file: TokenFile
    var rowCount: Int { file.rowCount }
    func row(_ index: Int) throws -> [Int32] { try file.rowArray(index) }
}

/// The token-file rows an activation store holds, in stored order.
struct StoredTokenRows: CacheRowSource {
    let file: TokenFile
    let manifest: ActivationManifest
    var rowCount: Int { manifest.rowsDone }
    func row(_ index: Int) throws -> [Int32] { try file.rowArray(manifest.fileRow(ofStoredRow: index)) }
}

/// One forward pass per batch, capturing every SAE's hook, then each SAE's sparse encoding per row.
struct EngineActivationSource: CacheActivationSource {
    let model: TransformerModel
    let encoders: [(hook: HookPoint, sae: SparseAutoencoder)]
    let keepTop: Int?

    func activations(rows: [[Int32]], firstRow: Int) throws -> [[SparseRowActivations]] {
        let results = try model.forward(batch: rows, captures: Set(encoders.map(\.hook)), logits: .none)
        return try results.map { r in
            try encoders.map { e in
                guard let t = r.activation(e.hook) else { throw ValidationError("the engine did not capture \(e.hook)") }
                let codes = try e.sae.encode(t.data, count: r.tokenCount, keepTop: keepTop)
                return SparseRowActivations(offsets: codes.offsets, latents: codes.indices, values: codes.values)
            }
        }
    }
}

/// Activations read back from an activation store (`featurescope collect`) instead of a forward pass.
/// The cache is built over the store's rows: cache row i is stored row i, whose tokens are token-file row
/// `manifest.fileRow(ofStoredRow: i)` (see `StoredTokenRows`).
struct ShardActivationSource: CacheActivationSource {
    let hooks: [HookActivations]
    let encoders: [(hook: HookPoint, sae: SparseAutoencoder)]
    let keepTop: Int?
    let contextLength: Int
    let manifest: ActivationManifest
    /// Rows held by the store.
    var rowsAvailable: Int { manifest.rowsDone }

    init(directory: String, tokensPath: String, contextLength: Int, encoders: [(hook: HookPoint, sae: SparseAutoencoder)], keepTop: Int?) throws {
        let reader = try ActivationShardReader(directory: directory)
        let m = reader.manifest
        guard m.contextSize == contextLength else {
            throw ValidationError("\(directory) was collected with context \(m.contextSize), the token file has rows of \(contextLength)")
        }
        guard URL(fileURLWithPath: m.tokensFile).lastPathComponent == URL(fileURLWithPath: tokensPath).lastPathComponent else {
            throw ValidationError("\(directory) was collected from \(SafeText.sanitize(m.tokensFile)), not \(SafeText.sanitize(tokensPath))")
        }
        hooks = try encoders.map { try reader.hook($0.hook.description) }
        for (h, e) in zip(hooks, encoders) where h.dIn != e.sae.dIn {
            throw ValidationError("\(directory): \(e.hook) has width \(h.dIn), the SAE expects \(e.sae.dIn)")
        }
        self.encoders = encoders
        self.keepTop = keepTop
        self.contextLength = contextLength
        manifest = m
    }

    func activations(rows: [[Int32]], firstRow: Int) throws -> [[SparseRowActivations]] {
        guard firstRow >= 0, firstRow + rows.count <= rowsAvailable else {
            throw ValidationError("the activation store covers rows 0..<\(rowsAvailable), asked for \(firstRow)..<\(firstRow + rows.count)")
        }
        return try rows.indices.map { i in
            let row = firstRow + i
            return try zip(hooks, encoders).map { h, e in
                var x = [Float](repeating: 0, count: contextLength * h.dIn)
                x.withUnsafeMutableBufferPointer { buf in
                    guard let base = buf.baseAddress else { return }
                    for t in 0 ..< contextLength { h.copyToken(row * contextLength + t, into: base + t * h.dIn) }
                }
                let codes = try e.sae.encode(x, count: contextLength, keepTop: keepTop)
                return SparseRowActivations(offsets: codes.offsets, latents: codes.indices, values: codes.values)
            }
        }
    }
}
