import FeaturescopeCore
import Foundation
import TensorFormats

/// Location dtype of exported split files.
public enum DelphiLocationType: String, Sendable, CaseIterable {
    /// U16 when every row, position and latent offset fits, else U32.
    case auto, u16, u32
}

/// What an export wrote.
public struct DelphiExportReport: Codable, Sendable {
    public var run: String
    public var splitFiles: Int
    public var activations: Int
    public var explanations: Int
    public var scores: [String: Int]
    public var notes: [String]
}

/// Writes a cache in delphi's run layout (docs/cache-format.md, "delphi runs"): split safetensors (I32 tokens, as delphi writes
/// them), `config.json` per hookpoint, explanations, score files with every key delphi writes (nulls
/// included), `run_config.json` and `log/hookpoint_firing_counts.pt` (torch.save format).
public enum DelphiExport {
    /// delphi's split ranges (`LatentCache._generate_split_indices`): boundaries =
    /// `torch.linspace(0, width, n + 1).long()` (float32, truncated), ranges `[b[i], b[i+1] − 1]`.
    public static func splitRanges(width: Int, splits: Int) -> [(start: Int, end: Int)] {
        let n = max(1, min(splits, width))
        let steps = n + 1
        let step = Float(width) / Float(n)
        // torch's CPU linspace fills the first half from the start and the second half from the end.
        let bounds = (0 ..< steps).map { i -> Int in
            let v = i < steps / 2 ? Float(i) * step : Float(width) - step * Float(steps - i - 1)
            return Int(v.rounded(.towardZero))
        }
        return (0 ..< n).map { (bounds[$0], bounds[$0 + 1] - 1) }.filter { $0.1 >= $0.0 }
    }

    public static func run(cache: LatentCacheDirectory, output: String, splits: Int = 5, locationType: DelphiLocationType = .auto,
                           overwrite: Bool = false, progress: ((String, Int, Int) -> Void)? = nil) throws -> DelphiExportReport {
        if FileManager.default.fileExists(atPath: output), !overwrite { throw CacheError.destinationExists(path: output) }
        let staging = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try FileUtil.makeDirectory(staging)
        let rowLength = cache.tokens.rowLength, rows = cache.tokens.rows
        let tokens = try cache.tokens.tokens(start: 0, count: cache.tokens.tokenCount).map(Int64.init)
        var notes: [String] = []
        var files = 0, total = 0, explanations = 0
        var scores: [String: Int] = [:]
        var credits = Credits()
        var hookpoints: [String] = []
        var firingCounts: [(name: String, values: [Int64])] = []

        for part in cache.parts {
            let hook = part.manifest.spec.delphiHookpoint ?? part.name
            guard !hook.contains(".."), !hook.hasPrefix("/") else { throw CacheError.invalidArgument("part name '\(hook)' cannot be a delphi hookpoint folder") }
            let dir = staging + "/latents/" + hook
            try FileUtil.makeDirectory(dir)
            hookpoints.append(hook)
            // delphi's per-latent count of tokens where the latent fires (log/hookpoint_firing_counts.pt).
            firingCounts.append((hook, try (0 ..< part.latentCount).map { Int64(try part.statistics($0).firingCount) }))
            if !part.manifest.hasAllActivations {
                notes.append("\(part.name): the cache keeps only sampled windows, so the split files hold only those windows' activations (delphi will resample from fewer windows); log/hookpoint_firing_counts.pt holds the whole corpus's counts")
            }
            let ranges = splitRanges(width: part.latentCount, splits: splits)
            for (ri, range) in ranges.enumerated() {
                progress?("splits \(part.name)", ri, ranges.count)
                var entries: [(row: Int, pos: Int, local: Int, value: Float)] = []
                for l in range.start ... range.end {
                    for (p, v) in try activations(part, l) { entries.append((p / rowLength, p % rowLength, l - range.start, v)) }
                }
                entries.sort { ($0.row, $0.pos, $0.local) < ($1.row, $1.pos, $1.local) }  // torch.nonzero order
                // delphi picks U16 when the largest row and latent offset are below 2¹⁶ (positions too, here).
                let fitsU16 = entries.allSatisfy { $0.row < 65536 && $0.pos < 65536 && $0.local < 65536 }
                let dtype: SafetensorsDType
                switch locationType {
                case .u32: dtype = .U32
                case .u16:
                    guard fitsU16 else { throw CacheError.invalidArgument("U16 locations cannot hold rows, positions or latent offsets of \(rows) rows × \(rowLength) tokens, \(range.end - range.start + 1) latents per split: use --locations u32 or more splits") }
                    dtype = .U16
                case .auto: dtype = fitsU16 ? .U16 : .U32
                }
                var w = SafetensorsWriter()
                do {
                    try w.add("locations", integers: entries.flatMap { [Int64($0.row), Int64($0.pos), Int64($0.local)] }, shape: [entries.count, 3], dtype: dtype)
                    try w.add("activations", floats: entries.map(\.value), shape: [entries.count], dtype: .F16)
                    try w.add("tokens", integers: tokens, shape: [rows, rowLength], dtype: .I32)
                    try w.write(to: dir + "/\(range.start)_\(range.end).safetensors")
                } catch { throw CacheError.writeFailed(path: dir + "/\(range.start)_\(range.end).safetensors", reason: "\(error)") }
                files += 1
                total += entries.count
            }
            try writeFile(Data(cacheConfig(cache, splits: ranges.count).indented(4).utf8), dir + "/config.json")

            // Newest explanation and newest score per scorer.
            for l in 0 ..< part.latentCount {
                let all = try part.annotations(l)
                if all.isEmpty { continue }
                if let e = all.last(where: { $0.kind == .explanation }), let text = e.text {
                    try writeFile(Data(PythonJSON.string(text).compact.utf8), staging + "/explanations/" + hook + "_latent\(l).txt")
                    explanations += 1
                    credits.explanation(hookpoint: hook, model: e.model)
                }
                var newest: [String: Annotation] = [:]
                // A score from a stopped browser job (`extra["partial"]`, method `<m>-partial`) is not a score.
                for a in all where a.kind == .score && a.extra?["partial"] == nil { newest[a.method] = a }
                for (method, a) in newest {
                    guard !method.contains("/"), !method.isEmpty, method != "..", method != "." else { continue }
                    let data: Data
                    if let s = a.samples {
                        data = Data(scoreRecords(s).compact.utf8)
                    } else if let r = a.raw { data = Data(PythonJSON(r).compact.utf8) } else { continue }
                    credits.score(scorer: method, model: a.model)
                    try writeFile(data, staging + "/scores/\(method)/" + hook.replacingOccurrences(of: "/", with: "--") + "_latent\(l).txt")
                    scores[method, default: 0] += 1
                }
            }
        }
        for (hook, c) in credits.explainerCounts { credits.explainers[hook] = Credits.most(c) }
        for (scorer, c) in credits.scorerCounts { credits.scorers[scorer] = Credits.most(c) }
        let config = runConfig(cache, hookpoints: hookpoints, scorers: scores.keys.sorted(), splits: splits, credits: credits)
        try writeFile(Data(config.indented(4).utf8), staging + "/run_config.json")
        try writeFile(try TorchSave.int64Dictionary(firingCounts, archiveName: "hookpoint_firing_counts"),
                      staging + "/log/hookpoint_firing_counts.pt")
        if FileManager.default.fileExists(atPath: output) { try? FileManager.default.removeItem(atPath: output) }
        guard rename(staging, output) == 0 else { throw CacheError.writeFailed(path: output, reason: String(cString: strerror(errno))) }
        return DelphiExportReport(run: output, splitFiles: files, activations: total, explanations: explanations, scores: scores, notes: notes)
    }

    /// Score records as delphi's `ClassifierOutput`s: every key in its order, nulls included; Python's
    /// json cannot hold NaN/∞, so an undefined probability is null, an activation 0 and a distance −1.
    static func scoreRecords(_ samples: [AnnotationSample]) -> PythonJSON {
        .array(samples.map { s in
            let d = s.distance.isFinite ? s.distance : -1
            return .object([
                ("str_tokens", .array(s.strTokens.map { .string($0) })),
                ("activations", .array(s.activations.map { .double($0.isFinite ? Double($0) : 0) })),
                ("distance", d == d.rounded() && abs(d) < 1e15 ? .int(Int(d)) : .double(d)),
                ("activating", .bool(s.activating)),
                ("prediction", s.prediction.map { .bool($0) } ?? .null),
                ("probability", s.probability.flatMap { $0.isFinite ? .double($0) : nil } ?? .null),
                ("correct", s.correct.map { .bool($0) } ?? .null),
            ])
        })
    }

    /// Every nonzero activation of a latent, or (when the cache keeps only samples) those of its stored windows.
    static func activations(_ part: LatentCachePart, _ latent: Int) throws -> [(Int, Float)] {
        if let all = try part.allActivations(latent) { return Array(zip(all.positions, all.activations)) }
        let r = try part.record(latent)
        var seen = Set<Int>()
        var out: [(Int, Float)] = []
        for w in r.top + r.quantiles.flatMap(\.windows) where seen.insert(w.start).inserted {
            for (j, v) in w.activations.enumerated() where v > 0 { out.append((w.start + j, v)) }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Writes one JSON file of the run, through the one secret redaction.
    static func writeFile(_ data: Data, _ path: String) throws {
        // The whole export is staged in a temporary folder and renamed at the end, so plain writes suffice here.
        do {
            try FileManager.default.createDirectory(atPath: FileUtil.parent(path), withIntermediateDirectories: true)
            try SecretRedaction.redact(data).write(to: URL(fileURLWithPath: path))
        } catch { throw CacheError.writeFailed(path: path, reason: "\(error)") }
    }
}
