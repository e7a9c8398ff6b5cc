import FeaturescopeCore
import Foundation

extension DelphiImport {
    /// Files `<prefix><i>.txt` in `folder`, by latent number.
    static func latentFiles(folder: String, prefix: String) -> [Int: String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [:] }
        var out: [Int: String] = [:]
        for n in names where n.hasPrefix(prefix) && n.hasSuffix(".txt") {
            if let i = Int(n.dropFirst(prefix.count).dropLast(4)), i >= 0 { out[i] = folder + "/" + n }
        }
        return out
    }

    static func fileDate(_ path: String) -> String {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        return ISO8601DateFormatter().string(from: (attrs?[.modificationDate] as? Date) ?? Date())
    }

    /// Python's `json` writes NaN/Infinity as bare words; turn those (outside strings) into `null`.
    static func lenientJSON(_ data: Data) -> Data {
        let b = [UInt8](data)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0, inString = false
        let words: [[UInt8]] = [Array("-Infinity".utf8), Array("Infinity".utf8), Array("NaN".utf8)]
        while i < b.count {
            let c = b[i]
            if inString {
                out.append(c)
                if c == UInt8(ascii: "\\"), i + 1 < b.count { out.append(b[i + 1]); i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") { inString = true; out.append(c); i += 1; continue }
            if let w = words.first(where: { i + $0.count <= b.count && Array(b[i ..< i + $0.count]) == $0 }) {
                out.append(contentsOf: Array("null".utf8)); i += w.count; continue
            }
            out.append(c); i += 1
        }
        return Data(out)
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        if let v = try? JSONDecoder().decode(T.self, from: data) { return v }
        return try? JSONDecoder().decode(T.self, from: lenientJSON(data))
    }

    /// Who explained and scored: an explicit model, else the run's run_config.json, else config.json's field.
    struct Credit {
        static let unknown = "unknown (imported from delphi)"
        var runConfig: DelphiRunConfig?
        var fallback: String?
        var override: String?

        func explainer(_ hookpoint: String) -> String { override ?? runConfig?.explainer(hookpoint: hookpoint) ?? fallback ?? Self.unknown }
        func scorer(_ scorer: String) -> String { override ?? runConfig?.scorer(scorer) ?? fallback ?? Self.unknown }
        var isUnknown: Bool { override == nil && runConfig?.explainerModel == nil && fallback == nil }
    }

    /// Explanations and scores of one hookpoint as annotations (explanations first, then scores), and the
    /// files left out per reason.
    static func annotations(run: String, hookpoint: String, latentCount: Int, credit: Credit) throws
        -> (list: [Annotation], explanations: Int, scores: [String: Int], skipped: [String: Int]) {
        let beyond = "latent number beyond the hookpoint's \(latentCount) latents"
        var skipped: [String: Int] = [:]
        var list: [Annotation] = []
        var texts: [Int: String] = [:]
        // delphi writes `explanations/<hookpoint>_latent<i>.txt` as is (a `/` in the hookpoint makes a subfolder);
        // a `--`-for-`/` file name, as its score files use, is accepted too.
        var expFiles = latentFiles(folder: FileUtil.parent(run + "/explanations/" + hookpoint), prefix: FileUtil.name(hookpoint) + "_latent")
        if hookpoint.contains("/") {
            let flat = latentFiles(folder: run + "/explanations", prefix: hookpoint.replacingOccurrences(of: "/", with: "--") + "_latent")
            expFiles.merge(flat) { nested, _ in nested }
        }
        skipped[beyond, default: 0] += expFiles.keys.filter { $0 >= latentCount }.count
        for (l, path) in expFiles.sorted(by: { $0.key < $1.key }) where l < latentCount {
            guard let d = FileManager.default.contents(atPath: path) else { throw CacheError.invalidDelphiRun(path: path, reason: "unreadable") }
            let text: String
            if let s = try? JSONSerialization.jsonObject(with: d, options: [.fragmentsAllowed]) as? String { text = s } else {
                text = String(decoding: d, as: UTF8.self)   // not a JSON string literal: keep the raw text
            }
            texts[l] = text
            list.append(Annotation(kind: .explanation, latent: l, method: "delphi", model: credit.explainer(hookpoint), date: fileDate(path), text: text,
                                   extra: ["source": String(path.dropFirst(run.count + 1))]))
        }
        var counts: [String: Int] = [:]
        let scorers = ((try? FileManager.default.contentsOfDirectory(atPath: run + "/scores")) ?? []).sorted()
        let scorePrefix = hookpoint.replacingOccurrences(of: "/", with: "--") + "_latent"
        for scorer in scorers {
            let files = latentFiles(folder: run + "/scores/" + scorer, prefix: scorePrefix)
            skipped[beyond, default: 0] += files.keys.filter { $0 >= latentCount }.count
            for (l, path) in files.sorted(by: { $0.key < $1.key }) where l < latentCount {
                guard let d = FileManager.default.contents(atPath: path) else { throw CacheError.invalidDelphiRun(path: path, reason: "unreadable") }
                var a = Annotation(kind: .score, latent: l, method: scorer, model: credit.scorer(scorer), date: fileDate(path), explanation: texts[l],
                                   extra: ["source": String(path.dropFirst(run.count + 1))])
                if ["detection", "fuzz"].contains(scorer), let samples = decodeJSON([AnnotationSample].self, d) {
                    a.samples = samples
                    a.metrics = ScoreMetrics.classifier(of: samples)
                } else if let raw = decodeJSON(JSONValue.self, d) {
                    a.raw = raw
                    // Simulation: the headline is the overall correlation (distance 0).
                    if case .array(let items) = raw {
                        for case .object(let o) in items where o["distance"] == .number(0) {
                            if case .number(let v)? = o["ev_correlation_score"] { a.metrics = ScoreMetrics(score: v) }
                        }
                    }
                } else {
                    a.raw = .string(String(decoding: d, as: UTF8.self))
                    a.extra?["note"] = "not valid JSON; kept as text"
                }
                list.append(a)
                counts[scorer, default: 0] += 1
            }
        }
        return (list, texts.count, counts, skipped.filter { $0.value > 0 })
    }

    /// Files under explanations/ and scores/<scorer>/ whose names match no hookpoint's
    /// `<hookpoint>_latent<i>.txt`, counted by reason.
    static func unmatchedFiles(run: String, hookpoints: [String]) throws -> [String: Int] {
        let known = Set(hookpoints)
        func matches(_ rel: String) -> Bool {
            guard rel.hasSuffix(".txt"), let r = rel.range(of: "_latent", options: .backwards),
                  Int(rel[r.upperBound...].dropLast(4)) != nil else { return false }
            let hook = String(rel[..<r.lowerBound])
            return known.contains(hook) || known.contains(hook.replacingOccurrences(of: "--", with: "/"))
        }
        var out: [String: Int] = [:]
        let reason = "name matches no hookpoint's <hookpoint>_latent<i>.txt"
        let fm = FileManager.default
        if let e = fm.enumerator(atPath: run + "/explanations") {
            while let rel = e.nextObject() as? String {
                var dir: ObjCBool = false
                guard fm.fileExists(atPath: run + "/explanations/" + rel, isDirectory: &dir), !dir.boolValue else { continue }
                if !matches(rel) { out[reason, default: 0] += 1 }
            }
        }
        for scorer in (try? fm.contentsOfDirectory(atPath: run + "/scores")) ?? [] {
            for name in (try? fm.contentsOfDirectory(atPath: run + "/scores/" + scorer)) ?? [] where !matches(name) {
                out[reason, default: 0] += 1
            }
        }
        return out
    }
}

extension DelphiImport {
    /// Appends the explanations and scores of a delphi run to an existing cache (matching each part by its
    /// delphi hookpoint, its name or its hook). Returns (explanations, scores per scorer).
    /// Appending twice adds the annotations twice: annotations are a history, not a set.
    /// Models are credited as `model`, else as the run's run_config.json says, else "unknown (imported from delphi)".
    public static func importAnnotations(run: String, into cache: LatentCacheDirectory, model: String? = nil) throws
        -> (explanations: Int, scores: [String: Int]) {
        let credit = Credit(runConfig: try DelphiRunConfig.load(run: run), override: model)
        var explanations = 0
        var scores: [String: Int] = [:]
        for part in cache.parts {
            let names = [part.manifest.spec.delphiHookpoint, part.name, part.hook].compactMap { $0 }
            for name in Set(names).sorted() {
                let (list, e, s, _) = try annotations(run: run, hookpoint: name, latentCount: part.latentCount, credit: credit)
                guard !list.isEmpty else { continue }
                try part.appendAnnotations(list)
                explanations += e
                for (k, v) in s { scores[k, default: 0] += v }
            }
        }
        return (explanations, scores)
    }
}
