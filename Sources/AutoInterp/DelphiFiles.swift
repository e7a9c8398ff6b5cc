import Foundation
import FeaturescopeCore

/// Errors reading or writing delphi's explanation and score files.
public enum DelphiFileError: Error, CustomStringConvertible, Equatable {
    case invalidHook(String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidHook(let h):
            return "hook name \"\(h)\" cannot be used in a file name (empty, absolute or containing \"..\")"
        case .unreadable(let p, let r): return "cannot read \(p): \(r)"
        case .malformed(let p, let r): return "\(p) is not a valid delphi file: \(r)"
        }
    }
}

/// One sample of a delphi detection/fuzz score file.
public struct DelphiClassifierSample: Sendable, Equatable {
    public var strTokens: [String]
    public var activations: [Double]
    /// Quantile (0 = strongest) or −1; delphi allows floats (neighbour distances).
    public var distance: Double
    public var activating: Bool
    public var prediction: Bool?
    public var probability: Double?
    public var correct: Bool?

    public init(strTokens: [String], activations: [Double], distance: Double, activating: Bool,
                prediction: Bool?, probability: Double?, correct: Bool?) {
        self.strTokens = strTokens
        self.activations = activations
        self.distance = distance
        self.activating = activating
        self.prediction = prediction
        self.probability = probability
        self.correct = correct
    }

    public init(_ s: ScoredSample) {
        self.init(strTokens: s.strTokens, activations: s.activations.map(Double.init), distance: Double(s.distance),
                  activating: s.activating, prediction: s.prediction, probability: s.probability, correct: s.correct)
    }

    /// As a `ScoredSample` (the shown text is not in delphi's files; it is rebuilt unhighlighted).
    public var scoredSample: ScoredSample {
        let d = distance.isFinite && abs(distance) < 1e9 ? Int(distance.rounded(.towardZero)) : -1
        return ScoredSample(strTokens: strTokens, activations: activations.map { Float($0) }, distance: d,
                            activating: activating, prediction: prediction, probability: probability,
                            correct: correct, shownText: strTokens.joined())
    }
}

/// One entry of a delphi simulation score file.
public struct DelphiSimulationEntry: Sendable, Equatable {
    /// 0 = all examples, q + 1 = quantile q.
    public var distance: Int
    /// Pearson correlation (NaN when delphi wrote "nan").
    public var evCorrelationScore: Double
    /// Number of simulated sequences in the entry.
    public var sequenceCount: Int
}

/// A delphi run folder: `explanations/` and `scores/<scorer>/`.
public struct DelphiRun: Sendable {
    public let root: String
    public init(root: String) { self.root = root }

    /// The file stem of a hook/latent: `<hook>_latent<i>`, with `/` replaced by `--`
    /// (delphi does that for score files; TransformerLens hook names never contain `/`).
    public static func stem(hook: String, latent: Int) throws -> String {
        guard !hook.isEmpty, !hook.hasPrefix("/"), !hook.split(separator: "/").contains(".."), hook != ".." else {
            throw DelphiFileError.invalidHook(hook)
        }
        return hook.replacingOccurrences(of: "/", with: "--") + "_latent\(latent)"
    }

    public func explanationPath(hook: String, latent: Int) throws -> String {
        root + "/explanations/" + (try Self.stem(hook: hook, latent: latent)) + ".txt"
    }

    public func scorePath(scorer: String, hook: String, latent: Int) throws -> String {
        guard !scorer.isEmpty, !scorer.contains("/"), scorer != "..", scorer != "." else {
            throw DelphiFileError.invalidHook(scorer)
        }
        return root + "/scores/\(scorer)/" + (try Self.stem(hook: hook, latent: latent)) + ".txt"
    }

    // MARK: Explanations

    /// Writes the explanation as a JSON string literal, atomically.
    public func writeExplanation(_ text: String, hook: String, latent: Int) throws {
        try AtomicFile.write(DelphiJSON.stringLiteral(SecretRedaction.redact(text)), to: explanationPath(hook: hook, latent: latent))
    }

    /// Reads an explanation file (nil when absent).
    public func readExplanation(hook: String, latent: Int) throws -> String? {
        let path = try explanationPath(hook: hook, latent: latent)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Self.read(path)
        guard let s = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? String else {
            throw DelphiFileError.malformed(path: path, reason: "expected one JSON string literal")
        }
        return s
    }

    // MARK: Scores

    /// Writes a detection/fuzz score file, atomically.
    public func writeClassifierScores(_ samples: [ScoredSample], scorer: String, hook: String, latent: Int) throws {
        let text = SecretRedaction.redact(DelphiJSON.classifierArray(samples.map(DelphiClassifierSample.init)))
        try AtomicFile.write(text, to: scorePath(scorer: scorer, hook: hook, latent: latent))
    }

    /// Reads a detection/fuzz score file.
    public func readClassifierScores(scorer: String, hook: String, latent: Int) throws -> [DelphiClassifierSample] {
        try Self.readClassifierScores(at: scorePath(scorer: scorer, hook: hook, latent: latent))
    }

    public static func readClassifierScores(at path: String) throws -> [DelphiClassifierSample] {
        let items = try readArray(path)
        return try items.enumerated().map { i, item in
            guard let o = item as? [String: Any] else { throw DelphiFileError.malformed(path: path, reason: "item \(i) is not an object") }
            func bad(_ key: String) -> DelphiFileError { .malformed(path: path, reason: "item \(i): `\(key)` missing or of the wrong type") }
            guard let toks = o["str_tokens"] as? [String] else { throw bad("str_tokens") }
            guard let actsAny = o["activations"] as? [Any] else { throw bad("activations") }
            let acts = try actsAny.map { v -> Double in
                if v is NSNull { return .nan }
                guard let n = DelphiJSON.number(v) else { throw bad("activations") }
                return n
            }
            guard let dist = o["distance"].flatMap(DelphiJSON.number) else { throw bad("distance") }
            guard let activating = o["activating"].flatMap(DelphiJSON.bool) else { throw bad("activating") }
            return DelphiClassifierSample(strTokens: toks, activations: acts, distance: dist, activating: activating,
                                          prediction: o["prediction"].flatMap(DelphiJSON.bool),
                                          probability: o["probability"].flatMap(DelphiJSON.number),
                                          correct: o["correct"].flatMap(DelphiJSON.bool))
        }
    }

    /// Reads a simulation score file (delphi's OpenAI-simulator schema).
    public static func readSimulationScores(at path: String) throws -> [DelphiSimulationEntry] {
        let items = try readArray(path)
        return try items.enumerated().map { i, item in
            guard let o = item as? [String: Any],
                  let d = o["distance"].flatMap(DelphiJSON.number), d.isFinite, abs(d) < 1e9 else {
                throw DelphiFileError.malformed(path: path, reason: "item \(i): `distance` missing")
            }
            let raw = o["ev_correlation_score"]
            let score: Double
            if let n = raw.flatMap(DelphiJSON.number) { score = n } else if raw is String || raw is NSNull { score = .nan } else {
                throw DelphiFileError.malformed(path: path, reason: "item \(i): `ev_correlation_score` missing")
            }
            let seqs = (o["scored_sequence_simulations"] as? [Any])?.count ?? 0
            return DelphiSimulationEntry(distance: Int(d), evCorrelationScore: score, sequenceCount: seqs)
        }
    }

    private static func read(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DelphiFileError.unreadable(path: path, reason: error.localizedDescription)
        }
    }

    private static func readArray(_ path: String) throws -> [Any] {
        let data = DelphiJSON.replacingNonFiniteLiterals(try read(path))
        guard let array = (try? JSONSerialization.jsonObject(with: data, options: [])) as? [Any] else {
            throw DelphiFileError.malformed(path: path, reason: "expected a JSON array")
        }
        return array
    }
}
