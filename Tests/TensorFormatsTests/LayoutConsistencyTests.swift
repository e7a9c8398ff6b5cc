import Foundation
import TensorFormats
import TestSupport
import XCTest

/// Files whose tensor type, offset or size disagree with where their data lies (issue 16, D6/D7):
/// every region must follow the previous one, so an edit that keeps each region inside the file
/// is still refused, naming the tensor.
final class LayoutConsistencyTests: XCTestCase {
    var scratch: ScratchFolder!
    override func setUpWithError() throws { scratch = try ScratchFolder() }
    override func tearDown() { scratch = nil }

    private func gguf(_ c: GGUFCorruption) throws -> GGUFFile {
        try GGUFFile(path: scratch.file(GGUFFixture.small().build(corruption: c), ext: "gguf"))
    }

    private func safetensors(_ c: SafetensorsCorruption) throws -> SafetensorsFile {
        try SafetensorsFile(path: scratch.file(SafetensorsFixture.small().build(corruption: c), ext: "safetensors"))
    }

    func testGGUFTypeChangeThatGrowsIntoTheNextTensorIsRefused() {
        // q4_1 [32, 2] is 40 bytes; as F16 it would be 128 bytes, running into q8_0's data.
        assertFormatError(try gguf(.tensorType(tensor: "q4_1", type: 1)), "q4_1 as F16") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "q8_0" && r.contains("overlaps the data of 'q4_1'") }
            return false
        }
    }

    func testGGUFTypeChangeOfTheLastTensorThatShrinksIsRefused() {
        // q8_0 [32] is 34 bytes (padded to 64); as Q4_0 it is 18 bytes, leaving 32 unexplained bytes.
        assertFormatError(try gguf(.tensorType(tensor: "q8_0", type: 2)), "q8_0 as Q4_0") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "q8_0" && r.contains("bytes after this last tensor") }
            return false
        }
    }

    func testGGUFOffsetPointingAtAnotherTensorIsRefused() {
        assertFormatError(try gguf(.tensorOffset(tensor: "q8_0", offset: 0)), "q8_0 at offset 0") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "q8_0" && r.contains("overlaps") && r.contains("expected offset") }
            return false
        }
    }

    func testGGUFOffsetLeavingAGapIsRefused() throws {
        let g = try GGUFFile(path: scratch.file(GGUFFixture.small().build(), ext: "gguf"))
        let dataStart = try g.info("f32").fileOffset
        let bf16 = try g.info("bf16").fileOffset - dataStart
        // f16's data moved onto bf16's (aligned, inside the file): f16 leaves a gap, then bf16 overlaps.
        assertFormatError(try gguf(.tensorOffset(tensor: "f16", offset: UInt64(bf16))), "f16 moved forward") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "f16" && r.contains("leaves a gap after 'f32'") }
            return false
        }
    }

    func testSafetensorsOverlappingOffsetsAreRefused() {
        assertFormatError(try safetensors(.shiftedOffsets(tensor: "b", by: -8)), "b overlaps a") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "b" && r.contains("overlaps tensor 'a'") }
            return false
        }
    }

    func testSafetensorsGapBetweenTensorsIsRefused() {
        assertFormatError(try safetensors(.shiftedOffsets(tensor: "c", by: 8)), "gap before c") {
            if case let .invalidTensor(_, t, r) = $0 { return t == "c" && r.contains("leaves 8 unused bytes after tensor 'b'") }
            return false
        }
    }

    func testSafetensorsTrailingBytesAreRefused() {
        assertFormatError(try safetensors(.trailingBytes(16)), "trailing bytes") {
            if case let .invalidHeader(_, r) = $0 { return r.contains("end at 40 but the data section holds 56 bytes") }
            return false
        }
    }

    func testSafetensorsUnknownDTypeListsSafetensorsTypesOnly() {
        assertFormatError(try safetensors(.unknownDType(tensor: "a", dtype: "Q4_0")), "dtype") {
            if case let .invalidTensor(_, t, r) = $0 {
                return t == "a" && r.contains("BF16") && r.contains("BOOL") && !r.contains("Q8_0")
            }
            return false
        }
    }
}
