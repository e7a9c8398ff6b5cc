import Foundation

/// The shape of a JSON document as reviewable text: one line per path with its type, e.g.
///
///     $.results[].ceClean  number
///
/// Objects list their keys; arrays merge the shapes of their elements (`[]`); types are object, array, string,
/// number (integers and fractions alike: an encoder writes a whole Double as `32`), bool and null. A path whose
/// elements disagree lists every type seen (`number|string`); an array that is always empty is `array (empty)`.
enum JSONShape {
    struct ParseError: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "JSON at byte \(offset): \(reason)" }
    }

    /// The shape lines of `text` (a single JSON value, surrounding whitespace allowed).
    static func describe(_ text: String) throws -> String {
        var parser = Parser(bytes: Array(text.utf8))
        var types: [String: Set<String>] = [:]
        try parser.value(path: "$", into: &types)
        parser.skipSpace()
        guard parser.i == parser.bytes.count else { throw ParseError(offset: parser.i, reason: "text after the JSON value") }
        // An array seen only empty has no element lines; mark it.
        for (path, t) in types where t == ["array"] && types[path + "[]"] == nil { types[path] = ["array (empty)"] }
        return types.keys.sorted().map { "\($0)  \(types[$0]!.sorted().joined(separator: "|"))" }.joined(separator: "\n") + "\n"
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let l = Array(literal.utf8)
            guard i + l.count <= bytes.count, Array(bytes[i ..< i + l.count]) == l else {
                throw ParseError(offset: i, reason: "expected \(literal)")
            }
            i += l.count
        }

        mutating func string() throws -> String {
            try expect("\"")
            var out: [UInt8] = []
            while i < bytes.count, bytes[i] != 0x22 {
                if bytes[i] == 0x5C { out.append(bytes[i]); i += 1 }
                guard i < bytes.count else { break }
                out.append(bytes[i])
                i += 1
            }
            try expect("\"")
            return String(decoding: out, as: UTF8.self)
        }

        mutating func value(path: String, into types: inout [String: Set<String>]) throws {
            skipSpace()
            guard i < bytes.count else { throw ParseError(offset: i, reason: "unexpected end") }
            switch bytes[i] {
            case 0x7B:  // {
                types[path, default: []].insert("object")
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == 0x7D { i += 1; return }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    try value(path: path + "." + key, into: &types)
                    skipSpace()
                    if i < bytes.count, bytes[i] == 0x2C { i += 1; continue }
                    try expect("}")
                    return
                }
            case 0x5B:  // [
                types[path, default: []].insert("array")
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == 0x5D { i += 1; return }
                while true {
                    try value(path: path + "[]", into: &types)
                    skipSpace()
                    if i < bytes.count, bytes[i] == 0x2C { i += 1; continue }
                    try expect("]")
                    return
                }
            case 0x22:
                _ = try string()
                types[path, default: []].insert("string")
            case 0x74: try expect("true"); types[path, default: []].insert("bool")
            case 0x66: try expect("false"); types[path, default: []].insert("bool")
            case 0x6E: try expect("null"); types[path, default: []].insert("null")
            default:
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                guard i > start else { throw ParseError(offset: i, reason: "unexpected byte \(bytes[i])") }
                types[path, default: []].insert("number")
            }
        }
    }
}
