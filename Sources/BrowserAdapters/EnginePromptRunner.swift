import ActivationPipeline
import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import Steering
import TerminalUI

/// Runs work on a dedicated serial queue, off Swift's cooperative pool (a forward pass blocks its
/// thread for up to seconds) and one pass at a time (the model is shared).
enum EngineQueue {
    static let queue = DispatchQueue(label: "featurescope.browser.engine", qos: .userInitiated)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            queue.async { c.resume(with: Result { try body() }) }
        }
    }
}

/// The prompt view's engine: tokenizes the text with the model's tokenizer, runs SmolLM2 in
/// process, encodes the part's hook with the cache's SAE and reports per-token top latents, the
/// next-token distribution and, for traces, a latent across the prompt with DFA by source and
/// per-head split (hook_z). Model and SAEs load on first use; missing ones give a clear error.
public final class EnginePromptRunner: PromptEngine, @unchecked Sendable {
    public let host: EngineHost
    public let hooks: [String]
    /// Latents listed per token.
    public let topLatentCount: Int
    /// Next-token candidates listed.
    public let nextTokenCount: Int

    /// The last analysed prompt, so traces over it need no new forward pass.
    struct Analysis: Sendable {
        var text: String
        var part: Int
        var tokens: [Int32]
        var codes: SparseCodes
        var capture: AttentionCapture?
        var attention: PromptAttention?
    }
    private let lock = NSLock()
    private var last: Analysis?

    public init(host: EngineHost, hooks: [String], topLatentCount: Int = 8, nextTokenCount: Int = 10) {
        self.host = host
        self.hooks = hooks
        self.topLatentCount = max(1, topLatentCount)
        self.nextTokenCount = max(1, nextTokenCount)
    }

    /// A runner over the parts of a cache.
    public convenience init(data: CacheBrowserData) {
        self.init(host: data.engine, hooks: data.cache.parts.map(\.hook))
    }

    func hookPoint(part: Int, sae: SparseAutoencoder) throws -> HookPoint {
        guard part >= 0, part < hooks.count else { throw BrowserError("no part \(part)") }
        if let h = try? HookPoint(hooks[part]) { return h }
        if let h = sae.hookPoint { return h }
        throw BrowserError("the engine has no hook '\(hooks[part])'")
    }

    func analyse(text: String, part: Int) throws -> (Analysis, nextTokens: [NextToken], display: [String]) {
        let (model, tokenizer) = try host.loadModel()
        let sae = try host.sae(part: part)
        let hook = try hookPoint(part: part, sae: sae)
        let tokens = tokenizer.encode(text)
        // hook_z SAEs also capture the pattern and values, for the per-head and per-source split of traces; every
        // run captures attention patterns for the prompt view (all layers while they stay small, else the part's).
        let patternLayers = AttentionCapture.patternLayers(config: model.config, tokenCount: tokens.count, partLayer: hook.layer)
        var alsoCapture = Set(patternLayers.map { HookPoint.pattern($0) })
        if hook.site == .z { alsoCapture.formUnion([.pattern(hook.layer), HookPoint(layer: hook.layer, site: .v)]) }
        let encoded: EncodedPrompt
        do {
            encoded = try ActivationPipeline.encode(prompt: tokens, model: model, encoders: [HookEncoder(hook: hook, sae: sae)],
                                                    alsoCapture: alsoCapture, logits: .last)
        } catch let e as PipelineError {
            throw BrowserError(e.description)
        }
        let r = encoded.pass, codes = encoded.codes[0]
        guard let act = r.activation(hook) else { throw BrowserError("the engine did not capture \(hook)") }
        var capture: AttentionCapture?
        if hook.site == .z, let p = r.activation(.pattern(hook.layer)), let v = r.activation(HookPoint(layer: hook.layer, site: .v)) {
            let layout = try AttentionHeadLayout(headCount: model.config.headCount, headDim: model.config.headDim,
                                                 kvHeadCount: model.config.kvHeadCount)
            capture = AttentionCapture(tokenCount: tokens.count, z: act.data, pattern: p.data, values: v.data, layout: layout)
        }
        let next = Logits.topKSoftmax(Array(r.logitsRow(max(0, r.logitsRows - 1))), count: nextTokenCount).map {
            NextToken(token: tokenizer.displayString(Int32($0.id)), probability: $0.probability)
        }
        let a = Analysis(text: text, part: part, tokens: tokens, codes: codes, capture: capture,
                         attention: AttentionCapture.promptAttention(r, layers: patternLayers, headCount: model.config.headCount,
                                                                     tokenCount: tokens.count, partLayer: hook.layer))
        lock.withLock { last = a }
        return (a, next, tokens.map { tokenizer.displayString($0) })
    }

    public func run(text: String, part: Int) async throws -> PromptRun {
        let top = topLatentCount
        return try await EngineQueue.run { [self] in
            let (a, next, display) = try analyse(text: text, part: part)
            let latents = (0 ..< a.tokens.count).map { t in
                a.codes.range(ofToken: t).prefix(top).map {
                    LatentActivation(latent: Int(a.codes.indices[$0]), activation: a.codes.values[$0])
                }
            }
            return PromptRun(text: text, part: part, tokens: display, topLatents: latents, nextTokens: next, attention: a.attention)
        }
    }

    public func trace(run: PromptRun, latent: Int, token: Int) async throws -> PromptLatentTrace {
        try await EngineQueue.run { [self] in
            var analysis = lock.withLock { last }
            if analysis == nil || analysis?.text != run.text || analysis?.part != run.part {
                analysis = try analyse(text: run.text, part: run.part).0
            }
            guard let a = analysis else { throw BrowserError("the prompt could not be analysed") }
            guard latent >= 0, latent < a.codes.latentCount else { throw BrowserError("no latent \(latent) in this SAE") }
            let acts: [Float] = (0 ..< a.tokens.count).map { t in
                for i in a.codes.range(ofToken: t) where Int(a.codes.indices[i]) == latent { return a.codes.values[i] }
                return 0
            }
            var dfa: [Float]?, heads: [Float]?
            if let c = a.capture, token >= 0, token < a.tokens.count {
                let s = try c.split(sae: try host.sae(part: run.part), latent: latent, destination: token)
                dfa = s.dfaBySource
                heads = s.perHead
            }
            return PromptLatentTrace(latent: latent, token: token, activations: acts, dfaBySource: dfa, perHead: heads,
                                     ablation: try ablation(a, part: run.part, latent: latent, token: token))
        }
    }

    /// The latent's ablation effect over the prompt (`Steerer.ablationEffect`: two more forward passes).
    func ablation(_ a: Analysis, part: Int, latent: Int, token: Int) throws -> PromptAblation {
        let (model, tokenizer) = try host.loadModel()
        let effect = try Steerer(model: model, sae: try host.sae(part: part)).ablationEffect(latent: latent, tokens: a.tokens, top: 3)
        let at = effect.indices.contains(token) ? effect[token] : nil
        return PromptAblation(deltaLogProb: effect.map { Float($0.deltaLogProb ?? 0) },
                              promoted: at?.promoted.map { tokenizer.displayString($0.token) } ?? [],
                              suppressed: at?.suppressed.map { tokenizer.displayString($0.token) } ?? [],
                              promotedDelta: at?.promoted.map { Float($0.delta) } ?? [],
                              suppressedDelta: at?.suppressed.map { Float($0.delta) } ?? [])
    }
}
