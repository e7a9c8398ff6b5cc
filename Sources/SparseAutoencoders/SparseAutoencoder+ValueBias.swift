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
    public func prepared(for model: TransformerModel) throws -> SparseAutoencoder {
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
