import Foundation
import TensorFormats

/// A weight matrix [rows, cols] (a PyTorch `Linear.weight`, row r = output r) kept in its stored precision:
/// GGUF blocks or F32/F16/BF16 values, `rowBytes` per row, read in place from a memory map or from a buffer
/// the matrix owns (a reordered or transformed copy).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// Row r starts at base + r · rowBytes.
    let base: UnsafeRawPointer
    /// Keeps the mapping or the owned bytes alive.
    let owner: AnyObject

    /// Bytes per row.
    public var rowBytes: Int { cols / type.blockSize * type.blockBytes }
    /// Bytes of the whole matrix.
    public var byteCount: Int { rows * rowBytes }

    /// A view of `rows × cols` values of `type` at `base`, kept alive by `owner` (e.g. a `MappedFile`).
    init(type: GGMLType, rows: Int, cols: Int, base: UnsafeRawPointer, owner: AnyObject) {
        self.type = type
        self.rows = rows
        self.cols = cols
        self.base = base
        self.owner = owner
    }

    /// A matrix owning a copy of `floats` [rows, cols] as F32.
    init(floats: [Float], rows: Int, cols: Int) {
        let storage = OwnedBytes(count: rows * cols * 4)
        floats.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: min($0.count, storage.count)) }
        self.init(type: .f32, rows: rows, cols: cols, base: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// The raw encoded bytes of row r.
    func rowPointer(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// A copy with its rows taken in `order` (`order[r]` = source row of row r); blocks stay intact.
    func reorderedRows(_ order: [Int]) -> WeightMatrix {
        let rb = rowBytes
        let storage = OwnedBytes(count: rows * rb)
        for (r, src) in order.enumerated() {
            (storage.pointer + r * rb).copyMemory(from: rowPointer(src), byteCount: rb)
        }
        return WeightMatrix(type: type, rows: rows, cols: cols, base: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// Decodes rows `range` into `out` ([range.count, cols] Float).
    public func decodeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let rb = rowBytes
        let src = UnsafeRawBufferPointer(start: rowPointer(range.lowerBound), count: range.count * rb)
        GGMLDequantize.decode(type, src: src, count: range.count * cols, into: out)
    }

    /// All values as Float, [rows, cols].
    func decoded() -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * cols) { buf, n in
            if let p = buf.baseAddress { decodeRows(0 ..< rows, into: p) }
            n = rows * cols
        }
    }
}

/// Page-aligned bytes owned by a `WeightMatrix`.
final class OwnedBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = max(count, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.count, alignment: 64)
    }

    deinit { pointer.deallocate() }
}
