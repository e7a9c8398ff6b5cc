/// # AutoInterp — explaining and scoring SAE latents with LLMs (delphi's methods)
///
/// Library entry points (the CLI's `explain` / `score` commands are thin wrappers):
///
/// 1. **Client** — `OpenAIClient(configuration:)` talks to any `/v1/chat/completions` endpoint
///    (vLLM, llama.cpp server, Ollama, OpenRouter). The API key is read from the environment
///    variable the user names (`apiKeyEnvironmentVariable`) and is never logged. Retries with
///    backoff + jitter on timeouts, connection errors, 429 and 5xx (honouring `Retry-After`);
///    failures are `LLMClientError`s. The embedded model plugs in through `LLMClient`, and
///    optionally `NextTokenProbabilityClient` (P("0"), P("1") for scoring) and `SequenceScorer`
///    (summed log-loss, for `SurprisalScorer`).
/// 2. **Examples** — build `LatentExamples` (windows sorted by max activation) and call
///    `ExampleSampler.sample(_:options:)`: 10 quantiles, 40 train (4/quantile), 50 test
///    (5/quantile), 50 random non-activating, seeded (`SplitMix64`), train/test disjoint unless
///    `SamplingOptions.overlappingTrainTest` reproduces delphi's overlap. Latents with fewer than
///    `minExamples` (200) activating windows throw `SamplingError.tooFewActivatingWindows`.
/// 3. **Explain** — `Explainer(client:options:).explain(sampled)` → `ExplanationRecord`
///    (delphi's default prompt layout: `<<`/`>>` highlights, `Activations:` lines; or the
///    contrastive variant). `Explainer.parseExplanation` reads `[EXPLANATION]:`.
/// 4. **Score** — `ClassifierScorer(method: .detection | .fuzz, client:)` and
///    `SurprisalScorer(scorer:modelName:)`: `.score(sampled, explanation:)` → `ScoreRecord`.
/// 5. **Metrics** — `ClassifierMetrics(samples:)` / `ClassifierMetrics(pooling:)`: TP/TN/FP/FN,
///    precision, recall, F1, balanced accuracy (the score), AUC, per-quantile accuracy.
/// 6. **Files** — `DelphiRun(root:)` reads/writes `explanations/<hook>_latent<i>.txt` and
///    `scores/<scorer>/<hook>_latent<i>.txt` (detection/fuzz; simulation readable).
/// 7. **Batches** — `AutoInterpBatch.explain(...)` / `.score(...)`: concurrency-limited,
///    resumable (existing files are skipped), atomic writes, progress callback, `BatchSummary`
///    with pooled metrics and failures.
///
/// Differences from delphi, all deliberate:
/// - delphi's known defect (train/test overlap) is reproduced only behind
///   `SamplingOptions.overlappingTrainTest`; the default draws them disjoint.
/// - Logprob answers are read only from tokens inside the parsed `[...]` list (delphi counts every
///   generated token containing a 0 or 1, so digits in prose break it); when they still do not
///   line up, the batch keeps its predictions without probabilities (delphi nulls the batch).
/// - A batch whose *request* failed (endpoint down after retries) makes the latent's result
///   incomplete: the batch runner does not write it, so a resumed run scores it again.
/// - File names replace `/` in hook names by `--` for explanations as well as scores.
/// - Prompts are Featurescope's own wording with delphi's structure and markers; random
///   draws use `SplitMix64`, so the exact examples differ from delphi's Python RNG.
public enum AutoInterp {
    /// Version of this library's prompts and file conventions.
    public static let version = "1"
}
