import Foundation

/// A metadata value of a GGUF file.
public enum GGUFValue: Sendable, Equatable {
    case uint(UInt64)     // UINT8, UINT16, UINT32, UINT64
    case int(Int64)       // INT8, INT16, INT32, INT64
    case float(Double)    // FLOAT32, FLOAT64
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The value as an Int when it is an integer that fits.
    public var intValue: Int? {
        switch self {
        case .uint(let u): return u <= UInt64(Int.max) ? Int(u) : nil
        case .int(let i): return Int(exactly: i)
        default: return nil
        }
    }

    /// The value as a Double when it is a number.
    public var doubleValue: Double? {
        switch self {
        case .float(let d): return d
        case .uint(let u): return Double(u)
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [GGUFValue]? { if case .array(let a) = self { return a }; return nil }
}

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions as GGUF stores them: `dims[0]` varies fastest (columns of a row-major matrix).
    public let dims: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the data in the file.
    public let fileOffset: Int
    /// Number of elements.
    public let count: Int
    /// Number of bytes.
    public let byteCount: Int
}

/// A memory-mapped GGUF (version 2 or 3) file: metadata and tensor views.
///
/// The header is parsed with bounds checks on every read; every tensor's type,
/// shape and data range are validated at open, so later accessors cannot fault.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Tensors by name.
    public let tensors: [String: GGUFTensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let file: MappedFile

    /// Opens and validates `path`.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        self.path = path
        var r = BinaryReader(file.bytes, path: path)
        let magic = try r.readBytes(4, "magic")
        guard Array(magic) == Array("GGUF".utf8) else {
            throw FormatError.badMagic(path: path, found: GGUFFile.printable(magic), expected: "GGUF")
        }
        version = try r.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw FormatError.unsupportedVersion(path: path, version: version, supported: "2, 3")
        }
        let tensorCount = try r.read(UInt64.self, "tensor count")
        let kvCount = try r.read(UInt64.self, "metadata count")
        // Each metadata entry and tensor entry takes at least 8+4 bytes: cap counts by the file size.
        guard kvCount <= UInt64(r.remaining / 12), tensorCount <= UInt64(r.remaining / 12) else {
            throw FormatError.invalidHeader(path: path, reason: "absurd counts: \(tensorCount) tensors, \(kvCount) metadata entries in a \(file.count)-byte file")
        }
        var meta: [String: GGUFValue] = [:]
        for i in 0 ..< Int(kvCount) {
            let key = try GGUFFile.readString(&r, "metadata key #\(i)")
            let type = try r.read(UInt32.self, "type of '\(key)'")
            let value = try GGUFFile.readValue(&r, type: type, key: key, depth: 0)
            guard meta[key] == nil else {
                throw FormatError.invalidHeader(path: path, reason: "duplicate metadata key '\(key)'")
            }
            meta[key] = value
        }
        metadata = meta
        var alignment = 32
        if let a = meta["general.alignment"] {
            guard let v = a.intValue, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw FormatError.invalidHeader(path: path, reason: "general.alignment must be a power of two")
            }
            alignment = v
        }
        struct Raw { let name: String; let dims: [Int]; let type: UInt32; let offset: UInt64 }
        var raws: [Raw] = []
        for i in 0 ..< Int(tensorCount) {
            let name = try GGUFFile.readString(&r, "tensor name #\(i)")
            let nd = try r.read(UInt32.self, "n_dims of '\(name)'")
            guard nd >= 1, nd <= 8 else {
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "\(nd) dimensions (expected 1…8)")
            }
            var dims: [Int] = []
            for _ in 0 ..< nd {
                let d = try r.read(UInt64.self, "dims of '\(name)'")
                guard d <= UInt64(Int32.max) else {
                    throw FormatError.invalidTensor(path: path, tensor: name, reason: "absurd dimension \(d)")
                }
                dims.append(Int(d))
            }
            let type = try r.read(UInt32.self, "type of '\(name)'")
            let off = try r.read(UInt64.self, "offset of '\(name)'")
            raws.append(Raw(name: name, dims: dims, type: type, offset: off))
        }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        var infos: [String: GGUFTensorInfo] = [:]
        var names: [String] = []
        for raw in raws {
            guard let type = GGMLType(rawValue: raw.type) else {
                throw FormatError.unsupportedTensorType(path: path, tensor: raw.name, type: GGMLType.name(of: raw.type))
            }
            guard let count = CheckedSize.product(raw.dims), count > 0 else {
                throw FormatError.invalidTensor(path: path, tensor: raw.name, reason: "shape \(raw.dims) overflows or is empty")
            }
            guard count % type.blockSize == 0, raw.dims[0] % type.blockSize == 0 else {
                throw FormatError.invalidTensor(path: path, tensor: raw.name, reason: "row length \(raw.dims[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            guard let bytes = CheckedSize.multiply(count / type.blockSize, type.blockBytes),
                  raw.offset <= UInt64(Int.max / 2),
                  let start = CheckedSize.add(dataStart, Int(raw.offset)),
                  let end = CheckedSize.add(start, bytes), end <= file.count else {
                throw FormatError.truncated(path: path, offset: dataStart &+ Int(truncatingIfNeeded: raw.offset), needed: count, available: max(0, file.count - dataStart), what: "data of tensor '\(raw.name)'")
            }
            guard Int(raw.offset) % alignment == 0 else {
                throw FormatError.invalidTensor(path: path, tensor: raw.name, reason: "offset \(raw.offset) is not aligned to \(alignment)")
            }
            guard infos[raw.name] == nil else {
                throw FormatError.invalidHeader(path: path, reason: "duplicate tensor name '\(raw.name)'")
            }
            infos[raw.name] = GGUFTensorInfo(name: raw.name, dims: raw.dims, type: type, fileOffset: start, count: count, byteCount: bytes)
            names.append(raw.name)
        }
        try GGUFFile.checkLayout(names.compactMap { infos[$0] }, dataStart: dataStart, alignment: alignment, file: file)
        tensors = infos
        tensorNames = names
    }

    /// Refuses data regions that overlap, are out of file order or leave gaps: GGUF writers store
    /// tensors in header order, each padded to the alignment, so a tensor whose type, shape or offset
    /// was changed shows up as a region that does not start where the previous one's padding ends.
    private static func checkLayout(_ infos: [GGUFTensorInfo], dataStart: Int, alignment: Int, file: MappedFile) throws {
        var expected = dataStart
        var previous = "the header"
        for t in infos {
            guard t.fileOffset == expected else {
                let relation = t.fileOffset < expected ? "overlaps the data of \(previous)" : "leaves a gap after \(previous)"
                throw FormatError.invalidTensor(path: file.path, tensor: t.name, reason: "data at offset \(t.fileOffset - dataStart) \(relation) (expected offset \(expected - dataStart): tensors are stored in order, each padded to \(alignment) bytes); its type, shape or offset disagrees with the file")
            }
            expected = (t.fileOffset + t.byteCount + alignment - 1) / alignment * alignment
            previous = "'\(t.name)' (\(t.type), \(t.byteCount) bytes)"
        }
        if let last = infos.last, file.count > expected {
            throw FormatError.invalidTensor(path: file.path, tensor: last.name, reason: "the file holds \(file.count - expected) bytes after this last tensor's data (it ends at \(last.fileOffset + last.byteCount)); its type, shape or offset disagrees with the file")
        }
    }

    // MARK: - Tensor access

    /// The tensor's info, or `tensorNotFound`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let t = tensors[name] else { throw FormatError.tensorNotFound(path: path, tensor: name) }
        return t
    }

    /// The tensor's raw bytes (still encoded), a view into the mapping.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let t = try info(name)
        return try file.slice(offset: t.fileOffset, count: t.byteCount, what: "tensor '\(name)'")
    }

    /// Decodes the whole tensor into a new Float array (row-major, `dims[0]` fastest).
    public func dequantize(_ name: String) throws -> [Float] {
        let t = try info(name)
        let raw = try rawBytes(name)
        return [Float](unsafeUninitializedCapacity: t.count) { buf, n in
            if let base = buf.baseAddress { GGMLDequantize.decode(t.type, src: raw, count: t.count, into: base) }
            n = t.count
        }
    }

    // MARK: - Metadata helpers

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw FormatError.metadataMissing(path: path, key: key) }
        guard let i = v.intValue else { throw FormatError.metadataType(path: path, key: key, expected: "an integer") }
        return i
    }

    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw FormatError.metadataMissing(path: path, key: key) }
        guard let d = v.doubleValue else { throw FormatError.metadataType(path: path, key: key, expected: "a number") }
        return d
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw FormatError.metadataMissing(path: path, key: key) }
        guard let s = v.stringValue else { throw FormatError.metadataType(path: path, key: key, expected: "a string") }
        return s
    }

    public func stringArray(_ key: String) throws -> [String] {
        guard let v = metadata[key] else { throw FormatError.metadataMissing(path: path, key: key) }
        guard let a = v.arrayValue else { throw FormatError.metadataType(path: path, key: key, expected: "an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.stringValue else { throw FormatError.metadataType(path: path, key: key, expected: "an array of strings") }
            out.append(s)
        }
        return out
    }

    public func intArray(_ key: String) throws -> [Int] {
        guard let v = metadata[key] else { throw FormatError.metadataMissing(path: path, key: key) }
        guard let a = v.arrayValue else { throw FormatError.metadataType(path: path, key: key, expected: "an array of integers") }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let i = e.intValue else { throw FormatError.metadataType(path: path, key: key, expected: "an array of integers") }
            out.append(i)
        }
        return out
    }

    // MARK: - Parsing

    private static func readString(_ r: inout BinaryReader, _ what: String) throws -> String {
        let n = try r.read(UInt64.self, "length of \(what)")
        guard n <= UInt64(r.remaining) else {
            throw FormatError.truncated(path: r.path, offset: r.offset, needed: Int(clamping: n), available: r.remaining, what: what)
        }
        return try r.readString(Int(n), what)
    }

    private static func readValue(_ r: inout BinaryReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try r.read(UInt8.self, key)))
        case 1: return .int(Int64(try r.read(Int8.self, key)))
        case 2: return .uint(UInt64(try r.read(UInt16.self, key)))
        case 3: return .int(Int64(try r.read(Int16.self, key)))
        case 4: return .uint(UInt64(try r.read(UInt32.self, key)))
        case 5: return .int(Int64(try r.read(Int32.self, key)))
        case 6: return .float(Double(try r.readFloat(key)))
        case 7:
            let b = try r.read(UInt8.self, key)
            guard b <= 1 else { throw FormatError.invalidHeader(path: r.path, reason: "bool '\(key)' has value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try readString(&r, "value of '\(key)'"))
        case 9:
            guard depth < 4 else { throw FormatError.invalidHeader(path: r.path, reason: "arrays nested too deeply in '\(key)'") }
            let et = try r.read(UInt32.self, "element type of '\(key)'")
            let n = try r.read(UInt64.self, "element count of '\(key)'")
            guard n <= UInt64(r.remaining) else {
                throw FormatError.truncated(path: r.path, offset: r.offset, needed: Int(clamping: n), available: r.remaining, what: "array '\(key)'")
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(Int(n))
            for _ in 0 ..< Int(n) { out.append(try readValue(&r, type: et, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint(try r.read(UInt64.self, key))
        case 11: return .int(try r.read(Int64.self, key))
        case 12: return .float(try r.readDouble(key))
        default: throw FormatError.unknownValueType(path: r.path, key: key, type: type)
        }
    }

    static func printable(_ b: UnsafeRawBufferPointer) -> String {
        b.map { (0x20 ..< 0x7F).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
    }
}
