import FeaturescopeCore
import Foundation

/// The tokens a latent's decoder direction promotes and suppresses (logit lens), as the exporter writes
/// them into `pos_str`/`pos_values` and `neg_str`/`neg_values`.
public struct NeuronpediaLogits: Sendable, Equatable {
    public var positive: [(token: String, logit: Float)]
    public var negative: [(token: String, logit: Float)]
    public init(positive: [(token: String, logit: Float)], negative: [(token: String, logit: Float)]) {
        self.positive = positive; self.negative = negative
    }
    public static func == (a: Self, b: Self) -> Bool {
        a.positive.map(\.token) == b.positive.map(\.token) && a.positive.map(\.logit) == b.positive.map(\.logit)
            && a.negative.map(\.token) == b.negative.map(\.token) && a.negative.map(\.logit) == b.negative.map(\.logit)
    }
}

/// Options of `featurescope export neuronpedia`.
public struct NeuronpediaExportOptions {
    /// Neuronpedia model id (`model_id`); default: the cache's model name, lowercased, without `.gguf` and quantisation.
    public var modelID: String?
    /// SAE set name (`sae_set`); default `featurescope-SITE` per part (`featurescope-attn-hook-z`).
    public var saeSet: String?
    /// Features per batch file (the runner's `n_features_at_a_time`, default 128).
    public var featuresPerBatch: Int
    /// Logit lens of a batch of latents of one part (one result per latent, in order), e.g. through the
    /// model's unembedding; nil leaves pos/neg empty.
    public var logitLens: ((_ part: Int, _ latents: [Int]) throws -> [NeuronpediaLogits])?
    public var overwrite: Bool

    public init(modelID: String? = nil, saeSet: String? = nil, featuresPerBatch: Int = 128,
                logitLens: ((Int, [Int]) throws -> [NeuronpediaLogits])? = nil, overwrite: Bool = false) {
        self.modelID = modelID; self.saeSet = saeSet; self.featuresPerBatch = featuresPerBatch
        self.logitLens = logitLens; self.overwrite = overwrite
    }
}

/// What an export wrote.
public struct NeuronpediaExportReport: Codable, Sendable {
    public var output: String
    /// One folder per part, named as the runner names its outputs (`MODEL_SET_HOOK_DSAE`).
    public var folders: [String]
    public var batches: Int
    public var features: Int
    /// Latents that never fire, listed in `skipped_indexes.json` as the runner lists dead features.
    public var skipped: Int
    public var activations: Int
    public var explanations: Int
    public var scores: Int
    public var logitLens: Bool
    public var notes: [String]
}

/// Writes a cache as SAEDashboard's Neuronpedia runner does (docs/neuronpedia.md): per part a folder with
/// `batch-N.json` (`NeuronpediaDashboardBatch`), `skipped_indexes.json` and `run_settings.json`, plus
/// `explanations/batch-0.jsonl` with the explanations and their scores as Neuronpedia's exports hold them.
public enum NeuronpediaExport {
    public static func run(cache: LatentCacheDirectory, output: String, options: NeuronpediaExportOptions,
                           progress: ((Int, Int) -> Void)? = nil) throws -> NeuronpediaExportReport {
        guard options.featuresPerBatch >= 1 else { throw CacheError.invalidArgument("features per batch must be at least 1") }
        if FileManager.default.fileExists(atPath: output), !options.overwrite { throw CacheError.destinationExists(path: output) }
        let staging = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try FileUtil.makeDirectory(staging)
        let modelID = options.modelID ?? defaultModelID(cache.manifest.metadata.model)
        var report = NeuronpediaExportReport(output: output, folders: [], batches: 0, features: 0, skipped: 0, activations: 0,
                                             explanations: 0, scores: 0, logitLens: options.logitLens != nil, notes: [])
        let total = cache.parts.reduce(0) { $0 + $1.latentCount }
        var done = 0
        do {
            for (pi, part) in cache.parts.enumerated() {
                let layer = layerNumber(part.hook) ?? 0
                if layerNumber(part.hook) == nil { report.notes.append("part \(part.name): hook '\(part.hook)' names no layer; layer 0 written") }
                let saeSet = options.saeSet ?? defaultSAESet(part.hook)
                let folder = safeName("\(modelID)_\(saeSet)_\(part.hook)_\(part.latentCount)")
                let dir = staging + "/" + folder
                try FileUtil.makeDirectory(dir + "/explanations")
                report.folders.append(folder)
                let source = "\(layer)-\(saeSet)"
                var skipped: [Int] = []
                var batch: [NeuronpediaDashboardFeature] = []
                var batchNumber = 0  // per folder, as the runner numbers them
                var explanationLines: [String] = []
                func flush() throws {
                    guard !batch.isEmpty else { return }
                    if let lens = options.logitLens {
                        let got = try lens(pi, batch.map(\.featureIndex))
                        guard got.count == batch.count else {
                            throw CacheError.invalidArgument("the logit lens gave \(got.count) results for \(batch.count) latents")
                        }
                        for (i, l) in got.enumerated() {
                            batch[i].posStr = l.positive.map(\.token); batch[i].posValues = l.positive.map(\.logit)
                            batch[i].negStr = l.negative.map(\.token); batch[i].negValues = l.negative.map(\.logit)
                        }
                    }
                    let b = NeuronpediaBatch(modelID: modelID, layer: layer, saeSet: saeSet, features: batch)
                    try writeJSON(b, to: dir + "/batch-\(batchNumber).json")
                    batchNumber += 1
                    report.batches += 1
                    batch.removeAll()
                }
                for latent in 0 ..< part.latentCount {
                    defer { done += 1; progress?(done, total) }
                    let summary = try part.summary(latent)
                    let annotations = try part.annotations(latent)
                    let rows = try explanationRows(annotations, modelID: modelID, source: source, latent: latent)
                    report.explanations += rows.filter { $0.notes != scoreOnlyNote }.count
                    report.scores += rows.reduce(0) { $0 + ($1.scores?.count ?? 0) }
                    for r in rows { explanationLines.append(try compactJSON(r)) }
                    guard summary.firingCount > 0 else { skipped.append(latent); continue }
                    let f = try feature(part: part, latent: latent, summary: summary, cache: cache)
                    report.activations += f.activations.count
                    report.features += 1
                    batch.append(f)
                    if batch.count == options.featuresPerBatch { try flush() }
                }
                try flush()
                report.skipped += skipped.count
                struct Skipped: Encodable {
                    var model_id: String; var layer: String; var sae_set: String; var log_sparsity: Int; var skipped_indexes: [Int]
                }
                try writeJSON(Skipped(model_id: modelID, layer: String(layer), sae_set: saeSet, log_sparsity: 1, skipped_indexes: skipped),
                              to: dir + "/skipped_indexes.json")
                let settings = NeuronpediaRunSettings(
                    saeSet: saeSet, saePath: part.sae?.path ?? "", outputsDir: output + "/" + folder, modelID: modelID, layer: layer,
                    nPromptsTotal: cache.tokens.rows, nTokensInPrompt: cache.tokens.rowLength,
                    huggingfaceDatasetPath: cache.manifest.metadata.corpus ?? "", nFeaturesAtATime: options.featuresPerBatch,
                    hookName: part.hook, hookNameOut: part.hookOut)
                try writeJSON(settings, to: dir + "/run_settings.json")
                let text = explanationLines.isEmpty ? "" : explanationLines.joined(separator: "\n") + "\n"
                try FileUtil.writeFile(Array(text.utf8), to: dir + "/explanations/batch-0.jsonl")
            }
            if options.overwrite { try? FileManager.default.removeItem(atPath: output) }
            try FileManager.default.moveItem(atPath: staging, toPath: output)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        if options.logitLens == nil { report.notes.append("no model given: pos_str/neg_str (logit lens) are empty") }
        report.notes.append("neuron alignment, correlations, logit histograms and decoder weight distributions are not computed (written empty)")
        return report
    }

    /// The note on explanation rows written only to carry scores whose explanation the cache does not hold.
    public static let scoreOnlyNote = "featurescope: score-only"

    /// The SAEDashboard feature of one latent: top windows (bin −1 / max / −1), then every quantile
    /// sample (bin = the quantile's window-max range, contains = its share of the activating windows).
    static func feature(part: LatentCachePart, latent: Int, summary: LatentSummary, cache: LatentCacheDirectory) throws -> NeuronpediaDashboardFeature {
        let r = try part.record(latent)
        var f = NeuronpediaDashboardFeature(featureIndex: latent)
        func activation(_ w: CacheWindow, _ lo: Float, _ hi: Float, _ contains: Double) -> NeuronpediaDashboardActivation {
            var best = 0
            for (i, v) in w.activations.enumerated() where v > w.activations[best] { best = i }
            return NeuronpediaDashboardActivation(binMin: lo, binMax: hi, binContains: contains, tokens: part.tokenStrings(w),
                                                  values: w.activations, qualifyingTokenIndex: best)
        }
        for w in r.top { f.activations.append(activation(w, -1, summary.maxActivation, -1)) }
        for q in r.quantiles {
            let share = r.activeWindowCount > 0 ? Double(q.sliceSize) / Double(r.activeWindowCount) : 0
            for w in q.windows { f.activations.append(activation(w, q.weakest, q.strongest, share)) }
        }
        f.fracNonzero = summary.densityPerToken
        let bw = r.histogram.binWidth
        f.freqHistDataBarValues = r.histogram.counts.indices.map { (Float($0) + 0.5) * bw }
        f.freqHistDataBarHeights = r.histogram.counts
        f.nPromptsTotal = cache.tokens.rows
        f.nTokensInPrompt = cache.tokens.rowLength
        f.dataset = cache.manifest.metadata.corpus ?? ""
        return f
    }

    /// Neuronpedia explanation rows: each explanation with the scores of that explanation text; scores of a
    /// text the cache has no explanation for go on a row marked `scoreOnlyNote`.
    static func explanationRows(_ annotations: [Annotation], modelID: String, source: String, latent: Int) throws -> [NeuronpediaExplanation] {
        let explanations = annotations.filter { $0.kind == .explanation }
        var rows = explanations.map { a in
            NeuronpediaExplanation(modelId: modelID, layer: source, index: latent, description: a.text ?? "", typeName: a.method,
                                   explanationModelName: a.model, authorId: "featurescope", createdAt: a.date, scores: [])
        }
        for s in annotations where s.kind == .score {
            let details = try compactJSON(s)
            let value = s.metrics?.score.flatMap { $0.isFinite ? $0 : nil } ?? 0  // Neuronpedia needs a number; jsonDetails keeps the truth
            let score = NeuronpediaExplanationScore(value: value, explanationScoreTypeName: s.method,
                                                    explanationScoreModelName: s.model, jsonDetails: details, createdAt: s.date)
            let text = s.explanation ?? ""
            if let i = rows.lastIndex(where: { $0.description == text && $0.notes == nil }) ?? rows.lastIndex(where: { $0.description == text }) {
                rows[i].scores?.append(score)
            } else {
                rows.append(NeuronpediaExplanation(modelId: modelID, layer: source, index: latent, description: text, typeName: nil,
                                                   explanationModelName: nil, authorId: "featurescope", notes: scoreOnlyNote,
                                                   createdAt: s.date, scores: [score]))
            }
        }
        return rows
    }

    /// `SmolLM2-135M-Instruct.Q4_1.gguf` → `smollm2-135m-instruct`.
    public static func defaultModelID(_ model: String?) -> String {
        guard var m = model, !m.isEmpty else { return "unknown-model" }
        if m.lowercased().hasSuffix(".gguf") { m = String(m.dropLast(5)) }
        if let dot = m.lastIndex(of: "."), m[m.index(after: dot)...].uppercased().hasPrefix("Q") || m[m.index(after: dot)...].uppercased().hasPrefix("F") {
            m = String(m[..<dot])
        }
        return safeName(m.lowercased())
    }

    /// `blocks.3.attn.hook_z` → `featurescope-attn-hook-z`.
    static func defaultSAESet(_ hook: String) -> String {
        let parts = hook.split(separator: ".")
        let site = parts.count >= 3 && parts[0] == "blocks" ? parts.dropFirst(2).joined(separator: "-") : hook
        return "featurescope-" + safeName(site.replacingOccurrences(of: "_", with: "-").lowercased())
    }

    /// The block number of `blocks.N.…`.
    static func layerNumber(_ hook: String) -> Int? {
        let parts = hook.split(separator: ".")
        guard parts.count >= 2, parts[0] == "blocks" else { return nil }
        return Int(parts[1])
    }

    /// Letters, digits, `-`, `_` and `.` kept; anything else (path separators included) becomes `_`.
    static func safeName(_ s: String) -> String {
        let out = String(s.map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") ? c : "_"
        })
        return out.isEmpty || out == "." || out == ".." ? "_" : out
    }

    static func compactJSON<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try FileUtil.writeFile(Array(try e.encode(value)), to: path)
    }
}
