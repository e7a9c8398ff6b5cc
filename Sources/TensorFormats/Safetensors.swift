import Foundation

/// Element types of safetensors files.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }
}

/// One tensor of a safetensors file.
public struct SafetensorsTensorInfo: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major shape (last dimension fastest).
    public let shape: [Int]
    /// Element count.
    public let count: Int
    /// Absolute byte offset of the data in the file.
    public let fileOffset: Int
    public let byteCount: Int
}

/// A memory-mapped safetensors file.
///
/// The JSON header is validated at open: every tensor's dtype, shape and byte
/// range must agree and lie inside the file.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [String: SafetensorsTensorInfo]
    /// `__metadata__` string pairs.
    public let metadata: [String: String]
    public let file: MappedFile

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        var r = BinaryReader(file.bytes, path: path)
        let n = try r.read(UInt64.self, "header length")
        guard n >= 2, n <= 100_000_000, n <= UInt64(r.remaining) else {
            throw FormatError.invalidHeader(path: path, reason: "header length \(n) does not fit a \(file.count)-byte file")
        }
        let headerBytes = try r.readBytes(Int(n), "JSON header")
        let dataStart = r.offset
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw FormatError.invalidHeader(path: path, reason: "header is not valid JSON")
        }
        guard let dict = json as? [String: Any] else {
            throw FormatError.invalidHeader(path: path, reason: "header is not a JSON object")
        }
        var meta: [String: String] = [:]
        var infos: [String: SafetensorsTensorInfo] = [:]
        let dataSize = file.count - dataStart
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw FormatError.invalidHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (k, v) in m { meta[k] = (v as? String) ?? "\(v)" }
                continue
            }
            guard let t = value as? [String: Any],
                  let dt = t["dtype"] as? String,
                  let shapeAny = t["shape"] as? [Any],
                  let offs = t["data_offsets"] as? [Any], offs.count == 2 else {
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "entry lacks dtype, shape or data_offsets")
            }
            guard let dtype = SafetensorsDType(rawValue: dt) else {
                let known = SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "dtype \(dt) is not one Featurescope reads (safetensors dtypes supported: \(known))")
            }
            var shape: [Int] = []
            for s in shapeAny {
                guard let v = SafetensorsFile.jsonInt(s), v >= 0 else {
                    throw FormatError.invalidTensor(path: path, tensor: name, reason: "bad shape \(shapeAny)")
                }
                shape.append(v)
            }
            guard let b = SafetensorsFile.jsonInt(offs[0]), let e = SafetensorsFile.jsonInt(offs[1]), b >= 0, e >= b else {
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "bad data_offsets \(offs)")
            }
            guard let count = CheckedSize.product(shape), let bytes = CheckedSize.multiply(count, dtype.size) else {
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "shape \(shape) overflows")
            }
            guard e - b == bytes else {
                throw FormatError.invalidTensor(path: path, tensor: name, reason: "shape \(shape) of \(dt) needs \(bytes) bytes but data_offsets span \(e - b)")
            }
            guard e <= dataSize else {
                throw FormatError.truncated(path: path, offset: dataStart + b, needed: bytes, available: max(0, dataSize - b), what: "data of tensor '\(name)'")
            }
            infos[name] = SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, count: count,
                                                fileOffset: dataStart + b, byteCount: bytes)
        }
        try SafetensorsFile.checkLayout(infos.values.sorted { ($0.fileOffset, $0.byteCount, $0.name) < ($1.fileOffset, $1.byteCount, $1.name) },
                                        dataStart: dataStart, fileSize: file.count, path: path)
        tensors = infos
        metadata = meta
    }

    /// The format requires the tensors' `data_offsets`, sorted, to tile the data section: each
    /// begins where the previous one ends, the first at 0 and the last at the end of the file.
    private static func checkLayout(_ sorted: [SafetensorsTensorInfo], dataStart: Int, fileSize: Int, path: String) throws {
        var expected = dataStart
        var previous = "the start of the data section"
        for t in sorted {
            guard t.fileOffset == expected else {
                let relation = t.fileOffset < expected ? "overlaps \(previous)" : "leaves \(t.fileOffset - expected) unused bytes after \(previous)"
                throw FormatError.invalidTensor(path: path, tensor: t.name, reason: "data_offsets [\(t.fileOffset - dataStart), \(t.fileOffset - dataStart + t.byteCount)] \(relation) (expected it to begin at \(expected - dataStart): offsets must be contiguous)")
            }
            expected += t.byteCount
            previous = "tensor '\(t.name)'"
        }
        guard expected == fileSize else {
            throw FormatError.invalidHeader(path: path, reason: "the tensors' data_offsets end at \(expected - dataStart) but the data section holds \(fileSize - dataStart) bytes")
        }
    }

    /// Tensor names, sorted.
    public var tensorNames: [String] { tensors.keys.sorted() }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensors[name] else { throw FormatError.tensorNotFound(path: path, tensor: name) }
        return t
    }

    /// Raw little-endian bytes of a tensor (a view into the mapping).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let t = try info(name)
        return try file.slice(offset: t.fileOffset, count: t.byteCount, what: "tensor '\(name)'")
    }

    /// Checks the tensor's shape; throws a message naming both shapes otherwise.
    public func expectShape(_ name: String, _ shape: [Int]) throws {
        let t = try info(name)
        guard t.shape == shape else {
            throw FormatError.invalidTensor(path: path, tensor: name, reason: "shape \(t.shape), expected \(shape)")
        }
    }

    /// The tensor converted to Float (from F64, F32, F16, BF16 or any integer type).
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        let raw = try rawBytes(name)
        return [Float](unsafeUninitializedCapacity: t.count) { buf, n in
            SafetensorsFile.convert(raw, dtype: t.dtype, count: t.count, into: buf)
            n = t.count
        }
    }

    /// The tensor converted to Int64 (integer and bool dtypes only).
    public func int64s(_ name: String) throws -> [Int64] {
        let t = try info(name)
        let raw = try rawBytes(name)
        var out = [Int64](repeating: 0, count: t.count)
        for i in 0 ..< t.count {
            switch t.dtype {
            case .I64: out[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
            case .U64:
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                out[i] = Int64(truncatingIfNeeded: v)
            case .I32: out[i] = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .U32: out[i] = Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .I16: out[i] = Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            case .U16: out[i] = Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .I8: out[i] = Int64(raw.load(fromByteOffset: i, as: Int8.self))
            case .U8, .BOOL: out[i] = Int64(raw.load(fromByteOffset: i, as: UInt8.self))
            default:
                throw FormatError.dtypeMismatch(path: path, tensor: name, found: t.dtype.rawValue, expected: "an integer dtype")
            }
        }
        return out
    }

    /// Converts `count` elements of `dtype` to Float.
    public static func convert(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType, count: Int,
                               into out: UnsafeMutableBufferPointer<Float>) {
        for i in 0 ..< count {
            let v: Float
            switch dtype {
            case .F32: v = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .F16: v = HalfFloat.toFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .BF16: v = HalfFloat.bf16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .F64: v = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            case .I64: v = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            case .U64: v = Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
            case .I32: v = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .U32: v = Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            case .I16: v = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            case .U16: v = Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .I8: v = Float(raw.load(fromByteOffset: i, as: Int8.self))
            case .U8, .BOOL: v = Float(raw.load(fromByteOffset: i, as: UInt8.self))
            }
            out[i] = v
        }
    }

    static func jsonInt(_ v: Any) -> Int? {
        if let n = v as? NSNumber {
            let d = n.doubleValue
            guard d >= 0, d < 9.0e15, d == d.rounded() else { return nil }
            return n.intValue
        }
        return nil
    }
}

/// Builds a safetensors file in memory and writes it atomically.
public struct SafetensorsWriter {
    private var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], data: Data)] = []
    /// `__metadata__` (string → string).
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a tensor from raw little-endian bytes; the size must match dtype × shape.
    public mutating func add(_ name: String, dtype: SafetensorsDType, shape: [Int], data: Data) throws {
        guard let n = CheckedSize.product(shape), n * dtype.size == data.count else {
            throw FormatError.invalidTensor(path: "(writer)", tensor: name, reason: "shape \(shape) of \(dtype.rawValue) does not match \(data.count) bytes")
        }
        guard !entries.contains(where: { $0.name == name }), name != "__metadata__" else {
            throw FormatError.invalidTensor(path: "(writer)", tensor: name, reason: "duplicate or reserved name")
        }
        entries.append((name, dtype, shape, data))
    }

    /// Adds Float values stored as F32, F16 or BF16.
    public mutating func add(_ name: String, floats: [Float], shape: [Int], dtype: SafetensorsDType = .F32) throws {
        var d = Data(capacity: floats.count * dtype.size)
        switch dtype {
        case .F32: floats.withUnsafeBufferPointer { b in for v in b { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } } }
        case .F16: for v in floats { withUnsafeBytes(of: HalfFloat.fromFloat(v).littleEndian) { d.append(contentsOf: $0) } }
        case .BF16: for v in floats { withUnsafeBytes(of: HalfFloat.floatToBF16(v).littleEndian) { d.append(contentsOf: $0) } }
        default:
            throw FormatError.invalidTensor(path: "(writer)", tensor: name, reason: "float data cannot be stored as \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, data: d)
    }

    /// Adds integer values stored as the given integer dtype (values must fit; checked).
    public mutating func add(_ name: String, integers: [Int64], shape: [Int], dtype: SafetensorsDType) throws {
        var d = Data(capacity: integers.count * dtype.size)
        func put<T: FixedWidthInteger>(_: T.Type) throws {
            for v in integers {
                guard let x = T(exactly: v) else {
                    throw FormatError.invalidTensor(path: "(writer)", tensor: name, reason: "value \(v) does not fit \(dtype.rawValue)")
                }
                withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) }
            }
        }
        switch dtype {
        case .I64: try put(Int64.self)
        case .U64: try put(UInt64.self)
        case .I32: try put(Int32.self)
        case .U32: try put(UInt32.self)
        case .I16: try put(Int16.self)
        case .U16: try put(UInt16.self)
        case .I8: try put(Int8.self)
        case .U8, .BOOL: try put(UInt8.self)
        default:
            throw FormatError.invalidTensor(path: "(writer)", tensor: name, reason: "integer data cannot be stored as \(dtype.rawValue)")
        }
        try add(name, dtype: dtype, shape: shape, data: d)
    }

    /// The complete file contents.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.data.count]]
            offset += e.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so data is 8-byte aligned
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for e in entries { out.append(e.data) }
        return out
    }

    /// Writes the file atomically (temp file + rename).
    public func write(to path: String) throws {
        let data = try serialized()
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw FormatError.writeFailed(path: path, reason: "cannot create \(tmp)")
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw FormatError.writeFailed(path: path, reason: reason)
        }
    }
}
