import Foundation
import TensorFormats

/// Writes a tiny delphi run with delphi's exact on-disk layout (docs/cache-format.md, "delphi runs"):
/// `latents/<hookpoint>/config.json`, split safetensors files with `locations` (U16 or U32, [N, 3] =
/// row, position, latent − start), `activations` (F16) and `tokens` (I32 as delphi writes them, repeated in every split);
/// `explanations/<hookpoint>_latent<i>.txt` (a JSON string literal); `scores/<scorer>/<hookpoint with / → -->_latent<i>.txt`
/// for detection, fuzz (sample arrays) and simulation (its own schema, with Python's bare `NaN`).
public struct DelphiFixture {
    public enum LocationType: String { case u16 = "U16", u32 = "U32" }

    /// One hookpoint's latents and the dense truth of their activations.
    public struct Hookpoint {
        public var name: String
        public var latentCount: Int
        /// Inclusive latent ranges of the split files.
        public var splits: [(start: Int, end: Int)]
        /// [flat token][latent], f16-exact values (multiples of 1/64 up to 10), 0 = not firing.
        public var activations: [[Float]]
    }

    public var rows: Int
    public var contextLength: Int
    public var tokens: [[Int]]
    public var hookpoints: [Hookpoint]
    public var locationType: LocationType
    /// hookpoint → latent → explanation text.
    public var explanations: [String: [Int: String]]
    /// hookpoint → latents with detection and fuzz score files.
    public var scoredLatents: [String: [Int]]
    /// hookpoint → latents with a simulation score file.
    public var simulatedLatents: [String: [Int]]

    public var tokenCount: Int { rows * contextLength }

    /// A deterministic fixture: 16 rows of 64 tokens, hookpoints `layers.3` (12 latents, two splits) and
    /// `layers.5/mlp` (7 latents, one split; a hookpoint with a slash).
    public static func make(locationType: LocationType, seed: UInt64 = 1) -> DelphiFixture {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
        let rows = 16, ctx = 64
        let tokens = (0 ..< rows).map { _ in (0 ..< ctx).map { _ in Int(next() % 300) } }
        func hook(_ name: String, _ n: Int, _ splits: [(Int, Int)]) -> Hookpoint {
            let rates = (0 ..< n).map { l -> Double in l == 0 ? 0 : (l == 1 ? 0.9 : [0.002, 0.02, 0.1, 0.3][l % 4]) }
            let acts = (0 ..< rows * ctx).map { _ in
                (0 ..< n).map { l -> Float in uniform() < rates[l] ? Float(1 + next() % 640) / 64 : 0 }
            }
            return Hookpoint(name: name, latentCount: n, splits: splits.map { (start: $0.0, end: $0.1) }, activations: acts)
        }
        let hooks = [hook("layers.3", 12, [(0, 5), (6, 11)]), hook("layers.5/mlp", 7, [(0, 6)])]
        let tricky = "Quotes \"like this\", a backslash \\, a newline\nand ünïcødé ✓ plus an escape \u{1B}[31m"
        return DelphiFixture(
            rows: rows, contextLength: ctx, tokens: tokens, hookpoints: hooks, locationType: locationType,
            explanations: ["layers.3": [2: "Tokens after a comma", 3: tricky, 7: "Numbers"], "layers.5/mlp": [4: "Plural nouns"]],
            scoredLatents: ["layers.3": [2, 3], "layers.5/mlp": [4]],
            simulatedLatents: ["layers.3": [2]])
    }

    /// Detection/fuzz samples of a scored latent (deterministic; some predictions null).
    public func scoreSamples(hookpoint: String, latent: Int, scorer: String) -> [[String: Any]] {
        (0 ..< 6).map { i -> [String: Any] in
            let activating = i % 2 == 0
            let prediction: Any = i == 5 ? NSNull() : ((i + latent + (scorer == "fuzz" ? 1 : 0)) % 3 != 0)
            let correct: Any = (prediction as? Bool).map { $0 == activating } ?? NSNull()
            return ["str_tokens": ["Hello", ",", " world", " \"q\""], "activations": activating ? [0, 1.5, 0, 0.25] : [0, 0, 0, 0],
                    "distance": activating ? i / 2 : -1, "activating": activating, "prediction": prediction,
                    "probability": i == 5 ? NSNull() : 0.25 * Double(i % 4), "correct": correct]
        }
    }

    /// The simulation file text (Python's json writes NaN as a bare `NaN`).
    public func simulationText(latent: Int) -> String {
        "[{\"distance\": 0, \"ev_correlation_score\": 0.42, \"scored_sequence_simulations\": [{\"tokens\": [\"a\"], \"expected\": [0.0]}]}, "
            + "{\"distance\": 1, \"ev_correlation_score\": NaN, \"scored_sequence_simulations\": []}]"
    }

    /// Writes the run into `directory` (created).
    public func write(to directory: String) throws {
        let fm = FileManager.default
        for h in hookpoints {
            let dir = directory + "/latents/" + h.name
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let config: [String: Any] = ["dataset_repo": "fixture/tiny", "dataset_split": "train[:1%]", "dataset_name": "",
                                         "dataset_column": "text", "batch_size": 4, "cache_ctx_len": contextLength,
                                         "n_tokens": tokenCount, "n_splits": h.splits.count, "model_name": "HuggingFaceTB/SmolLM2-135M-Instruct"]
            try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/config.json"))
            for s in h.splits {
                var locs: [Int64] = [], acts: [Float] = []
                // torch.nonzero order: row, position, latent.
                for r in 0 ..< rows {
                    for p in 0 ..< contextLength {
                        for l in s.start ... s.end {
                            let a = h.activations[r * contextLength + p][l]
                            if a > 0 { locs += [Int64(r), Int64(p), Int64(l - s.start)]; acts.append(a) }
                        }
                    }
                }
                var w = SafetensorsWriter()
                try w.add("locations", integers: locs, shape: [acts.count, 3], dtype: locationType == .u16 ? .U16 : .U32)
                try w.add("activations", floats: acts, shape: [acts.count], dtype: .F16)
                try w.add("tokens", integers: tokens.flatMap { $0.map(Int64.init) }, shape: [rows, contextLength], dtype: .I32)
                try w.write(to: dir + "/\(s.start)_\(s.end).safetensors")
            }
        }
        for (hook, byLatent) in explanations {
            for (l, text) in byLatent {
                let path = directory + "/explanations/" + hook + "_latent\(l).txt"
                try fm.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
                try JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed]).write(to: URL(fileURLWithPath: path))
            }
        }
        for (hook, latents) in scoredLatents {
            for scorer in ["detection", "fuzz"] {
                try fm.createDirectory(atPath: directory + "/scores/" + scorer, withIntermediateDirectories: true)
                for l in latents {
                    let path = directory + "/scores/\(scorer)/" + hook.replacingOccurrences(of: "/", with: "--") + "_latent\(l).txt"
                    try JSONSerialization.data(withJSONObject: scoreSamples(hookpoint: hook, latent: l, scorer: scorer)).write(to: URL(fileURLWithPath: path))
                }
            }
        }
        for (hook, latents) in simulatedLatents {
            try fm.createDirectory(atPath: directory + "/scores/simulation", withIntermediateDirectories: true)
            for l in latents {
                let path = directory + "/scores/simulation/" + hook.replacingOccurrences(of: "/", with: "--") + "_latent\(l).txt"
                try simulationText(latent: l).write(toFile: path, atomically: true, encoding: .utf8)
            }
        }
    }
}
