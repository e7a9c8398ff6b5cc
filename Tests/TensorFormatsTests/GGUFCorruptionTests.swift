import Foundation
import TensorFormats
import TestSupport
import XCTest

/// One test per corruption of a GGUF file, each asserting the specific error.
final class GGUFCorruptionTests: XCTestCase {
    var scratch: ScratchFolder!
    let fixture = GGUFFixture.small()

    override func setUpWithError() throws { scratch = try ScratchFolder() }
    override func tearDown() { scratch = nil }

    func open(_ c: GGUFCorruption?) throws -> GGUFFile {
        try GGUFFile(path: scratch.file(fixture.build(corruption: c), ext: "gguf"))
    }

    func testValidFixtureOpens() throws {
        let g = try open(nil)
        XCTAssertEqual(g.tensorNames, ["f32", "f16", "bf16", "q4_0", "q4_1", "q8_0"])
        XCTAssertEqual(try g.info("q4_1").dims, [32, 2])
        XCTAssertEqual(try g.info("q4_1").byteCount, 40)
    }

    func testWrongMagic() {
        assertFormatError(try open(.wrongMagic), "magic") {
            if case let .badMagic(_, found, expected) = $0 { return found == "GGUX" && expected == "GGUF" }
            return false
        }
    }

    func testUnsupportedVersion() {
        assertFormatError(try open(.unsupportedVersion(7)), "version") {
            if case let .unsupportedVersion(_, v, _) = $0 { return v == 7 }
            return false
        }
    }

    func testTruncatedInsideHeader() {
        for cut in [0, 3, 4, 7, 12, 23, 30, 60] {
            assertFormatError(try open(.truncate(at: cut)), "cut at \(cut)") {
                if case .truncated = $0 { return true }
                if case .invalidHeader(_, let r) = $0 { return r.contains("absurd counts") }
                return false
            }
        }
    }

    func testTruncatedInsideTensorData() throws {
        let full = fixture.build()
        assertFormatError(try open(.truncate(at: full.count - 40)), "cut in data") {
            if case let .truncated(_, _, _, _, what) = $0 { return what.contains("data of tensor") }
            return false
        }
    }

    func testOffsetPastEnd() {
        assertFormatError(try open(.offsetPastEnd(tensor: "q8_0")), "offset") {
            if case let .truncated(_, _, _, _, what) = $0 { return what == "data of tensor 'q8_0'" }
            return false
        }
    }

    func testAbsurdTensorCount() {
        assertFormatError(try open(.absurdTensorCount), "tensor count") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("absurd counts") }
            return false
        }
    }

    func testAbsurdMetadataCount() {
        assertFormatError(try open(.absurdMetadataCount), "metadata count") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("absurd counts") }
            return false
        }
    }

    func testAbsurdDimension() {
        assertFormatError(try open(.absurdDimension(tensor: "f16")), "dimension") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f16" && r.contains("absurd dimension") }
            return false
        }
    }

    func testShapeOverflow() {
        assertFormatError(try open(.shapeOverflow(tensor: "f32")), "overflow") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f32" && r.contains("overflows") }
            return false
        }
    }

    func testUnsupportedTensorTypeQ3K() {
        assertFormatError(try open(.tensorType(tensor: "q4_0", type: 11)), "Q3_K") {
            if case let .unsupportedTensorType(_, t, ty) = $0 { return t == "q4_0" && ty.hasPrefix("Q3_K") }
            return false
        }
        assertFormatError(try open(.tensorType(tensor: "q4_0", type: 999)), "undefined type") {
            if case let .unsupportedTensorType(_, _, ty) = $0 { return ty.contains("999") }
            return false
        }
    }

    func testMisalignedOffset() {
        assertFormatError(try open(.misalignedOffset(tensor: "f32")), "alignment") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f32" && r.contains("not aligned") }
            return false
        }
    }

    func testAlignmentNotPowerOfTwo() {
        assertFormatError(try open(.badAlignment(3)), "general.alignment") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("power of two") }
            return false
        }
    }

    func testDuplicateTensorName() {
        assertFormatError(try open(.duplicateTensorName), "duplicate tensor") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("duplicate tensor name 'f32'") }
            return false
        }
    }

    func testDuplicateMetadataKey() {
        assertFormatError(try open(.duplicateMetadataKey), "duplicate key") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("duplicate metadata key 'general.architecture'") }
            return false
        }
    }

    func testUnknownValueType() {
        assertFormatError(try open(.unknownValueType(13)), "value type") {
            if case let .unknownValueType(_, key, type) = $0 { return key == "general.architecture" && type == 13 }
            return false
        }
    }

    func testStringLengthPastEnd() {
        assertFormatError(try open(.stringLengthPastEnd), "string length") {
            if case let .truncated(_, _, _, _, what) = $0 { return what.contains("metadata key #0") }
            return false
        }
    }

    func testTooManyDimensions() {
        assertFormatError(try open(.tooManyDimensions), "n_dims") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f32" && r.contains("9 dimensions") }
            return false
        }
    }

    func testInvalidBool() throws {
        var g = GGUFFixture()
        g.metadata = [("flag", .bool(true))]
        let path = try scratch.file(g.build(corruption: .invalidBool), ext: "gguf")
        assertFormatError(try GGUFFile(path: path), "bool") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("bool 'flag'") }
            return false
        }
    }

    func testMissingFileAndDirectory() {
        assertFormatError(try GGUFFile(path: scratch.path + "/absent.gguf"), "absent") {
            if case .cannotOpen = $0 { return true }
            return false
        }
        assertFormatError(try GGUFFile(path: scratch.path), "directory") {
            if case let .cannotOpen(_, r) = $0 { return r.contains("not a regular file") }
            return false
        }
    }

    func testTensorNotFoundAndMetadataErrors() throws {
        let g = try open(nil)
        assertFormatError(try g.info("nope"), "tensor") {
            if case let .tensorNotFound(_, t) = $0 { return t == "nope" }
            return false
        }
        assertFormatError(try g.int("nope"), "missing key") {
            if case let .metadataMissing(_, k) = $0 { return k == "nope" }
            return false
        }
        assertFormatError(try g.int("general.architecture"), "wrong type") {
            if case let .metadataType(_, k, _) = $0 { return k == "general.architecture" }
            return false
        }
        assertFormatError(try g.stringArray("llama.block_count"), "not an array") {
            if case .metadataType = $0 { return true }
            return false
        }
    }
}
