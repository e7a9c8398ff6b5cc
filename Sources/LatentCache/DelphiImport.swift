import Foundation
import TensorFormats

/// Options of `featurescope import delphi`.
public struct DelphiImportOptions: Sendable {
    public var examples: ExampleConfiguration
    /// Display strings; nil = token ids as strings (the report says so).
    public var vocabulary: [[UInt8]]?
    public var vocabularySource: String
    public var creationCommand: String?
    public var overwrite: Bool
    /// Take the window length and quantile count from the run's run_config.json (`example_ctx_len`,
    /// `n_quantiles`) when it has them, rather than from `examples`.
    public var windowFromRun = true
    public var quantilesFromRun = true

    public init(examples: ExampleConfiguration = ExampleConfiguration(), vocabulary: [[UInt8]]? = nil,
                vocabularySource: String = "token-ids", creationCommand: String? = nil, overwrite: Bool = false) {
        self.examples = examples; self.vocabulary = vocabulary; self.vocabularySource = vocabularySource
        self.creationCommand = creationCommand; self.overwrite = overwrite
    }
}

/// What an import did.
public struct DelphiImportReport: Codable, Sendable {
    public var cache: String
    public var parts: [String]
    public var latents: Int
    public var activations: Int
    public var explanations: Int
    public var scores: [String: Int]
    /// Activations left out, per reason ("zero", "negative", "not a number", "infinite").
    public var droppedActivations: [String: Int] = [:]
    /// Activations given more than once for the same token and latent, merged into the largest.
    public var mergedDuplicates = 0
    /// Explanation and score files not imported, per reason.
    public var skippedFiles: [String: Int] = [:]
    /// The model explanations are credited to (from run_config.json), when the run names one.
    public var explainerModel: String?
    public var notes: [String]
}

/// Reads a delphi run (docs/cache-format.md, "delphi runs") into a Featurescope cache.
public enum DelphiImport {
    struct Split { var path: String; var start: Int; var end: Int }
    /// Most latents per hookpoint (the SAE loader's limit too): split file names claim a width, and the
    /// importer allocates for it, so a renamed file must not make it allocate for billions.
    public static let maxLatents = 1 << 24
    /// Most distinct token ids shown as numbers when no vocabulary is given (larger than any tokenizer's).
    public static let maxTokenIDsWithoutVocabulary = 1 << 22
    struct Hookpoint { var name: String; var directory: String; var splits: [Split]; var config: [String: Any] }

    /// Finds `latents/<hookpoint>/<start>_<end>.safetensors` (hookpoints may contain `/`).
    static func hookpoints(run: String) throws -> [Hookpoint] {
        let latents = run + "/latents"
        guard let e = FileManager.default.enumerator(atPath: latents) else {
            throw CacheError.invalidDelphiRun(path: run, reason: "no latents/ folder")
        }
        var byDir: [String: [Split]] = [:]
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".safetensors") else { continue }
            let name = FileUtil.name(rel).dropLast(".safetensors".count)
            let bounds = name.split(separator: "_")
            guard bounds.count == 2, let s = Int(bounds[0]), let t = Int(bounds[1]), s >= 0, t >= s else {
                throw CacheError.invalidDelphiRun(path: latents + "/" + rel, reason: "split file name is not <start>_<end>.safetensors")
            }
            guard t < maxLatents else {
                throw CacheError.invalidDelphiRun(path: latents + "/" + rel, reason: "split file name claims latents up to \(t); a hookpoint may have at most \(maxLatents) latents")
            }
            byDir[FileUtil.parent(rel), default: []].append(Split(path: latents + "/" + rel, start: s, end: t))
        }
        guard !byDir.isEmpty else { throw CacheError.invalidDelphiRun(path: run, reason: "no split files under latents/") }
        return try byDir.keys.sorted().map { dir in
            let splits = byDir[dir]!.sorted { $0.start < $1.start }
            for (a, b) in zip(splits, splits.dropFirst()) where b.start <= a.end {
                throw CacheError.invalidDelphiRun(path: latents + "/" + dir, reason: "split files \(a.start)_\(a.end) and \(b.start)_\(b.end) overlap")
            }
            var config: [String: Any] = [:]
            if let d = FileManager.default.contents(atPath: latents + "/" + dir + "/config.json") {
                guard let c = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else {
                    throw CacheError.invalidDelphiRun(path: latents + "/" + dir + "/config.json", reason: "not a JSON object")
                }
                config = c
            }
            return Hookpoint(name: dir, directory: latents + "/" + dir, splits: splits, config: config)
        }
    }

    static func open(_ path: String) throws -> SafetensorsFile {
        do { return try SafetensorsFile(path: path) } catch { throw CacheError.invalidDelphiRun(path: path, reason: "\(error)") }
    }

    /// Token rows of a split file: [rows, ctx] integers.
    static func readTokens(_ f: SafetensorsFile) throws -> (rows: Int, ctx: Int, ids: [Int64]) {
        guard let t = f.tensors["tokens"], t.shape.count == 2 else {
            throw CacheError.invalidDelphiRun(path: f.path, reason: "no 2-D 'tokens' tensor")
        }
        do { return (t.shape[0], t.shape[1], try f.int64s("tokens")) } catch {
            throw CacheError.invalidDelphiRun(path: f.path, reason: "tokens: \(error)")
        }
    }

    /// Imports `run` into a new cache at `output`.
    public static func run(_ run: String, output: String, options: DelphiImportOptions,
                           progress: ((String, Int, Int) -> Void)? = nil) throws -> DelphiImportReport {
        var hooks = try hookpoints(run: run)
        let runConfig = try DelphiRunConfig.load(run: run)
        // Parts in the run's hookpoint order when its run_config.json lists them, else by name.
        if let order = runConfig?.hookpoints, !order.isEmpty {
            func rank(_ h: Hookpoint) -> Int { order.firstIndex(of: h.name) ?? order.count }
            hooks = hooks.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
        }
        guard let firstSplit = hooks.first?.splits.first else { throw CacheError.invalidDelphiRun(path: run, reason: "no split files") }
        let (rows, ctx, ids) = try readTokens(open(firstSplit.path))
        guard rows > 0, ctx > 0 else { throw CacheError.invalidDelphiRun(path: firstSplit.path, reason: "empty tokens tensor") }
        var notes = ["imported from delphi run \(run)"]
        var examples = options.examples
        if options.windowFromRun, let w = runConfig?.sampling.windowLength { examples.windowLength = w }
        if options.quantilesFromRun, let q = runConfig?.sampling.quantiles { examples.quantiles = q }
        guard ctx % examples.windowLength == 0 else {
            throw CacheError.invalidDelphiRun(path: firstSplit.path, reason: "cache_ctx_len \(ctx) is not a multiple of the window length \(examples.windowLength) (delphi requires this too)")
        }
        let maxToken = ids.max() ?? 0
        guard ids.allSatisfy({ $0 >= 0 && $0 < Int64(UInt32.max) }) else {
            throw CacheError.invalidDelphiRun(path: firstSplit.path, reason: "token ids outside 0 … 2³²−2")
        }
        var vocabulary: [[UInt8]]
        if let v = options.vocabulary {
            guard maxToken < Int64(v.count) else {
                throw CacheError.invalidDelphiRun(path: firstSplit.path, reason: "token id \(maxToken) is beyond the \(v.count)-token vocabulary (wrong --model?)")
            }
            vocabulary = v
        } else {
            // Without a vocabulary every id up to the largest gets a display string: bound it first.
            guard maxToken < Int64(maxTokenIDsWithoutVocabulary) else {
                throw CacheError.invalidDelphiRun(path: firstSplit.path, reason: "token id \(maxToken) is beyond any tokenizer's vocabulary (at most \(maxTokenIDsWithoutVocabulary) ids are shown without one); pass --model with the run's tokenizer")
            }
            vocabulary = DisplayStrings.tokenIDs(count: Int(maxToken) + 1)
            notes.append("display strings are token ids: no vocabulary was given (pass --model to show text)")
        }

        let cfg = hooks[0].config
        var extra: [String: String] = [:]
        for (k, v) in cfg { extra["delphi." + k] = "\(v)" }
        if let rc = runConfig {
            rc.sampling.record(into: &extra)
            extra[DelphiRunConfig.extraKey] = rc.json.compact
            notes += rc.notes
        }
        let corpus = [cfg["dataset_repo"], cfg["dataset_name"], cfg["dataset_split"]].compactMap { $0 as? String }.filter { !$0.isEmpty }.joined(separator: " ")
        let meta = CacheMetadata(model: cfg["model_name"] as? String ?? runConfig?.model, corpus: corpus.isEmpty ? nil : corpus,
                                 creationCommand: options.creationCommand, notes: notes, extra: extra)
        let parts = hooks.map { h in
            PartSpec(name: h.name, hook: HookNames.transformerLens(h.name), latentCount: (h.splits.map(\.end).max() ?? 0) + 1, delphiHookpoint: h.name)
        }
        try? FileManager.default.removeItem(atPath: output + ".partial")
        let builder = try LatentCacheBuilder.start(
            output: output, parts: parts,
            options: BuildOptions(examples: examples, rowLength: ctx, keepAllActivations: true, checkpointEveryRows: 0),
            metadata: meta, vocabulary: vocabulary, vocabularySource: options.vocabulary == nil ? "token-ids" : options.vocabularySource,
            overwrite: options.overwrite)
        var total = 0
        var tally = ActivationTally()
        do {
            for r in 0 ..< rows {
                try builder.beginRow(tokens: ids[r * ctx ..< (r + 1) * ctx])
                try builder.endRow()
            }
            for (pi, h) in hooks.enumerated() {
                for (si, s) in h.splits.enumerated() {
                    progress?("splits \(h.name)", si, h.splits.count)
                    total += try addSplit(s, part: pi, rows: rows, ctx: ctx, tokens: ids, builder: builder, tally: &tally)
                }
            }
            try builder.finalize { d, t in progress?("latents", d, t) }
        } catch {
            builder.discard()
            throw error
        }

        let cache = try LatentCacheDirectory.open(output)
        var explanationCount = 0
        var scoreCounts: [String: Int] = [:]
        var skipped: [String: Int] = [:]
        let credit = Credit(runConfig: runConfig, fallback: cfg["explainer_model"] as? String)
        for (pi, h) in hooks.enumerated() {
            let found = try annotations(run: run, hookpoint: h.name, latentCount: parts[pi].latentCount, credit: credit)
            try cache.parts[pi].appendAnnotations(found.list)
            explanationCount += found.explanations
            for (k, v) in found.scores { scoreCounts[k, default: 0] += v }
            for (k, v) in found.skipped { skipped[k, default: 0] += v }
        }
        for (k, v) in try unmatchedFiles(run: run, hookpoints: hooks.map(\.name)) { skipped[k, default: 0] += v }
        notes += tally.notes + skipped.sorted { $0.key < $1.key }.map { "\($0.value) file(s) not imported: \($0.key)" }
        if credit.isUnknown, explanationCount + scoreCounts.values.reduce(0, +) > 0 {
            notes.append("the run names no explainer_model (no run_config.json): explanations and scores are credited to \"\(Credit.unknown)\"")
        }
        var report = DelphiImportReport(cache: output, parts: parts.map(\.name), latents: parts.reduce(0) { $0 + $1.latentCount },
                                        activations: total, explanations: explanationCount, scores: scoreCounts, notes: notes)
        report.droppedActivations = tally.dropped
        report.mergedDuplicates = tally.merged
        report.skippedFiles = skipped
        report.explainerModel = runConfig?.explainerModel
        return report
    }

    /// Streams one split file's positive, finite activations into the builder (duplicates merged into
    /// the largest; the rest counted in `tally`); returns how many were added.
    static func addSplit(_ s: Split, part: Int, rows: Int, ctx: Int, tokens: [Int64], builder: LatentCacheBuilder,
                         tally: inout ActivationTally) throws -> Int {
        let f = try open(s.path)
        let t = try readTokens(f)
        guard t.rows == rows, t.ctx == ctx else {
            throw CacheError.invalidDelphiRun(path: s.path, reason: "tokens are [\(t.rows), \(t.ctx)], other splits have [\(rows), \(ctx)]")
        }
        guard t.ids == tokens else { throw CacheError.invalidDelphiRun(path: s.path, reason: "its tokens differ from the other split files'") }
        guard let loc = f.tensors["locations"], loc.shape.count == 2, loc.shape[1] == 3 else {
            throw CacheError.invalidDelphiRun(path: s.path, reason: "no [N, 3] 'locations' tensor")
        }
        guard let act = f.tensors["activations"], act.shape == [loc.shape[0]] else {
            throw CacheError.invalidDelphiRun(path: s.path, reason: "'activations' must be [\(loc.shape[0])] like 'locations'")
        }
        let n = loc.shape[0]
        // F16 activations (delphi's dtype) are decoded in place; other float dtypes are converted once.
        let raw: UnsafeRawBufferPointer, rawValues: UnsafeRawBufferPointer
        var converted: [Float] = []
        do {
            raw = try f.rawBytes("locations")
            rawValues = try f.rawBytes("activations")
            if act.dtype != .F16 { converted = try f.floats("activations") }
        } catch {
            throw CacheError.invalidDelphiRun(path: s.path, reason: "\(error)")
        }
        // n is bounded by the file: the tensors' bytes were read from it.
        guard raw.count >= 3 * n * loc.dtype.size, act.dtype != .F16 ? converted.count == n : rawValues.count >= 2 * n else {
            throw CacheError.invalidDelphiRun(path: s.path, reason: "'locations'/'activations' hold fewer values than their shapes say")
        }
        let isF16 = act.dtype == .F16
        let read: (Int) -> Int
        switch loc.dtype {
        case .U16: read = { Int(raw.u16(2 * $0)) }
        case .U32: read = { Int(raw.u32(4 * $0)) }
        case .I32: read = { Int(Int32(bitPattern: raw.u32(4 * $0))) }
        case .I64: read = { Int(Int64(bitPattern: raw.u64(8 * $0))) }
        default: throw CacheError.invalidDelphiRun(path: s.path, reason: "locations have dtype \(loc.dtype.rawValue); expected U16 or U32")
        }
        let width = s.end - s.start
        func value(_ i: Int) -> Float { isF16 ? Half.float(rawValues.u16(2 * i)) : converted[i] }
        // One key per (token, latent). delphi writes them in increasing order (torch.nonzero), which a first
        // pass checks without storing them; only a file out of order gets its keys sorted to find duplicates.
        func key(_ i: Int) -> Int { (read(3 * i) * ctx + read(3 * i + 1)) * (width + 1) + read(3 * i + 2) }
        var increasing = true
        var previous = -1
        for i in 0 ..< n {
            let r = read(3 * i), p = read(3 * i + 1), l = read(3 * i + 2)
            guard r >= 0, r < rows, p >= 0, p < ctx, l >= 0, l <= width else {
                throw CacheError.invalidDelphiRun(path: s.path, reason: "location \(i) = (\(r), \(p), \(l)) is outside [\(rows), \(ctx)] × latents 0…\(width)")
            }
            let k = (r * ctx + p) * (width + 1) + l
            if k <= previous { increasing = false }
            previous = k
        }
        var skip = [Bool](repeating: false, count: increasing ? 0 : n)
        if !increasing {
            let keys = (0 ..< n).map(key)
            let order = (0 ..< n).sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
            var g = 0
            while g < n {
                var e = g + 1
                while e < n, keys[order[e]] == keys[order[g]] { e += 1 }
                if e - g > 1 {
                    // Keep the largest usable value (or the first, when none is usable).
                    let keep = order[g ..< e].max { a, b in
                        let x = value(a), y = value(b)
                        let ux = x.isFinite && x > 0, uy = y.isFinite && y > 0
                        return ux != uy ? !ux : (ux && x < y)
                    } ?? order[g]
                    for i in order[g ..< e] where i != keep { skip[i] = true }
                    tally.merged += e - g - 1
                }
                g = e
            }
        }
        var count = 0
        for i in 0 ..< n where increasing || !skip[i] {
            let v = value(i)
            if let reason = ActivationTally.reason(v) { tally.dropped[reason, default: 0] += 1; continue }
            try builder.add(part: part, tokenPosition: read(3 * i) * ctx + read(3 * i + 1), latent: s.start + read(3 * i + 2), activation: v)
            count += 1
        }
        return count
    }
}

/// Activations an import left out or merged, by reason.
struct ActivationTally {
    var dropped: [String: Int] = [:]
    var merged = 0

    /// Why an activation is not imported (nil: it is).
    static func reason(_ v: Float) -> String? {
        if v.isNaN { return "not a number" }
        if v.isInfinite { return "infinite" }
        if v == 0 { return "zero" }
        if v < 0 { return "negative" }
        return nil
    }

    var notes: [String] {
        var out: [String] = []
        let total = dropped.values.reduce(0, +)
        if total > 0 {
            out.append("\(total) activation(s) dropped: " + dropped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
        if merged > 0 { out.append("\(merged) duplicate activation(s) (same token and latent) merged into the largest") }
        return out
    }
}

/// Mapping between delphi/sparsify hookpoint names and TransformerLens hook names.
public enum HookNames {
    /// `layers.L` → `blocks.L.hook_resid_post`; other names are kept.
    public static func transformerLens(_ name: String) -> String {
        let parts = name.split(separator: ".")
        if parts.count == 2, parts[0] == "layers", let l = Int(parts[1]) { return "blocks.\(l).hook_resid_post" }
        return name
    }
}

extension DelphiImport {
    /// The `model_name` in the run's first `latents/<hookpoint>/config.json`, else run_config.json's `model`.
    public static func modelName(run: String) -> String? {
        (try? hookpoints(run: run))?.first?.config["model_name"] as? String ?? (try? DelphiRunConfig.load(run: run))??.model
    }
}
