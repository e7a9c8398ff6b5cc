import Foundation

/// Display strings for a tokenizer's vocabulary.
public enum DisplayStrings {
    /// GPT-2 byte-level alphabet: the printable character standing for each byte.
    static let byteToChar: [Unicode.Scalar] = {
        var bs: [Int] = Array(33 ... 126) + Array(161 ... 172) + Array(174 ... 255)
        var cs = bs
        var n = 0
        for b in 0 ..< 256 where !bs.contains(b) {
            bs.append(b); cs.append(256 + n); n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()

    static let charToByte: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { m[c.value] = UInt8(b) }
        return m
    }()

    /// Decodes byte-level BPE tokens (`Ġ` = space, `Ċ` = newline) to what they stand for: UTF-8 text where the
    /// bytes are valid UTF-8, `\xNN` for bytes that are not. Tokens with characters outside the byte alphabet
    /// (control tokens such as `<|im_start|>`) are kept as they are.
    public static func fromByteLevel(_ tokens: [String]) -> [[UInt8]] {
        tokens.map { token in
            var bytes: [UInt8] = []
            for s in token.unicodeScalars {
                guard let b = charToByte[s.value] else { return Array(token.utf8) }
                bytes.append(b)
            }
            return escapeInvalidUTF8(bytes)
        }
    }

    /// Token ids as strings (`⟨123⟩`), when no vocabulary is available.
    public static func tokenIDs(count: Int) -> [[UInt8]] {
        (0 ..< count).map { Array("⟨\($0)⟩".utf8) }
    }

    /// Valid UTF-8 sequences kept, every other byte written as `\xNN`.
    public static func escapeInvalidUTF8(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = validSequenceLength(bytes, i)
            if n > 0 {
                out.append(contentsOf: bytes[i ..< i + n]); i += n
            } else {
                out.append(contentsOf: Array(String(format: "\\x%02X", bytes[i]).utf8)); i += 1
            }
        }
        return out
    }

    /// Length of the valid UTF-8 sequence starting at `i`, or 0.
    private static func validSequenceLength(_ b: [UInt8], _ i: Int) -> Int {
        let c = b[i]
        let (n, lo, hi): (Int, UInt8, UInt8)
        switch c {
        case 0x00 ... 0x7F: return 1
        case 0xC2 ... 0xDF: (n, lo, hi) = (2, 0x80, 0xBF)
        case 0xE0: (n, lo, hi) = (3, 0xA0, 0xBF)
        case 0xE1 ... 0xEC, 0xEE ... 0xEF: (n, lo, hi) = (3, 0x80, 0xBF)
        case 0xED: (n, lo, hi) = (3, 0x80, 0x9F)
        case 0xF0: (n, lo, hi) = (4, 0x90, 0xBF)
        case 0xF1 ... 0xF3: (n, lo, hi) = (4, 0x80, 0xBF)
        case 0xF4: (n, lo, hi) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard i + n <= b.count else { return 0 }
        guard b[i + 1] >= lo, b[i + 1] <= hi else { return 0 }
        for k in 2 ..< n where b[i + k] < 0x80 || b[i + k] > 0xBF { return 0 }
        return n
    }
}
