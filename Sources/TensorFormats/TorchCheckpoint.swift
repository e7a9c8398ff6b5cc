import Foundation

/// One tensor of a torch.save archive, with its data converted to Float (contiguous, row-major).
public struct TorchTensor: Sendable, Equatable {
    public let shape: [Int]
    /// The storage's dtype (F32, F16, BF16, F64, I64…).
    public let dtype: SafetensorsDType
    public let values: [Float]
}

/// A PyTorch `torch.save` file (the zip format of PyTorch ≥ 1.6) read without running any of its code.
///
/// `data.pkl` goes through `RestrictedUnpickler`; tensor data come from the archive's `data/<key>` members, in the
/// byte order the archive's `byteorder` member names (little when absent). Nested dicts are flattened with dots
/// (`{"state_dict": {"W_enc": …}}` → `state_dict.W_enc`); non-tensor leaves (numbers, strings, booleans) are kept in
/// `scalars`. Legacy (pre-1.6, non-zip) files are refused with an error that says how to re-save them.
public final class TorchCheckpoint: @unchecked Sendable {
    public let path: String
    /// Tensors in pickle order.
    public let tensors: [(name: String, tensor: TorchTensor)]
    /// Non-tensor leaves, as text (`"768"`, `"blocks.5.attn.hook_z"`, `"True"`).
    public let scalars: [(name: String, value: String)]

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        if file.count >= 2, file.bytes[0] == 0x80 {
            throw FormatError.invalidHeader(path: path, reason: "a legacy (pre-1.6) torch.save file, which is not read; re-save it with a current PyTorch: torch.save(torch.load(path, weights_only=True), path)")
        }
        let zip: ZipArchive
        do { zip = try ZipArchive(file: file) } catch let FormatError.invalidHeader(_, reason) {
            throw FormatError.invalidHeader(path: path, reason: "not a torch.save zip archive: \(reason)")
        }
        guard let pkl = zip.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw FormatError.invalidHeader(path: path, reason: "the zip archive has no data.pkl member (not a torch.save file)")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        var bigEndian = false
        if let bo = zip.entry(prefix + "byteorder") {
            let text = String(decoding: try zip.contents(bo, limit: 64), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": break
            case "big": bigEndian = true
            default: throw FormatError.invalidHeader(path: path, reason: "byteorder member says '\(text)', expected little or big")
            }
        }
        let root = try RestrictedUnpickler(bytes: try zip.contents(pkl, limit: 1 << 28), path: path + ":" + pkl.name).load()
        var tensors: [(String, TorchTensor)] = []
        var scalars: [(String, String)] = []
        var storages: [String: [UInt8]] = [:]

        func storageBytes(_ s: TorchStorageRef) throws -> [UInt8] {
            guard let e = zip.entry(prefix + "data/" + s.key) else {
                throw FormatError.tensorNotFound(path: path, tensor: "storage data/\(s.key)")
            }
            // Checked for every reference: two references to one storage may claim different dtypes or sizes.
            guard let need = CheckedSize.multiply(s.count, s.dtype.size), e.size >= need else {
                throw FormatError.invalidTensor(path: path, tensor: "storage data/\(s.key)",
                                                reason: "holds \(e.size) bytes, \(s.count) \(s.dtype.rawValue) elements need more")
            }
            if let b = storages[s.key] { return b }
            let b = try zip.contents(e)
            guard b.count >= need else {
                throw FormatError.invalidTensor(path: path, tensor: "storage data/\(s.key)", reason: "holds \(b.count) bytes, fewer than its \(s.count) elements")
            }
            storages[s.key] = b
            return b
        }

        func visit(_ v: PickleValue, _ name: String, depth: Int) throws {
            guard depth < 16 else { throw FormatError.invalidHeader(path: path, reason: "\(name): nested too deeply") }
            switch v {
            case let .tensor(t):
                let raw = try storageBytes(t.storage)
                tensors.append((name, TorchCheckpoint.gather(t, raw, bigEndian: bigEndian)))
            case let .dict(d):
                for (k, value) in d.pairs {
                    let key: String
                    switch k {
                    case let .string(s): key = s
                    case let .int(n): key = String(n)
                    default: throw FormatError.invalidHeader(path: path, reason: "\(name): a dict key is neither a string nor an integer")
                    }
                    try visit(value, name.isEmpty ? key : name + "." + key, depth: depth + 1)
                }
            case let .list(l):
                for (k, value) in l.items.enumerated() { try visit(value, name.isEmpty ? String(k) : "\(name).\(k)", depth: depth + 1) }
            case let .tuple(items):
                for (k, value) in items.enumerated() { try visit(value, name.isEmpty ? String(k) : "\(name).\(k)", depth: depth + 1) }
            case let .int(n): scalars.append((name, String(n)))
            case let .float(d): scalars.append((name, String(d)))
            case let .bool(b): scalars.append((name, b ? "True" : "False"))
            case let .string(s): scalars.append((name, s))
            case .none, .bytes, .global, .storage: break
            }
        }
        try visit(root, "", depth: 0)
        self.tensors = tensors
        self.scalars = scalars
    }

    /// The tensor called `name`, or nil.
    public func tensor(_ name: String) -> TorchTensor? { tensors.first { $0.name == name }?.tensor }

    /// Reads a strided view into a contiguous row-major Float array (bounds were checked by the unpickler).
    static func gather(_ t: TorchTensorRef, _ raw: [UInt8], bigEndian: Bool) -> TorchTensor {
        let count = t.shape.reduce(1, *)
        let size = t.storage.dtype.size
        var out = [Float](repeating: 0, count: count)
        var contiguous = [Int](repeating: 1, count: t.shape.count)
        for k in stride(from: t.shape.count - 2, through: 0, by: -1) { contiguous[k] = contiguous[k + 1] * t.shape[k + 1] }
        if !bigEndian, count > 0, zip(zip(t.shape, t.stride), contiguous).allSatisfy({ $0.0.0 == 1 || $0.0.1 == $0.1 }) {
            // Row-major and little-endian: one linear conversion (the safetensors converter).
            raw.withUnsafeBytes { buf in
                out.withUnsafeMutableBufferPointer { o in
                    SafetensorsFile.convert(UnsafeRawBufferPointer(rebasing: buf[(t.offset * size)...]), dtype: t.storage.dtype, count: count, into: o)
                }
            }
            return TorchTensor(shape: t.shape, dtype: t.storage.dtype, values: out)
        }
        raw.withUnsafeBytes { buf in
            func element(_ index: Int) -> Float {
                let at = index * size
                func u<T: FixedWidthInteger>(_: T.Type) -> T {
                    let v = buf.loadUnaligned(fromByteOffset: at, as: T.self)
                    return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
                }
                switch t.storage.dtype {
                case .F32: return Float(bitPattern: u(UInt32.self))
                case .F16: return HalfFloat.toFloat(u(UInt16.self))
                case .BF16: return HalfFloat.bf16ToFloat(u(UInt16.self))
                case .F64: return Float(Double(bitPattern: u(UInt64.self)))
                case .I64: return Float(u(Int64.self))
                case .I32: return Float(u(Int32.self))
                case .I16: return Float(u(Int16.self))
                case .I8: return Float(Int8(bitPattern: buf[at]))
                case .U64: return Float(u(UInt64.self))
                case .U32: return Float(u(UInt32.self))
                case .U16: return Float(u(UInt16.self))
                case .U8, .BOOL: return Float(buf[at])
                }
            }
            var index = [Int](repeating: 0, count: t.shape.count)
            for flat in 0 ..< count {
                var src = t.offset
                for k in 0 ..< index.count { src += index[k] * t.stride[k] }
                out[flat] = element(src)
                var k = index.count - 1
                while k >= 0 {
                    index[k] += 1
                    if index[k] < t.shape[k] { break }
                    index[k] = 0
                    k -= 1
                }
            }
        }
        return TorchTensor(shape: t.shape, dtype: t.storage.dtype, values: out)
    }
}
