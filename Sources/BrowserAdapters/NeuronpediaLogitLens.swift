import LatentCache

extension CacheBrowserData {
    /// The logit lens `export neuronpedia` writes (`pos_str`/`neg_str`): the tokens the browser's promoted-tokens
    /// panel shows (`DecoderLogitLens` on the part's decoder rows, read at the output hook for a transcoder),
    /// `count` each way, for a batch of latents in one pass over W_U. Parts whose SAE or model cannot be
    /// loaded get empty lists; `unavailable` says which and why. `lens` is nil when no part can be mapped.
    public func neuronpediaLogitLens(count: Int) -> (lens: ((Int, [Int]) throws -> [NeuronpediaLogits])?, unavailable: [String]) {
        var usable = [Bool](repeating: false, count: cache.parts.count)
        var unavailable: [String] = []
        for p in cache.parts.indices {
            guard cache.parts[p].latentCount > 0 else { continue }
            do {
                _ = try promotedTokens(part: p, latent: 0, count: 1)
                usable[p] = true
            } catch {
                unavailable.append("part \(cache.parts[p].name): no logit lens (\(error))")
            }
        }
        guard usable.contains(true) else { return (nil, unavailable) }
        let lens: (Int, [Int]) throws -> [NeuronpediaLogits] = { [self] p, latents in
            guard p >= 0, p < usable.count, usable[p] else { return latents.map { _ in NeuronpediaLogits(positive: [], negative: []) } }
            let part = try part(p)
            let sae = try engine.sae(part: p)
            let hook = try decoderHook(part: part, sae: sae)
            let lens = try engine.logitLens()
            let results = try lens.topTokens(decoderRows: try latents.map { try sae.decoderRow($0) }, hook: hook, count: count)
            let name: (Int) -> String
            if cache.vocabulary.count == lens.vocabSize {
                let c = cache
                name = { c.displayString($0) }
            } else {
                let tokenizer = try engine.tokenizer()
                name = { tokenizer.displayString(Int32(truncatingIfNeeded: $0)) }
            }
            return results.map { r in
                NeuronpediaLogits(positive: r.promoted.map { (name($0.token), $0.logit) }, negative: r.suppressed.map { (name($0.token), $0.logit) })
            }
        }
        return (lens, unavailable)
    }
}
