import Foundation
import HeadRoles
import ModelEngine
import TerminalUI

extension CacheBrowserData {
    /// The role scores of every head of the layer a hook_z part reads: `featurescope heads`' probe (random
    /// sequences repeated twice) run on the cache's model, once per layer.
    public func headRoles(part p: Int) throws -> [HeadRoleRow] {
        let part = try part(p)
        guard let hook = try? HookPoint(part.hook), hook.site == .z else { throw BrowserError("head roles need a hook_z part") }
        if let rows = headRoleMemo.value(hook.layer) { return rows }
        let (model, tokenizer) = try engine.loadModel()
        let probe = HeadRoleProbe().fitted(contextLength: model.config.contextLength, hasBOS: tokenizer.bosId != nil)
        let scores = try probe.run(model: model, tokenizer: tokenizer, layers: [hook.layer])
        let rows = scores.filter { $0.layer == hook.layer }.map {
            HeadRoleRow(head: $0.head, previousToken: $0.previousToken, induction: $0.induction, firstToken: $0.firstToken,
                        selfAttention: $0.selfAttention, entropy: $0.entropy)
        }
        headRoleMemo.set(hook.layer, rows)
        return rows
    }
}
