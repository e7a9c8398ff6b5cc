import LatentCache

extension CacheBrowserData {
    /// The logit lens `export neuronpedia` writes (`pos_str`/`neg_str`): the same promoted and suppressed
    /// tokens the browser shows (`promotedTokens`), `count` each way. Parts whose SAE or model cannot be
    /// loaded get empty lists; `unavailable` says which and why. Nil when no part can be mapped.
    public func neuronpediaLogitLens(count: Int) -> (lens: ((Int, Int) throws -> NeuronpediaLogits)?, unavailable: [String]) {
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
        let lens: (Int, Int) throws -> NeuronpediaLogits = { [self] p, latent in
            guard p >= 0, p < usable.count, usable[p] else { return NeuronpediaLogits(positive: [], negative: []) }
            let t = try promotedTokens(part: p, latent: latent, count: count)
            return NeuronpediaLogits(positive: t.promoted.map { ($0.token, $0.logit) }, negative: t.suppressed.map { ($0.token, $0.logit) })
        }
        return (lens, unavailable)
    }
}
