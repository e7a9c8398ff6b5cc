import FeaturescopeCore
import Foundation

/// How examples are drawn for explaining and scoring (delphi's defaults).
public struct SamplingOptions: Codable, Sendable, Equatable {
    /// Number of equal slices of the sorted activating windows (quantile 0 = strongest).
    public var quantiles = 10
    /// Training examples (for the explainer) drawn per quantile: 4 → 40.
    public var trainPerQuantile = 4
    /// Test examples (for the scorers) drawn per quantile: 5 → 50.
    public var testPerQuantile = 5
    /// Random non-activating windows for the scorers.
    public var nonActivating = 50
    /// Latents with fewer activating windows are skipped.
    public var minExamples = 200
    /// Seed of the sampling generator (mixed with the latent index).
    public var seed: UInt64 = 22
    /// Reproduce delphi's known defect: train and test drawn from the same slices with the
    /// same seed, so the test set repeats the training examples. Off by default (disjoint).
    public var overlappingTrainTest = false
    /// Which examples the explainer sees (nil: delphi's quantile sample). The scorers' test
    /// examples are the same whatever the choice.
    public var explainerSelection: ExplainerExampleSelection?
    /// How many examples the explainer sees (nil: all the selection gives).
    public var explainerExampleCount: Int?

    public init() {}
}

/// The examples of one latent after sampling.
public struct SampledExamples: Codable, Sendable, Equatable {
    public var latent: Int
    public var hook: String
    /// Largest activation of the latent (for normalised activations).
    public var maxActivation: Float
    /// Explainer examples, quantile by quantile (distance = quantile).
    public var train: [ActivationWindow]
    /// Scorer positives, quantile by quantile (distance = quantile).
    public var test: [ActivationWindow]
    /// Scorer negatives (distance = −1).
    public var nonActivating: [ActivationWindow]
}

/// Why a latent was not sampled.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case tooFewActivatingWindows(latent: Int, found: Int, required: Int)
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .tooFewActivatingWindows(let l, let f, let r):
            return "latent \(l): \(f) activating windows, fewer than the \(r) required (min_examples)"
        case .invalidOptions(let m):
            return "invalid sampling options: \(m)"
        }
    }
}

/// Splits and samples a latent's windows as delphi does.
///
/// The sorted activating windows are cut into `quantiles` slices of ⌊count / quantiles⌋
/// windows each (the weakest remainder is left out, as in delphi). Within each slice a seeded
/// shuffle picks the training examples and — disjoint by default — the test examples.
public enum ExampleSampler {
    public static func sample(_ examples: LatentExamples, options: SamplingOptions = SamplingOptions()) throws -> SampledExamples {
        guard options.quantiles > 0, options.trainPerQuantile >= 0, options.testPerQuantile >= 0,
              options.nonActivating >= 0, options.minExamples >= 0 else {
            throw SamplingError.invalidOptions("counts must be ≥ 0 and quantiles ≥ 1")
        }
        let count = examples.activating.count
        guard count >= max(options.minExamples, 1), count >= options.quantiles else {
            throw SamplingError.tooFewActivatingWindows(latent: examples.latent, found: count,
                                                        required: max(options.minExamples, options.quantiles, 1))
        }
        let sliceSize = count / options.quantiles
        let latentSeed = UInt64(truncatingIfNeeded: examples.latent)
        var trainRNG = SplitMix64(seed: SplitMix64.seed(options.seed, latentSeed, 1))
        var testRNG = trainRNG  // same stream: only used in the overlapping (delphi) mode
        var train: [ActivationWindow] = []
        var test: [ActivationWindow] = []
        for q in 0..<options.quantiles {
            var slice = Array(examples.activating[(q * sliceSize)..<((q + 1) * sliceSize)])
            for i in slice.indices { slice[i].distance = q }
            if options.overlappingTrainTest {
                train += trainRNG.sample(slice, options.trainPerQuantile)
                test += testRNG.sample(slice, options.testPerQuantile)
            } else {
                trainRNG.shuffle(&slice)
                let nTrain = min(options.trainPerQuantile, slice.count)
                train += slice[0..<nTrain]
                test += slice[nTrain..<min(slice.count, nTrain + options.testPerQuantile)]
            }
        }
        var negRNG = SplitMix64(seed: SplitMix64.seed(options.seed, latentSeed, 2))
        var negatives = negRNG.sample(examples.nonActivating, options.nonActivating)
        for i in negatives.indices { negatives[i].distance = -1 }
        return SampledExamples(latent: examples.latent, hook: examples.hook, maxActivation: examples.maxActivation,
                               train: train, test: test, nonActivating: negatives)
    }
}
