/// Maps hook names of other tools onto TransformerLens names (`blocks.L.hook_resid_post`…).
public enum HookNames {
    /// The TransformerLens name for `name`; names that are already canonical or unknown pass through.
    ///
    /// sparsify / Hugging Face: `layers.L` (optionally `model.` or `gpt_neox.` prefixed) is the residual
    /// stream after block L; `layers.L.mlp` its MLP output; `layers.L.self_attn` its attention output;
    /// `embed_tokens` the token embedding; `blocks.L.hook_z` (and q/k/v/pattern) the `attn.` hook.
    public static func canonical(_ name: String) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        while let first = parts.first, ["model", "gpt_neox", "transformer", "base_model"].contains(first), parts.count > 1 {
            parts.removeFirst()
        }
        if parts == ["embed_tokens"] || parts == ["embed_in"] || parts == ["wte"] { return "hook_embed" }
        // `blocks.L.hook_z` (a spelling some SAE configs use) is TransformerLens's `blocks.L.attn.hook_z`.
        if parts.count == 3, parts[0] == "blocks", Int(parts[1]) != nil,
           ["hook_z", "hook_q", "hook_k", "hook_v", "hook_pattern"].contains(parts[2]) {
            return "blocks.\(parts[1]).attn.\(parts[2])"
        }
        guard parts.count >= 2, parts[0] == "layers" || parts[0] == "h", let layer = Int(parts[1]), layer >= 0 else {
            return name
        }
        let rest = parts.dropFirst(2).joined(separator: ".")
        switch rest {
        case "": return "blocks.\(layer).hook_resid_post"
        case "mlp": return "blocks.\(layer).hook_mlp_out"
        case "self_attn", "attn", "attention": return "blocks.\(layer).hook_attn_out"
        default: return name
        }
    }

    /// The block index of a TransformerLens hook name (`blocks.7.…` → 7).
    public static func layer(of hookName: String) -> Int? {
        let parts = hookName.split(separator: ".")
        guard parts.count >= 2, parts[0] == "blocks" else { return nil }
        return Int(parts[1])
    }
}
