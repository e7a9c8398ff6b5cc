import ArgumentParser
import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import Steering

/// `featurescope score`: scores the cached explanations of latents (detection, fuzzing or
/// surprisal) and stores every score in the cache the moment it exists.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score latents' explanations: detection, fuzz, simulation, intervention (an LLM judges), embedding or surprisal.",
        discussion: """
        Uses each latent's newest parsed explanation in the cache (--explanation-model narrows it). Detection and fuzz \
        show 50 test examples (5 per quantile, drawn after the explainer's 4; fewer on a compact cache) and the \
        cache's random non-activating windows (up to 50) in batches of 5; the \
        embedded model answers by comparing P("0") and P("1"). Every sample is stored with the text as the scorer saw \
        it, plus the metrics (balanced accuracy, precision, recall, F1, AUC, per-quantile accuracy). Surprisal always \
        runs on the embedded model. Embedding: cosine similarity of the explanation (as a retrieval query) and each \
        example, score = AUROC; through /v1/embeddings with --provider openai, else the embedded model's mean-pooled \
        residual stream (--embedding-layer). Simulation: the LLM predicts 0–10 per token, score = Pearson correlation \
        with the normalised activations. Intervention: the SAE (--sae, default the cache part's) steers the subject model (--subject-model) on \
        fixed neutral prompts at --strengths × the latent's max activation; the LLM picks the steered completions, \
        score = balanced accuracy. Resumable: latents already scored by the same method and model are skipped.
        Provider settings as for `featurescope explain`.

        Example:
          featurescope score cache/ --scorer detection --latents 0-99
        """)

    enum Scorer: String, ExpressibleByArgument, CaseIterable {
        case detection, fuzz, surprisal, embedding, simulation, intervention
    }

    @OptionGroup var selection: BatchSelectionOptions
    @OptionGroup var llm: LLMOptions

    @Option(help: "detection, fuzz, surprisal, embedding, simulation or intervention.")
    var scorer: Scorer

    @Option(name: .customLong("embedding-layer"), help: "Embedding with the embedded model: the block whose residual stream is mean-pooled (default: the last).")
    var embeddingLayer: Int?

    @Option(help: "Intervention: the SAE of the cache part's latents (a folder or file, or RELEASE/SAE_ID; default: the one the cache names, looked for beside the cache, in it and in the current folder).")
    var sae: String?

    @Option(name: .customLong("subject-model"), help: "Intervention: the model the SAE reads (GGUF or registered name; default as for `run`).")
    var subjectModel: String?

    @Option(help: "Intervention: strengths in units of each latent's max activation, comma-separated.")
    var strengths: String = "1,3,10"

    @Option(name: .customLong("random-sae-seed"), help: "Intervention: steer with a random-initialised SAE of the same shape (the sanity baseline), recorded as method intervention-random.")
    var randomSAESeed: UInt64?

    @Option(name: .customLong("batch-size"), help: "Detection/fuzz: examples per scorer request (delphi's batch_size; default 1 with the embedded model, 5 otherwise).")
    var batchSize: Int?

    @Option(help: "Detection/fuzz: how P(\"1\") becomes a 0/1 answer (one text per request): none (the likelier answer, delphi's), content-free (contextual calibration against content-free texts) or prior (1 for the texts with the highest P(\"1\"), as many as the set has activating ones; default with the embedded model).")
    var calibration: ClassifierScorer.Calibration?

    @Option(name: .customLong("scorer-prompt"), help: "Detection/fuzz prompt: list (delphi's layout, --batch-size examples per request, a 0/1 list back) or question (one text per request, the question last, one digit back; default with the embedded model).")
    var scorerPrompt: ClassifierScorer.PromptStyle?

    @Flag(help: "Only latents without a score of this method yet (any model).")
    var unscored = false

    @Option(name: .customLong("explanation-model"), help: "Score only explanations written by this model.")
    var explanationModel: String?

    @Option(name: .customLong("explanations-file"),
            help: "Score these explanations instead of the cache's: a JSON object of latent index → explanation text, e.g. {\"5\": \"Names of Python contributors\"}. Use with --redo to score again.")
    var explanationsFile: String?

    func validate() throws {
        try selection.validateCounts()
        if let b = batchSize, b < 1 { throw ValidationError("--batch-size must be at least 1, got \(b)") }
        guard !parsedStrengths.isEmpty, parsedStrengths.allSatisfy({ $0.isFinite }) else {
            throw ValidationError("--strengths must be comma-separated numbers, got '\(strengths)'")
        }
    }

    var parsedStrengths: [Float] { strengths.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        var settings = try llm.settings(forScoring: true)
        if scorer == .surprisal { settings.provider = .embedded }
        let method = scorer == .intervention && randomSAESeed != nil ? "intervention-random" : scorer.rawValue
        let sel = LatentSelection(spec: selection.latents, unscoredBy: unscored ? method : nil, sample: selection.sample,
                                  seed: selection.seed, minActiveWindows: selection.minExamples)
        let (part, latents) = try openSelection(selection, selection: sel)
        if !selection.json, let note = selection.recordedDefaultsNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        let client = try llm.client(settings, seed: selection.seed, quiet: selection.json, forScoring: true)
        let latentScorer: any LatentScorer
        switch scorer {
        case .detection, .fuzz:
            var o = ClassifierScorer.Options()
            o.seed = selection.seed
            o.batchSize = batchSize ?? (client is EmbeddedLLMClient ? EmbeddedDefaults.scorerBatchSize : o.batchSize)
            o.calibration = calibration ?? (client is EmbeddedLLMClient ? EmbeddedDefaults.scorerCalibration : o.calibration)
            o.prompt = scorerPrompt ?? (client is EmbeddedLLMClient ? EmbeddedDefaults.scorerPrompt : o.prompt)
            latentScorer = ClassifierScorer(method: scorer == .detection ? .detection : .fuzz, client: client, options: o)
        case .surprisal:
            guard let lm = client as? any SequenceScorer else {
                throw ValidationError("surprisal scoring needs the embedded model")
            }
            latentScorer = SurprisalScorer(scorer: lm, modelName: client.modelName)
        case .embedding:
            if let embedded = client as? EmbeddedLLMClient {
                latentScorer = EmbeddingScorer(embedder: try EmbeddedTextEmbedder(client: embedded, layer: embeddingLayer))
            } else if let remote = client as? OpenAIClient {
                latentScorer = EmbeddingScorer(embedder: remote)
            } else {
                throw ValidationError("embedding scoring needs the embedded model or an OpenAI-compatible endpoint")
            }
        case .simulation:
            latentScorer = SimulationScorer(client: client)
        case .intervention:
            let (model, tokenizer) = try TransformerModel.loadWithTokenizer(path: ModelLocator.locate(explicit: subjectModel))
            var autoencoder = try SAEResolver.load(sae ?? SAELocation.resolve(part: part, cacheDirectory: selection.cacheDir), for: model)
            if let s = randomSAESeed { autoencoder = try autoencoder.randomInitialisedLike(seed: s) }
            var i = InterventionScorer(steerer: try Steerer(model: model, sae: autoencoder), tokenizer: tokenizer, judge: client)
            i.strengths = parsedStrengths
            i.options.seed = selection.seed
            if randomSAESeed != nil { i.methodLabel = "intervention-random" }
            latentScorer = i
        }
        var options = selection.batchOptions(concurrency: settings.concurrency)
        options.explanationModel = explanationModel
        if let f = explanationsFile { options.explanations = try ExplanationsFile.read(f) }

        let reporter = BatchReporter(total: latents.count, label: method, quiet: selection.json)
        let summary = await CacheAutoInterp.score(part: part, latents: latents, scorer: latentScorer, options: options,
                                                  progress: { reporter.progress($0) })
        reporter.finish()
        try reporter.report(command: "score", cache: selection.cacheDir, part: part.name, method: method,
                            provider: settings.effectiveProvider.rawValue, endpoint: client.endpointName, model: client.modelName,
                            summary: summary, minExamples: selection.minExamples, json: selection.json)
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }
}

extension ClassifierScorer.Calibration: ExpressibleByArgument {}
extension ClassifierScorer.PromptStyle: ExpressibleByArgument {}

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
