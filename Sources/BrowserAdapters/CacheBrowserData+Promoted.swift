import Foundation
import LatentCache
import ModelEngine
import SparseAutoencoders
import TerminalUI

extension CacheBrowserData {
    /// The tokens latent `latent`'s decoder direction promotes and suppresses most (`DecoderLogitLens`:
    /// hook_z rows go through the layer's W_O first). Needs the part's SAE and the model file; the
    /// error says which is missing. Results are memoised per latent.
    public func promotedTokens(part p: Int, latent: Int, count: Int) throws -> PromotedTokens {
        let key = LatentKey(part: p, latent: latent)
        if let m = promotedMemo.value(key), m.count >= count {
            return PromotedTokens(promoted: Array(m.tokens.promoted.prefix(count)), suppressed: Array(m.tokens.suppressed.prefix(count)),
                                  method: m.tokens.method)
        }
        let part = try part(p)
        guard latent >= 0, latent < part.latentCount else { throw BrowserError("no latent \(latent) in part \(p) (\(part.latentCount) latents)") }
        let sae = try engine.sae(part: p)
        guard latent < sae.dSAE else { throw BrowserError("the SAE of this part has \(sae.dSAE) latents; latent \(latent) is not one of them") }
        let hook = try decoderHook(part: part, sae: sae)
        let lens = try engine.logitLens()
        let row = try sae.decoderRow(latent)
        let result: PromotedTokens
        if cache.vocabulary.count == lens.vocabSize {
            result = try lens.promotedTokens(decoderRow: row, hook: hook, count: count) { cache.displayString($0) }
        } else {
            let tokenizer = try engine.tokenizer()
            result = try lens.promotedTokens(decoderRow: row, hook: hook, count: count) { tokenizer.displayString(Int32(truncatingIfNeeded: $0)) }
        }
        promotedMemo.set(key, PromotedMemoEntry(count: count, tokens: result))
        return result
    }
}

extension CacheBrowserData {
    /// The hook a part's decoder directions live in: the part's hook, or a transcoder's output hook.
    func decoderHook(part: LatentCachePart, sae: SparseAutoencoder) throws -> HookPoint {
        let hookName = part.hookOut ?? (sae.isTranscoder ? sae.config.outputHookName : part.hook)
        guard let hook = (try? HookPoint(hookName)) ?? sae.outputHookPoint else {
            throw BrowserError("'\(hookName)' is not a hook point of the engine, so its decoder directions cannot be mapped to tokens")
        }
        return hook
    }
}

/// Promoted tokens computed for `count` tokens each way.
struct PromotedMemoEntry {
    var count: Int
    var tokens: PromotedTokens
}
