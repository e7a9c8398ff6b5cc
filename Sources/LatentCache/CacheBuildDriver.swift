import Foundation

/// Sparse activations of one part over one row: CSR layout like `SparseCodes` of the SAE module.
public struct SparseRowActivations: Sendable {
    /// `rowLength + 1` offsets into `latents`/`values`; position t owns `offsets[t] ..< offsets[t+1]`.
    public var offsets: [Int]
    public var latents: [Int32]
    public var values: [Float]
    public init(offsets: [Int], latents: [Int32], values: [Float]) {
        self.offsets = offsets; self.latents = latents; self.values = values
    }
}

/// Where corpus rows come from (a packed token file).
public protocol CacheRowSource {
    var rowCount: Int { get }
    func row(_ index: Int) throws -> [Int32]
}

/// What produces the activations: a forward pass + SAE encode per part.
public protocol CacheActivationSource {
    /// For each row of the batch (token-file rows `firstRow ..< firstRow + rows.count`), the activations of
    /// every part (same order as the builder's parts).
    func activations(rows: [[Int32]], firstRow: Int) throws -> [[SparseRowActivations]]
}

/// Timings of a build, to check the builder's overhead against the forward pass.
public struct CacheBuildStats: Codable, Sendable {
    public var rowsBuilt: Int
    public var rowsSkipped: Int
    public var tokens: Int
    /// Seconds in the activation source (forward pass + SAE encoding).
    public var sourceSeconds: Double
    /// Seconds in the builder while streaming (token store + spill).
    public var streamSeconds: Double
    /// Seconds spent finalizing (windows, quantiles, records).
    public var finalizeSeconds: Double
    /// (stream + finalize) / source, in percent.
    public var overheadPercent: Double
}

/// The loop of `featurescope cache`: rows → activations → builder, resumable, with timings.
public enum CacheBuildDriver {
    public static func run(builder: LatentCacheBuilder, rows: CacheRowSource, maxRows: Int? = nil, batchSize: Int = 8,
                           source: CacheActivationSource, progress: ((Int, Int) -> Void)? = nil,
                           finalizeProgress: ((Int, Int) -> Void)? = nil) throws -> CacheBuildStats {
        let total = min(rows.rowCount, maxRows ?? rows.rowCount)
        let skipped = min(builder.rowsCompleted, total)
        var sourceTime = 0.0, streamTime = 0.0
        var r = skipped
        progress?(r, total)
        while r < total {
            let n = min(batchSize, total - r)
            let batch = try (r ..< r + n).map { try rows.row($0) }
            let t0 = DispatchTime.now()
            let acts = try source.activations(rows: batch, firstRow: r)
            let t1 = DispatchTime.now()
            guard acts.count == n else { throw CacheError.invalidArgument("activation source returned \(acts.count) rows for \(n)") }
            for (row, perPart) in zip(batch, acts) {
                guard perPart.count == builder.parts.count else {
                    throw CacheError.invalidArgument("activation source returned \(perPart.count) parts, the cache has \(builder.parts.count)")
                }
                try builder.beginRow(tokens: row)
                for (p, a) in perPart.enumerated() {
                    guard a.offsets.count == row.count + 1, a.offsets.last ?? 0 <= min(a.latents.count, a.values.count) else {
                        throw CacheError.invalidArgument("activations of part \(p) do not cover the row's \(row.count) positions")
                    }
                    a.latents.withUnsafeBufferPointer { lp in
                        a.values.withUnsafeBufferPointer { vp in
                            for t in 0 ..< row.count {
                                let s = a.offsets[t], e = a.offsets[t + 1]
                                guard s <= e else { continue }
                                builder.addSparse(part: p, position: t, latents: UnsafeBufferPointer(rebasing: lp[s ..< e]),
                                                  values: UnsafeBufferPointer(rebasing: vp[s ..< e]))
                            }
                        }
                    }
                }
                try builder.endRow()
            }
            let t2 = DispatchTime.now()
            sourceTime += Double(t1.uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
            streamTime += Double(t2.uptimeNanoseconds - t1.uptimeNanoseconds) / 1e9
            r += n
            progress?(r, total)
        }
        let t3 = DispatchTime.now()
        try builder.finalize(progress: finalizeProgress)
        let finalize = Double(DispatchTime.now().uptimeNanoseconds - t3.uptimeNanoseconds) / 1e9
        let built = total - skipped
        return CacheBuildStats(rowsBuilt: built, rowsSkipped: skipped, tokens: total * builder.options.rowLength, sourceSeconds: sourceTime,
                               streamSeconds: streamTime, finalizeSeconds: finalize,
                               overheadPercent: sourceTime > 0 ? 100 * (streamTime + finalize) / sourceTime : 0)
    }
}
