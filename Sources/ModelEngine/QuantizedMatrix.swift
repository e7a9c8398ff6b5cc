import Foundation
import TensorFormats

/// A weight matrix kept in 32-value blocks for the memory-bound single-token step.
///
/// The GGUF blocks are repacked once at load into separate arrays (scales and minimums as Float,
/// quants packed) so the kernel needs no f16 conversion. Q4_0/Q4_1 stay 4-bit (value = q·scale + min);
/// Q8_0 stays 8-bit, stored offset by 128 as unsigned bytes so both kinds share one form:
/// value = u·scale + min with min = −128·scale (unsigned lanes widen to Float in a few vector instructions,
/// signed ones did not vectorize). Float tensors are quantized to the 8-bit form (approximate).
public struct QuantizedMatrix: Sendable {
    public enum Kind: Sendable { case nibbles, bytes }
    public let kind: Kind
    public let rows: Int
    public let cols: Int
    /// [rows, cols/32] block scales.
    let scales: [Float]
    /// [rows, cols/32] block minimums.
    let mins: [Float]
    /// nibbles: [rows, cols/32, 16] bytes, low nibble = element j, high nibble = element j+16.
    /// bytes: [rows, cols] signed value + 128.
    let quants: [UInt8]

    var blocksPerRow: Int { cols / 32 }
    /// Bytes read per row by the kernel.
    public var byteCount: Int { quants.count + 4 * (scales.count + mins.count) }

    /// Wraps already packed blocks.
    init(kind: Kind, rows: Int, cols: Int, scales: [Float], mins: [Float], quants: [UInt8]) {
        self.kind = kind
        self.rows = rows
        self.cols = cols
        self.scales = scales
        self.mins = mins
        self.quants = quants
    }

    /// Repacks the GGUF tensor `name` ([rows, cols], `dims[0]` = cols) with its rows taken in `rowOrder`
    /// (`rowOrder[r]` = source row of row r; nil keeps the file order).
    init(gguf: GGUFFile, name: String, rowOrder: [Int]? = nil) throws {
        let info = try gguf.info(name)
        guard info.dims.count == 2 else {
            throw EngineError.invalidModel(path: gguf.path, reason: "tensor \(name) has shape \(info.dims), expected a matrix")
        }
        let cols = info.dims[0]
        let rows = info.dims[1]
        guard cols % 32 == 0 else {
            throw EngineError.invalidModel(path: gguf.path, reason: "tensor \(name) row length \(cols) is not a multiple of 32")
        }
        let order = rowOrder ?? Array(0 ..< rows)
        guard order.count == rows, order.allSatisfy({ $0 >= 0 && $0 < rows }) else {
            throw EngineError.invalidModel(path: gguf.path, reason: "row order for \(name) does not match \(rows) rows")
        }
        let raw = try gguf.rawBytes(name)
        let nb = cols / 32
        switch info.type {
        case .q4_0, .q4_1:
            let blockBytes = info.type.blockBytes
            let headerBytes = info.type == .q4_1 ? 4 : 2
            var sc = [Float](repeating: 0, count: rows * nb)
            var mn = [Float](repeating: 0, count: rows * nb)
            var q = [UInt8](repeating: 0, count: rows * nb * 16)
            guard let src = raw.baseAddress else { throw EngineError.invalidModel(path: gguf.path, reason: "tensor \(name) is empty") }
            q.withUnsafeMutableBytes { qDst in
                guard let dstBase = qDst.baseAddress else { return }
                for r in 0 ..< rows {
                    let srcRow = order[r]
                    for b in 0 ..< nb {
                        let blk = (srcRow * nb + b) * blockBytes
                        let d = HalfFloat.toFloat(raw.loadUnaligned(fromByteOffset: blk, as: UInt16.self).littleEndian)
                        sc[r * nb + b] = d
                        if info.type == .q4_1 {
                            mn[r * nb + b] = HalfFloat.toFloat(raw.loadUnaligned(fromByteOffset: blk + 2, as: UInt16.self).littleEndian)
                        } else {
                            mn[r * nb + b] = -8 * d
                        }
                        (dstBase + (r * nb + b) * 16).copyMemory(from: src + blk + headerBytes, byteCount: 16)
                    }
                }
            }
            self.init(kind: .nibbles, rows: rows, cols: cols, scales: sc, mins: mn, quants: q)
        case .q8_0:
            var sc = [Float](repeating: 0, count: rows * nb)
            var mn = [Float](repeating: 0, count: rows * nb)
            var q = [UInt8](repeating: 0, count: rows * cols)
            guard let src = raw.baseAddress else { throw EngineError.invalidModel(path: gguf.path, reason: "tensor \(name) is empty") }
            q.withUnsafeMutableBytes { qDst in
                guard let dstBase = qDst.baseAddress else { return }
                for r in 0 ..< rows {
                    let srcRow = order[r]
                    for b in 0 ..< nb {
                        let blk = (srcRow * nb + b) * 34
                        let d = HalfFloat.toFloat(raw.loadUnaligned(fromByteOffset: blk, as: UInt16.self).littleEndian)
                        sc[r * nb + b] = d
                        mn[r * nb + b] = -128 * d
                        let dst = dstBase + (r * nb + b) * 32
                        for j in 0 ..< 32 { dst.storeBytes(of: src.load(fromByteOffset: blk + 2 + j, as: UInt8.self) ^ 0x80, toByteOffset: j, as: UInt8.self) }
                    }
                }
            }
            self.init(kind: .bytes, rows: rows, cols: cols, scales: sc, mins: mn, quants: q)
        case .f32, .f16, .bf16:
            let values = try gguf.dequantize(name)
            self.init(floats: values, rows: rows, cols: cols, rowOrder: order)
        }
    }

    /// Quantizes a float matrix [rows, cols] to symmetric 8-bit blocks (scale = max|x| / 127).
    init(floats: [Float], rows: Int, cols: Int, rowOrder: [Int]? = nil) {
        kind = .bytes
        self.rows = rows
        self.cols = cols
        let nb = cols / 32
        var sc = [Float](repeating: 0, count: rows * nb)
        var mn = [Float](repeating: 0, count: rows * nb)
        var q = [UInt8](repeating: 0, count: rows * cols)
        for r in 0 ..< rows {
            let src = rowOrder?[r] ?? r
            for b in 0 ..< nb {
                let base = src * cols + b * 32
                var amax: Float = 0
                for j in 0 ..< 32 { amax = max(amax, abs(floats[base + j])) }
                let d = amax / 127
                sc[r * nb + b] = d
                mn[r * nb + b] = -128 * d
                let inv: Float = d > 0 ? 1 / d : 0
                for j in 0 ..< 32 {
                    let v = (floats[base + j] * inv).rounded().clamped(to: -127 ... 127)
                    q[r * cols + b * 32 + j] = UInt8(Int(v) + 128)
                }
            }
        }
        scales = sc; mins = mn; quants = q
    }

    /// The values of row `r` as Float (for tests and the reference kernel).
    func dequantizedRow(_ r: Int) -> [Float] {
        let nb = blocksPerRow
        var out = [Float](repeating: 0, count: cols)
        for b in 0 ..< nb {
            let d = scales[r * nb + b]
            switch kind {
            case .nibbles:
                let m = mins[r * nb + b]
                for j in 0 ..< 16 {
                    let byte = quants[(r * nb + b) * 16 + j]
                    out[b * 32 + j] = Float(byte & 0x0F) * d + m
                    out[b * 32 + j + 16] = Float(byte >> 4) * d + m
                }
            case .bytes:
                let m = mins[r * nb + b]
                for j in 0 ..< 32 { out[b * 32 + j] = Float(quants[r * cols + b * 32 + j]) * d + m }
            }
        }
        return out
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
