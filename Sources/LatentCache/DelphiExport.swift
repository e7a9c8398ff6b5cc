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

/// Writes a cache in delphi's run layout (docs/formats.md): split safetensors, explanations, scores.
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
        let meta = cache.manifest.metadata

        for part in cache.parts {
            let hook = part.manifest.spec.delphiHookpoint ?? part.name
            guard !hook.contains(".."), !hook.hasPrefix("/") else { throw CacheError.invalidArgument("part name '\(hook)' cannot be a delphi hookpoint folder") }
            let dir = staging + "/latents/" + hook
            try FileUtil.makeDirectory(dir)
            if !part.manifest.hasAllActivations {
                notes.append("\(part.name): the cache keeps only sampled windows, so the split files hold only those windows' activations (delphi will resample from fewer windows)")
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
                    try w.add("tokens", integers: tokens, shape: [rows, rowLength], dtype: .I64)
                    try w.write(to: dir + "/\(range.start)_\(range.end).safetensors")
                } catch { throw CacheError.writeFailed(path: dir + "/\(range.start)_\(range.end).safetensors", reason: "\(error)") }
                files += 1
                total += entries.count
            }
            var config: [String: Any] = ["cache_ctx_len": rowLength, "n_tokens": cache.tokens.tokenCount, "n_splits": ranges.count,
                                         "model_name": meta.model ?? "", "dataset_repo": meta.corpus ?? "", "dataset_split": "",
                                         "dataset_name": "", "dataset_column": "text", "batch_size": 32]
            for (k, v) in meta.extra where k.hasPrefix("delphi.") {
                let key = String(k.dropFirst("delphi.".count))
                if ["cache_ctx_len", "n_tokens", "n_splits"].contains(key) { continue }
                config[key] = Int(v).map { $0 as Any } ?? v
            }
            try writeFile(try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]), dir + "/config.json")

            // Newest explanation and newest score per scorer.
            let enc = JSONEncoder()
            enc.outputFormatting = [.withoutEscapingSlashes]
            for l in 0 ..< part.latentCount {
                let all = try part.annotations(l)
                if all.isEmpty { continue }
                if let e = all.last(where: { $0.kind == .explanation }), let text = e.text {
                    try writeFile(try enc.encode(text), staging + "/explanations/" + hook + "_latent\(l).txt")
                    explanations += 1
                }
                var newest: [String: Annotation] = [:]
                for a in all where a.kind == .score { newest[a.method] = a }
                for (method, a) in newest {
                    guard !method.contains("/"), !method.isEmpty, method != "..", method != "." else { continue }
                    let data: Data
                    if let s = a.samples {
                        // delphi's files hold plain JSON numbers: undefined values become null / 0.
                        data = try enc.encode(s.map { x -> AnnotationSample in
                            var y = x
                            if let p = y.probability, !p.isFinite { y.probability = nil }
                            y.activations = y.activations.map { $0.isFinite ? $0 : 0 }
                            if !y.distance.isFinite { y.distance = -1 }
                            return y
                        })
                    } else if let r = a.raw { data = try enc.encode(r) } else { continue }
                    try writeFile(data, staging + "/scores/\(method)/" + hook.replacingOccurrences(of: "/", with: "--") + "_latent\(l).txt")
                    scores[method, default: 0] += 1
                }
            }
        }
        if FileManager.default.fileExists(atPath: output) { try? FileManager.default.removeItem(atPath: output) }
        guard rename(staging, output) == 0 else { throw CacheError.writeFailed(path: output, reason: String(cString: strerror(errno))) }
        return DelphiExportReport(run: output, splitFiles: files, activations: total, explanations: explanations, scores: scores, notes: notes)
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
