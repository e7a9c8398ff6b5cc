import Foundation
import TensorFormats

/// A weight matrix kept in 32-value blocks for the memory-bound single-token step.
///
/// The GGUF blocks are repacked once at load into separate arrays (scales and minimums as Float,
/// quants packed) so the kernel needs no f16 conversion. Every type becomes value = u·scale + min per
/// 32 values with unsigned levels u, exactly: Q4_0/Q4_1 and Q4_K (per 32-value sub-block: d·sc, −dmin·m)
/// stay 4-bit; Q5_0/Q5_1/Q5_K (5-bit levels) and Q8_0 (offset by 128) use the 8-bit form (unsigned lanes
/// widen to Float in a few vector instructions, signed ones did not vectorize). Float tensors and Q6_K
/// (two scales per 32 values) are quantized to the 8-bit form (approximate).
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

    /// Repacks `matrix` (any stored type) into the block form.
    init(_ matrix: WeightMatrix) throws {
        let cols = matrix.cols
        let rows = matrix.rows
        guard cols % 32 == 0 else {
            throw EngineError.invalidModel(path: "", reason: "matrix row length \(cols) is not a multiple of 32")
        }
        let type = matrix.type
        if type.isFloat || type == .q6_K {
            // No exact 32-value block form: quantize the decoded values to 8 bits (approximate).
            self.init(floats: matrix.decoded(), rows: rows, cols: cols)
            return
        }
        let nb = cols / 32
        let kind: Kind = (type == .q4_0 || type == .q4_1 || type == .q4_K) ? .nibbles : .bytes
        var sc = [Float](repeating: 0, count: rows * nb)
        var mn = [Float](repeating: 0, count: rows * nb)
        var q = [UInt8](repeating: 0, count: kind == .nibbles ? rows * nb * 16 : rows * cols)
        var levels = [UInt8](repeating: 0, count: 256)
        for r in 0 ..< rows {
            let rowBase = matrix.rowPointer(r)
            for b in 0 ..< nb {
                let (d, m): (Float, Float)
                if type.blockSize == 32 {
                    (d, m) = GGMLDequantize.legacyBlock(type, rowBase + b * type.blockBytes, into: &levels)
                } else {
                    (d, m) = GGMLDequantize.kSubblock(type, rowBase + (b / 8) * type.blockBytes, index: b % 8, into: &levels)
                }
                sc[r * nb + b] = d
                mn[r * nb + b] = m
                if kind == .nibbles {
                    let base = (r * nb + b) * 16
                    for j in 0 ..< 16 { q[base + j] = levels[j] | (levels[j + 16] << 4) }
                } else {
                    let base = r * cols + b * 32
                    for j in 0 ..< 32 { q[base + j] = levels[j] }
                }
            }
        }
        self.init(kind: kind, rows: rows, cols: cols, scales: sc, mins: mn, quants: q)
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
