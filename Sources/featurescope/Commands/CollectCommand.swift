import ActivationPipeline
import ArgumentParser
import Corpus
import Foundation
import ModelEngine
import SAETraining

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Collect hook activations over a token file into f16 shards.",
        discussion: """
        Runs SmolLM2 over the rows of a packed .tokens file, capturing every --hooks activation in one \
        pass (the pass stops after the last block needed), and stores them as f16 shards \
        (<out>/<hook>/shard-NNNNN.f16, [tokens, d_in]) with a manifest.json. Memory stays bounded by \
        one shard per hook. Rerun the same command after an interruption to resume. With --max-tokens \
        below the file size the rows are spread evenly over the file (packed files keep their sources \
        in order); with --first-rows they are the first rows, and a larger --max-tokens extends the store.
        """)

    @Option(name: .long, help: "Packed token file (from `featurescope corpus`).")
    var tokens: String

    @Option(name: .long, help: "Comma-separated hook names.")
    var hooks: String = "blocks.3.attn.hook_z,blocks.12.attn.hook_z"

    @Option(name: .long, help: "Output folder (the activation store).")
    var out: String

    @Option(name: .customLong("max-tokens"), help: "Stop after this many tokens (whole rows).")
    var maxTokens: Int?

    @Option(name: .customLong("rows-per-forward"), help: "Token rows per forward pass.")
    var rowsPerForward: Int = 4

    @Option(name: .customLong("shard-tokens"), help: "Tokens per shard file.")
    var shardTokens: Int = 65536

    @Flag(name: .customLong("first-rows"), help: "With --max-tokens: take the first rows instead of rows spread evenly over the file (packed files keep sources in order).")
    var firstRows = false

    @Option(name: .long, help: "Model: a GGUF file or a registered name (default: $FEATURESCOPE_MODEL, else smollm2-135m-instruct).")
    var model: String?

    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if let m = maxTokens, m <= 0 { throw ValidationError("--max-tokens must be positive") }
        guard rowsPerForward > 0 else { throw ValidationError("--rows-per-forward must be positive") }
        guard shardTokens > 0 else { throw ValidationError("--shard-tokens must be positive") }
    }

    func run() async throws {
        let path = try ModelLocator.locate(explicit: model)
        let llama = try TransformerModel(path: path)
        let file = try TokenFile(path: tokens)
        var options = CollectionOptions(hooks: hooks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
                                        outputDirectory: out, tokensFile: tokens, modelName: llama.name)
        options.maxTokens = maxTokens
        options.rowsPerForward = rowsPerForward
        options.shardTokens = shardTokens
        options.spreadRows = !firstRows
        options.showProgress = !quiet && !json
        let summary = try ActivationCollector.collect(model: llama, tokens: file, options: options)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
        } else {
            print("""
            stored \(summary.tokensStored) tokens (\(summary.rowsStored) rows of \(summary.contextSize)) for \(summary.hooks.joined(separator: ", "))\(summary.complete ? "" : " (incomplete)")
            this run: \(summary.tokensThisRun) tokens in \(String(format: "%.1f", summary.seconds)) s = \(String(format: "%.0f", summary.tokensPerSecond)) tokens/s
            on disk: \(String(format: "%.1f", Double(summary.bytesOnDisk) / 1e9)) GB in \(summary.outputDirectory)
            """)
        }
    }
}
