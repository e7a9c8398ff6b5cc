import ActivationPipeline
import ArgumentParser
import Corpus
import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders

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

    @Option(name: .customLong("sae"), help: "SAE folder or file, or RELEASE/SAE_ID from the Hugging Face cache; repeat for several hook points.")
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
        // Each SAE resolved (path, RELEASE/ID, hub cache) and prepared for this model's activations.
        let encoders = try saes.map { spec -> (folder: String, encoder: HookEncoder) in
            let resolved = try SAEResolver.resolve(spec)
            let sae = try SAEResolver.load(resolved).prepared(for: llama)
            return (resolved.path, try HookEncoder(sae: sae, source: spec, keepTop: keepTop))
        }
        let inputs = try CacheInputs.make(model: llama, saes: encoders, tokens: file, tokensPath: tokens, activationStore: activations)
        let corpus = ([tokens] + file.provenance.sources).joined(separator: "; ")
        let meta = CacheMetadata(model: URL(fileURLWithPath: modelPath).lastPathComponent, modelPath: modelPath,
                                 modelSHA256: try ModelFetcher.sha256(ofModelAt: modelPath), corpus: corpus,
                                 corpusSHA256: try ModelFetcher.sha256(ofFile: tokens),
                                 creationCommand: CommandLine.arguments.joined(separator: " "),
                                 extra: ["corpus.command": file.provenance.command, "corpus.tokenizer": file.provenance.tokenizer])
        let builder = try LatentCacheBuilder.start(
            output: out, parts: inputs.parts,
            options: BuildOptions(examples: examples.configuration, rowLength: file.contextLength,
                                  keepAllActivations: !sampledOnly, checkpointEveryRows: checkpointEvery),
            metadata: meta, vocabulary: vocabulary(of: tokenizer), vocabularySource: "tokenizer", overwrite: force)
        let total = min(inputs.rows.rowCount, maxRows ?? inputs.rows.rowCount)
        if builder.resumed && !json {
            FileHandle.standardError.write(Data("resuming an interrupted build at row \(builder.rowsCompleted) of \(total)\n".utf8))
        }
        let bar = ProgressBar(total: total * file.contextLength, label: "cache", unit: "tok",
                              initial: builder.rowsCompleted * file.contextLength, enabled: !json)
        var finalizing: ProgressBar?
        let stats = try CacheBuildDriver.run(
            builder: builder, rows: inputs.rows, maxRows: total, batchSize: batch,
            source: inputs.source,
            progress: { done, _ in bar.update(done * file.contextLength) },
            finalizeProgress: { done, all in
                if finalizing == nil { bar.finish(); finalizing = ProgressBar(total: all, label: "finalize", unit: "latents", enabled: !json) }
                finalizing?.update(done)
            })
        finalizing?.finish()
        if json { try printJSON(stats); return }
        print("wrote \(SafeText.sanitize(out)): \(inputs.parts.count) part(s), \(stats.tokens) tokens (\(stats.rowsSkipped) rows resumed)")
        print(String(format: "model + SAE %.1f s, cache streaming %.1f s, finalize %.1f s: the cache added %.1f%%",
                     stats.sourceSeconds, stats.streamSeconds, stats.finalizeSeconds, stats.overheadPercent))
    }
}
