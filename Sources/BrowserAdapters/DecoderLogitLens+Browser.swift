import ModelEngine
import TerminalUI

extension DecoderLogitLens {
    /// `topTokens` with display strings, as the browser's promoted-tokens panel shows them.
    public func promotedTokens(decoderRow row: [Float], hook: HookPoint, count: Int,
                               displayString: (Int) -> String) throws -> PromotedTokens {
        let r = try topTokens(decoderRow: row, hook: hook, count: count)
        return PromotedTokens(promoted: r.promoted.map { TokenLogit(token: displayString($0.token), logit: $0.logit) },
                              suppressed: r.suppressed.map { TokenLogit(token: displayString($0.token), logit: $0.logit) },
                              method: r.method)
    }
}
