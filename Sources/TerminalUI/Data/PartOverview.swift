import Foundation

/// What a histogram of the overview counts.
public enum OverviewMetric: String, Sendable, CaseIterable, Equatable {
    case density, maxActivation, detection, fuzz

    public var title: String {
        switch self {
        case .density: return "log10 density"
        case .maxActivation: return "max activation"
        case .detection: return "detection"
        case .fuzz: return "fuzz"
        }
    }
}

/// One histogram: bin b counts values in [edges[b], edges[b + 1]) (the last bin includes its upper edge).
public struct OverviewHistogram: Sendable, Equatable {
    public var metric: OverviewMetric
    public var edges: [Double]
    public var counts: [Int]
    /// Latents with no value (unscored, or dead for the density histogram).
    public var missing: Int

    public var binCount: Int { counts.count }

    /// The bin of `v`, or nil outside the edges.
    public func bin(of v: Double) -> Int? {
        guard let lo = edges.first, let hi = edges.last, v >= lo, v <= hi, !counts.isEmpty else { return nil }
        var b = 0
        while b + 1 < counts.count && v >= edges[b + 1] { b += 1 }
        return b
    }

    /// List-filter words selecting the latents of bin `b` (density bins are in log10, the filter in plain density).
    public func filterText(bin b: Int) -> String {
        let lo = edges[b], hi = edges[b + 1]
        let name: String
        switch metric {
        case .density: return "density>=\(Self.number(power10(lo))) density<=\(Self.number(power10(hi)))"
        case .maxActivation: name = "maxact"
        case .detection: name = "detect"
        case .fuzz: name = "fuzz"
        }
        return "\(name)>=\(Self.number(lo)) \(name)<=\(Self.number(hi))"
    }

    static func number(_ v: Double) -> String {
        if v != 0 && (abs(v) < 1e-3 || abs(v) >= 1e5) {
            let e = Int((log10(abs(v))).rounded(.down))
            let m = v / power10(Double(e))
            return "\(trim(m))e\(e)"
        }
        return trim(v)
    }

    static func trim(_ v: Double) -> String {
        var s = String(Double((v * 10_000).rounded() / 10_000))
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

/// The dictionary at a glance: densities, maximum activations, explanation and score coverage of one part.
public struct PartOverview: Sendable, Equatable {
    public var part: Int
    public var latents: Int
    /// Never fire in the cached tokens.
    public var dead: Int
    /// Fire on more than `denseThreshold` of the tokens.
    public var dense: Int
    public var explained: Int
    public var scored: Int
    /// Mean number of latents firing per token (Σ densities).
    public var meanL0: Double
    public var histograms: [OverviewHistogram]

    /// Density above which a latent counts as dense (Towards Monosemanticity's 10 %).
    public static let denseThreshold = 0.1
    /// log10 density bins: [-8, 0] in half decades.
    public static let densityEdges: [Double] = stride(from: -8.0, through: 0.0, by: 0.5).map { $0 }
    public static let scoreEdges: [Double] = stride(from: 0.0, through: 1.0, by: 0.1).map { $0 }

    public func histogram(_ m: OverviewMetric) -> OverviewHistogram? { histograms.first { $0.metric == m } }

    /// Reads every latent's summary once (a background job: 131,072 summaries take well under a second).
    public static func compute(part: Int, data: BrowserDataSource, maxActivationBins: Int = 16,
                               isCancelled: () -> Bool = { false }) -> PartOverview? {
        guard data.parts.indices.contains(part) else { return nil }
        let n = data.parts[part].latentCount
        var densities: [Double] = [], maxActs: [Double] = [], det: [Double] = [], fuzz: [Double] = []
        densities.reserveCapacity(n)
        maxActs.reserveCapacity(n)
        var dead = 0, dense = 0, explained = 0, scored = 0
        var l0 = 0.0
        for i in 0 ..< n {
            if i & 1023 == 0 && isCancelled() { return nil }
            let s = data.summary(part: part, latent: i)
            l0 += s.density
            if s.density <= 0 { dead += 1 } else { densities.append(log10(s.density)) }
            if s.density > denseThreshold { dense += 1 }
            if s.explanation != nil { explained += 1 }
            if s.detection != nil || s.fuzz != nil { scored += 1 }
            if s.density > 0 { maxActs.append(Double(s.maxActivation)) }
            if let d = s.detection { det.append(d) }
            if let f = s.fuzz { fuzz.append(f) }
        }
        let top = maxActs.max() ?? 1
        let actEdges = (0 ... maxActivationBins).map { Double($0) * (top > 0 ? top : 1) / Double(maxActivationBins) }
        return PartOverview(part: part, latents: n, dead: dead, dense: dense, explained: explained, scored: scored, meanL0: l0,
                            histograms: [histogram(.density, densities, edges: densityEdges, missing: dead),
                                         histogram(.maxActivation, maxActs, edges: actEdges, missing: dead),
                                         histogram(.detection, det, edges: scoreEdges, missing: n - det.count),
                                         histogram(.fuzz, fuzz, edges: scoreEdges, missing: n - fuzz.count)])
    }

    static func histogram(_ m: OverviewMetric, _ values: [Double], edges: [Double], missing: Int) -> OverviewHistogram {
        var h = OverviewHistogram(metric: m, edges: edges, counts: [Int](repeating: 0, count: edges.count - 1), missing: missing)
        for v in values {
            // Values below the first edge (densities under 1e-8) go to the first bin, above the last to the last.
            let c = min(max(v, edges[0]), edges[edges.count - 1])
            if let b = h.bin(of: c) { h.counts[b] += 1 }
        }
        return h
    }
}

func power10(_ x: Double) -> Double { pow(10, x) }
