import ArgumentParser
import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import TensorFormats

/// How examples are cut and sampled (shared by `cache` and `import`).
struct CacheExampleOptions: ParsableArguments {
    @Option(help: "Tokens per example window (delphi example_ctx_len; default 32, or the delphi run's).") var window: Int?
    @Option(help: "Quantile slices of the sorted activating windows (default 10, or the delphi run's n_quantiles).") var quantiles: Int?
    @Option(help: "Windows sampled per quantile.") var perQuantile = 10
    @Option(help: "Strongest windows kept per latent.") var top = 20
    @Option(help: "Random non-activating windows kept per latent.") var random = 50
    @Option(help: "Seed of every random choice.") var seed: UInt64 = 22

    var configuration: ExampleConfiguration {
        ExampleConfiguration(windowLength: window ?? 32, quantiles: quantiles ?? 10, perQuantile: perQuantile, topCount: top,
                             randomCount: random, seed: seed)
    }
}

/// Display strings of every token id, from the engine's tokenizer (the same strings the live views show).
func vocabulary(of tokenizer: Tokenizer) -> [[UInt8]] {
    (0 ..< tokenizer.vocabSize).map { Array(tokenizer.displayString(Int32($0)).utf8) }
}

/// Display strings from a GGUF model's tokenizer.
func vocabularyFromGGUF(_ path: String) throws -> [[UInt8]] {
    vocabulary(of: try Tokenizer(modelAt: path))
}

/// The bundled model's path, when it has been fetched.
func defaultModelPath() -> String? {
    let p = ModelLocator.resolve(explicit: nil)
    return FileManager.default.fileExists(atPath: p) ? p : nil
}

func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try enc.encode(value), as: UTF8.self))
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import results of other tools into a latent cache.",
        subcommands: [ImportDelphiCommand.self, ImportAnnotationsCommand.self, ImportOverlayCommand.self, ImportNeuronpediaCommand.self])
}

/// `featurescope import delphi RUN_DIR --out CACHE_DIR`
struct ImportDelphiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delphi",
        abstract: "Import a delphi run (split safetensors, explanations, scores) as a latent cache.",
        discussion: """
        Reads RUN_DIR/latents/<hookpoint>/<start>_<end>.safetensors (U16 or U32 locations), cuts windows and quantiles \
        as delphi does, and carries over every explanations/*.txt and scores/<scorer>/*.txt. Token display strings come \
        from --model (a GGUF), else from the bundled SmolLM2 model when the run used SmolLM2, else token ids are shown.
        RUN_DIR/run_config.json, when present, names the explainer model the annotations are credited to, and its \
        sampling settings (example_ctx_len, n_quantiles, n_examples_train/test, n_non_activating, min_examples, seed) \
        become the cache's defaults for later explain and score runs. Activations that are zero, negative or not \
        finite are dropped and duplicates merged; the report counts each.
        """)

    @Argument(help: "The delphi run folder.") var run: String
    @Option(help: "Where to write the cache.") var out: String
    @Option(help: "GGUF model whose tokenizer gives the display strings.") var model: String?
    @Flag(help: "Replace an existing cache at --out.") var force = false
    @OptionGroup var examples: CacheExampleOptions
    @Flag(help: "Print the report as JSON.") var json = false

    func run() async throws {
        var vocab: [[UInt8]]?
        var source = "token-ids"
        if let m = model {
            vocab = try vocabularyFromGGUF(m); source = "gguf"
        } else if let m = defaultModelPath(), DelphiImport.modelName(run: run)?.lowercased().contains("smollm2-135m") == true {
            vocab = try vocabularyFromGGUF(m); source = "gguf"
        }
        var bar: ProgressBar?
        var options = DelphiImportOptions(examples: examples.configuration, vocabulary: vocab, vocabularySource: source,
                                          creationCommand: CommandLine.arguments.joined(separator: " "), overwrite: force)
        options.windowFromRun = examples.window == nil
        options.quantilesFromRun = examples.quantiles == nil
        let report = try DelphiImport.run(run, output: out, options: options) { stage, done, total in
            guard !json, stage == "latents" else { return }
            if bar == nil { bar = ProgressBar(total: total, label: "latents", unit: "latents") }
            bar?.update(done)
        }
        bar?.finish()
        if json { try printJSON(report); return }
        print("imported \(report.latents) latents (\(report.activations) activations) into \(SafeText.sanitize(report.cache))")
        print("parts: " + report.parts.map { SafeText.sanitize($0) }.joined(separator: ", "))
        if let m = report.explainerModel { print("explainer model (run_config.json): " + SafeText.sanitize(m)) }
        print("explanations: \(report.explanations); scores: " + report.scores.sorted { $0.key < $1.key }.map { "\(SafeText.sanitize($0.key)) \($0.value)" }.joined(separator: ", "))
        for n in report.notes { print("note: " + SafeText.sanitize(n)) }
    }
}

/// `featurescope import annotations RUN_DIR --cache CACHE_DIR`
struct ImportAnnotationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotations",
        abstract: "Append a delphi run's explanations and scores to an existing cache.",
        discussion: "Parts are matched by their delphi hookpoint, name or hook. Nothing else in the cache is rewritten.")

    @Argument(help: "The delphi run folder (explanations/, scores/).") var run: String
    @Option(help: "The cache folder.") var cache: String
    @Option(help: "Model the annotations are credited to (default: the run's run_config.json explainer_model).") var model: String?
    @Flag(help: "Print the counts as JSON.") var json = false

    func run() async throws {
        let c = try LatentCacheDirectory.open(cache)
        let (e, s) = try DelphiImport.importAnnotations(run: run, into: c, model: model)
        struct Counts: Encodable { var explanations: Int; var scores: [String: Int] }
        if json { try printJSON(Counts(explanations: e, scores: s)); return }
        print("appended \(e) explanations and " + s.sorted { $0.key < $1.key }.map { "\($0.value) \(SafeText.sanitize($0.key))" }.joined(separator: ", ") + " scores")
    }
}

/// `featurescope import overlay CACHE_DIR [--replace]`
struct ImportOverlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlay",
        abstract: "Move the per-user overlay's annotations into the cache's own logs.",
        discussion: """
        browse, explain and score put what they make for a pristine or read-only cache (such as the bundled \
        sample) in a per-user overlay under $XDG_DATA_HOME/featurescope/overlays/. This command rewrites each \
        part's annotation log to hold the cache's own annotations (or none, with --replace) followed by the \
        overlay's, then deletes the overlay: it writes into the cache even when it carries the PRISTINE marker, \
        which is how the bundled sample's annotations are refreshed (scripts/reannotate-sample). Explanations \
        are stored slim (a raw reply that is exactly "[EXPLANATION]: " and the text is not repeated).

        Examples:
          XDG_DATA_HOME=/tmp/rean/overlay featurescope import overlay sample-data/cache --replace
        """)

    @Argument(help: "The cache folder.") var cache: String
    @Flag(help: "Drop the cache's own annotations (default: keep them, older than the overlay's).") var replace = false
    @Flag(help: "Print the counts as JSON.") var json = false

    func run() async throws {
        let c = try LatentCacheDirectory.open(cache)
        guard c.overlayDirectory != nil else {
            throw ValidationError("\(SafeText.sanitize(cache)) has no overlay (only a pristine or read-only cache has one)")
        }
        struct Row: Encodable { var part: String; var before: Int; var fromOverlay: Int; var after: Int }
        var rows: [Row] = []
        for part in c.parts {
            let f = try part.foldOverlay(replacing: replace, transform: CacheBridge.slimmed)
            rows.append(Row(part: part.name, before: f.before, fromOverlay: f.fromOverlay, after: f.after))
        }
        if json { try printJSON(rows); return }
        print("the per-user overlay folded into \(SafeText.sanitize(cache))")
        for r in rows {
            print("  \(SafeText.sanitize(r.part)): \(r.before) annotations before, \(r.fromOverlay) from the overlay, \(r.after) now")
        }
    }
}
