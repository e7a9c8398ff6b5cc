import FeaturescopeCore
import Foundation
import TensorFormats

/// One deliberate defect of a fixture safetensors file.
public enum SafetensorsCorruption: Sendable, Equatable {
    /// The 8-byte header length is larger than the file.
    case headerLengthPastEnd
    /// The header length is below 2.
    case headerLengthTooSmall
    /// The header bytes are not JSON.
    case nonJSONHeader
    /// The header is JSON but not an object.
    case headerNotObject
    /// The named tensor's shape disagrees with its data_offsets span.
    case shapeOffsetMismatch(tensor: String)
    /// The named tensor's data_offsets run past the end of the data.
    case offsetPastEnd(tensor: String)
    /// The named tensor's end offset is before its begin offset.
    case reversedOffsets(tensor: String)
    /// The named tensor has this dtype tag (e.g. "F8_E4M3").
    case unknownDType(tensor: String, dtype: String)
    /// The named tensor's entry lacks data_offsets.
    case missingDataOffsets(tensor: String)
    /// The named tensor has a negative dimension.
    case negativeDimension(tensor: String)
    /// The named tensor's shape overflows when multiplied.
    case shapeOverflow(tensor: String)
    /// The file cut after `n` bytes.
    case truncate(at: Int)
    /// The named tensor's data_offsets moved by `by` bytes (the data section grows by `by` when positive).
    case shiftedOffsets(tensor: String, by: Int)
    /// `count` zero bytes appended after the last tensor's data.
    case trailingBytes(Int)
}

/// Builds small safetensors files, optionally with one corruption.
public struct SafetensorsFixture: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var data: Data
        public init(name: String, dtype: String, shape: [Int], data: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }
    }

    public var tensors: [Tensor] = []
    public var metadata: [String: String] = [:]

    public init() {}

    /// A valid file with an F32, an F16 and a BF16 tensor.
    public static func small(seed: UInt64 = 2) -> SafetensorsFixture {
        var rng = SplitMix64(seed: seed)
        var s = SafetensorsFixture()
        s.tensors = [
            Tensor(name: "a", dtype: "F32", shape: [2, 3], data: TensorBytes.f32(rng.floats(6))),
            Tensor(name: "b", dtype: "F16", shape: [4], data: TensorBytes.f16(rng.floats(4))),
            Tensor(name: "c", dtype: "BF16", shape: [2, 2], data: TensorBytes.bf16(rng.floats(4))),
        ]
        s.metadata = ["format": "pt"]
        return s
    }

    /// The file's bytes, with `corruption` applied.
    public func build(corruption: SafetensorsCorruption? = nil) -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            var shape: [Any] = t.shape
            var offs: [Any]? = [offset, offset + t.data.count]
            var dtype = t.dtype
            switch corruption {
            case .shapeOffsetMismatch(let n)? where n == t.name: shape = t.shape + [2]
            case .offsetPastEnd(let n)? where n == t.name: offs = [offset + 1_000_000, offset + 1_000_000 + t.data.count]
            case .reversedOffsets(let n)? where n == t.name: offs = [offset + t.data.count, offset]
            case .unknownDType(let n, let dt)? where n == t.name: dtype = dt
            case .missingDataOffsets(let n)? where n == t.name: offs = nil
            case .negativeDimension(let n)? where n == t.name: shape = [-1] + t.shape
            case .shapeOverflow(let n)? where n == t.name: shape = [1 << 40, 1 << 40, 1 << 40]
            case .shiftedOffsets(let n, let by)? where n == t.name: offs = [offset + by, offset + by + t.data.count]
            default: break
            }
            var entry: [String: Any] = ["dtype": dtype, "shape": shape]
            if let offs { entry["data_offsets"] = offs }
            header[t.name] = entry
            offset += t.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        switch corruption {
        case .nonJSONHeader?: json = Data("{\"a\": {not json".utf8)
        case .headerNotObject?: json = Data("[1, 2, 3]".utf8)
        default: break
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count)
        if corruption == .headerLengthPastEnd { length = UInt64(json.count + offset + 64) }
        if corruption == .headerLengthTooSmall { length = 1 }
        var d = Data()
        withUnsafeBytes(of: length.littleEndian) { d.append(contentsOf: $0) }
        d.append(json)
        for t in tensors { d.append(t.data) }
        if case .shiftedOffsets(_, let by)? = corruption, by > 0 { d.append(Data(count: by)) }
        if case .trailingBytes(let n)? = corruption { d.append(Data(count: n)) }
        if case .truncate(let n)? = corruption { d = d.prefix(max(0, min(n, d.count))) }
        return d
    }

    /// Writes the file (with `corruption`) to `path`.
    public func write(to path: String, corruption: SafetensorsCorruption? = nil) throws {
        try FixtureFiles.write(build(corruption: corruption), to: path)
    }
}
