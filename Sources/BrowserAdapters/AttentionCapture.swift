import Foundation
import ModelEngine
import SparseAutoencoders
import TerminalUI

/// What the head views need from one forward pass at one layer: `hook_z`, `hook_pattern` and
/// `hook_v` of a token sequence.
struct AttentionCapture: Sendable {
    let tokenCount: Int
    /// [T, heads · d_head], head-major.
    let z: [Float]
    /// [heads, T, T].
    let pattern: [Float]
    /// [T, kv heads, d_head].
    let values: [Float]
    let layout: AttentionHeadLayout

    /// Runs the model over `tokens` and keeps layer `layer`'s attention tensors.
    static func run(model: TransformerModel, tokens: [Int32], layer: Int) throws -> AttentionCapture {
        guard !tokens.isEmpty else { throw BrowserError("no tokens to run") }
        guard layer >= 0, layer < model.config.layerCount else {
            throw BrowserError("layer \(layer) is outside the model's \(model.config.layerCount) layers")
        }
        let zHook = HookPoint.z(layer), pHook = HookPoint.pattern(layer), vHook = HookPoint(layer: layer, site: .v)
        let r = try model.forward(tokens: tokens, captures: [zHook, pHook, vHook], logits: .none)
        guard let z = r.activation(zHook), let p = r.activation(pHook), let v = r.activation(vHook) else {
            throw BrowserError("the engine did not capture layer \(layer)'s attention")
        }
        let layout = try AttentionHeadLayout(headCount: model.config.headCount, headDim: model.config.headDim,
                                             kvHeadCount: model.config.kvHeadCount)
        return AttentionCapture(tokenCount: tokens.count, z: z.data, pattern: p.data, values: v.data, layout: layout)
    }

    /// Most pattern values the prompt view keeps for one run (all layers × heads × T², 4 bytes each: 32 MB).
    static let promptPatternBudget = 8 << 20

    /// The layers whose patterns a prompt run keeps: every layer while they fit `promptPatternBudget`, else only
    /// the part's layer.
    static func patternLayers(config: ModelConfig, tokenCount: Int, partLayer: Int) -> [Int] {
        let perLayer = config.headCount * tokenCount * tokenCount
        if perLayer * config.layerCount <= promptPatternBudget { return Array(0 ..< config.layerCount) }
        return (0 ..< config.layerCount).contains(partLayer) ? [partLayer] : []
    }

    /// The captured `hook_pattern`s of `layers` as the prompt view's attention ([heads, T, T] each); nil when any is missing.
    static func promptAttention(_ pass: ForwardResult, layers: [Int], headCount: Int, tokenCount: Int, partLayer: Int) -> PromptAttention? {
        var patterns: [[Float]] = []
        for l in layers {
            guard let p = pass.activation(.pattern(l)) else { return nil }
            patterns.append(p.data)
        }
        return PromptAttention(layers: layers, headCount: headCount, tokenCount: tokenCount, patterns: patterns, preferredLayer: partLayer)
    }

    /// Latent `latent`'s per-head pre-activation split at `destination` and its DFA by source
    /// position (Σ over heads), for an SAE reading this layer's `hook_z`.
    func split(sae: SparseAutoencoder, latent: Int, destination: Int) throws -> (perHead: [Float], dfaBySource: [Float]) {
        guard destination >= 0, destination < tokenCount else { throw BrowserError("token \(destination) is outside the \(tokenCount)-token run") }
        guard sae.dIn == layout.width else {
            throw BrowserError("the SAE reads \(sae.dIn) values per token; hook_z has \(layout.headCount) heads × \(layout.headDim)")
        }
        let w = layout.width
        let row = Array(z[destination * w ..< (destination + 1) * w])
        let pre = try sae.preActivationByHead(latent: latent, z: row, layout: layout)
        let dfa = try sae.directFeatureAttribution(latent: latent, destination: destination, pattern: pattern,
                                                   destinationCount: tokenCount, values: values, layout: layout)
        return (pre.perHead, dfa.perSource)
    }
}

/// Memo key of a captured window: part and the window's first flat token.
struct WindowCaptureKey: Hashable, Sendable {
    var part: Int
    var start: Int
}
