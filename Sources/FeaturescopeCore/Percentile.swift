/// Order statistics of a sample, the one implementation for benchmarks and bootstrap intervals.
public enum Percentile {
    /// The value at fraction `p` (0…1) of an ascending-sorted sample: element ⌊p·(n−1)⌋ (no interpolation), or
    /// nil for an empty sample.
    public static func lowerRank<T>(_ sorted: [T], _ p: Double) -> T? {
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, max(0, Int(Double(sorted.count - 1) * p)))]
    }

    /// The median (the mean of the two middle values for an even count); NaN for an empty sample.
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
