import ArgumentParser
import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache

/// `featurescope score`: scores the cached explanations of latents (detection, fuzzing or
/// surprisal) and stores every score in the cache the moment it exists.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score latents' explanations: detection, fuzz (an LLM classifies examples) or surprisal (the embedded model's loss).",
        discussion: """
        Uses each latent's newest parsed explanation in the cache (--explanation-model narrows it). Detection and fuzz \
        show 50 test examples (5 per quantile, drawn after the explainer's 4; fewer on a compact cache) and the \
        cache's random non-activating windows (up to 50) in batches of 5; the \
        embedded model answers by comparing P("0") and P("1"). Every sample is stored with the text as the scorer saw \
        it, plus the metrics (balanced accuracy, precision, recall, F1, AUC, per-quantile accuracy). Surprisal always \
        runs on the embedded model. Resumable: latents already scored by the same method and model are skipped.
        Provider settings as for `featurescope explain`.

        Example:
          featurescope score cache/ --scorer detection --latents 0-99
        """)

    enum Scorer: String, ExpressibleByArgument, CaseIterable {
        case detection, fuzz, surprisal
    }

    @OptionGroup var selection: BatchSelectionOptions
    @OptionGroup var llm: LLMOptions

    @Option(help: "detection, fuzz or surprisal.")
    var scorer: Scorer

    @Flag(help: "Only latents without a score of this method yet (any model).")
    var unscored = false

    @Option(name: .customLong("explanation-model"), help: "Score only explanations written by this model.")
    var explanationModel: String?

    @Option(name: .customLong("explanations-file"),
            help: "Score these explanations instead of the cache's: a JSON object of latent index → explanation text, e.g. {\"5\": \"Names of Python contributors\"}. Use with --redo to score again.")
    var explanationsFile: String?

    func validate() throws { try selection.validateCounts() }

    func run() async throws {
        var settings = try llm.settings(forScoring: true)
        if scorer == .surprisal { settings.provider = .embedded }
        let sel = LatentSelection(spec: selection.latents, unscoredBy: unscored ? scorer.rawValue : nil, sample: selection.sample,
                                  seed: selection.seed, minActiveWindows: selection.minExamples)
        let (part, latents) = try openSelection(selection, selection: sel)
        if !selection.json, let note = selection.recordedDefaultsNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        let client = try llm.client(settings, seed: selection.seed, quiet: selection.json, forScoring: true)
        let latentScorer: any LatentScorer
        switch scorer {
        case .detection, .fuzz:
            var o = ClassifierScorer.Options()
            o.seed = selection.seed
            latentScorer = ClassifierScorer(method: scorer == .detection ? .detection : .fuzz, client: client, options: o)
        case .surprisal:
            guard let lm = client as? any SequenceScorer else {
                throw ValidationError("surprisal scoring needs the embedded model")
            }
            latentScorer = SurprisalScorer(scorer: lm, modelName: client.modelName)
        }
        var options = selection.batchOptions(concurrency: settings.concurrency)
        options.explanationModel = explanationModel
        if let f = explanationsFile { options.explanations = try ExplanationsFile.read(f) }

        let reporter = BatchReporter(total: latents.count, label: scorer.rawValue, quiet: selection.json)
        let summary = await CacheAutoInterp.score(part: part, latents: latents, scorer: latentScorer, options: options,
                                                  progress: { reporter.progress($0) })
        reporter.finish()
        try reporter.report(command: "score", cache: selection.cacheDir, part: part.name, method: scorer.rawValue,
                            provider: settings.effectiveProvider.rawValue, endpoint: client.endpointName, model: client.modelName,
                            summary: summary, minExamples: selection.minExamples, json: selection.json)
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }
}

/// `--explanations-file`: a JSON object of latent index → explanation text.
enum ExplanationsFile {
    static func read(_ path: String) throws -> [Int: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the explanations file \(path)")
        }
        let raw: [String: String]
        do { raw = try JSONDecoder().decode([String: String].self, from: data) } catch {
            throw ValidationError("\(path): expected a JSON object of latent index → explanation text (\(error))")
        }
        var out: [Int: String] = [:]
        for (k, v) in raw {
            guard let l = Int(k), l >= 0 else { throw ValidationError("\(path): key \"\(SafeText.sanitize(k))\" is not a latent index") }
            out[l] = v
        }
        return out
    }
}
