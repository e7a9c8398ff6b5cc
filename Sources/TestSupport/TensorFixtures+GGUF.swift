import FeaturescopeCore
import Foundation
import TensorFormats

/// A metadata value of a fixture GGUF file, with its exact on-disk type.
public indirect enum GGUFFixtureValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String)
    /// Elements must all be of `elementType` (a GGUF value type code).
    case array(elementType: UInt32, [GGUFFixtureValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// GGUF value type code.
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// What `GGUFFile` should decode this as.
    public var expected: GGUFValue {
        switch self {
        case .uint8(let v): return .uint(UInt64(v))
        case .uint16(let v): return .uint(UInt64(v))
        case .uint32(let v): return .uint(UInt64(v))
        case .uint64(let v): return .uint(v)
        case .int8(let v): return .int(Int64(v))
        case .int16(let v): return .int(Int64(v))
        case .int32(let v): return .int(Int64(v))
        case .int64(let v): return .int(v)
        case .float32(let v): return .float(Double(v))
        case .float64(let v): return .float(v)
        case .bool(let v): return .bool(v)
        case .string(let v): return .string(v)
        case .array(_, let a): return .array(a.map(\.expected))
        }
    }

    func encodePayload(into d: inout Data) {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        switch self {
        case .uint8(let v): put(v)
        case .int8(let v): put(v)
        case .uint16(let v): put(v)
        case .int16(let v): put(v)
        case .uint32(let v): put(v)
        case .int32(let v): put(v)
        case .float32(let v): put(v.bitPattern)
        case .bool(let v): put(UInt8(v ? 1 : 0))
        case .string(let s): GGUFFixture.putString(s, into: &d)
        case .array(let et, let a):
            put(et)
            put(UInt64(a.count))
            for e in a { e.encodePayload(into: &d) }
        case .uint64(let v): put(v)
        case .int64(let v): put(v)
        case .float64(let v): put(v.bitPattern)
        }
    }
}

/// A tensor of a fixture GGUF file: dims as GGUF stores them (dims[0] fastest), raw encoded bytes.
public struct GGUFFixtureTensor: Sendable {
    public var name: String
    public var dims: [Int]
    public var type: UInt32
    public var data: Data

    public init(name: String, dims: [Int], type: UInt32, data: Data) {
        self.name = name
        self.dims = dims
        self.type = type
        self.data = data
    }
}

/// One deliberate defect of a fixture GGUF file.
public enum GGUFCorruption: Sendable, Equatable {
    /// Magic `GGUX` instead of `GGUF`.
    case wrongMagic
    /// A version other than 2 or 3.
    case unsupportedVersion(UInt32)
    /// The file cut after `n` bytes.
    case truncate(at: Int)
    /// The named tensor's offset points past the end of the file (still aligned).
    case offsetPastEnd(tensor: String)
    /// A tensor count far larger than the file could hold.
    case absurdTensorCount
    /// A metadata count far larger than the file could hold.
    case absurdMetadataCount
    /// The named tensor has a dimension of 2^40.
    case absurdDimension(tensor: String)
    /// The named tensor's dimensions multiply past Int.max.
    case shapeOverflow(tensor: String)
    /// The named tensor has this ggml type code (e.g. 12 = Q4_K).
    case tensorType(tensor: String, type: UInt32)
    /// The named tensor's offset replaced by `offset` (relative to the data section).
    case tensorOffset(tensor: String, offset: UInt64)
    /// The named tensor's offset is not a multiple of the alignment.
    case misalignedOffset(tensor: String)
    /// `general.alignment` set to a value that is not a power of two.
    case badAlignment(UInt32)
    /// The second tensor gets the first tensor's name.
    case duplicateTensorName
    /// The second metadata key gets the first key's name.
    case duplicateMetadataKey
    /// The first metadata value gets an undefined value type code.
    case unknownValueType(UInt32)
    /// The first metadata key claims a length far past the end.
    case stringLengthPastEnd
    /// The first tensor claims 9 dimensions.
    case tooManyDimensions
    /// A bool metadata value holding 2.
    case invalidBool
}

/// Builds small GGUF files byte by byte, optionally with one corruption.
public struct GGUFFixture: Sendable {
    public var version: UInt32 = 3
    public var metadata: [(key: String, value: GGUFFixtureValue)] = []
    public var tensors: [GGUFFixtureTensor] = []
    /// Data alignment; written as `general.alignment` when not 32.
    public var alignment: Int = 32

    public init() {}

    /// One metadata entry of every value type, including nested and string arrays.
    public static func everyValueType() -> [(key: String, value: GGUFFixtureValue)] {
        [
            ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
            ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)), ("t.f32", .float32(1.5)),
            ("t.bool", .bool(true)), ("t.str", .string("héllo ✓")),
            ("t.arr.i32", .array(elementType: 5, [.int32(1), .int32(-2), .int32(3)])),
            ("t.arr.str", .array(elementType: 8, [.string("a"), .string(""), .string("Ġthe")])),
            ("t.arr.nested", .array(elementType: 9, [.array(elementType: 0, [.uint8(1), .uint8(2)]), .array(elementType: 0, [])])),
            ("t.u64", .uint64(UInt64.max)), ("t.i64", .int64(Int64.min)), ("t.f64", .float64(-2.25e-300)),
            ("t.bool.false", .bool(false)), ("t.empty", .string("")),
        ]
    }

    /// A valid model-like file with an F32, an F16, a BF16, a Q4_0, a Q4_1 and a Q8_0 tensor.
    public static func small(seed: UInt64 = 1) -> GGUFFixture {
        var rng = SplitMix64(seed: seed)
        var g = GGUFFixture()
        g.metadata = [("general.architecture", .string("llama")), ("llama.block_count", .uint32(1)),
                      ("tokenizer.ggml.tokens", .array(elementType: 8, [.string("a"), .string("b")]))]
        g.tensors = [
            GGUFFixtureTensor(name: "f32", dims: [4, 2], type: 0, data: TensorBytes.f32(rng.floats(8))),
            GGUFFixtureTensor(name: "f16", dims: [8], type: 1, data: TensorBytes.f16(rng.floats(8))),
            GGUFFixtureTensor(name: "bf16", dims: [8], type: 30, data: TensorBytes.bf16(rng.floats(8))),
            GGUFFixtureTensor(name: "q4_0", dims: [32], type: 2,
                              data: TensorBytes.q4_0Block(scale: 0.5, quants: (0 ..< 32).map { UInt8($0 % 16) })),
            GGUFFixtureTensor(name: "q4_1", dims: [32, 2], type: 3,
                              data: TensorBytes.q4_1Block(scale: 0.25, min: -1, quants: (0 ..< 32).map { UInt8(($0 * 7) % 16) })
                                  + TensorBytes.q4_1Block(scale: 2, min: 0.5, quants: (0 ..< 32).map { UInt8(15 - $0 % 16) })),
            GGUFFixtureTensor(name: "q8_0", dims: [32], type: 8,
                              data: TensorBytes.q8_0Block(scale: 0.125, quants: (0 ..< 32).map { Int8($0 * 8 - 128) })),
        ]
        return g
    }

    static func putString(_ s: String, into d: inout Data) {
        let u = Array(s.utf8)
        withUnsafeBytes(of: UInt64(u.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: u)
    }

    /// The file's bytes, with `corruption` applied.
    public func build(corruption: GGUFCorruption? = nil) -> Data {
        func put<T: FixedWidthInteger>(_ v: T, _ d: inout Data) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        var meta = metadata
        var align = alignment
        if case .badAlignment(let a)? = corruption {
            align = 32
            meta.append(("general.alignment", .uint32(a)))
        } else if alignment != 32 {
            meta.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        if corruption == .duplicateMetadataKey, meta.count >= 2 { meta[1].key = meta[0].key }

        var d = Data()
        d.append(contentsOf: Array((corruption == .wrongMagic ? "GGUX" : "GGUF").utf8))
        if case .unsupportedVersion(let v)? = corruption { put(v, &d) } else { put(version, &d) }
        put(corruption == .absurdTensorCount ? UInt64(1) << 40 : UInt64(tensors.count), &d)
        put(corruption == .absurdMetadataCount ? UInt64(1) << 40 : UInt64(meta.count), &d)
        for (i, (key, value)) in meta.enumerated() {
            if i == 0, corruption == .stringLengthPastEnd {
                put(UInt64(1) << 50, &d)
                d.append(contentsOf: Array(key.utf8))
            } else {
                GGUFFixture.putString(key, into: &d)
            }
            if i == 0, case .unknownValueType(let t)? = corruption {
                put(t, &d)
            } else {
                put(value.typeCode, &d)
            }
            if corruption == .invalidBool, case .bool = value {
                d.append(2)
            } else {
                value.encodePayload(into: &d)
            }
        }
        // Offsets: each tensor's data starts at the next multiple of the alignment.
        var offsets: [UInt64] = []
        var running = 0
        for t in tensors {
            offsets.append(UInt64(running))
            running += (t.data.count + align - 1) / align * align
        }
        for (i, t) in tensors.enumerated() {
            let name = (i == 1 && corruption == .duplicateTensorName) ? tensors[0].name : t.name
            GGUFFixture.putString(name, into: &d)
            var dims = t.dims.map { UInt64($0) }
            if case .absurdDimension(let n)? = corruption, n == t.name { dims[0] = UInt64(1) << 40 }
            if case .shapeOverflow(let n)? = corruption, n == t.name { dims = [32, 0x7FFF_FFFF, 0x7FFF_FFFF, 0x7FFF_FFFF] }
            if i == 0, corruption == .tooManyDimensions {
                put(UInt32(9), &d)
                for _ in 0 ..< 9 { put(UInt64(1), &d) }
            } else {
                put(UInt32(dims.count), &d)
                for x in dims { put(x, &d) }
            }
            if case .tensorType(let n, let ty)? = corruption, n == t.name { put(ty, &d) } else { put(t.type, &d) }
            var off = offsets[i]
            if case .offsetPastEnd(let n)? = corruption, n == t.name { off = UInt64(1) << 30 }
            if case .misalignedOffset(let n)? = corruption, n == t.name { off += 1 }
            if case .tensorOffset(let n, let o)? = corruption, n == t.name { off = o }
            put(off, &d)
        }
        while d.count % align != 0 { d.append(0) }
        for t in tensors {
            d.append(t.data)
            while d.count % align != 0 { d.append(0) }
        }
        if case .truncate(let n)? = corruption { d = d.prefix(max(0, min(n, d.count))) }
        return d
    }

    /// Writes the file (with `corruption`) to `path`.
    public func write(to path: String, corruption: GGUFCorruption? = nil) throws {
        try FixtureFiles.write(build(corruption: corruption), to: path)
    }
}
