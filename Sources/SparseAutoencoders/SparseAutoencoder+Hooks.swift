import ModelEngine

/// Connecting an SAE to the engine's hook points: where it reads, and interventions that splice,
/// ablate or steer its latents during a forward pass.
extension SparseAutoencoder {
    /// The engine hook this SAE reads (from `metadata.hookName`), or nil when the engine has no such hook.
    public var hookPoint: HookPoint? { try? HookPoint(config.metadata.hookName) }

    /// Rows of a captured activation, checked against d_in.
    func rows(of tensor: HookTensor) throws -> Int {
        try requireAutoencoder("an intervention at \(config.metadata.hookName)")
        guard tensor.rowWidth == dIn, tensor.data.count % max(1, dIn) == 0 else {
            throw SAEError.inputShape(what: "hook activation \(tensor.shape) for an SAE with d_in \(dIn)", expected: dIn, found: tensor.rowWidth)
        }
        return tensor.data.count / dIn
    }

    /// Replaces the activation by its SAE reconstruction (decode(encode(x))), e.g. to measure the
    /// cross-entropy cost of the SAE. `keepTop` is passed to `encode`.
    public func spliceIntervention(keepTop: Int? = nil) -> HookIntervention {
        { tensor in
            let n = try self.rows(of: tensor)
            tensor.data = try self.decode(try self.encode(tensor.data, count: n, keepTop: keepTop))
        }
    }

    /// Removes the contribution of `latents` at every position: x − Σ_{f ∈ latents} a_f · W_dec[f]
    /// (the reconstruction error and the other latents stay); `clampIntervention` to 0.
    public func ablationIntervention(latents: Set<Int>) -> HookIntervention {
        clampIntervention(values: Dictionary(uniqueKeysWithValues: latents.map { ($0, Float(0)) }))
    }

    /// Clamps latents to fixed activations at every position and splices the reconstruction difference in:
    /// x + Σ_f (c_f − a_f) · W_dec[f], with a_f the latent's activation there (0 when it does not fire) and
    /// c_f = `values[f]`. The reconstruction error and the other latents stay.
    public func clampIntervention(values: [Int: Float]) -> HookIntervention {
        { tensor in
            let n = try self.rows(of: tensor)
            for f in values.keys { try self.checkLatent(f) }
            let codes = try self.encode(tensor.data, count: n)
            for t in 0 ..< n {
                let scale = t < codes.outputScale.count ? codes.outputScale[t] : 1
                var current: [Int: Float] = [:]
                for e in codes.range(ofToken: t) where values[Int(codes.indices[e])] != nil {
                    current[Int(codes.indices[e])] = codes.values[e] * scale
                }
                for (f, c) in values {
                    let delta = c - (current[f] ?? 0)
                    guard delta != 0 else { continue }
                    for j in 0 ..< self.dIn { tensor.data[t * self.dIn + j] += delta * self.decoderWeight[f * self.dIn + j] }
                }
            }
        }
    }

    /// Adds `amount` · W_dec[latent] at every position (or only at `positions`): steering.
    public func steeringIntervention(latent: Int, amount: Float, positions: Set<Int>? = nil) throws -> HookIntervention {
        try checkLatent(latent)
        return { tensor in
            let n = try self.rows(of: tensor)
            for t in 0 ..< n where positions?.contains(t) ?? true {
                for j in 0 ..< self.dIn { tensor.data[t * self.dIn + j] += amount * self.decoderWeight[latent * self.dIn + j] }
            }
        }
    }
}
