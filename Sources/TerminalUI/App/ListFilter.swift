/// Filters of the latent list, written as words: `detect>=0.7 fuzz<0.6 score>0.8 density<1e-3 explained unscored`.
public struct ListFilter: Sendable, Equatable {
    public var detection: ClosedRange<Double>?
    public var fuzz: ClosedRange<Double>?
    /// Either score in range.
    public var score: ClosedRange<Double>?
    public var density: ClosedRange<Double>?
    /// Maximum activation in range (`maxact>=2`).
    public var maxActivation: ClosedRange<Double>?
    /// true: only explained; false: only unexplained.
    public var explained: Bool?
    /// true: only unscored; false: only scored.
    public var unscored: Bool?

    public init() {}

    public var isEmpty: Bool { self == ListFilter() }

    /// True when `s` passes every condition.
    public func accepts(_ s: BrowserLatentSummary) -> Bool {
        if let e = explained, (s.explanation != nil) != e { return false }
        let isUnscored = s.detection == nil && s.fuzz == nil
        if let u = unscored, isUnscored != u { return false }
        if let r = detection { guard let d = s.detection, r.contains(d) else { return false } }
        if let r = fuzz { guard let f = s.fuzz, r.contains(f) else { return false } }
        if let r = score {
            let inRange = [s.detection, s.fuzz].contains { v in v.map { r.contains($0) } ?? false }
            if !inRange { return false }
        }
        if let r = density, !r.contains(s.density) { return false }
        if let r = maxActivation, !r.contains(Double(s.maxActivation)) { return false }
        return true
    }

    /// Parses the filter words; the error names the word that did not parse.
    public static func parse(_ text: String) -> Result<ListFilter, BrowserError> {
        var f = ListFilter()
        for word in text.split(separator: " ").map(String.init) {
            switch word.lowercased() {
            case "explained": f.explained = true; continue
            case "unexplained": f.explained = false; continue
            case "unscored": f.unscored = true; continue
            case "scored": f.unscored = false; continue
            default: break
            }
            guard let (name, op, value) = splitComparison(word) else {
                return .failure(BrowserError("filter: cannot read '\(word)' (try detect>=0.7, fuzz<0.6, score>0.8, density<1e-3, explained, unexplained, scored, unscored)"))
            }
            let range: ClosedRange<Double>
            switch op {
            case ">", ">=": range = value...Double.greatestFiniteMagnitude
            case "<", "<=": range = -Double.greatestFiniteMagnitude...value
            default: range = value...value
            }
            /// Intersects with an earlier condition on the same field; disjoint → a range no finite value is in.
            func merge(_ old: ClosedRange<Double>?) -> ClosedRange<Double> {
                guard let o = old else { return range }
                let lo = max(o.lowerBound, range.lowerBound), hi = min(o.upperBound, range.upperBound)
                return lo <= hi ? lo...hi : Double.infinity...Double.infinity
            }
            switch name {
            case "detect", "detection": f.detection = merge(f.detection)
            case "fuzz", "fuzzing": f.fuzz = merge(f.fuzz)
            case "score": f.score = merge(f.score)
            case "density": f.density = merge(f.density)
            case "maxact": f.maxActivation = merge(f.maxActivation)
            default:
                return .failure(BrowserError("filter: unknown field '\(name)' (fields: detect, fuzz, score, density, maxact)"))
            }
        }
        return .success(f)
    }

    static func splitComparison(_ word: String) -> (String, String, Double)? {
        for op in [">=", "<=", ">", "<", "="] {
            if let r = word.range(of: op) {
                let name = String(word[word.startIndex..<r.lowerBound]).lowercased()
                let valueText = String(word[r.upperBound...])
                guard !name.isEmpty, let v = Double(valueText), v.isFinite else { return nil }
                return (name, op, v)
            }
        }
        return nil
    }
}
