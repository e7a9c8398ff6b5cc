/// Why a deflate stream could not be decoded.
public enum InflateError: Error, CustomStringConvertible, Equatable {
    case truncated(bit: Int)
    case invalid(String, bit: Int)
    case sizeMismatch(expected: Int, found: Int)

    public var description: String {
        switch self {
        case let .truncated(b): return "stream ends early (at bit \(b))"
        case let .invalid(w, b): return "\(w) (at bit \(b))"
        case let .sizeMismatch(e, f):
            return f < 0 ? "the archive claims \(e) bytes, more than its compressed data can hold" : "inflates to \(f) bytes, the archive says \(e)"
        }
    }
}

/// A raw DEFLATE (RFC 1951) decoder for zip members: stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// Every read is bounds-checked; the output may not grow past `expectedSize` (so a hostile stream cannot
/// exhaust memory) and must end exactly there.
public enum Inflate {
    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                                  4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// A canonical Huffman code: symbol counts per length and symbols sorted by code.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int], bit: Int) throws {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1 ... 15 {
                left <<= 1
                left -= counts[len]
                guard left >= 0 else { throw InflateError.invalid("over-subscribed Huffman code", bit: bit) }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1 ..< 15 { offsets[len + 1] = offsets[len] + counts[len] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (s, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = s
                offsets[l] += 1
            }
        }
    }

    struct Bits {
        let data: UnsafeRawBufferPointer
        var position = 0  // in bits

        mutating func bit() throws -> Int {
            let byte = position >> 3
            guard byte < data.count else { throw InflateError.truncated(bit: position) }
            let b = Int(data[byte] >> UInt8(position & 7)) & 1
            position += 1
            return b
        }

        mutating func bits(_ n: Int) throws -> Int {
            var v = 0
            for i in 0 ..< n { v |= try bit() << i }
            return v
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1 ... 15 {
                code |= try bit()
                let count = h.counts[len]
                if code - count < first { return h.symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw InflateError.invalid("no Huffman code matches", bit: position)
        }
    }

    /// Inflates `input` into exactly `expectedSize` bytes.
    public static func inflate(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        // Deflate expands at most 258 bytes per bit pair, ~1032:1: a larger claim is corrupt (and not allocated).
        guard expectedSize >= 0, expectedSize <= input.count.multipliedReportingOverflow(by: 1032).partialValue + 1024 else {
            throw InflateError.sizeMismatch(expected: expectedSize, found: -1)
        }
        var out = [UInt8]()
        out.reserveCapacity(expectedSize)
        var s = Bits(data: input)
        var last = 0
        repeat {
            last = try s.bit()
            let type = try s.bits(2)
            switch type {
            case 0:
                s.position = (s.position + 7) & ~7
                let byte = s.position >> 3
                guard byte + 4 <= input.count else { throw InflateError.truncated(bit: s.position) }
                let len = Int(input[byte]) | Int(input[byte + 1]) << 8
                let nlen = Int(input[byte + 2]) | Int(input[byte + 3]) << 8
                guard len == (~nlen & 0xFFFF) else { throw InflateError.invalid("stored block length check fails", bit: s.position) }
                guard byte + 4 + len <= input.count else { throw InflateError.truncated(bit: s.position) }
                guard out.count + len <= expectedSize else { throw InflateError.sizeMismatch(expected: expectedSize, found: out.count + len) }
                out.append(contentsOf: input[(byte + 4) ..< (byte + 4 + len)])
                s.position = (byte + 4 + len) * 8
            case 1:
                var lengths = [Int](repeating: 8, count: 288)
                for i in 144 ..< 256 { lengths[i] = 9 }
                for i in 256 ..< 280 { lengths[i] = 7 }
                let lit = try Huffman(lengths: lengths, bit: s.position)
                let dist = try Huffman(lengths: [Int](repeating: 5, count: 30), bit: s.position)
                try codes(&s, &out, lit, dist, expectedSize)
            case 2:
                let nlen = try s.bits(5) + 257, ndist = try s.bits(5) + 1, ncode = try s.bits(4) + 4
                guard nlen <= 286, ndist <= 30 else { throw InflateError.invalid("too many length or distance codes", bit: s.position) }
                var cl = [Int](repeating: 0, count: 19)
                for i in 0 ..< ncode { cl[codeLengthOrder[i]] = try s.bits(3) }
                let clCode = try Huffman(lengths: cl, bit: s.position)
                var lengths: [Int] = []
                while lengths.count < nlen + ndist {
                    let sym = try s.decode(clCode)
                    switch sym {
                    case 0 ..< 16: lengths.append(sym)
                    case 16:
                        guard let prev = lengths.last else { throw InflateError.invalid("repeat with no previous length", bit: s.position) }
                        lengths += [Int](repeating: prev, count: 3 + (try s.bits(2)))
                    case 17: lengths += [Int](repeating: 0, count: 3 + (try s.bits(3)))
                    default: lengths += [Int](repeating: 0, count: 11 + (try s.bits(7)))
                    }
                }
                guard lengths.count == nlen + ndist else { throw InflateError.invalid("code lengths overrun", bit: s.position) }
                guard lengths[256] != 0 else { throw InflateError.invalid("no end-of-block code", bit: s.position) }
                let lit = try Huffman(lengths: Array(lengths[0 ..< nlen]), bit: s.position)
                let dist = try Huffman(lengths: Array(lengths[nlen...]), bit: s.position)
                try codes(&s, &out, lit, dist, expectedSize)
            default:
                throw InflateError.invalid("block type 3", bit: s.position)
            }
        } while last == 0
        guard out.count == expectedSize else { throw InflateError.sizeMismatch(expected: expectedSize, found: out.count) }
        return out
    }

    private static func codes(_ s: inout Bits, _ out: inout [UInt8], _ lit: Huffman, _ dist: Huffman, _ limit: Int) throws {
        while true {
            let sym = try s.decode(lit)
            if sym < 256 {
                guard out.count < limit else { throw InflateError.sizeMismatch(expected: limit, found: out.count + 1) }
                out.append(UInt8(sym))
            } else if sym == 256 {
                return
            } else {
                let li = sym - 257
                guard li < 29 else { throw InflateError.invalid("length symbol \(sym)", bit: s.position) }
                let length = lengthBase[li] + (try s.bits(lengthExtra[li]))
                let di = try s.decode(dist)
                guard di < 30 else { throw InflateError.invalid("distance symbol \(di)", bit: s.position) }
                let distance = distBase[di] + (try s.bits(distExtra[di]))
                guard distance <= out.count else { throw InflateError.invalid("distance \(distance) reaches before the start", bit: s.position) }
                guard out.count + length <= limit else { throw InflateError.sizeMismatch(expected: limit, found: out.count + length) }
                let start = out.count - distance
                for i in 0 ..< length { out.append(out[start + i]) }
            }
        }
    }
}
