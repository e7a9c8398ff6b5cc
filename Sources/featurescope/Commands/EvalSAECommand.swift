import ActivationPipeline
import ArgumentParser
import Corpus
import FeaturescopeCore
import Foundation
import ModelEngine
import SAETraining
import SparseAutoencoders

struct EvalSAECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-sae",
        abstract: "Evaluate SAEs on held-out tokens (FVU, L0, dead/dense latents, ΔCE, loss recovered).",
        discussion: """
        On the first --ce-tokens of the token file, per row: one clean forward (activations at every \
        SAE's hook and the next-token loss), per hook a zero-ablated forward and per SAE a forward with \
        its reconstruction spliced in at the hook. The remaining rows up to --max-tokens only feed the \
        reconstruction statistics (capture-only passes that stop after the hook's block). Reports FVU, mean L0, dead latents (never fired on the \
        evaluated tokens), dense latents (> 10% of tokens), cross-entropy clean / spliced / zero-ablated, \
        ΔCE and the fraction of loss recovered with 95% bootstrap intervals over rows. \
        Repeat --sae to evaluate several SAEs on one set of clean passes.
        """)

    @Option(name: .long, help: "SAE folder (SAELens or sparsify); repeat for several.")
    var sae: [String]

    @Option(name: .long, help: "Held-out packed token file.")
    var tokens: String

    @Option(name: .customLong("max-tokens"), help: "Tokens for FVU, L0, dead and dense latents (whole rows).")
    var maxTokens: Int = 65536

    @Option(name: .customLong("ce-tokens"), help: "Tokens (the first rows) for the cross-entropy comparison.")
    var ceTokens: Int = 8192

    @Option(name: .long, help: "Bootstrap resamples for the intervals.")
    var bootstrap: Int = 1000

    @Option(name: .long, help: "Model: a GGUF file or a registered name (default: $FEATURESCOPE_MODEL, else smollm2-135m-instruct).")
    var model: String?

    @Option(name: .long, help: "Also write the JSON report to this file.")
    var output: String?

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard !sae.isEmpty else { throw ValidationError("name at least one --sae folder") }
        guard maxTokens > 0, ceTokens > 0 else { throw ValidationError("--max-tokens and --ce-tokens must be positive") }
        guard bootstrap > 0 else { throw ValidationError("--bootstrap must be positive") }
    }

    func run() async throws {
        let llama = try TransformerModel(path: try ModelLocator.locate(explicit: model))
        let file = try TokenFile(path: tokens)
        let saes = try sae.map { SAEUnderTest(encoder: try HookEncoder(sae: try SAEResolver.load($0, for: llama), source: $0), name: $0) }
        var options = SAEEvalOptions()
        options.maxTokens = maxTokens
        options.ceTokens = ceTokens
        options.bootstrapSamples = bootstrap
        options.showProgress = !quiet && !json
        let report = try SAEEvaluator.evaluate(model: llama, tokens: file, tokensFile: tokens, saes: saes, options: options)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try enc.encode(report)
        if let output { try AtomicFile.write(data, to: output) }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(SAEEvalTable.render(report))
        }
    }
}
