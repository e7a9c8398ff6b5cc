import ArgumentParser
import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache

/// `featurescope explain`: explains cached latents — with the counted pattern of their strongest windows, or with an
/// LLM (delphi's explainer) — and stores each explanation in the cache the moment it exists.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain latents of a cache: by their counted pattern (no LLM, the default) or with an LLM (an embedded engine model or any OpenAI-compatible server).",
        discussion: """
        With no LLM named (--embedded-model, config embeddedModel, $FEATURESCOPE_MODEL, --base-url, or --llm for the \
        default embedded one), each explanation is written from counts over the latent's 20 strongest windows: the \
        token they peak on, the token before it, the word it is part of, a trigger token shortly before \
        (docs/explain-and-score.md: as good as every embedded LLM by score, and the only one right by eye).

        LLM examples are drawn as delphi does (40 training examples, 4 per quantile, from the cache's quantile samples; \
        << >> highlights, Activations: lines). A cache keeping fewer windows per quantile than train + test need gets \
        both scaled down (e.g. 2 + 2 on the sample cache's 4), so test examples never repeat the explainer's. Each explanation is appended to the cache's annotations with method, \
        model, endpoint, prompt version and date. Resumable: latents already explained by the same method and model \
        are skipped, so a killed run loses nothing finished.

        Provider settings come from flags, then FEATURESCOPE_LLM_PROVIDER / FEATURESCOPE_LLM_BASE_URL / \
        FEATURESCOPE_LLM_MODEL / FEATURESCOPE_LLM_API_KEY_ENV, then the "llm" object of the config file \
        (keys provider, baseURL, model, apiKeyEnv, timeout, retries, concurrency, embeddedModel, threads).

        Examples:
          featurescope explain cache/ --latents 0-99
          featurescope explain cache/ --latents 0-99 --embedded-model qwen2.5-coder-1.5b-instruct
          featurescope explain cache/ --sample 200 --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct --concurrency 16
        """)

    @OptionGroup var selection: BatchSelectionOptions
    @OptionGroup var llm: LLMOptions

    @Flag(help: "Only latents without any explanation yet.")
    var unexplained = false

    @Flag(help: "Use the contrastive explainer (activating and non-activating examples).")
    var contrastive = false

    @Option(name: .customLong("max-tokens"), help: "Longest reply in tokens (default: 48 embedded — the 135M model loops when left to run — and 2000 otherwise).")
    var maxTokens: Int?

    @Option(help: "Sampling temperature (0 = greedy, delphi's default).")
    var temperature = 0.0

    @Flag(name: .customLong("free-reply"),
          help: "Let the embedded model reply freely (by default its reply is forced to start with [EXPLANATION]: and ends at the line break, since a 135M model rarely follows the format).")
    var freeReply = false

    @Option(name: .customLong("examples"),
            help: "Examples the explainer sees: quantiles (delphi: a few from every activation quantile), strongest (the latent's top windows) or mixed (mostly strongest, a quarter from the quantiles). The scorers' test examples are the same for all three. Default: strongest with the embedded model (8, see docs/explain-and-score.md), quantiles otherwise.")
    var exampleSelection: String?

    @Option(name: .customLong("example-count"), help: "How many examples the explainer sees (default: 8 with the embedded model, else as many as the quantile sample gives).")
    var exampleCount: Int?

    @Option(name: .customLong("prompt"), help: "The explainer's prompt: delphi (its layout, demonstrations that reason first) compact (for small models: one-line demonstrations of different kinds, a tally of the marked tokens) or compact-v2 (a study variant: the marked tokens listed with the token before them and their word, no counts) or grounded (8 examples and the counted pattern of --pattern over all of them, said in plain words with the kind of text). Default: compact with the embedded model, delphi otherwise.")
    var promptStyle: String?

    @Option(help: "Few-shot demonstrations in the explainer's prompt (default: all of the prompt's, 3).")
    var demos: Int?

    @Flag(help: "No LLM: a template explanation naming the tokens the examples peak on (the study's baseline).")
    var template = false

    @Flag(help: "No LLM: an explanation written from counts over the latent's 20 strongest windows: the token they peak on, the token before it, the word it is part of, an earlier trigger token. The default when no LLM explainer is named (--embedded-model, config embeddedModel, $FEATURESCOPE_MODEL, an endpoint).")
    var pattern = false

    @Flag(name: .customLong("llm"), help: "Explain with an LLM even when none is named: the default embedded explainer, qwen2.5-coder-0.5b-instruct.")
    var useLLM = false

    @Option(name: .customLong("demo-from-text"),
            help: "Instead of explaining: build a demo cache at CACHE_DIR of token-identity latents (latent k fires on one token) over this text file, for trying and timing explain/score without an SAE.")
    var demoFromText: String?

    @Option(name: .customLong("demo-latents"), help: "Latents of the demo cache.")
    var demoLatents = 64

    func validate() throws {
        try selection.validateCounts()
        if let m = maxTokens, m < 1 { throw ValidationError("--max-tokens must be ≥ 1") }
        if !(temperature >= 0) { throw ValidationError("--temperature must be ≥ 0") }
        if let c = exampleCount, c < 1 { throw ValidationError("--example-count must be ≥ 1") }
        if let p = promptStyle, Explainer.PromptStyle(rawValue: p) == nil {
            throw ValidationError("--prompt must be delphi, compact, compact-v2 or grounded, got \"\(SafeText.sanitize(p))\"")
        }
        if let d = demos, d < 0 { throw ValidationError("--demos must be ≥ 0") }
        if [template, pattern, useLLM].filter({ $0 }).count > 1 {
            throw ValidationError("--template, --pattern and --llm are different explainers; give one")
        }
        if let e = exampleSelection, ExplainerExampleSelection(rawValue: e) == nil {
            throw ValidationError("--examples must be quantiles, strongest or mixed, got \"\(SafeText.sanitize(e))\"")
        }
    }

    func run() async throws {
        let settings = try llm.settings()
        if let textPath = demoFromText {
            try buildDemo(textPath, settings: settings)
            return
        }
        let sel = LatentSelection(spec: selection.latents, unexplained: unexplained, sample: selection.sample,
                                  seed: selection.seed, minActiveWindows: selection.minExamples)
        let (part, latents) = try openSelection(selection, selection: sel)
        if !selection.json, let note = selection.recordedDefaultsNote { FileHandle.standardError.write(Data((note + "\n").utf8)) }
        var options = Explainer.Options()
        options.variant = contrastive ? .contrastive : .standard
        options.temperature = temperature
        let embedded = settings.effectiveProvider == .embedded
        if embedded { options = EmbeddedDefaults.explainerOptions(options) }
        options.maxTokens = maxTokens ?? (embedded ? 48 : 2000)
        if let p = promptStyle.flatMap(Explainer.PromptStyle.init(rawValue:)) { options.promptStyle = p }
        options.demoCount = demos
        let explainer: any LatentExplainer
        let endpoint: String
        // An LLM's own flags ask for an LLM too; otherwise no named model means the counted pattern.
        let asksForLLM = useLLM || contrastive || promptStyle != nil || demos != nil || freeReply || maxTokens != nil
        let pattern = pattern || (!template && !asksForLLM && EmbeddedDefaults.explainsWithPattern(settings))
        if template {
            explainer = TemplateExplainer()
            endpoint = "none"
        } else if pattern {
            explainer = PatternExplainer()
            endpoint = "none"
        } else {
            let client = try llm.client(settings, seed: selection.seed, quiet: selection.json,
                                        embeddedReplyPrefix: freeReply ? nil : "[EXPLANATION]:")
            explainer = Explainer(client: client, options: options)
            endpoint = client.endpointName
        }

        let reporter = BatchReporter(total: latents.count, label: "explain", quiet: selection.json)
        var batch = selection.batchOptions(concurrency: settings.concurrency)
        batch.sampling.explainerSelection = exampleSelection.flatMap(ExplainerExampleSelection.init(rawValue:))
        batch.sampling.explainerExampleCount = exampleCount
        if pattern && exampleSelection == nil && exampleCount == nil {
            batch.sampling.explainerSelection = .strongest
            batch.sampling.explainerExampleCount = PatternExplainer.exampleCount
        } else if embedded && exampleSelection == nil && exampleCount == nil {
            batch.sampling.explainerSelection = EmbeddedDefaults.exampleSelection
            batch.sampling.explainerExampleCount = EmbeddedDefaults.exampleCount
        }
        let summary = await CacheAutoInterp.explain(part: part, latents: latents, explainer: explainer,
                                                    options: batch,
                                                    progress: { reporter.progress($0) })
        reporter.finish()
        try reporter.report(command: "explain", cache: selection.cacheDir, part: part.name, method: explainer.methodName,
                            provider: template || pattern ? "none" : settings.effectiveProvider.rawValue, endpoint: endpoint,
                            model: explainer.modelName,
                            summary: summary, minExamples: selection.minExamples, json: selection.json)
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    private func buildDemo(_ textPath: String, settings: LLMProviderSettings) throws {
        guard let data = FileManager.default.contents(atPath: textPath) else {
            throw ValidationError("cannot read the text file \(textPath)")
        }
        guard let client = try settings.makeClient(seed: selection.seed) as? EmbeddedLLMClient else {
            throw ValidationError("--demo-from-text tokenises with the embedded model; do not set --provider openai")
        }
        var o = EmbeddedDemoCache.Options()
        o.latents = demoLatents
        let r = try EmbeddedDemoCache.build(at: selection.cacheDir, text: String(decoding: data, as: UTF8.self), client: client,
                                            options: o)
        print("demo cache \(r.path): \(r.tokens) tokens, \(r.latentTokens.count) latents")
        for (k, t) in r.latentTokens.enumerated().prefix(12) { print("  latent \(k) fires on \"\(SafeText.sanitize(t))\"") }
    }
}
