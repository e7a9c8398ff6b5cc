import Foundation
import TensorFormats
import TestSupport
import XCTest

/// Safetensors round trip of every dtype, and one test per corruption.
final class SafetensorsTests: XCTestCase {
    var scratch: ScratchFolder!

    override func setUpWithError() throws { scratch = try ScratchFolder() }
    override func tearDown() { scratch = nil }

    func testRoundTripOfEveryDType() throws {
        var w = SafetensorsWriter()
        w.metadata = ["format": "pt", "note": "ünïcode"]
        let floats: [Float] = [0, 1, -2.5, 0.125, 1024, -0.0009765625]
        try w.add("f32", floats: floats, shape: [2, 3], dtype: .F32)
        try w.add("f16", floats: floats, shape: [3, 2], dtype: .F16)
        try w.add("bf16", floats: floats, shape: [6], dtype: .BF16)
        var f64 = Data()
        for d in [1.0, -0.5, 3.25] { withUnsafeBytes(of: d.bitPattern.littleEndian) { f64.append(contentsOf: $0) } }
        try w.add("f64", dtype: .F64, shape: [3], data: f64)
        let ints: [(SafetensorsDType, [Int64])] = [
            (.I64, [Int64.min, -1, Int64.max]), (.U64, [0, 1, Int64.max]), (.I32, [-2_147_483_648, 0, 2_147_483_647]),
            (.U32, [0, 7, 4_294_967_295]), (.I16, [-32768, 5, 32767]), (.U16, [0, 65535, 9]), (.I8, [-128, 0, 127]),
            (.U8, [0, 200, 255]), (.BOOL, [0, 1, 1]),
        ]
        for (dt, v) in ints { try w.add(dt.rawValue, integers: v, shape: [3], dtype: dt) }
        let path = scratch.path + "/all.safetensors"
        try w.write(to: path)

        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "ünïcode"])
        XCTAssertEqual(Set(f.tensorNames), Set(["f32", "f16", "bf16", "f64"] + ints.map { $0.0.rawValue }))
        XCTAssertEqual(try f.floats("f32"), floats)
        XCTAssertEqual(try f.floats("f16"), floats, "every value is exact in f16")
        XCTAssertEqual(try f.floats("bf16"), floats, "every value is exact in bf16")
        XCTAssertEqual(try f.floats("f64"), [1, -0.5, 3.25])
        XCTAssertEqual(try f.info("f16").shape, [3, 2])
        XCTAssertEqual(try f.info("bf16").dtype, .BF16)
        for (dt, v) in ints {
            XCTAssertEqual(try f.info(dt.rawValue).dtype, dt)
            XCTAssertEqual(try f.int64s(dt.rawValue), v, dt.rawValue)
            XCTAssertEqual(try f.floats(dt.rawValue), v.map { Float($0) }, dt.rawValue)
        }
        XCTAssertNoThrow(try f.expectShape("f32", [2, 3]))
        assertFormatError(try f.expectShape("f32", [3, 2]), "shape") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f32" && r.contains("expected [3, 2]") }
            return false
        }
        assertFormatError(try f.int64s("f32"), "int of float") {
            if case .dtypeMismatch = $0 { return true }
            return false
        }
    }

    func testRounding() throws {
        var w = SafetensorsWriter()
        try w.add("h", floats: [1.0 / 3, 70000, 1e-8], shape: [3], dtype: .F16)
        try w.add("b", floats: [1.0 / 3, 3e38, -1.00390625], shape: [3], dtype: .BF16)
        let path = scratch.path + "/r.safetensors"
        try w.write(to: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(try f.floats("h"), [0.333251953125, .infinity, 0])
        let b = try f.floats("b")
        XCTAssertEqual(b[0], 0.333984375)
        XCTAssertEqual(b[2], -1.0, "ties round to even")
    }

    func testWriterRejectsBadInput() {
        var w = SafetensorsWriter()
        assertFormatError(try w.add("x", floats: [1, 2, 3], shape: [2]), "size") {
            if case .invalidTensor = $0 { return true }
            return false
        }
        assertFormatError(try w.add("x", integers: [300], shape: [1], dtype: .U8), "fit") {
            if case let .invalidTensor(_, _, r) = $0 { return r.contains("does not fit") }
            return false
        }
        XCTAssertNoThrow(try w.add("x", floats: [1], shape: [1]))
        assertFormatError(try w.add("x", floats: [1], shape: [1]), "duplicate") {
            if case .invalidTensor = $0 { return true }
            return false
        }
    }

    // MARK: - Corruptions

    func open(_ c: SafetensorsCorruption?) throws -> SafetensorsFile {
        try SafetensorsFile(path: scratch.file(SafetensorsFixture.small().build(corruption: c), ext: "safetensors"))
    }

    func testValidFixtureOpens() throws {
        let f = try open(nil)
        XCTAssertEqual(f.tensorNames, ["a", "b", "c"])
        XCTAssertEqual(try f.floats("a").count, 6)
    }

    func testHeaderLengthPastEnd() {
        assertFormatError(try open(.headerLengthPastEnd), "length") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("does not fit") }
            return false
        }
    }

    func testHeaderLengthTooSmall() {
        assertFormatError(try open(.headerLengthTooSmall), "length") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("header length 1") }
            return false
        }
    }

    func testNonJSONHeader() {
        assertFormatError(try open(.nonJSONHeader), "json") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("not valid JSON") }
            return false
        }
    }

    func testHeaderNotObject() {
        assertFormatError(try open(.headerNotObject), "object") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("not a JSON object") }
            return false
        }
    }

    func testShapeOffsetMismatch() {
        assertFormatError(try open(.shapeOffsetMismatch(tensor: "b")), "mismatch") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "b" && r.contains("data_offsets span") }
            return false
        }
    }

    func testOffsetPastEnd() {
        assertFormatError(try open(.offsetPastEnd(tensor: "c")), "past end") {
            if case let .truncated(_, _, _, _, what) = $0 { return what == "data of tensor 'c'" }
            return false
        }
    }

    func testReversedOffsets() {
        assertFormatError(try open(.reversedOffsets(tensor: "a")), "reversed") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "a" && r.contains("bad data_offsets") }
            return false
        }
    }

    func testUnknownDType() {
        assertFormatError(try open(.unknownDType(tensor: "a", dtype: "F8_E4M3")), "dtype") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "a" && r.contains("dtype F8_E4M3") }
            return false
        }
    }

    func testMissingDataOffsets() {
        assertFormatError(try open(.missingDataOffsets(tensor: "b")), "offsets") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "b" && r.contains("lacks") }
            return false
        }
    }

    func testNegativeDimension() {
        assertFormatError(try open(.negativeDimension(tensor: "a")), "negative") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "a" && r.contains("bad shape") }
            return false
        }
    }

    func testShapeOverflow() {
        assertFormatError(try open(.shapeOverflow(tensor: "a")), "overflow") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "a" && r.contains("overflows") }
            return false
        }
    }

    func testTruncated() throws {
        let n = SafetensorsFixture.small().build().count
        assertFormatError(try open(.truncate(at: 5)), "in length") {
            if case .truncated = $0 { return true }
            return false
        }
        assertFormatError(try open(.truncate(at: 20)), "in header") {
            if case .invalidHeader = $0 { return true }
            return false
        }
        assertFormatError(try open(.truncate(at: n - 3)), "in data") {
            if case let .truncated(_, _, _, _, what) = $0 { return what.hasPrefix("data of tensor") }
            return false
        }
    }
}
