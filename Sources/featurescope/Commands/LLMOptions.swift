import ArgumentParser
import AutoInterp
import FeaturescopeCore
import Foundation
import LatentCache

/// Which LLM to use: flags over `FEATURESCOPE_LLM_*` over the config file; the embedded model
/// by default.
struct LLMOptions: ParsableArguments {
    @Option(help: "LLM provider: embedded (a model in process, the default) or openai (any /v1/chat/completions server).")
    var provider: String?

    @Option(name: .customLong("base-url"), help: "OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (implies --provider openai).")
    var baseURL: String?

    @Option(help: "Model name sent to the server.")
    var model: String?

    @Option(name: .customLong("api-key-env"), help: "Name of the environment variable holding the API key (the key is never stored).")
    var apiKeyEnv: String?

    @Option(help: "Latents (and HTTP requests) in flight at once (default 4; the embedded model runs one request at a time).")
    var concurrency: Int?

    @Option(help: "Seconds one HTTP attempt may take (default 120).")
    var timeout: Double?

    @Option(help: "HTTP retries after the first attempt, with backoff (default 4).")
    var retries: Int?

    @Option(name: .customLong("max-reply-bytes"), help: "Largest HTTP reply accepted, in bytes (default 1048576); a larger one is an error.")
    var maxReplyBytes: Int?

    @Option(name: .customLong("embedded-model"),
            help: "Embedded model: a GGUF path or a registry name (`featurescope model list`; fetched on first use, with its size shown). Default: config embeddedModel (embeddedScorerModel for score), $FEATURESCOPE_MODEL, else qwen2.5-coder-1.5b-instruct to score; explain with no model named writes the counted pattern (no LLM; --llm: qwen2.5-coder-0.5b-instruct).")
    var embeddedModel: String?

    @Option(help: "Threads of the embedded model (default: all cores).")
    var threads: Int?

    @Option(help: "Config file (default: $XDG_CONFIG_HOME/featurescope/config.json or ~/.config/featurescope/config.json).")
    var config: String?

    /// `forScoring`: `--embedded-model` names the scorer (config `embeddedScorerModel`).
    func settings(forScoring: Bool = false) throws -> LLMProviderSettings {
        var flags = LLMProviderSettings(baseURL: baseURL, model: model, apiKeyEnv: apiKeyEnv, timeout: timeout, retries: retries,
                                        concurrency: concurrency, embeddedModel: forScoring ? nil : embeddedModel,
                                        embeddedScorerModel: forScoring ? embeddedModel : nil, threads: threads,
                                        maxReplyBytes: maxReplyBytes)
        if let p = provider {
            guard let v = LLMProviderSettings.Provider(rawValue: p.lowercased()) else {
                throw ValidationError("--provider must be embedded or openai, got \"\(SafeText.sanitize(p))\"")
            }
            flags.provider = v
        }
        if let c = concurrency, c < 1 { throw ValidationError("--concurrency must be ≥ 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be ≥ 1") }
        return try LLMProviderSettings.resolve(flags: flags, configPath: config)
    }

    /// The client, with HTTP retries noted on standard error (unless quiet).
    func client(_ s: LLMProviderSettings, seed: UInt64, quiet: Bool, embeddedReplyPrefix: String? = nil,
                forScoring: Bool = false) throws -> any LLMClient {
        try s.makeClient(seed: seed, embeddedReplyPrefix: embeddedReplyPrefix, forScoring: forScoring, onRetry: { attempt, error, delay in
            guard !quiet else { return }
            let line = "retry after attempt \(attempt) in \(String(format: "%.1f", delay)) s: \(error.description)"
            FileHandle.standardError.write(Data(("\n" + SafeText.sanitize(String(line.prefix(300))) + "\n").utf8))
        })
    }
}

/// Which latents of which cache part a batch command works on, and where results also go.
struct BatchSelectionOptions: ParsableArguments {
    @Argument(help: "The latent cache folder.")
    var cacheDir: String

    @Option(help: "Cache part (hook) to work on; required when the cache has several.")
    var part: String?

    @Option(help: "Latents: indices and ranges, e.g. 0-499,7 (default: all).")
    var latents: String?

    @Option(help: "Draw this many latents at random from the selection (only latents with enough activating windows).")
    var sample: Int?

    // The sampling options default to what the cache recorded (an imported delphi run's run_config.json),
    // else to delphi's defaults.
    @Option(name: .customLong("seed"), help: "Seed of the latent sample, the example sampling and the scorers' shuffles (default 22, or the cache's recorded seed).")
    var seedOption: UInt64?

    @Option(name: .customLong("min-examples"), help: "Skip latents with fewer activating windows in the corpus (delphi's min_examples; default 200, or the cache's recorded value).")
    var minExamplesOption: Int?

    @Option(name: .customLong("train-per-quantile"),
            help: "Explainer examples per quantile (delphi: 4 → 40, or the cache's recorded value); the scorers' test examples are drawn after them, so use the same value for explain and score.")
    var trainPerQuantileOption: Int?

    @Option(name: .customLong("test-per-quantile"), help: "Scorer test examples per quantile (delphi: 5 → 50, or the cache's recorded value).")
    var testPerQuantileOption: Int?

    @Option(name: .customLong("non-activating"), help: "Scorer non-activating examples (delphi: 50, or the cache's recorded value; at most what the cache keeps).")
    var nonActivatingOption: Int?

    @Option(name: .customLong("delphi-out"), help: "Also write delphi's layout here (explanations/<hook>_latent<i>.txt, scores/<scorer>/…).")
    var delphiOut: String?

    @Flag(help: "Print a JSON summary instead of the table (no progress bar).")
    var json = false

    @Flag(help: "Explain/score again latents that already have a result by the same method and model (appended; the newest is shown).")
    var redo = false

    /// What the cache recorded (read once per use; the manifest is small).
    var recorded: CacheSamplingDefaults { CacheSamplingDefaults.recorded(inCacheAt: cacheDir) }
    var seed: UInt64 { seedOption ?? recorded.seed ?? 22 }
    var minExamples: Int { minExamplesOption ?? recorded.minExamples ?? 200 }
    var trainPerQuantile: Int { trainPerQuantileOption ?? recorded.trainPerQuantile ?? 4 }
    var testPerQuantile: Int { testPerQuantileOption ?? recorded.testPerQuantile ?? 5 }
    var nonActivating: Int { nonActivatingOption ?? recorded.nonActivating ?? 50 }

    /// A line naming the recorded defaults in use (nil when every value is given or built in).
    var recordedDefaultsNote: String? {
        let r = recorded
        var used: [String] = []
        if seedOption == nil, let v = r.seed { used.append("--seed \(v)") }
        if minExamplesOption == nil, let v = r.minExamples { used.append("--min-examples \(v)") }
        if trainPerQuantileOption == nil, let v = r.trainPerQuantile { used.append("--train-per-quantile \(v)") }
        if testPerQuantileOption == nil, let v = r.testPerQuantile { used.append("--test-per-quantile \(v)") }
        if nonActivatingOption == nil, let v = r.nonActivating { used.append("--non-activating \(v)") }
        guard !used.isEmpty else { return nil }
        return "sampling defaults recorded in the cache (\(SafeText.sanitize(r.source ?? "its metadata"))): " + used.joined(separator: " ")
    }

    func validateCounts() throws {
        if let s = sample, s < 1 { throw ValidationError("--sample must be ≥ 1") }
        if let m = minExamplesOption, m < 0 { throw ValidationError("--min-examples must be ≥ 0") }
        if let t = trainPerQuantileOption, t < 1 { throw ValidationError("--train-per-quantile must be ≥ 1") }
        if let t = testPerQuantileOption, t < 1 { throw ValidationError("--test-per-quantile must be ≥ 1") }
        if let n = nonActivatingOption, n < 0 { throw ValidationError("--non-activating must be ≥ 0") }
    }

    func batchOptions(concurrency: Int?) -> CacheBatchOptions {
        var o = CacheBatchOptions()
        o.concurrency = concurrency ?? 4
        o.minActiveWindows = minExamples
        o.sampling.seed = seed
        o.redo = redo
        o.sampling.trainPerQuantile = trainPerQuantile
        o.sampling.testPerQuantile = testPerQuantile
        o.sampling.nonActivating = nonActivating
        o.delphiRun = delphiOut.map { DelphiRun(root: $0) }
        return o
    }
}

/// Progress, timing and the final report shared by `explain` and `score`.
final class BatchReporter: @unchecked Sendable {
    // @unchecked: the counters are only touched while holding `lock`.
    private let lock = NSLock()
    private let bar: ProgressBar
    private let started = Date()
    private var completed = 0
    private var failed = 0
    private var skipped = 0

    init(total: Int, label: String, quiet: Bool) {
        bar = ProgressBar(total: total, label: label, unit: "latents", enabled: !quiet)
    }

    /// The progress callback: bar, counts and live throughput of newly finished latents.
    func progress(_ p: BatchProgress) {
        lock.lock(); defer { lock.unlock() }
        switch p.outcome {
        case .completed: completed += 1
        case .failed: failed += 1
        case .alreadyDone, .skippedTooFewExamples: skipped += 1
        }
        bar.update(p.done, extra: "new \(completed) · failed \(failed) · skipped \(skipped) · "
                   + String(format: "%.2f/min", Self.perMinute(completed, Date().timeIntervalSince(started))))
    }

    var seconds: Double { Date().timeIntervalSince(started) }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        bar.finish(extra: "new \(completed) · failed \(failed) · skipped \(skipped)")
    }

    static func perMinute(_ n: Int, _ seconds: Double) -> Double { seconds > 0 ? Double(n) * 60 / seconds : 0 }

    /// The JSON summary.
    struct Report: Codable {
        var command: String
        var cache: String
        var part: String
        var method: String
        var provider: String
        var model: String
        var endpoint: String
        var seconds: Double
        var latentsPerMinute: Double
        var summary: BatchSummary
    }

    func report(command: String, cache: String, part: String, method: String, provider: String, endpoint: String,
                model: String, summary: BatchSummary, minExamples: Int, json: Bool) throws {
        let secs = seconds
        let r = Report(command: command, cache: cache, part: part, method: method, provider: provider, model: model,
                       endpoint: endpoint, seconds: secs,
                       latentsPerMinute: Self.perMinute(summary.completed, secs), summary: summary)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(Self.table(r, minExamples: minExamples))
        }
    }

    /// The human summary: counts, speed, pooled metrics, failures (sanitised).
    static func table(_ r: Report, minExamples: Int) -> String {
        let s = r.summary
        func row(_ name: String, _ value: String) -> String { name.padding(toLength: 22, withPad: " ", startingAt: 0) + value }
        var lines = ["\(r.command) · part \(SafeText.sanitize(r.part)) · \(r.method) · \(SafeText.sanitize(r.model)) (\(r.provider))"]
        lines.append(row("latents", "\(s.total)"))
        lines.append(row("  new", "\(s.completed)" + (s.unparsedExplanations > 0 ? " (\(s.unparsedExplanations) replies without [EXPLANATION]:)" : "")))
        lines.append(row("  already done", "\(s.alreadyDone)"))
        lines.append(row("  too few examples", "\(s.skippedTooFewExamples)" + (s.skippedTooFewExamples > 0 ? " (< \(minExamples) activating windows; see --min-examples)" : "")))
        lines.append(row("  failed", "\(s.failures.count)"))
        lines.append(row("time", ProgressBar.formatDuration(r.seconds) + String(format: " · %.2f latents/min", r.latentsPerMinute)))
        if let m = s.pooled {
            let auc = m.auc.map { String(format: "%.3f", $0) } ?? "-"
            lines.append("pooled over \(m.scoredCount + m.nullPredictions) samples (micro-average):")
            lines.append(String(format: "  balanced accuracy %.3f · precision %.3f · recall %.3f · F1 %.3f · AUC ",
                                m.balancedAccuracy, m.precision, m.recall, m.f1) + auc)
            lines.append("  TP \(m.truePositives) · TN \(m.trueNegatives) · FP \(m.falsePositives) · FN \(m.falseNegatives) · null \(m.nullPredictions)")
            if !m.perQuantile.isEmpty {
                lines.append("  per-quantile accuracy: " + m.perQuantile.map { String(format: "q%d %.2f", $0.quantile, $0.accuracy) }
                    .joined(separator: " · "))
            }
        }
        if !s.failures.isEmpty {
            lines.append("failures:")
            for f in s.failures.prefix(20) {
                lines.append("  latent \(f.latent): " + SafeText.sanitize(String(f.reason.prefix(240))))
            }
            if s.failures.count > 20 { lines.append("  … \(s.failures.count - 20) more (--json lists all)") }
        }
        return lines.joined(separator: "\n")
    }
}

/// Opens the cache and the part, and resolves the latents.
func openSelection(_ sel: BatchSelectionOptions, selection: LatentSelection) throws -> (LatentCachePart, [Int]) {
    let cache = try LatentCacheDirectory.open(sel.cacheDir)
    let part = try LatentSelection.part(named: sel.part, in: cache)
    if let overlay = cache.overlayDirectory, !sel.json {
        FileHandle.standardError.write(Data(("\(SafeText.sanitize(sel.cacheDir)) is pristine or read-only: new annotations go to "
            + "the per-user overlay \(SafeText.sanitize(overlay))\n").utf8))
    }
    return (part, try selection.latents(in: part))
}
