import Foundation
import TensorFormats
import TestSupport
import XCTest

/// GGUF metadata round trip and block dequantisation against hand-computed values.
final class GGUFDecodingTests: XCTestCase {
    var scratch: ScratchFolder!

    override func setUpWithError() throws { scratch = try ScratchFolder() }
    override func tearDown() { scratch = nil }

    func testMetadataRoundTripOfEveryValueType() throws {
        var g = GGUFFixture()
        g.metadata = GGUFFixture.everyValueType()
        let codes = Set(g.metadata.map(\.value.typeCode))
        XCTAssertEqual(codes, Set(0 ... 12), "fixture covers every GGUF value type")
        for version: UInt32 in [2, 3] {
            g.version = version
            let file = try GGUFFile(path: scratch.file(g.build(), ext: "gguf"))
            XCTAssertEqual(file.version, version)
            XCTAssertEqual(file.metadata.count, g.metadata.count)
            for (key, value) in g.metadata {
                XCTAssertEqual(file.metadata[key], value.expected, key)
            }
        }
        let file = try GGUFFile(path: scratch.file(g.build(), ext: "gguf"))
        XCTAssertEqual(try file.int("t.u8"), 200)
        XCTAssertEqual(try file.int("t.i32"), -2_000_000_000)
        XCTAssertEqual(try file.double("t.f32"), 1.5)
        XCTAssertEqual(try file.string("t.str"), "héllo ✓")
        XCTAssertEqual(try file.stringArray("t.arr.str"), ["a", "", "Ġthe"])
        XCTAssertEqual(try file.intArray("t.arr.i32"), [1, -2, 3])
        XCTAssertNil(file.metadata["t.u64"]?.intValue, "UInt64.max does not fit Int")
        XCTAssertEqual(file.metadata["t.bool"]?.boolValue, true)
        XCTAssertEqual(file.metadata["t.arr.nested"], .array([.array([.uint(1), .uint(2)]), .array([])]))
    }

    /// Opens a one-tensor file holding `bytes` as ggml `type` with `dims`.
    func decode(type: UInt32, dims: [Int], bytes: [UInt8]) throws -> [Float] {
        var g = GGUFFixture()
        g.tensors = [GGUFFixtureTensor(name: "t", dims: dims, type: type, data: Data(bytes))]
        return try GGUFFile(path: scratch.file(g.build(), ext: "gguf")).dequantize("t")
    }

    func testQ4_0Block() throws {
        // d = 0.5 (f16 0x3800); every byte 0x21: low nibble 1 → (1 − 8)·0.5, high nibble 2 → (2 − 8)·0.5.
        let v = try decode(type: 2, dims: [32], bytes: [0x00, 0x38] + [UInt8](repeating: 0x21, count: 16))
        XCTAssertEqual(Array(v[0 ..< 16]), [Float](repeating: -3.5, count: 16))
        XCTAssertEqual(Array(v[16 ..< 32]), [Float](repeating: -3.0, count: 16))
        // Byte 0 = 0xF0: element 0 = (0 − 8)·d, element 16 = (15 − 8)·d, with d = 2 (0x4000).
        let w = try decode(type: 2, dims: [32], bytes: [0x00, 0x40, 0xF0] + [UInt8](repeating: 0x88, count: 15))
        XCTAssertEqual(w[0], -16)
        XCTAssertEqual(w[16], 14)
        XCTAssertEqual(w[1], 0)
        XCTAssertEqual(w[31], 0)
    }

    func testQ4_1Block() throws {
        // d = 1 (0x3C00), m = −1 (0xBC00); byte 0xF0: low 0 → −1, high 15 → 14; byte 0x53: 3 → 2, 5 → 4.
        let bytes: [UInt8] = [0x00, 0x3C, 0x00, 0xBC, 0xF0] + [UInt8](repeating: 0x53, count: 15)
        let v = try decode(type: 3, dims: [32], bytes: bytes)
        XCTAssertEqual(v[0], -1)
        XCTAssertEqual(v[16], 14)
        XCTAssertEqual(Array(v[1 ..< 16]), [Float](repeating: 2, count: 15))
        XCTAssertEqual(Array(v[17 ..< 32]), [Float](repeating: 4, count: 15))
    }

    func testQ8_0Block() throws {
        // d = 0.25 (0x3400); quants −128, −1, 0, 1, 127, then 2s.
        let q: [Int8] = [-128, -1, 0, 1, 127] + [Int8](repeating: 2, count: 27)
        let v = try decode(type: 8, dims: [32], bytes: [0x00, 0x34] + q.map { UInt8(bitPattern: $0) })
        XCTAssertEqual(Array(v[0 ..< 5]), [-32, -0.25, 0, 0.25, 31.75])
        XCTAssertEqual(v[31], 0.5)
    }

    func testTwoRowQuantisedTensorFromEncoder() throws {
        // The fixture encoder and the reader agree: row r block b = (q − 8)·d.
        let q: [UInt8] = (0 ..< 32).map { UInt8($0 % 16) }
        let data = TensorBytes.q4_0Block(scale: 0.5, quants: q) + TensorBytes.q4_0Block(scale: -1, quants: q.reversed())
        let v = try decode(type: 2, dims: [32, 2], bytes: Array(data))
        for i in 0 ..< 32 {
            XCTAssertEqual(v[i], Float(Int(q[i]) - 8) * 0.5)
            XCTAssertEqual(v[32 + i], Float(Int(q[31 - i]) - 8) * -1)
        }
    }

    func testF16Values() throws {
        // 1, −2, 65504 (max), 2^-24 (smallest subnormal), +inf, −0, 0.5, 0.333… (0x3555)
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x3800, 0x3555]
        let v = try decode(type: 1, dims: [8], bytes: bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        XCTAssertEqual(Array(v[0 ..< 4]), [1, -2, 65504, Float(1) / 16_777_216])
        XCTAssertEqual(v[4], .infinity)
        XCTAssertEqual(v[5].sign, .minus)
        XCTAssertEqual(v[6], 0.5)
        XCTAssertEqual(v[7], 0.333251953125)
    }

    func testBF16Values() throws {
        // 1 (0x3F80), −3 (0xC040), 3.140625 (0x4049), 0, −inf (0xFF80), 2^-126 (0x0080), 256 (0x4380), −0.5 (0xBF00)
        let bits: [UInt16] = [0x3F80, 0xC040, 0x4049, 0x0000, 0xFF80, 0x0080, 0x4380, 0xBF00]
        let v = try decode(type: 30, dims: [8], bytes: bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        XCTAssertEqual(v, [1, -3, 3.140625, 0, -.infinity, Float.leastNormalMagnitude, 256, -0.5])
    }

    func testF32AndOddRowLengthRejectedForBlocks() throws {
        let v = try decode(type: 0, dims: [2], bytes: Array(TensorBytes.f32([1.25, -7])))
        XCTAssertEqual(v, [1.25, -7])
        assertFormatError(try decode(type: 2, dims: [16], bytes: [UInt8](repeating: 0, count: 18)), "Q4_0 row of 16") {
            if case let .invalidTensor(_, _, r) = $0 { return r.contains("block size") }
            return false
        }
    }

    func testCustomAlignmentAndEveryTensorType() throws {
        var g = GGUFFixture.small(seed: 9)
        g.alignment = 64
        let file = try GGUFFile(path: scratch.file(g.build(), ext: "gguf"))
        XCTAssertEqual(file.metadata["general.alignment"], .uint(64))
        let types: [String: GGMLType] = ["f32": .f32, "f16": .f16, "bf16": .bf16, "q4_0": .q4_0, "q4_1": .q4_1, "q8_0": .q8_0]
        for t in g.tensors {
            let info = try file.info(t.name)
            XCTAssertEqual(info.type, types[t.name])
            XCTAssertEqual(info.fileOffset % 64, 0, "data of \(t.name) is aligned")
            XCTAssertEqual(Data(try file.rawBytes(t.name)), t.data, "bytes of \(t.name) survive")
        }
        // Values of the fixture's quantised blocks, by the formulas of each type.
        let q4_0 = try file.dequantize("q4_0")
        for i in 0 ..< 32 { XCTAssertEqual(q4_0[i], Float(i % 16 - 8) * 0.5) }
        let q4_1 = try file.dequantize("q4_1")
        for i in 0 ..< 32 {
            XCTAssertEqual(q4_1[i], Float((i * 7) % 16) * 0.25 - 1)
            XCTAssertEqual(q4_1[32 + i], Float(15 - i % 16) * 2 + 0.5)
        }
        let q8 = try file.dequantize("q8_0")
        for i in 0 ..< 32 { XCTAssertEqual(q8[i], Float(i * 8 - 128) * 0.125) }
    }
}
