/// GPT-2's byte-level alphabet: every byte is shown as a printable Unicode scalar, so
/// vocabulary strings never contain spaces or control characters (`Ġ` = space, `Ċ` = newline).
///
/// Bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` map to themselves; the other 68 bytes map, in
/// increasing order, to U+0100, U+0101, …
enum ByteLevelAlphabet {
    /// The scalar value standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 0
        for b in 0 ..< 256 {
            if isSelfMapped(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + extra
                extra += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil when the scalar is not in the alphabet.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 { return isSelfMapped(Int(scalar)) ? UInt8(scalar) : nil }
        return byteForExtra[Int(scalar)]
    }

    /// The vocabulary string of a byte sequence.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if let u = Unicode.Scalar(scalarForByte[Int(b)]) { s.append(u) }
        }
        return String(s)
    }

    private static func isSelfMapped(_ b: Int) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    private static let byteForExtra: [Int: UInt8] = {
        var map: [Int: UInt8] = [:]
        for b in 0 ..< 256 where scalarForByte[b] >= 256 { map[Int(scalarForByte[b])] = UInt8(b) }
        return map
    }()
}
