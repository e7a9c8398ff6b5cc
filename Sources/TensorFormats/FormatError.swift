/// Errors raised while reading or writing tensor files (GGUF, safetensors).
///
/// Each message says what is wrong, where (file, offset, key or tensor) and what was expected.
public enum FormatError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: String, expected: String)
    case unsupportedVersion(path: String, version: UInt32, supported: String)
    case truncated(path: String, offset: Int, needed: Int, available: Int, what: String)
    case invalidHeader(path: String, reason: String)
    case unknownValueType(path: String, key: String, type: UInt32)
    case unsupportedTensorType(path: String, tensor: String, type: String)
    case invalidTensor(path: String, tensor: String, reason: String)
    case tensorNotFound(path: String, tensor: String)
    case dtypeMismatch(path: String, tensor: String, found: String, expected: String)
    case metadataMissing(path: String, key: String)
    case metadataType(path: String, key: String, expected: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(p, r): return "\(p): cannot open: \(r)"
        case let .badMagic(p, f, e): return "\(p): not a \(e) file (magic \(f))"
        case let .unsupportedVersion(p, v, s): return "\(p): unsupported version \(v) (supported: \(s))"
        case let .truncated(p, o, n, a, w):
            return "\(p): file truncated or corrupt: \(w) at offset \(o) needs \(n) bytes, only \(a) remain"
        case let .invalidHeader(p, r): return "\(p): invalid header: \(r)"
        case let .unknownValueType(p, k, t): return "\(p): metadata key '\(k)' has unknown value type \(t)"
        case let .unsupportedTensorType(p, t, ty):
            return "\(p): tensor '\(t)' has type \(ty), which Featurescope cannot decode (supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0)"
        case let .invalidTensor(p, t, r): return "\(p): tensor '\(t)': \(r)"
        case let .tensorNotFound(p, t): return "\(p): tensor '\(t)' not found"
        case let .dtypeMismatch(p, t, f, e): return "\(p): tensor '\(t)' has dtype \(f), expected \(e)"
        case let .metadataMissing(p, k): return "\(p): metadata key '\(k)' is missing"
        case let .metadataType(p, k, e): return "\(p): metadata key '\(k)' is not \(e)"
        case let .writeFailed(p, r): return "\(p): cannot write: \(r)"
        }
    }
}
