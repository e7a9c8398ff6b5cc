import Foundation

/// A value of the YAML subset that SAELens's `pretrained_saes.yaml` uses: block mappings, block sequences
/// (`- key: value` items) and plain or quoted scalars; no anchors, flow collections or multi-line scalars.
public indirect enum YAMLValue: Sendable, Equatable {
    case scalar(String?)
    case map([String: YAMLValue], order: [String])
    case list([YAMLValue])

    public subscript(_ key: String) -> YAMLValue? {
        if case let .map(m, _) = self { return m[key] }
        return nil
    }

    public var string: String? {
        if case let .scalar(s) = self { return s }
        return nil
    }

    /// Parses `text`; `path` names the file in errors.
    public static func parse(_ text: String, path: String) throws -> YAMLValue {
        var lines: [(number: Int, indent: Int, text: Substring)] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let body = line.drop { $0 == " " }
            if body.isEmpty || body.hasPrefix("#") || body == "---" { continue }
            guard !body.hasPrefix("\t") else { throw SAEError.configUnreadable(path: path, reason: "line \(n + 1): tab indentation is not YAML") }
            lines.append((n + 1, line.count - body.count, body))
        }
        var p = YAMLParser(lines: lines, path: path)
        guard !lines.isEmpty else { return .map([:], order: []) }
        let v = try p.block(indent: lines[0].indent)
        if p.i < lines.count { throw p.fail("unexpected indentation") }
        return v
    }
}

struct YAMLParser {
    let lines: [(number: Int, indent: Int, text: Substring)]
    let path: String
    var i = 0

    func fail(_ why: String) -> SAEError {
        let n = i < lines.count ? lines[i].number : (lines.last?.number ?? 0)
        return SAEError.configUnreadable(path: path, reason: "line \(n): \(why)")
    }

    mutating func block(indent: Int) throws -> YAMLValue {
        if lines[i].text.hasPrefix("- ") || lines[i].text == "-" { return try sequence(indent: indent) }
        return try mapping(indent: indent, firstLine: nil)
    }

    mutating func sequence(indent: Int) throws -> YAMLValue {
        var items: [YAMLValue] = []
        while i < lines.count, lines[i].indent == indent, lines[i].text.hasPrefix("-") {
            let rest = lines[i].text.dropFirst().drop { $0 == " " }
            let innerIndent = indent + (lines[i].text.count - rest.count)
            if rest.isEmpty {
                i += 1
                guard i < lines.count, lines[i].indent > indent else { items.append(.scalar(nil)); continue }
                items.append(try block(indent: lines[i].indent))
            } else if splitKey(rest) != nil {
                items.append(try mapping(indent: innerIndent, firstLine: rest))
            } else {
                items.append(.scalar(Self.scalar(rest)))
                i += 1
            }
        }
        return .list(items)
    }

    /// A mapping whose entries sit at `indent`; `firstLine` is an entry already on the current line (after "- ").
    mutating func mapping(indent: Int, firstLine: Substring?) throws -> YAMLValue {
        var map: [String: YAMLValue] = [:], order: [String] = []
        var pending = firstLine
        while i < lines.count {
            let text: Substring
            if let f = pending { text = f; pending = nil } else {
                guard lines[i].indent == indent, !lines[i].text.hasPrefix("- ") else { break }
                text = lines[i].text
            }
            guard let (key, value) = splitKey(text) else { throw fail("expected 'key: value'") }
            i += 1
            let v: YAMLValue
            if value.isEmpty {
                if i < lines.count, lines[i].indent > indent || (lines[i].indent == indent && lines[i].text.hasPrefix("- ")) {
                    v = try block(indent: lines[i].indent)
                } else {
                    v = .scalar(nil)
                }
            } else {
                v = .scalar(Self.scalar(value))
            }
            if map[key] == nil { order.append(key) }
            map[key] = v
        }
        return .map(map, order: order)
    }

    func splitKey(_ text: Substring) -> (String, Substring)? {
        var inQuote: Character?
        for idx in text.indices {
            let c = text[idx]
            if let q = inQuote { if c == q { inQuote = nil }; continue }
            if c == "'" || c == "\"" { if idx == text.startIndex { inQuote = c }; continue }
            if c == ":" {
                let after = text.index(after: idx)
                if after == text.endIndex || text[after] == " " {
                    let key = Self.scalar(text[..<idx]) ?? ""
                    return (key, text[after...].drop { $0 == " " })
                }
            }
        }
        return nil
    }

    static func scalar(_ raw: Substring) -> String? {
        var s = raw
        while s.last == " " { s = s.dropLast() }
        if let hash = s.range(of: " #"), !s.hasPrefix("'"), !s.hasPrefix("\"") { s = s[..<hash.lowerBound] }
        if s.count >= 2, let f = s.first, f == "'" || f == "\"", s.last == f {
            let inner = s.dropFirst().dropLast()
            return f == "'" ? inner.replacingOccurrences(of: "''", with: "'") : inner.replacingOccurrences(of: "\\\"", with: "\"")
        }
        if s == "null" || s == "~" || s.isEmpty { return nil }
        return String(s)
    }
}

/// One SAE of a release.
public struct SAEReleaseEntry: Sendable, Codable, Equatable {
    public var id: String
    /// Path inside the repo (a folder, or a file for `.pt` releases).
    public var path: String
    public var l0: Double?
    public var neuronpedia: String?
    /// SAELens's `norm_scaling_factor` (folded for `expected_average_only_in` SAEs).
    public var normScalingFactor: Double?

    enum CodingKeys: String, CodingKey { case id, path, l0, neuronpedia, normScalingFactor = "norm_scaling_factor" }

    public init(id: String, path: String, l0: Double? = nil, neuronpedia: String? = nil, normScalingFactor: Double? = nil) {
        self.id = id
        self.path = path
        self.l0 = l0
        self.neuronpedia = neuronpedia
        self.normScalingFactor = normScalingFactor
    }
}

/// A release of SAELens's registry: a Hugging Face repo and the SAEs in it.
public struct SAERelease: Sendable, Codable, Equatable {
    public var name: String
    public var repoID: String
    public var model: String?
    /// SAELens's loader for the repo's files (nil: SAELens's own folder layout).
    public var conversionFunc: String?
    public var saes: [SAEReleaseEntry]

    enum CodingKeys: String, CodingKey { case name, repoID = "repo_id", model, conversionFunc = "conversion_func", saes }

    public init(name: String, repoID: String, model: String?, conversionFunc: String?, saes: [SAEReleaseEntry]) {
        self.name = name
        self.repoID = repoID
        self.model = model
        self.conversionFunc = conversionFunc
        self.saes = saes
    }

    /// The loaders whose files Featurescope reads.
    public static let readableConversions: Set<String> = ["sae_lens", "connor_rob_hook_z", "gemma_2", "gemma_3", "llama_scope", "sparsify"]

    /// Whether Featurescope reads this release's files (Gemma Scope 2 transcoders and CLTs are not SAEs).
    public var isReadable: Bool {
        let conversion = conversionFunc ?? "sae_lens"
        if conversion == "gemma_3", name.contains("transcoder") || name.contains("clt") { return false }
        return SAERelease.readableConversions.contains(conversion)
    }
}

/// The release registry: SAELens's `pretrained_saes.yaml`, from an installed `sae_lens` package or a given file.
public struct SAERegistry: Sendable {
    public var releases: [SAERelease]
    /// Where it was read from ("built-in" for the few releases Featurescope knows without SAELens).
    public var source: String

    public init(releases: [SAERelease], source: String) {
        self.releases = releases
        self.source = source
    }

    public func release(_ name: String) -> SAERelease? { releases.first { $0.name == name } }

    /// Parses a `pretrained_saes.yaml`.
    public static func read(path: String) throws -> SAERegistry {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SAEError.configUnreadable(path: path, reason: "file is missing or unreadable")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws -> SAERegistry {
        guard case let .map(top, order) = try YAMLValue.parse(text, path: path) else {
            throw SAEError.configUnreadable(path: path, reason: "the registry is not a mapping of release names")
        }
        var releases: [SAERelease] = []
        for name in order {
            guard let r = top[name], let repo = r["repo_id"]?.string else {
                throw SAEError.configUnreadable(path: path, reason: "release '\(name)' has no repo_id")
            }
            var entries: [SAEReleaseEntry] = []
            if case let .list(items)? = r["saes"] {
                for item in items {
                    guard let id = item["id"]?.string, let p = item["path"]?.string else {
                        throw SAEError.configUnreadable(path: path, reason: "release '\(name)': an SAE lacks id or path")
                    }
                    entries.append(SAEReleaseEntry(id: id, path: p, l0: item["l0"]?.string.flatMap(Double.init),
                                                   neuronpedia: item["neuronpedia"]?.string,
                                                   normScalingFactor: item["norm_scaling_factor"]?.string.flatMap(Double.init)))
                }
            }
            releases.append(SAERelease(name: name, repoID: repo, model: r["model"]?.string,
                                       conversionFunc: r["conversion_func"]?.string, saes: entries))
        }
        return SAERegistry(releases: releases, source: path)
    }

    /// The registry file to read: `$FEATURESCOPE_SAE_REGISTRY`, else an installed sae_lens package's
    /// `pretrained_saes.yaml` (virtualenv, conda, user and system site-packages, pyenv versions), else nil.
    /// Nothing is run to find it: the usual folders are looked at directly.
    public static func locate(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let fm = FileManager.default
        if let p = env["FEATURESCOPE_SAE_REGISTRY"], !p.isEmpty { return p }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        var prefixes: [String] = []
        if let v = env["VIRTUAL_ENV"], !v.isEmpty { prefixes.append(v) }
        if let c = env["CONDA_PREFIX"], !c.isEmpty { prefixes.append(c) }
        prefixes += [home + "/.local", "/usr/local", "/usr", "/opt/conda"]
        if let versions = try? fm.contentsOfDirectory(atPath: home + "/.pyenv/versions") {
            prefixes += versions.sorted().reversed().map { home + "/.pyenv/versions/" + $0 }
        }
        for prefix in prefixes {
            var libs: [String] = []
            if let names = try? fm.contentsOfDirectory(atPath: prefix + "/lib") {
                libs = names.filter { $0.hasPrefix("python3") }.sorted().reversed().map { prefix + "/lib/" + $0 }
            }
            for lib in libs + [prefix + "/lib/python3"] {
                for sub in ["site-packages", "dist-packages"] {
                    let candidate = lib + "/" + sub + "/sae_lens/pretrained_saes.yaml"
                    if fm.fileExists(atPath: candidate) { return candidate }
                }
            }
        }
        return nil
    }

    /// The registry from `locate`, else the built-in one.
    public static func load(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SAERegistry {
        if let path = explicit ?? locate(environment: environment) { return try read(path: path) }
        return builtIn
    }

    /// Releases known without SAELens: the attention-SAE paper's GPT-2 small hook_z SAEs (Kissane et al.).
    public static let builtIn: SAERegistry = {
        let files = [
            "L0_Hcat_z_lr1.20e-03_l11.80e+00_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L1_Hcat_z_lr1.20e-03_l18.00e-01_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v5",
            "L2_Hcat_z_lr1.20e-03_l11.00e+00_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v4",
            "L3_Hcat_z_lr1.20e-03_l19.00e-01_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L4_Hcat_z_lr1.20e-03_l11.10e+00_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v7",
            "L5_Hcat_z_lr1.20e-03_l11.00e+00_ds49152_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L6_Hcat_z_lr1.20e-03_l11.10e+00_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L7_Hcat_z_lr1.20e-03_l11.10e+00_ds49152_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L8_Hcat_z_lr1.20e-03_l11.30e+00_ds24576_bs4096_dc1.00e-05_rsanthropic_rie25000_nr4_v6",
            "L9_Hcat_z_lr1.20e-03_l11.20e+00_ds24576_bs4096_dc1.00e-06_rsanthropic_rie25000_nr4_v9",
            "L10_Hcat_z_lr1.20e-03_l11.30e+00_ds24576_bs4096_dc1.00e-05_rsanthropic_rie25000_nr4_v9",
            "L11_Hcat_z_lr1.20e-03_l13.00e+00_ds24576_bs4096_dc3.16e-06_rsanthropic_rie25000_nr4_v9",
        ]
        let entries = files.enumerated().map { i, f in
            SAEReleaseEntry(id: "blocks.\(i).hook_z", path: "gpt2-small_\(f).pt", l0: nil, neuronpedia: "gpt2-small/\(i)-att-kk", normScalingFactor: nil)
        }
        return SAERegistry(releases: [SAERelease(name: "gpt2-small-hook-z-kk", repoID: "ckkissane/attn-saes-gpt2-small-all-layers",
                                                 model: "gpt2-small", conversionFunc: "connor_rob_hook_z", saes: entries)],
                           source: "built-in (install sae_lens or set FEATURESCOPE_SAE_REGISTRY for SAELens's full registry)")
    }()
}
