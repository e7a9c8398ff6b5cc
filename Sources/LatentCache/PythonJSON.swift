import FeaturescopeCore
import Foundation

/// JSON as delphi's Python writes it: keys in a given order, ints kept apart from floats, shortest round-trip
/// floats. Compact as `orjson.dumps` writes it (delphi's score and explanation files: decimal floats from 1e-5 up
/// to 1e16, else `1e-6`/`1e16`; non-ASCII kept) or indented as `json.dump(…, indent=4)` does (config.json,
/// run_config.json: Python's `repr` floats, `1e-05`/`1e+16`; non-ASCII and DEL escaped as `\uXXXX`).
indirect enum PythonJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([PythonJSON])
    case object([(String, PythonJSON)])

    static func == (a: PythonJSON, b: PythonJSON) -> Bool { a.compact == b.compact }

    /// From a decoded JSON value (object keys sorted; integral numbers below 2⁵³ become ints).
    init(_ v: JSONValue) {
        switch v {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let d): self = d == d.rounded() && abs(d) < 9_007_199_254_740_992 ? .int(Int(d)) : .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(PythonJSON.init))
        case .object(let o): self = .object(o.keys.sorted().map { ($0, PythonJSON(o[$0]!)) })
        }
    }

    /// The value of `key` in an object.
    subscript(key: String) -> PythonJSON? {
        guard case .object(let items) = self else { return nil }
        return items.first { $0.0 == key }?.1
    }

    /// An object with `key` set (replaced in place, or appended).
    func setting(_ key: String, _ value: PythonJSON) -> PythonJSON {
        guard case .object(var items) = self else { return self }
        if let i = items.firstIndex(where: { $0.0 == key }) { items[i].1 = value } else { items.append((key, value)) }
        return .object(items)
    }

    /// orjson's compact form: no spaces.
    var compact: String {
        var out = ""
        write(&out, indent: nil, level: 0)
        return out
    }

    /// `json.dump(…, indent: n)`'s form.
    func indented(_ n: Int) -> String {
        var out = ""
        write(&out, indent: n, level: 0)
        return out
    }

    private func write(_ out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += indent == nil ? Self.orjsonNumber(d) : Self.number(d)
        case .string(let s): Self.literal(s, asciiOnly: indent != nil, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                Self.newline(&out, indent, level + 1)
                v.write(&out, indent: indent, level: level + 1)
            }
            Self.newline(&out, indent, level)
            out += "]"
        case .object(let items):
            if items.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in items.enumerated() {
                if i > 0 { out += "," }
                Self.newline(&out, indent, level + 1)
                Self.literal(k, asciiOnly: indent != nil, into: &out)
                out += indent == nil ? ":" : ": "
                v.write(&out, indent: indent, level: level + 1)
            }
            Self.newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: Int?, _ level: Int) {
        guard let n = indent else { return }
        out += "\n" + String(repeating: " ", count: n * level)
    }

    /// Python's float repr: the shortest round-trip digits (Swift's `description` has the same), decimal from
    /// 1e-4 up to 1e16, else `1e-05`/`1e+16` (Swift switches to exponents at 2⁵³); null when not finite.
    static func number(_ d: Double) -> String { format(d, decimalFrom: -4) { $0 + "e" + ($1 < 0 ? "-" : "+") + (abs($1) < 10 ? "0" : "") + String(abs($1)) } }

    /// orjson's float: the same digits, decimal from 1e-5 (`0.0000125`) up to 1e16, else `1e-6`/`1e16`.
    static func orjsonNumber(_ d: Double) -> String { format(d, decimalFrom: -5) { $0 + "e" + String($1) } }

    /// Shortest round-trip digits, decimal for exponents in decimalFrom ..< 16, else `exponent(mantissa, e)`.
    private static func format(_ d: Double, decimalFrom low: Int, exponent: (String, Int) -> String) -> String {
        guard d.isFinite else { return "null" }
        let s = "\(d)"
        guard let e = s.firstIndex(of: "e"), let exp = Int(s[s.index(after: e)...]) else { return s }
        let mantissa = String(s[..<e])
        guard exp >= low, exp < 16 else { return exponent(mantissa, exp) }
        let sign = mantissa.hasPrefix("-") ? "-" : ""
        let digits = Array(mantissa.filter(\.isNumber))      // d.ddd × 10^exp
        if exp < 0 { return sign + "0." + String(repeating: "0", count: -exp - 1) + String(digits) }
        let whole = exp + 1
        if digits.count <= whole { return sign + String(digits) + String(repeating: "0", count: whole - digits.count) + ".0" }
        return sign + String(digits[..<whole]) + "." + String(digits[whole...])
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; with `asciiOnly` (json.dump's
    /// ensure_ascii) also DEL and every non-ASCII character, as UTF-16 `\uxxxx` escapes; `alsoEscaping` adds
    /// single code points to escape.
    static func literal(_ s: String, asciiOnly: Bool = false, alsoEscaping: Set<UInt32> = [], into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 || (asciiOnly && u.value >= 0x7F) || alsoEscaping.contains(u.value) {
                    for unit in String(u).utf16 { out += String(format: "\\u%04x", UInt32(unit)) }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

/// delphi's number and string formats, for the delphi files other modules write (`--delphi-out`).
public enum DelphiJSONFormat {
    /// A float as `orjson.dumps` writes it in delphi's score files (`0.0000125`, `1e-6`, `1e16`); `null` when not finite.
    public static func orjson(_ d: Double) -> String { PythonJSON.orjsonNumber(d) }

    /// A JSON string literal for delphi's explanation files: UTF-8 kept; quotes, backslashes, control characters,
    /// DEL and the line/paragraph separators U+2028/U+2029 escaped.
    public static func stringLiteral(_ s: String) -> String {
        var out = ""
        PythonJSON.literal(s, alsoEscaping: [0x7F, 0x2028, 0x2029], into: &out)
        return out
    }
}
