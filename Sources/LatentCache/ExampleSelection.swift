import FeaturescopeCore
import Foundation

/// What one latent's nonzero activations turn into: the record, the index statistics and the
/// optional full-activation list. Pure: the same input always gives the same output.
struct LatentSelection {
    var content: RecordContent
    var firingCount: Int
    var activeWindowCount: Int
    var maxActivation: Float
    var meanActivation: Float

    /// `k` distinct integers from `0 ..< n`, ascending (Floyd's algorithm; O(k)).
    static func sample(_ k: Int, from n: Int, rng: inout SplitMix64) -> [Int] {
        let k = min(k, n)
        if k <= 0 { return [] }
        if k == n { return Array(0 ..< n) }
        var chosen = Set<Int>(minimumCapacity: k)
        for j in (n - k) ..< n {
            let t = Int.random(in: 0 ... j, using: &rng)
            if chosen.contains(t) { chosen.insert(j) } else { chosen.insert(t) }
        }
        return chosen.sorted()
    }

    /// Builds everything from one latent's activations.
    ///
    /// - Parameters:
    ///   - positions: flat token positions, strictly ascending (deduplicated by the caller).
    ///   - values: the activations at those positions, all > 0.
    ///   - totalWindows: windows in the corpus (tokens / window length).
    ///   - rngSalt: part number, mixed into every seed.
    static func build(latent: Int, positions: UnsafeBufferPointer<UInt32>, values: UnsafeBufferPointer<Float>,
                      totalWindows: Int, config: ExampleConfiguration, rngSalt: UInt64) -> LatentSelection {
        let L = config.windowLength
        let n = positions.count
        var maxA: Float = 0
        var sum: Double = 0
        for v in values { sum += Double(v); if v > maxA { maxA = v } }

        // Histogram over (0, max].
        var hist = [UInt32](repeating: 0, count: config.histogramBins)
        if maxA > 0 {
            let H = config.histogramBins
            let scale = Float(H) / maxA
            for v in values {
                let b = min(H - 1, max(0, Int(v * scale)))
                hist[b] &+= 1
            }
        }

        // Aligned windows: id = position / L; entries are sorted so windows come out ascending.
        var winID: [Int] = [], winMax: [Float] = [], winFirst: [Int] = []
        var i = 0
        while i < n {
            let w = Int(positions[i]) / L
            var m: Float = 0
            let first = i
            while i < n, Int(positions[i]) / L == w { m = max(m, values[i]); i += 1 }
            winID.append(w); winMax.append(m); winFirst.append(first)
        }
        winFirst.append(n)
        let W = winID.count

        // delphi: all activating windows sorted by their maximum, descending (ties: earlier window first).
        let order = (0 ..< W).sorted { a, b in winMax[a] != winMax[b] ? winMax[a] > winMax[b] : winID[a] < winID[b] }

        var table: [Int] = []            // window numbers (into winID) stored in the record
        var slot: [Int: UInt32] = [:]     // window number → table index
        func tableIndex(_ w: Int) -> UInt32 {
            if let s = slot[w] { return s }
            let s = UInt32(table.count)
            table.append(w); slot[w] = s
            return s
        }
        let top = order.prefix(config.topCount).map { tableIndex($0) }

        // delphi's split_quantiles: Q slices of floor(W / Q) windows; the remainder (weakest) is dropped.
        let Q = config.quantiles
        let qs = W / Q
        var quantiles: [RecordContent.Quantile] = []
        for q in 0 ..< Q {
            let lo = q * qs, hi = lo + qs
            var rng = SplitMix64(seed: config.seed, rngSalt, UInt64(latent), UInt64(q) + 1)
            let picks = sample(config.perQuantile, from: qs, rng: &rng).map { tableIndex(order[lo + $0]) }
            quantiles.append(RecordContent.Quantile(sliceSize: UInt32(qs), strongest: qs > 0 ? winMax[order[lo]] : 0,
                                                    weakest: qs > 0 ? winMax[order[hi - 1]] : 0, windowIndices: picks))
        }

        // Random non-activating windows: the k-th inactive window = k + (active windows before it).
        let inactive = max(0, totalWindows - W)
        var rng = SplitMix64(seed: config.seed, rngSalt, UInt64(latent), 0)
        let random = sample(config.randomCount, from: inactive, rng: &rng).map { k -> UInt64 in
            // count of active windows a_j with a_j − j ≤ k (a_j − j is non-decreasing)
            var lo = 0, hi = W
            while lo < hi {
                let mid = (lo + hi) / 2
                if winID[mid] - mid <= k { lo = mid + 1 } else { hi = mid }
            }
            return UInt64((k + lo) * L)
        }

        let windows = table.map { w -> RecordContent.Window in
            var acts = [UInt16](repeating: 0, count: L)
            let base = winID[w] * L
            for e in winFirst[w] ..< winFirst[w + 1] { acts[Int(positions[e]) - base] = Half.bits(values[e]) }
            return RecordContent.Window(start: UInt64(base), maxActivation: winMax[w], activations: acts)
        }

        let content = RecordContent(latent: UInt32(latent), windowLength: L, activeWindowCount: UInt64(W), histogramUpper: maxA,
                                    histogram: hist, quantiles: quantiles, windows: windows, top: top, random: random)
        return LatentSelection(content: content, firingCount: n, activeWindowCount: W, maxActivation: maxA,
                              meanActivation: n > 0 ? Float(sum / Double(n)) : 0)
    }
}
