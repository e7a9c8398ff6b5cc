import FeaturescopeCore
import Foundation

/// Options of `featurescope import neuronpedia`.
public struct NeuronpediaImportOptions: Sendable {
    /// Quantiles, samples and seed of the new cache (the window length is the longest example's).
    public var examples: ExampleConfiguration
    /// Part name for rows that name no source (`layer`).
    public var defaultSource: String
    public var creationCommand: String?
    public var overwrite: Bool

    public init(examples: ExampleConfiguration = ExampleConfiguration(), defaultSource: String = "neuronpedia",
                creationCommand: String? = nil, overwrite: Bool = false) {
        self.examples = examples; self.defaultSource = defaultSource; self.creationCommand = creationCommand; self.overwrite = overwrite
    }
}

/// What an import did.
public struct NeuronpediaImportReport: Codable, Sendable {
    public var cache: String
    public var parts: [String]
    public var latents: Int
    /// Example windows (one corpus row each) and their nonzero activations.
    public var examples: Int
    public var activations: Int
    public var explanations: Int
    public var scores: Int
    public var windowLength: Int
    /// Files read, and files passed over per reason.
    public var filesRead: Int
    public var skippedFiles: [String: Int]
    public var notes: [String]
}

/// Reads Neuronpedia's feature JSON (API responses, feature/activation/explanation export lines) and
/// SAEDashboard runner batches into a new latent cache (docs/neuronpedia.md).
///
/// Each example becomes one corpus row of the cache, padded to the longest example with an empty
/// display string; the cache's statistics (density, quantiles) are therefore over the imported examples
/// only, which the manifest's notes say. Explanations and their scores become annotations; a score whose
/// `jsonDetails` holds a Featurescope annotation (what `export neuronpedia` writes) is restored exactly.
public enum NeuronpediaImport {
    /// Most latents per source (the SAE loader's limit too).
    public static let maxLatents = 1 << 24

    struct Example { var latent: Int; var tokens: [String]; var values: [Float] }
    final class Source {
        let id: String
        var modelID: String?
        var hook: String?
        var hookOut: String?
        var examples: [Example] = []
        var explanations: [(latent: Int, row: NeuronpediaExplanation)] = []
        var maxLatent = -1
        init(id: String) { self.id = id }
    }

    final class Collector {
        var sources: [String: Source] = [:]
        var order: [String] = []
        var filesRead = 0
        var skipped: [String: Int] = [:]
        var trimmed = 0
        let defaultSource: String
        init(defaultSource: String) { self.defaultSource = defaultSource }

        func source(_ id: String?) -> Source {
            let key = id.flatMap { $0.isEmpty ? nil : $0 } ?? defaultSource
            if let s = sources[key] { return s }
            let s = Source(id: key)
            sources[key] = s
            order.append(key)
            return s
        }
    }

    public static func run(_ inputs: [String], output: String, options: NeuronpediaImportOptions,
                           progress: ((Int, Int) -> Void)? = nil) throws -> NeuronpediaImportReport {
        guard !inputs.isEmpty else { throw CacheError.invalidArgument("give at least one Neuronpedia file or folder") }
        if FileManager.default.fileExists(atPath: output), !options.overwrite { throw CacheError.destinationExists(path: output) }
        let c = Collector(defaultSource: options.defaultSource)
        for input in inputs { try collect(input, into: c) }
        let sources = c.order.compactMap { c.sources[$0] }.filter { !$0.examples.isEmpty || !$0.explanations.isEmpty }
        guard sources.contains(where: { !$0.examples.isEmpty }) else {
            throw CacheError.invalidNeuronpedia(path: inputs.joined(separator: ", "), reason: "no activation examples found (expected features with 'activations' [{tokens, values}], activation rows or SAEDashboard batch-N.json files)")
        }

        // One row per example; the window is the longest example (≤ 255 tokens, cache format 2).
        let window = max(1, sources.flatMap(\.examples).map(\.tokens.count).max() ?? 1)
        var vocabulary: [[UInt8]] = [[]]
        var ids: [String: Int] = ["": 0]
        for s in sources { for e in s.examples { for t in e.tokens where ids[t] == nil { ids[t] = vocabulary.count; vocabulary.append(Array(t.utf8)) } } }
        var examples = options.examples
        examples.windowLength = window
        var notes = ["imported from Neuronpedia data: the corpus is the examples themselves (one per row), so densities and quantiles are over them, not over Neuronpedia's dataset"]
        if c.trimmed > 0 { notes.append("\(c.trimmed) example(s) longer than \(CacheFormat.maxWindowLengthV2) tokens were cut to the \(CacheFormat.maxWindowLengthV2) around their strongest token") }
        let modelIDs = Set(sources.compactMap(\.modelID))
        let meta = CacheMetadata(model: modelIDs.count == 1 ? modelIDs.first : modelIDs.sorted().joined(separator: ", "),
                                 corpus: "neuronpedia: " + inputs.joined(separator: ", "),
                                 creationCommand: options.creationCommand, notes: notes,
                                 extra: ["neuronpedia.sources": sources.map(\.id).joined(separator: ",")])
        let parts = sources.map { s in
            PartSpec(name: s.id, hook: s.hook ?? s.id, latentCount: max(1, s.maxLatent + 1), hookOut: s.hookOut)
        }
        try? FileManager.default.removeItem(atPath: output + ".partial")
        let builder = try LatentCacheBuilder.start(
            output: output, parts: parts,
            options: BuildOptions(examples: examples, rowLength: window, keepAllActivations: true, checkpointEveryRows: 0),
            metadata: meta, vocabulary: vocabulary, vocabularySource: "neuronpedia-strings", overwrite: options.overwrite)
        var activations = 0, rows = 0
        do {
            var row = [Int](repeating: 0, count: window)
            for (pi, s) in sources.enumerated() {
                for e in s.examples {
                    for i in 0 ..< window { row[i] = i < e.tokens.count ? ids[e.tokens[i]] ?? 0 : 0 }
                    try builder.beginRow(tokens: row)
                    for (i, v) in e.values.enumerated() where v > 0 && v.isFinite {
                        builder.add(part: pi, position: i, latent: e.latent, activation: v)
                        activations += 1
                    }
                    try builder.endRow()
                    rows += 1
                }
            }
            _ = try builder.finalize { d, t in progress?(d, t) }
        } catch {
            builder.discard()
            throw error
        }
        let cache = try LatentCacheDirectory.open(output)
        var explanations = 0, scores = 0
        for (pi, s) in sources.enumerated() {
            var list: [Annotation] = []
            for (latent, row) in s.explanations {
                let got = try annotations(row, latent: latent, source: s.id)
                explanations += got.filter { $0.kind == .explanation }.count
                scores += got.filter { $0.kind == .score }.count
                list += got
            }
            try cache.parts[pi].appendAnnotations(list)
        }
        return NeuronpediaImportReport(cache: output, parts: parts.map(\.name), latents: parts.reduce(0) { $0 + $1.latentCount },
                                       examples: rows, activations: activations, explanations: explanations, scores: scores,
                                       windowLength: window, filesRead: c.filesRead, skippedFiles: c.skipped, notes: notes)
    }

    // MARK: - Reading files

    /// Reads one file, or every .json / .jsonl file under a folder (sorted).
    static func collect(_ path: String, into c: Collector) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CacheError.cannotOpen(path: path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return try readFile(path, into: c, settings: nil) }
        guard let e = FileManager.default.enumerator(atPath: path) else { throw CacheError.cannotOpen(path: path, reason: "cannot list the folder") }
        var files: [String] = []
        while let rel = e.nextObject() as? String { files.append(rel) }
        files.sort()
        // A runner folder's run_settings.json names the batches' hooks.
        var settings: [String: NeuronpediaRunSettings] = [:]
        for rel in files where FileUtil.name(rel) == "run_settings.json" {
            if let d = FileManager.default.contents(atPath: path + "/" + rel),
               let s = try? JSONDecoder().decode(NeuronpediaRunSettings.self, from: d) {
                settings[FileUtil.parent(rel)] = s
            }
        }
        for rel in files {
            let full = path + "/" + rel
            var sub: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue else { continue }
            let name = FileUtil.name(rel)
            if name == "run_settings.json" || name == "skipped_indexes.json" { continue }
            if name.hasSuffix(".json") || name.hasSuffix(".jsonl") || name.hasSuffix(".gz") {
                try readFile(full, into: c, settings: settings[FileUtil.parent(rel)])
            } else {
                c.skipped["not .json or .jsonl", default: 0] += 1
            }
        }
    }

    static func readFile(_ path: String, into c: Collector, settings: NeuronpediaRunSettings?) throws {
        if path.hasSuffix(".gz") {
            throw CacheError.invalidNeuronpedia(path: path, reason: "gzip-compressed; decompress it first (gunzip -k '\(path)') and import the .jsonl")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CacheError.cannotOpen(path: path, reason: "unreadable") }
        c.filesRead += 1
        if path.hasSuffix(".jsonl") {
            var lineNumber = 0
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                let value: Any
                do { value = try JSONSerialization.jsonObject(with: Data(line)) } catch {
                    throw CacheError.invalidNeuronpedia(path: "\(path) line \(lineNumber)", reason: "not valid JSON")
                }
                try take(value, where: "\(path) line \(lineNumber)", into: c, settings: settings)
            }
            return
        }
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data) } catch {
            throw CacheError.invalidNeuronpedia(path: path, reason: "not valid JSON")
        }
        if let list = value as? [Any] {
            for (i, v) in list.enumerated() { try take(v, where: "\(path) [\(i)]", into: c, settings: settings) }
        } else {
            try take(value, where: path, into: c, settings: settings)
        }
    }

    /// Classifies one JSON object and adds what it holds.
    static func take(_ value: Any, where place: String, into c: Collector, settings: NeuronpediaRunSettings?) throws {
        guard let object = value as? [String: Any] else {
            throw CacheError.invalidNeuronpedia(path: place, reason: "expected a JSON object (a feature, activation, explanation or batch)")
        }
        let data = try JSONSerialization.data(withJSONObject: object)
        func decode<T: Decodable>(_: T.Type, _ what: String) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
                throw CacheError.invalidNeuronpedia(path: place, reason: "\(what): \(describe(e))")
            }
        }
        if object["features"] != nil {
            let b = try decode(NeuronpediaBatch.self, "SAEDashboard batch")
            var id = "\(b.layer)-\(b.saeSet)"
            if let s = b.saeIDSuffix, !s.isEmpty { id += "__" + s }
            let s = c.source(id)
            s.modelID = s.modelID ?? b.modelID
            if let settings { s.hook = settings.hookName; s.hookOut = settings.hookNameOut }
            for f in b.features {
                for (i, a) in f.activations.enumerated() {
                    try addExample(latent: f.featureIndex, tokens: a.tokens, values: a.values, to: s, c: c,
                                   where: "\(place): feature \(f.featureIndex), activation \(i)")
                }
            }
        } else if object["description"] != nil {
            let e = try decode(NeuronpediaExplanation.self, "explanation")
            try addExplanation(e, source: c.source(e.layer), where: place)
        } else if object["tokens"] != nil || object["values"] != nil {
            let a = try decode(NeuronpediaActivation.self, "activation")
            guard let index = a.index else { throw CacheError.invalidNeuronpedia(path: place, reason: "activation: field 'index' (the feature) is missing") }
            let s = c.source(a.layer)
            s.modelID = s.modelID ?? a.modelId
            try addExample(latent: index.value, tokens: a.tokens, values: a.values, to: s, c: c, where: "\(place): activation")
        } else if object["index"] != nil {
            let f = try decode(NeuronpediaFeature.self, "feature")
            let s = c.source(f.layer)
            s.modelID = s.modelID ?? f.modelId
            if s.hook == nil, let h = f.hookName, !h.isEmpty { s.hook = h }
            try note(latent: f.index.value, in: s, where: place)
            for (i, a) in (f.activations ?? []).enumerated() {
                try addExample(latent: f.index.value, tokens: a.tokens, values: a.values, to: s, c: c,
                               where: "\(place): feature \(f.index.value), activation \(i)")
            }
            for e in f.explanations ?? [] {
                var e = e
                if e.index == nil { e.index = f.index }
                try addExplanation(e, source: e.layer.map { c.source($0) } ?? s, where: place)
            }
        } else {
            c.skipped["objects that are no feature, activation, explanation or batch", default: 0] += 1
        }
    }

    static func note(latent: Int, in s: Source, where place: String) throws {
        guard latent >= 0, latent < maxLatents else {
            throw CacheError.invalidNeuronpedia(path: place, reason: "feature index \(latent) is outside 0…\(maxLatents - 1)")
        }
        s.maxLatent = max(s.maxLatent, latent)
    }

    static func addExample(latent: Int, tokens: [String], values: [Float], to s: Source, c: Collector, where place: String) throws {
        try note(latent: latent, in: s, where: place)
        guard tokens.count == values.count else {
            throw CacheError.invalidNeuronpedia(path: place, reason: "\(tokens.count) tokens but \(values.count) values")
        }
        guard !tokens.isEmpty else { throw CacheError.invalidNeuronpedia(path: place, reason: "an example without tokens") }
        var t = tokens, v = values
        let limit = CacheFormat.maxWindowLengthV2
        if t.count > limit {
            var best = 0
            for (i, x) in v.enumerated() where x > v[best] { best = i }
            let start = min(max(0, best - limit / 2), t.count - limit)
            t = Array(t[start ..< start + limit]); v = Array(v[start ..< start + limit])
            c.trimmed += 1
        }
        s.examples.append(Example(latent: latent, tokens: t, values: v))
    }

    static func addExplanation(_ e: NeuronpediaExplanation, source s: Source, where place: String) throws {
        guard let index = e.index else { throw CacheError.invalidNeuronpedia(path: place, reason: "explanation: field 'index' (the feature) is missing") }
        try note(latent: index.value, in: s, where: place)
        s.modelID = s.modelID ?? e.modelId
        s.explanations.append((index.value, e))
    }

    /// The annotations of one explanation row: the explanation (unless the row only carries scores) and its scores.
    static func annotations(_ e: NeuronpediaExplanation, latent: Int, source: String) throws -> [Annotation] {
        var out: [Annotation] = []
        var extra = ["neuronpedia.source": source]
        if let m = e.modelId { extra["neuronpedia.modelId"] = m }
        if e.notes != NeuronpediaExport.scoreOnlyNote {
            out.append(Annotation(kind: .explanation, latent: latent, method: e.typeName ?? "neuronpedia",
                                  model: e.explanationModelName ?? e.authorId ?? "unknown", endpoint: "neuronpedia",
                                  date: e.createdAt ?? Annotation.now(), text: e.description, extra: extra))
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        for s in e.scores ?? [] {
            if let d = s.jsonDetails, let a = try? decoder.decode(Annotation.self, from: Data(d.utf8)), a.kind == .score {
                var a = a
                a.latent = latent
                out.append(a)
                continue
            }
            out.append(Annotation(kind: .score, latent: latent, method: s.explanationScoreTypeName ?? "neuronpedia",
                                  model: s.explanationScoreModelName ?? "unknown", endpoint: "neuronpedia",
                                  date: s.createdAt ?? e.createdAt ?? Annotation.now(), explanation: e.description,
                                  metrics: ScoreMetrics(score: s.value), extra: extra))
        }
        return out
    }

    static func describe(_ e: DecodingError) -> String {
        func keyPath(_ p: [CodingKey]) -> String { p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch e {
        case let .typeMismatch(t, ctx): return "field '\(keyPath(ctx.codingPath))' is not a \(t)"
        case let .valueNotFound(t, ctx): return "field '\(keyPath(ctx.codingPath))' is null, expected a \(t)"
        case let .keyNotFound(k, ctx):
            let at = keyPath(ctx.codingPath)
            return "field '\(at.isEmpty ? "" : at + ".")\(k.stringValue)' is missing"
        case let .dataCorrupted(ctx): return "field '\(keyPath(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default: return "undecodable"
        }
    }
}
