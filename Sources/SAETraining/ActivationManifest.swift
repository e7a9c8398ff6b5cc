import Foundation
import FeaturescopeCore

/// The JSON manifest of an activation store (`manifest.json`).
///
/// An activation store is a folder holding, for each hook point, a series of shard files
/// `<hook>/shard-NNNNN.f16`: raw little-endian IEEE half floats, row-major `[tokens, d_in]`,
/// no header. The manifest lists the committed shards; a shard file exists on disk before
/// the manifest names it, so a crash never leaves a named shard half-written. Rows of the
/// token file are stored in order: shard `i` holds token rows `firstRow ..< firstRow + rows`.
public struct ActivationManifest: Codable, Equatable, Sendable {
    /// One stored hook point.
    public struct Hook: Codable, Equatable, Sendable {
        /// TransformerLens-style hook name, e.g. `blocks.3.attn.hook_z`.
        public var name: String
        /// Width of one activation vector (for hook_z: n_heads · d_head).
        public var dIn: Int
        public init(name: String, dIn: Int) { self.name = name; self.dIn = dIn }
    }

    /// One committed shard (shared by all hooks: each hook has one file per shard).
    public struct Shard: Codable, Equatable, Sendable {
        public var index: Int
        /// First token-file row in this shard.
        public var firstRow: Int
        /// Number of token-file rows in this shard.
        public var rows: Int
        /// Number of activation vectors (= rows × tokens per row) in each hook's file.
        public var tokens: Int
    }

    public static let currentVersion = 1

    public var formatVersion: Int = ActivationManifest.currentVersion
    /// Always `"f16"` for now.
    public var dtype: String = "f16"
    public var modelName: String
    /// Tokens per row of the token file (the model's context for each forward pass).
    public var contextSize: Int
    /// Path of the token file the activations came from (as given on the command line).
    public var tokensFile: String
    public var hooks: [Hook]
    public var shards: [Shard]
    /// Token-file rows fully stored (= sum of shard rows).
    public var rowsDone: Int
    /// Rows the collection was asked for (all rows of the token file, or fewer with --max-tokens).
    public var rowsRequested: Int
    /// When true, the last stored row was reached and collection is complete.
    public var complete: Bool
    /// How stored rows map to token-file rows: nil or `"contiguous"` — stored row i is file row i;
    /// `"spread"` — stored row i is file row ⌊i · fileRows / rowsRequested⌋ (evenly spaced over
    /// the whole file, so a partial collection still covers every source of a file whose rows
    /// are in source order).
    public var rowSelection: String?
    /// Rows of the token file (for `"spread"`).
    public var fileRows: Int?

    /// The token-file row of stored row `i`.
    public func fileRow(ofStoredRow i: Int) -> Int {
        guard rowSelection == "spread", let f = fileRows, rowsRequested > 0 else { return i }
        return Int((Int64(i) * Int64(f)) / Int64(rowsRequested))
    }

    /// Total activation vectors per hook.
    public var totalTokens: Int { shards.reduce(0) { $0 + $1.tokens } }

    /// Relative path of a shard file.
    public static func shardPath(hook: String, index: Int) -> String {
        "\(hook)/shard-\(String(format: "%05d", index)).f16"
    }

    public static let fileName = "manifest.json"

    /// Reads and validates `<directory>/manifest.json`.
    public static func load(directory: String) throws -> ActivationManifest {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.invalidStore(path: path, reason: "no activation manifest (run `featurescope collect` first)")
        }
        let m: ActivationManifest
        do {
            m = try JSONDecoder().decode(ActivationManifest.self, from: data)
        } catch {
            throw TrainingError.invalidStore(path: path, reason: "manifest is not valid JSON of the expected shape: \(error)")
        }
        try m.validate(path: path)
        return m
    }

    /// Checks internal consistency (versions, counts, hook names safe as folder names).
    public func validate(path: String) throws {
        guard formatVersion == Self.currentVersion else {
            throw TrainingError.invalidStore(path: path, reason: "format version \(formatVersion), expected \(Self.currentVersion)")
        }
        guard dtype == "f16" else { throw TrainingError.invalidStore(path: path, reason: "dtype \(dtype), expected f16") }
        guard contextSize > 0, contextSize <= 1 << 20 else {
            throw TrainingError.invalidStore(path: path, reason: "context size \(contextSize) out of range")
        }
        guard !hooks.isEmpty else { throw TrainingError.invalidStore(path: path, reason: "no hooks listed") }
        for h in hooks {
            guard Self.isSafeHookName(h.name) else {
                throw TrainingError.invalidStore(path: path, reason: "hook name '\(h.name)' is not a safe folder name")
            }
            guard h.dIn > 0, h.dIn <= 1 << 16 else {
                throw TrainingError.invalidStore(path: path, reason: "hook '\(h.name)' has d_in \(h.dIn), out of range")
            }
        }
        var row = 0
        for (i, s) in shards.enumerated() {
            guard s.index == i, s.firstRow == row, s.rows > 0, s.tokens == s.rows * contextSize else {
                throw TrainingError.invalidStore(path: path, reason: "shard \(i) is inconsistent (index \(s.index), first row \(s.firstRow), rows \(s.rows), tokens \(s.tokens); expected first row \(row) and tokens = rows × \(contextSize))")
            }
            row += s.rows
        }
        guard row == rowsDone else {
            throw TrainingError.invalidStore(path: path, reason: "rowsDone \(rowsDone) but shards hold \(row) rows")
        }
    }

    /// Hook names become folder names: letters, digits, `.`, `_`, `-` only, not starting with a dot.
    public static func isSafeHookName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 200, !s.hasPrefix(".") else { return false }
        return s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
        }
    }

    /// Writes the manifest atomically.
    public func save(directory: String) throws {
        try AtomicFile.writeJSON(self, to: directory + "/" + Self.fileName)
    }
}
