import Foundation
import LatentCache

/// Small JSON helpers for delphi's files (written by Python: key order, NaN literals, ints as bools).
enum DelphiJSON {
    /// A JSON string literal (UTF-8 kept; quotes, backslashes and control characters escaped).
    static func stringLiteral(_ s: String) -> String { DelphiJSONFormat.stringLiteral(s) }

    /// A JSON number as delphi's orjson writes floats (shortest round-trip); `null` when not finite.
    static func number(_ d: Double) -> String { DelphiJSONFormat.orjson(d) }

    /// A compact array of delphi classifier samples, keys in delphi's dataclass order.
    static func classifierArray(_ samples: [DelphiClassifierSample]) -> String {
        var out = "["
        for (i, s) in samples.enumerated() {
            if i > 0 { out += "," }
            out += "{\"str_tokens\":[" + s.strTokens.map(stringLiteral).joined(separator: ",") + "]"
            out += ",\"activations\":[" + s.activations.map(number).joined(separator: ",") + "]"
            let d = s.distance
            out += ",\"distance\":" + (d.isFinite && d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : number(d))
            out += ",\"activating\":" + (s.activating ? "true" : "false")
            out += ",\"prediction\":" + (s.prediction.map { $0 ? "true" : "false" } ?? "null")
            out += ",\"probability\":" + (s.probability.map(number) ?? "null")
            out += ",\"correct\":" + (s.correct.map { $0 ? "true" : "false" } ?? "null") + "}"
        }
        return out + "]"
    }

    static func number(_ v: Any) -> Double? {
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String, s.lowercased() == "nan" { return .nan }
        return nil
    }

    /// JSON booleans, or Python's 0/1 ints (delphi's predictions come from `json.loads`).
    static func bool(_ v: Any) -> Bool? {
        if let n = v as? NSNumber {
            let d = n.doubleValue
            if d == 0 { return false }
            if d == 1 { return true }
            return nil
        }
        return v as? Bool
    }

    /// Replaces Python's bare `NaN`, `Infinity`, `-Infinity` (outside strings) by `null`.
    static func replacingNonFiniteLiterals(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false, escaped = false
        var i = 0
        let null = Array("null".utf8)
        let words: [[UInt8]] = [Array("-Infinity".utf8), Array("Infinity".utf8), Array("NaN".utf8)]
        outer: while i < bytes.count {
            let b = bytes[i]
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true; out.append(b); i += 1; continue }
            for w in words where i + w.count <= bytes.count && Array(bytes[i..<(i + w.count)]) == w {
                out += null
                i += w.count
                continue outer
            }
            out.append(b)
            i += 1
        }
        return Data(out)
    }
}
