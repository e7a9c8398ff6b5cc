import Foundation

/// JSON as delphi's Python writes it: keys in a given order, ints kept apart from floats, floats as Python's
/// shortest `repr`, non-ASCII kept; compact like `orjson.dumps` or indented like `json.dump(…, indent=4)`.
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
        case .double(let d): out += Self.number(d)
        case .string(let s): Self.literal(s, into: &out)
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
                Self.literal(k, into: &out)
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

    /// Python's float repr (shortest round trip, `1e-05` style exponents); null when not finite (orjson's choice).
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        var s = "\(d)"
        if let e = s.firstIndex(of: "e") {
            // Swift writes 1e-05 as "1e-05" and 1e+20 as "1e+20", as Python does.
            let exp = s[s.index(after: e)...]
            if exp.first != "-" && exp.first != "+" { s.insert("+", at: s.index(after: e)) }
        }
        return s
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest kept.
    static func literal(_ s: String, into out: inout String) {
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
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }
}
