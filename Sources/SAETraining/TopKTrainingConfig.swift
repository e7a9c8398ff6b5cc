import Foundation

/// How the decoder bias is initialised before training.
public enum DecoderBiasInit: String, Codable, Sendable, CaseIterable {
    /// Geometric median of a sample of (scaled) activations (Weiszfeld iterations).
    case geometricMedian = "median"
    /// Mean of a sample of (scaled) activations.
    case mean
    /// Zero.
    case zero
}

/// Hyper-parameters of TopK SAE training (Gao et al., "Scaling and evaluating sparse
/// autoencoders", as implemented by EleutherAI's sparsify).
public struct TopKTrainingConfig: Codable, Equatable, Sendable {
    /// Input width (576 for SmolLM2's hook_z).
    public var dIn: Int
    /// Number of latents.
    public var dSAE: Int
    /// Active latents per token.
    public var k: Int = 32
    /// Tokens per optimiser step.
    public var batchSize: Int = 1024
    /// Peak Adam learning rate.
    public var learningRate: Float = 1.5e-3
    /// Linear warm-up steps from 0 to the peak rate.
    public var warmupSteps: Int = 50
    /// The rate decays linearly from the peak to `learningRate × finalLRFraction` at the last step.
    public var finalLRFraction: Float = 0
    /// Optimiser steps in the whole run.
    public var totalSteps: Int
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    /// Weight of the AuxK loss (1/32 in the paper and sparsify).
    public var auxKCoefficient: Float = 1.0 / 32
    /// Dead latents used by AuxK per token; nil means d_in / 2 (sparsify's heuristic).
    public var auxK: Int?
    /// A latent is dead when it has not fired for this many training tokens.
    public var deadTokenThreshold: Int = 250_000
    public var decoderBiasInit: DecoderBiasInit = .geometricMedian
    /// Scale inputs so that E‖x‖ = √d_in during training (folded back into the saved weights).
    public var normalizeInputs: Bool = true
    /// Seed of initialisation and batch order.
    public var seed: UInt64 = 0
    /// Worker threads for the sparse parts of a step (BLAS has its own threads).
    public var threads: Int = 2

    public init(dIn: Int, dSAE: Int, k: Int = 32, batchSize: Int = 1024, totalSteps: Int) {
        self.dIn = dIn
        self.dSAE = dSAE
        self.k = k
        self.batchSize = batchSize
        self.totalSteps = totalSteps
    }

    /// The AuxK width actually used.
    public var effectiveAuxK: Int { auxK ?? max(1, dIn / 2) }

    /// Checks ranges; throws a message naming the bad value.
    public func validate() throws {
        guard dIn > 0, dIn <= 65536 else { throw TrainingError.invalidConfig("d_in \(dIn) out of range") }
        guard dSAE > 0, dSAE <= 1 << 22 else { throw TrainingError.invalidConfig("width \(dSAE) out of range") }
        guard k > 0, k <= dSAE else { throw TrainingError.invalidConfig("k \(k) must be between 1 and the width \(dSAE)") }
        guard batchSize > 0, batchSize <= 1 << 16 else { throw TrainingError.invalidConfig("batch size \(batchSize) out of range") }
        guard totalSteps > 0 else { throw TrainingError.invalidConfig("the run needs at least one step") }
        guard learningRate > 0, learningRate.isFinite else { throw TrainingError.invalidConfig("learning rate \(learningRate) must be positive") }
        guard warmupSteps >= 0 else { throw TrainingError.invalidConfig("warm-up steps must not be negative") }
        guard finalLRFraction >= 0, finalLRFraction <= 1 else { throw TrainingError.invalidConfig("final LR fraction must be in [0, 1]") }
        guard effectiveAuxK > 0 else { throw TrainingError.invalidConfig("AuxK width must be positive") }
        guard auxKCoefficient >= 0 else { throw TrainingError.invalidConfig("AuxK coefficient must not be negative") }
        guard deadTokenThreshold > 0 else { throw TrainingError.invalidConfig("dead-token threshold must be positive") }
        guard threads >= 1, threads <= 64 else { throw TrainingError.invalidConfig("threads \(threads) out of range") }
    }

    /// Learning rate at `step` (0-based): linear warm-up, then linear decay.
    public func learningRate(atStep step: Int) -> Float {
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        let decaySteps = max(1, totalSteps - warmupSteps)
        let t = min(1, Float(step - warmupSteps) / Float(decaySteps))
        return learningRate * (1 - t * (1 - finalLRFraction))
    }
}
