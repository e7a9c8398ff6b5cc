import Foundation

/// Which activating examples the explainer is shown. The scorers' test examples do not depend on it
/// (they are drawn from the quantile samples as delphi does), so explanations from different
/// selections are scored on the same examples.
public enum ExplainerExampleSelection: String, Codable, Sendable, CaseIterable {
    /// delphi's: a few examples drawn from every activation quantile, weak ones included.
    case quantiles
    /// Only the strongest windows of the latent (the cache's top windows).
    case strongest
    /// Mostly the strongest windows, plus a quarter from the quantile sample (weaker contexts).
    case mixed

    /// The explainer's examples: `quantileTrain` is the quantile sample (quantile by quantile), `top`
    /// the strongest windows (strongest first), `test` the scorers' examples, which are never shown
    /// to the explainer. `count` nil: everything the selection gives (all of the quantile sample;
    /// as many strongest windows as the quantile sample has examples).
    public static func select(_ selection: ExplainerExampleSelection, count: Int?, quantileTrain: [ActivationWindow],
                              top: [ActivationWindow], test: [ActivationWindow]) -> [ActivationWindow] {
        let n = max(1, count ?? quantileTrain.count)
        let strongest = top.filter { t in !test.contains { isSameWindow($0, t) } }
        switch selection {
        case .quantiles:
            return spread(quantileTrain, n)
        case .strongest:
            return Array(strongest.prefix(n))
        case .mixed:
            let weak = quantileTrain.filter { $0.distance > 0 }
            let nWeak = min(weak.count, n / 4)
            let strong = Array(strongest.prefix(n - nWeak))
            return strong + spread(weak, nWeak).filter { w in !strong.contains { isSameWindow($0, w) } }
        }
    }

    /// `n` examples at evenly spaced positions (all when there are no more than `n`).
    static func spread(_ examples: [ActivationWindow], _ n: Int) -> [ActivationWindow] {
        guard n < examples.count else { return examples }
        guard n > 0 else { return [] }
        return (0 ..< n).map { examples[$0 * examples.count / n] }
    }

    /// The same window of the corpus: same tokens and activations.
    static func isSameWindow(_ a: ActivationWindow, _ b: ActivationWindow) -> Bool {
        a.activations == b.activations && (a.tokenIDs != nil && b.tokenIDs != nil ? a.tokenIDs == b.tokenIDs : a.tokens == b.tokens)
    }
}
