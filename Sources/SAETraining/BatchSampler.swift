import FeaturescopeCore
import Foundation

/// A source of activation vectors addressed by index (a stored hook, or an in-memory array in tests).
public protocol ActivationSource: AnyObject, Sendable {
    var dIn: Int { get }
    var tokenCount: Int { get }
    /// Copies vectors `indices` (each in 0 ..< tokenCount), multiplied by `scale`, into consecutive rows of `out`.
    func gather(_ indices: UnsafeBufferPointer<Int32>, scale: Float, into out: UnsafeMutablePointer<Float>)
}

extension HookActivations: ActivationSource {}

/// Activations held in memory, row-major `[tokenCount, dIn]` (tests, small experiments).
public final class InMemoryActivations: ActivationSource, @unchecked Sendable {
    public let dIn: Int
    public let values: [Float]
    public var tokenCount: Int { values.count / dIn }

    public init(dIn: Int, values: [Float]) {
        precondition(dIn > 0 && values.count % dIn == 0, "values must be a whole number of rows")
        self.dIn = dIn
        self.values = values
    }

    public func gather(_ indices: UnsafeBufferPointer<Int32>, scale: Float, into out: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { v in
            for (r, i) in indices.enumerated() {
                let src = v.baseAddress! + Int(i) * dIn
                let dst = out + r * dIn
                for j in 0 ..< dIn { dst[j] = src[j] * scale }
            }
        }
    }
}

/// Shuffled mini-batches over every token of every shard.
///
/// Each epoch is a fresh permutation of all token indices drawn from `(seed, epoch)`, so the
/// order is reproducible and a resumed run continues with exactly the batches it would have
/// seen. A partial last batch of an epoch is dropped (every batch has `batchSize` rows).
public struct ShuffledBatchSampler: Sendable {
    public let tokenCount: Int
    public let batchSize: Int
    public let seed: UInt64
    private var permutation: [Int32] = []
    private var permutationEpoch = -1

    public init(tokenCount: Int, batchSize: Int, seed: UInt64) throws {
        guard tokenCount < Int(Int32.max) else {
            throw TrainingError.invalidConfig("\(tokenCount) tokens exceed the sampler's 2^31 limit")
        }
        guard batchSize > 0, batchSize <= tokenCount else {
            throw TrainingError.invalidConfig("batch size \(batchSize) must be between 1 and the number of stored tokens (\(tokenCount))")
        }
        self.tokenCount = tokenCount
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int { tokenCount / batchSize }

    /// Epoch and position in the epoch of global step `step`.
    public func position(ofStep step: Int) -> (epoch: Int, batch: Int) {
        (step / batchesPerEpoch, step % batchesPerEpoch)
    }

    /// The token indices of global step `step`.
    public mutating func indices(forStep step: Int) -> ArraySlice<Int32> {
        let (epoch, batch) = position(ofStep: step)
        if epoch != permutationEpoch {
            permutation = Self.permutation(count: tokenCount, seed: seed, epoch: epoch)
            permutationEpoch = epoch
        }
        return permutation[batch * batchSize ..< (batch + 1) * batchSize]
    }

    /// Fisher–Yates permutation of 0 ..< count for one epoch.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int32] {
        var rng = Xoshiro256StarStar(seed: seed, stream: UInt64(bitPattern: Int64(epoch)) &+ 1)
        var p = [Int32](unsafeUninitializedCapacity: count) { b, n in
            for i in 0 ..< count { b[i] = Int32(truncatingIfNeeded: i) }
            n = count
        }
        p.withUnsafeMutableBufferPointer { b in
            var i = count - 1
            while i > 0 {
                let j = Int(rng.next() % UInt64(i + 1))
                b.swapAt(i, j)
                i -= 1
            }
        }
        return p
    }
}
