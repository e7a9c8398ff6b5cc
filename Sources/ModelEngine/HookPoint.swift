import Foundation

/// A named place in the forward pass where activations can be read or changed,
/// named as in TransformerLens (`blocks.L.hook_resid_post`, `blocks.L.attn.hook_z`, …).
public struct HookPoint: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Which activation inside block `layer`.
    public enum Site: String, Sendable, CaseIterable, Codable {
        /// Residual stream entering the block [pos, d_model].
        case residPre = "hook_resid_pre"
        /// Residual stream after attention, before the MLP [pos, d_model].
        case residMid = "hook_resid_mid"
        /// Residual stream leaving the block [pos, d_model] (sparsify's `layers.L`).
        case residPost = "hook_resid_post"
        /// Attention output after the output projection [pos, d_model].
        case attnOut = "hook_attn_out"
        /// MLP input: the pre-MLP norm's output, gain applied [pos, d_model] (TransformerBridge's `mlp.hook_in`;
        /// what sparsify transcoders of `layers.L.mlp` read).
        case mlpIn = "mlp.hook_in"
        /// MLP output [pos, d_model].
        case mlpOut = "hook_mlp_out"
        /// Queries before RoPE [pos, heads, d_head].
        case q = "attn.hook_q"
        /// Keys before RoPE [pos, kv_heads, d_head].
        case k = "attn.hook_k"
        /// Values [pos, kv_heads, d_head].
        case v = "attn.hook_v"
        /// Attention probabilities [heads, dest, src].
        case pattern = "attn.hook_pattern"
        /// Per-head attention output before the output projection [pos, heads · d_head], head-major.
        case z = "attn.hook_z"

        /// Order of the sites inside one block, for sorting and "stop after" decisions.
        var order: Int {
            switch self {
            case .residPre: return 0
            case .q: return 1
            case .k: return 2
            case .v: return 3
            case .pattern: return 4
            case .z: return 5
            case .attnOut: return 6
            case .residMid: return 7
            case .mlpIn: return 8
            case .mlpOut: return 9
            case .residPost: return 10
            }
        }
    }

    public let layer: Int
    public let site: Site

    public init(layer: Int, site: Site) {
        self.layer = layer
        self.site = site
    }

    /// Parses `blocks.L.<site>` or `layers.L` (= `blocks.L.hook_resid_post`).
    public init(_ name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts[0] == "layers" {
            guard let l = Int(parts[1]), l >= 0 else { throw EngineError.invalidHook(name: name, reason: "'\(parts[1])' is not a layer number") }
            self.init(layer: l, site: .residPost)
            return
        }
        guard parts.count >= 3, parts[0] == "blocks" else {
            throw EngineError.invalidHook(name: name, reason: "must start with 'blocks.' or 'layers.'")
        }
        guard let l = Int(parts[1]), l >= 0 else { throw EngineError.invalidHook(name: name, reason: "'\(parts[1])' is not a layer number") }
        let rest = parts[2...].joined(separator: ".")
        guard let site = Site(rawValue: rest) else {
            let known = Site.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError.invalidHook(name: name, reason: "unknown site '\(rest)' (known: \(known))")
        }
        self.init(layer: l, site: site)
    }

    /// The TransformerLens name, e.g. `blocks.5.attn.hook_z`.
    public var description: String { "blocks.\(layer).\(site.rawValue)" }

    public static func < (a: HookPoint, b: HookPoint) -> Bool {
        (a.layer, a.site.order) < (b.layer, b.site.order)
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public static func residPre(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .residPre) }
    public static func residMid(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .residMid) }
    public static func residPost(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .residPost) }
    public static func attnOut(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .attnOut) }
    public static func mlpOut(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .mlpOut) }
    public static func z(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .z) }
    public static func pattern(_ layer: Int) -> HookPoint { HookPoint(layer: layer, site: .pattern) }
}

/// An activation captured at a hook: row-major `data` with `shape`.
public struct HookTensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    /// Values per leading index (e.g. one position's vector for [pos, d]).
    public var rowWidth: Int { shape.dropFirst().reduce(1, *) }

    /// The slice of the leading index `i` (one position for [pos, …], one head for hook_pattern).
    public func row(_ i: Int) -> ArraySlice<Float> {
        let w = rowWidth
        return data[i * w ..< (i + 1) * w]
    }
}

/// Which logits a forward pass computes.
public enum LogitsMode: Sendable, Equatable {
    /// None: the pass stops after the last block a hook needs.
    case none
    /// Only for the last position (generation, next-token prediction).
    case last
    /// For every position [T, vocab].
    case all
    /// For the given positions of each sequence, in the order given ([positions.count, vocab]); positions
    /// outside a sequence are an error.
    case positions([Int])
}

/// A change applied to an activation in place before the model continues (e.g. splice in an SAE
/// reconstruction, zero-ablate a head). It must keep `shape`.
public typealias HookIntervention = (inout HookTensor) throws -> Void

/// What one forward pass returns for one sequence.
public struct ForwardResult: Sendable {
    /// Tokens in the sequence.
    public let tokenCount: Int
    /// Vocabulary size (width of a logits row).
    public let vocabSize: Int
    /// Logits, row-major [rows, vocab]: T rows for `.all`, 1 row (the last position) for `.last`, one per
    /// requested position for `.positions`, empty for `.none`.
    public let logits: [Float]
    /// Captured activations, after any intervention on the same hook.
    public let activations: [HookPoint: HookTensor]

    /// The activation captured at `hook`, or nil when it was not requested.
    public func activation(_ hook: HookPoint) -> HookTensor? { activations[hook] }

    /// Number of logits rows.
    public var logitsRows: Int { vocabSize == 0 ? 0 : logits.count / vocabSize }

    /// Logits row `i` (0 ..< logitsRows).
    public func logitsRow(_ i: Int) -> ArraySlice<Float> { logits[i * vocabSize ..< (i + 1) * vocabSize] }
}
