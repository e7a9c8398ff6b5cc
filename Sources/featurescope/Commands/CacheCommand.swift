import ArgumentParser
import FeaturescopeCore
import Foundation
import LatentCache

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
    @Option(help: "Rows per forward pass.") var batch = 8
    @Option(help: "Rows between checkpoints.") var checkpointEvery = 64
    @Flag(help: "Keep only sampled windows (no activations.bin; smaller, but delphi export becomes lossy).")
    var sampledOnly = false
    @Flag(help: "Replace an existing cache at --out (and discard an incompatible interrupted build).") var force = false
    @OptionGroup var examples: CacheExampleOptions
    @Flag(help: "Print the build statistics as JSON.") var json = false

    func validate() throws {
        guard !saes.isEmpty else { throw ValidationError("give at least one --sae folder") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        if let m = maxRows, m < 1 { throw ValidationError("--max-rows must be at least 1") }
    }

    func run() async throws {
        throw ValidationError("""
        'cache' needs the model engine (ModelEngine), SAE loading (SparseAutoencoders) and packed token files (Corpus), \
        which this build does not have yet. Meanwhile: 'featurescope import delphi RUN --out DIR' builds a cache from a \
        delphi run, and 'featurescope cache-bench' builds a synthetic one.
        """)
    }
}
