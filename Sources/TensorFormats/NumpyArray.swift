import Foundation

/// One array read from a `.npy` file (or a member of an `.npz` archive), converted to Float.
public struct NumpyArray: Sendable, Equatable {
    /// Row-major (C order) shape; Fortran-ordered files are transposed into C order at read.
    public let shape: [Int]
    /// numpy's descr as the file wrote it (`<f4`, `>f8`, `<f2`…).
    public let descr: String
    public let values: [Float]

    /// Parses a `.npy` file's bytes (format versions 1.0, 2.0 and 3.0).
    ///
    /// Reads little/big-endian float16/32/64, (unsigned) integers and bool; C or Fortran order. Refuses
    /// object arrays (they are pickles), structured/void dtypes (e.g. `ml_dtypes.bfloat16`, which numpy writes as
    /// an opaque `|V2`), complex numbers and strings, naming the descr. `name` labels errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, name: String) throws -> NumpyArray {
        var r = BinaryReader(bytes, path: name)
        let magic = try r.readBytes(6, "npy magic")
        guard Array(magic) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw FormatError.badMagic(path: name, found: magic.map { String(format: "%02x", $0) }.joined(), expected: ".npy (\\x93NUMPY)")
        }
        let major = try r.read(UInt8.self, "npy major version")
        _ = try r.read(UInt8.self, "npy minor version")
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try r.read(UInt16.self, "npy header length"))
        case 2, 3: headerLength = Int(try r.read(UInt32.self, "npy header length"))
        default: throw FormatError.unsupportedVersion(path: name, version: UInt32(major), supported: "npy 1.0, 2.0, 3.0")
        }
        let header = try r.readString(headerLength, "npy header")
        let dict = try PythonLiteral.parseDict(header, path: name)
        guard case let .string(descr)? = dict["descr"] else {
            throw FormatError.invalidHeader(path: name, reason: "npy header has no string 'descr' (structured dtypes are not supported): \(header.prefix(120))")
        }
        guard case let .bool(fortran)? = dict["fortran_order"] else {
            throw FormatError.invalidHeader(path: name, reason: "npy header has no boolean 'fortran_order'")
        }
        guard case let .tuple(dims)? = dict["shape"] else {
            throw FormatError.invalidHeader(path: name, reason: "npy header has no tuple 'shape'")
        }
        var shape: [Int] = []
        for d in dims {
            guard case let .int(v) = d, v >= 0 else { throw FormatError.invalidHeader(path: name, reason: "npy shape \(dims) has a non-integer or negative size") }
            shape.append(v)
        }
        let (kind, size, bigEndian) = try elementType(descr, path: name)
        guard let count = CheckedSize.product(shape), let byteCount = CheckedSize.multiply(count, size) else {
            throw FormatError.invalidHeader(path: name, reason: "npy shape \(shape) overflows")
        }
        let raw = try r.readBytes(byteCount, "npy data of shape \(shape) (\(descr))")
        var values = [Float](repeating: 0, count: count)
        if !bigEndian, let dtype = safetensorsType(kind, size) {
            values.withUnsafeMutableBufferPointer { SafetensorsFile.convert(raw, dtype: dtype, count: count, into: $0) }
        } else {
            for i in 0 ..< count {
                values[i] = scalar(raw, i * size, kind: kind, size: size, bigEndian: bigEndian)
            }
        }
        if fortran && shape.count > 1 {
            // Fortran order: the first index varies fastest. Reorder into C order.
            var strides = [Int](repeating: 1, count: shape.count)
            for k in 1 ..< shape.count { strides[k] = strides[k - 1] * shape[k - 1] }
            var c = [Float](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for flat in 0 ..< count {
                var src = 0
                for k in 0 ..< shape.count { src += index[k] * strides[k] }
                c[flat] = values[src]
                var k = shape.count - 1
                while k >= 0 {
                    index[k] += 1
                    if index[k] < shape[k] { break }
                    index[k] = 0
                    k -= 1
                }
            }
            values = c
        }
        return NumpyArray(shape: shape, descr: descr, values: values)
    }

    enum Kind { case float, signed, unsigned, bool }

    /// The same little-endian element type in safetensors terms (whose converter does the work).
    static func safetensorsType(_ kind: Kind, _ size: Int) -> SafetensorsDType? {
        switch (kind, size) {
        case (.float, 2): return .F16
        case (.float, 4): return .F32
        case (.float, 8): return .F64
        case (.signed, 1): return .I8
        case (.signed, 2): return .I16
        case (.signed, 4): return .I32
        case (.signed, 8): return .I64
        case (.unsigned, 1): return .U8
        case (.unsigned, 2): return .U16
        case (.unsigned, 4): return .U32
        case (.unsigned, 8): return .U64
        case (.bool, _): return .BOOL
        default: return nil
        }
    }

    static func elementType(_ descr: String, path: String) throws -> (Kind, Int, Bool) {
        var chars = Array(descr)
        guard chars.count >= 2 else { throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is not read (float16/32/64, integers and bool are)") }
        var bigEndian = false
        switch chars[0] {
        case "<", "|", "=": chars.removeFirst()
        case ">": bigEndian = true; chars.removeFirst()
        default: break
        }
        let code = chars[0]
        if code == "O" {
            throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is an object array; those are pickles, which are never loaded")
        }
        guard let size = Int(String(chars.dropFirst())) else {
            throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is not read (float16/32/64, integers and bool are)")
        }
        let kind: Kind
        switch (code, size) {
        case ("f", 2), ("f", 4), ("f", 8): kind = .float
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): kind = .signed
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): kind = .unsigned
        case ("b", 1): kind = .bool
        case ("V", _):
            throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is an opaque void type (e.g. ml_dtypes.bfloat16), which is not read; save the array as float32")
        case ("O", _):
            throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is an object array; those are pickles, which are never loaded")
        default:
            throw FormatError.invalidTensor(path: path, tensor: "npy", reason: "dtype '\(descr)' is not read (float16/32/64, integers and bool are)")
        }
        return (kind, size, bigEndian)
    }

    @inline(__always)
    static func scalar(_ raw: UnsafeRawBufferPointer, _ at: Int, kind: Kind, size: Int, bigEndian: Bool) -> Float {
        func u<T: FixedWidthInteger>(_: T.Type) -> T {
            let v = raw.loadUnaligned(fromByteOffset: at, as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch (kind, size) {
        case (.float, 2): return HalfFloat.toFloat(u(UInt16.self))
        case (.float, 4): return Float(bitPattern: u(UInt32.self))
        case (.float, 8): return Float(Double(bitPattern: u(UInt64.self)))
        case (.signed, 1): return Float(Int8(bitPattern: raw[at]))
        case (.signed, 2): return Float(u(Int16.self))
        case (.signed, 4): return Float(u(Int32.self))
        case (.signed, 8): return Float(u(Int64.self))
        case (.unsigned, 2): return Float(u(UInt16.self))
        case (.unsigned, 4): return Float(u(UInt32.self))
        case (.unsigned, 8): return Float(u(UInt64.self))
        default: return Float(raw[at])
        }
    }
}

/// An `.npz` archive (`numpy.savez` / `savez_compressed`): a zip of `NAME.npy` members.
public final class NumpyArchive: @unchecked Sendable {
    public let path: String
    public let zip: ZipArchive
    /// Array names (member names without `.npy`), in archive order.
    public let names: [String]

    public init(path: String) throws {
        self.path = path
        do { zip = try ZipArchive(path: path) } catch let FormatError.invalidHeader(_, reason) {
            throw FormatError.invalidHeader(path: path, reason: "not a readable .npz (zip) archive: \(reason)")
        }
        names = zip.entries.map(\.name).filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }
    }

    public func has(_ name: String) -> Bool { zip.entry(name + ".npy") != nil }

    /// The array `name`.
    public func array(_ name: String) throws -> NumpyArray {
        guard let e = zip.entry(name + ".npy") else { throw FormatError.tensorNotFound(path: path, tensor: name) }
        let bytes = try zip.contents(e)
        return try bytes.withUnsafeBytes { try NumpyArray.parse($0, name: "\(path):\(e.name)") }
    }
}

/// The few Python literals a `.npy` header (and similar metadata) holds: dicts, tuples, lists, strings,
/// integers, floats, True/False/None.
public indirect enum PythonLiteral: Sendable, Equatable {
    case string(String), int(Int), float(Double), bool(Bool), none
    case tuple([PythonLiteral]), list([PythonLiteral]), dict([(String, PythonLiteral)])

    public static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none): return true
        case let (.tuple(x), .tuple(y)), let (.list(x), .list(y)): return x == y
        case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Parses `text` as a dict literal with string keys.
    public static func parseDict(_ text: String, path: String) throws -> [String: PythonLiteral] {
        var p = Parser(chars: Array(text.unicodeScalars), path: path)
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.chars.count, case let .dict(pairs) = v else {
            throw FormatError.invalidHeader(path: path, reason: "header is not a Python dict literal: \(text.prefix(120))")
        }
        return Dictionary(pairs, uniquingKeysWith: { _, b in b })
    }

    struct Parser {
        let chars: [Unicode.Scalar]
        let path: String
        var i = 0

        mutating func skipSpace() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }

        func fail(_ what: String) -> FormatError {
            FormatError.invalidHeader(path: path, reason: "\(what) at character \(i) of the header")
        }

        mutating func value(depth: Int) throws -> PythonLiteral {
            guard depth < 32 else { throw fail("literal nested too deeply") }
            skipSpace()
            guard i < chars.count else { throw fail("unexpected end") }
            let c = chars[i]
            switch c {
            case "{":
                i += 1
                var pairs: [(String, PythonLiteral)] = []
                while true {
                    skipSpace()
                    if i < chars.count, chars[i] == "}" { i += 1; return .dict(pairs) }
                    guard case let .string(k) = try value(depth: depth + 1) else { throw fail("dict key is not a string") }
                    skipSpace()
                    guard i < chars.count, chars[i] == ":" else { throw fail("expected ':'") }
                    i += 1
                    pairs.append((k, try value(depth: depth + 1)))
                    skipSpace()
                    if i < chars.count, chars[i] == "," { i += 1; continue }
                    guard i < chars.count, chars[i] == "}" else { throw fail("expected ',' or '}'") }
                }
            case "(", "[":
                let close: Unicode.Scalar = c == "(" ? ")" : "]"
                i += 1
                var items: [PythonLiteral] = []
                while true {
                    skipSpace()
                    if i < chars.count, chars[i] == close { i += 1; return c == "(" ? .tuple(items) : .list(items) }
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if i < chars.count, chars[i] == "," { i += 1; continue }
                    guard i < chars.count, chars[i] == close else { throw fail("expected ',' or '\(close)'") }
                }
            case "'", "\"":
                i += 1
                var s = String.UnicodeScalarView()
                while i < chars.count, chars[i] != c {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    s.append(chars[i]); i += 1
                }
                guard i < chars.count else { throw fail("unterminated string") }
                i += 1
                return .string(String(s))
            default:
                var word = ""
                while i < chars.count, chars[i].properties.isAlphabetic || ("0" ... "9").contains(chars[i]) || "+-._".unicodeScalars.contains(chars[i]) {
                    word.unicodeScalars.append(chars[i]); i += 1
                }
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default:
                    let digits = word.hasSuffix("L") ? String(word.dropLast()) : word
                    if let v = Int(digits) { return .int(v) }
                    if let d = Double(word) { return .float(d) }
                    throw fail(word.isEmpty ? "unexpected character '\(c)'" : "unknown token '\(word)'")
                }
            }
        }
    }
}
