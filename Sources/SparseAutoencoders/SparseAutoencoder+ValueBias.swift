import ModelEngine

extension SparseAutoencoder {
    /// This SAE made ready for `model`'s raw activations.
    ///
    /// A `hook_z` SAE trained through TransformerLens with folded value biases (`metadata.foldedValueBiases`) saw
    /// z − c per head, where c = b_V + β_ln1·W_V (`TransformerModel.foldedValueBias(layer:)`); the engine's hook_z
    /// carries c. Encoding x − c equals encoding x with b_dec + c in place of b_dec (apply_b_dec_to_input), or with
    /// b_enc − c·W_enc (otherwise; gated: b_mag − c·(W_enc∘exp r_mag) too), and decoding then adds c back, so
    /// activations match TransformerLens's and reconstructions live in the engine's space. Returns `self` when there
    /// is nothing to fold (not hook_z, not folded, or c = 0 as for llama/gemma).
    ///
    /// First checks that the model's hook has the SAE's width; when it does not, the error names the model the SAE
    /// was trained on and, when that model's family is one the engine does not run, which architecture is missing.
    public func prepared(for model: TransformerModel) throws -> SparseAutoencoder {
        try checkWidth(against: model.config)
        guard config.isHookZ, config.metadata.foldedValueBiases == true else { return self }
        guard let layer = HookNames.layer(of: config.metadata.hookName) else { return self }
        var c = try model.foldedValueBias(layer: layer)
        if let head = config.metadata.hookHeadIndex {
            let d = model.config.headDim
            guard head >= 0, (head + 1) * d <= c.count else {
                throw SAEError.invalidArgument("\(weightsPath ?? "SAE"): hook_head_index \(head) is outside the model's \(model.config.headCount) heads")
            }
            c = Array(c[head * d ..< (head + 1) * d])
        }
        guard c.count == dIn else {
            throw SAEError.inputShape(what: "\(weightsPath ?? "SAE"): the model's hook_z at layer \(layer)", expected: dIn, found: c.count)
        }
        if c.allSatisfy({ $0 == 0 }) { return self }
        return try foldingInputOffset(c)
    }

    /// A copy whose encode sees x − `offset` and whose decode returns reconstruction + `offset`.
    public func foldingInputOffset(_ offset: [Float]) throws -> SparseAutoencoder {
        guard offset.count == dIn else { throw SAEError.inputShape(what: "input offset", expected: dIn, found: offset.count) }
        guard config.normalizeActivations == .none else {
            throw SAEError.unsupported(path: weightsPath ?? "SAE", feature: "folded value biases with normalize_activations \(config.normalizeActivations.rawValue)",
                                       reason: "a per-token normalization cannot absorb the constant TransformerLens removed from hook_z")
        }
        let bDec = zip(decoderBias, offset).map { $0 + $1 }
        var bEnc = encoderBias
        var gated = self.gated
        if !config.applyBDecToInput {
            // b_enc − offset·W_enc (W_enc is [d_in, d_sae]).
            for i in 0 ..< dIn where offset[i] != 0 {
                let o = offset[i]
                for f in 0 ..< dSAE { bEnc[f] -= o * encoderWeight[i * dSAE + f] }
            }
            if let g = gated {
                var bMag = g.bMag
                for i in 0 ..< dIn where offset[i] != 0 {
                    for f in 0 ..< dSAE { bMag[f] -= offset[i] * encoderWeight[i * dSAE + f] * g.expRMag[f] }
                }
                gated = GatedMagnitude(bMag: bMag, rMag: g.rMag)
            }
        }
        var cfg = config
        cfg.metadata.foldedValueBiases = false
        return try SparseAutoencoder(config: cfg, encoderWeight: encoderWeight, encoderBias: bEnc, decoderWeight: decoderWeight,
                                     decoderBias: bDec, threshold: threshold, gated: gated, logFeatureSparsity: logFeatureSparsity,
                                     weightsDType: weightsDType, weightsPath: weightsPath, weightsSHA256: weightsSHA256,
                                     foldedActivationScale: foldedActivationScale)
    }
}

extension SparseAutoencoder {
    /// Model families SAE releases are trained on that the engine does not run (matched in the SAE's model name).
    static let unsupportedFamilies: [(match: String, family: String)] = [
        ("mamba", "Mamba (state-space)"), ("rwkv", "RWKV"), ("mixtral", "Mixtral (mixture of experts)"),
        ("phi", "Phi"), ("deepseek", "DeepSeek"), ("olmo", "OLMo"), ("falcon", "Falcon"), ("bloom", "BLOOM"), ("qwen3", "Qwen3"),
        ("llama-4", "Llama 4"), ("gpt-oss", "gpt-oss"), ("gpt-j", "GPT-J"), ("opt-", "OPT"), ("bert", "BERT"), ("t5", "T5"),
        ("gelu-", "TransformerLens toy models (gelu-Nl)"), ("solu-", "TransformerLens SoLU models"), ("attn-only", "attention-only toy models"),
        ("gemma-2b", "Gemma 1"), ("gemma-7b", "Gemma 1"), ("tiny-stories", "TinyStories (GPT-Neo)"), ("gpt-neo-", "GPT-Neo"),
    ]

    /// The width the SAE reads at its hook in a model of `c`, checked against d_in.
    func checkWidth(against c: ModelConfig) throws {
        guard let hook = hookPoint else { return }
        let width: Int
        switch hook.site {
        case .z: width = config.metadata.hookHeadIndex == nil ? c.qDim : c.headDim
        case .q: width = config.metadata.hookHeadIndex == nil ? c.qDim : c.headDim
        case .k, .v: width = config.metadata.hookHeadIndex == nil ? c.kvHeadCount * c.headDim : c.headDim
        case .pattern: return
        default: width = c.dim
        }
        guard width != dIn || hook.layer >= c.layerCount else { return }
        let name = config.metadata.modelName ?? "an unnamed model"
        var why = "the SAE \(weightsPath ?? "") reads \(hook) of \(name) with d_in \(dIn); this \(c.architecture.rawValue) model "
        why += hook.layer >= c.layerCount ? "has \(c.layerCount) layers" : "gives \(width) values there"
        let lower = name.lowercased()
        if let f = Self.unsupportedFamilies.first(where: { lower.contains($0.match) }) {
            let known = ModelArchitecture.allCases.map(\.rawValue).joined(separator: ", ")
            why += ". \(name) is a \(f.family) model, an architecture Featurescope cannot run (it runs \(known)); browse a latent cache or delphi run made elsewhere instead"
        } else {
            why += "; pass --model with \(name)"
        }
        throw SAEError.invalidArgument(why)
    }
}
