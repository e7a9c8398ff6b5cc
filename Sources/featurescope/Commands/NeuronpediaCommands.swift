import ArgumentParser
import BrowserAdapters
import FeaturescopeCore
import Foundation
import LatentCache

/// `featurescope export neuronpedia CACHE_DIR --out DIR`
struct ExportNeuronpediaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuronpedia",
        abstract: "Write a cache as SAEDashboard's Neuronpedia runner does: batch-N.json per part, with explanations and scores.",
        discussion: """
        Per part a folder MODEL_SET_HOOK_DSAE holds batch-N.json (NeuronpediaDashboardBatch: per feature the top and \
        quantile example windows with tokens and values, frac_nonzero, the activation histogram and the logit lens \
        pos_str/neg_str), skipped_indexes.json (latents that never fire), run_settings.json and \
        explanations/batch-0.jsonl (explanations with their scores, as Neuronpedia's exports hold them). The logit \
        lens needs the model (--model, or the one the cache recorded) and the part's SAE; without them pos/neg are \
        empty and the report says so. Values are written at full precision (the runner rounds to 3 decimals). \
        See docs/neuronpedia.md.

        Example:
          featurescope export neuronpedia sample-data/cache --out np-export --model-id smollm2-135m-instruct
        """)

    @Argument(help: "The cache folder.") var cache: String
    @Option(help: "Where to write the export.") var out: String
    @Option(help: "GGUF model for the logit lens (default: the model the cache recorded).") var model: String?
    @Option(help: "Neuronpedia model id (default: the cache's model name, lowercased).") var modelId: String?
    @Option(help: "SAE set name (default featurescope-SITE, e.g. featurescope-attn-hook-z).") var saeSet: String?
    @Option(help: "Features per batch file (the runner's n_features_at_a_time).") var featuresPerBatch = 128
    @Option(help: "Tokens in the logit lens each way (pos_str / neg_str).") var logits = 10
    @Flag(help: "Leave the logit lens out (no model needed).") var noLogits = false
    @Flag(help: "Replace an existing folder at --out.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard featuresPerBatch >= 1 else { throw ValidationError("--features-per-batch must be at least 1") }
        guard logits >= 0 else { throw ValidationError("--logits must not be negative") }
    }

    func run() async throws {
        let c = try LatentCacheDirectory.open(cache)
        var options = NeuronpediaExportOptions(modelID: modelId, saeSet: saeSet, featuresPerBatch: featuresPerBatch, overwrite: force)
        var notes: [String] = []
        if !noLogits, logits > 0 {
            let data = CacheBrowserData(cache: c, engine: EngineHost(cache: c, modelPath: model))
            let found = data.neuronpediaLogitLens(count: logits)
            options.logitLens = found.lens
            notes = found.unavailable
        }
        let bar = ProgressBar(total: c.parts.reduce(0) { $0 + $1.latentCount }, label: "export", unit: "latents", enabled: !json)
        var report = try NeuronpediaExport.run(cache: c, output: out, options: options) { done, _ in bar.update(done) }
        bar.finish()
        report.notes = notes + report.notes
        if json { try printJSON(report); return }
        print("wrote \(report.features) features (\(report.activations) example windows) in \(report.batches) batch file(s), \(report.explanations) explanations and \(report.scores) scores to \(SafeText.sanitize(out))")
        for f in report.folders { print("  " + SafeText.sanitize(f)) }
        if report.skipped > 0 { print("\(report.skipped) latents never fire (skipped_indexes.json)") }
        for n in report.notes { print("note: " + SafeText.sanitize(n)) }
    }
}

/// `featurescope import neuronpedia FILE_OR_DIR... --out CACHE_DIR`
struct ImportNeuronpediaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuronpedia",
        abstract: "Read Neuronpedia feature JSON, explanation dumps or SAEDashboard batches into a new cache.",
        discussion: """
        Accepts the feature JSON of Neuronpedia's API (/api/feature/MODEL/SOURCE/INDEX: activations with tokens and \
        values, explanations with description and scores), arrays of them, its exports' .jsonl lines (features, \
        activations, explanations; gunzip the .jsonl.gz first) and the batch-N.json files of SAEDashboard's runner \
        or `export neuronpedia`, given as files or folders. Each source (Neuronpedia's layer id, e.g. 6-res-jb) \
        becomes a part; each example one corpus row, so densities are over the imported examples. Explanations \
        and scores become annotations (a score written by `export neuronpedia` is restored exactly). See \
        docs/neuronpedia.md.

        Example:
          featurescope import neuronpedia np-export --out np-cache
        """)

    @Argument(help: "Neuronpedia .json/.jsonl files or folders.") var inputs: [String]
    @Option(help: "Where to write the cache.") var out: String
    @Option(help: "Part name for rows that name no source (layer).") var source = "neuronpedia"
    @Option(help: "Quantile slices of the sorted activating windows.") var quantiles = 10
    @Option(help: "Windows sampled per quantile.") var perQuantile = 10
    @Option(help: "Strongest windows kept per latent.") var top = 20
    @Flag(help: "Replace an existing cache at --out.") var force = false
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        var examples = ExampleConfiguration()
        examples.quantiles = quantiles; examples.perQuantile = perQuantile; examples.topCount = top
        let options = NeuronpediaImportOptions(examples: examples, defaultSource: source,
                                               creationCommand: CommandLine.arguments.joined(separator: " "), overwrite: force)
        var bar: ProgressBar?
        let report = try NeuronpediaImport.run(inputs, output: out, options: options) { done, total in
            guard !json else { return }
            if bar == nil { bar = ProgressBar(total: total, label: "latents", unit: "latents") }
            bar?.update(done)
        }
        bar?.finish()
        if json { try printJSON(report); return }
        print("imported \(report.examples) examples (\(report.activations) activations) of \(report.latents) latents into \(SafeText.sanitize(report.cache)), window \(report.windowLength) tokens")
        print("parts: " + report.parts.map { SafeText.sanitize($0) }.joined(separator: ", "))
        print("explanations: \(report.explanations); scores: \(report.scores); files read: \(report.filesRead)")
        for (k, v) in report.skippedFiles.sorted(by: { $0.key < $1.key }) { print("skipped \(v): \(SafeText.sanitize(k))") }
        for n in report.notes { print("note: " + SafeText.sanitize(n)) }
    }
}
