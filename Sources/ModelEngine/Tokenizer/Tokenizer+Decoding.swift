extension Tokenizer {
    /// Whether `id` names a vocabulary entry.
    @inline(__always)
    public func isValid(_ id: Int32) -> Bool { id >= 0 && Int(id) < vocabSize }

    /// The raw vocabulary string of a token (byte-level alphabet: `Ġ` = space), nil for a bad id.
    public func tokenString(_ id: Int32) -> String? { isValid(id) ? tokens[Int(id)] : nil }

    /// The id of a raw vocabulary string (`"Ġthe"`, `"<|im_end|>"`), if it is one.
    public func id(of piece: String) -> Int32? { idByString[piece] }

    /// The type of a token, nil for a bad id.
    public func tokenType(_ id: Int32) -> TokenType? { isValid(id) ? types[Int(id)] : nil }

    /// Whether the token is a control token (`<|im_start|>`, `<|endoftext|>`…).
    public func isControl(_ id: Int32) -> Bool { tokenType(id) == .control }

    /// The bytes a token stands for (special tokens: their text); empty for a bad id.
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard isValid(id) else { return [] }
        return Array(pieceBytes[pieceStart[Int(id)] ..< pieceStart[Int(id) + 1]])
    }

    /// The text of a token sequence: the tokens' bytes joined, then decoded as UTF-8
    /// (invalid sequences become U+FFFD). Special tokens give their text unless
    /// `skipSpecial`; bad ids are skipped.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        // A Metaspace decoder drops the space of a first token that starts with `▁`.
        var stripFirstSpace = options.prependScheme != nil && options.prependScheme != .never
        pieceBytes.withUnsafeBufferPointer { pb in
            for id in ids where isValid(id) {
                let i = Int(id)
                if skipSpecial {
                    let t = types[i]
                    if t == .control || t == .unknown { continue }
                }
                var start = pieceStart[i]
                if stripFirstSpace && types[i] == .normal && tokens[i].hasPrefix("▁") { start += 1 }
                stripFirstSpace = false
                bytes.append(contentsOf: pb[start ..< pieceStart[i + 1]])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A token as a person should see it: its bytes as UTF-8, bytes that do not form a
    /// complete character shown as `<0xE2>`, and with `showWhitespace` spaces, newlines
    /// and tabs shown as `·`, `↵`, `⇥`. Control tokens show their text. Not sanitised:
    /// pass the result through `SafeText` before printing.
    public func displayString(_ id: Int32, showWhitespace: Bool = false) -> String {
        guard isValid(id) else { return "<bad id \(id)>" }
        let i = Int(id)
        if types[i] == .unused { return tokens[i] }
        return Self.displayString(bytes: pieceBytes[pieceStart[i] ..< pieceStart[i + 1]], showWhitespace: showWhitespace)
    }

    /// Renders bytes as in `displayString(_:showWhitespace:)`.
    public static func displayString(bytes: ArraySlice<UInt8>, showWhitespace: Bool) -> String {
        var out = String.UnicodeScalarView()
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if let (scalar, length) = decodeScalar(bytes, at: i) {
                if showWhitespace {
                    switch scalar.value {
                    case 0x20: out.append("·")
                    case 0x0A: out.append("↵")
                    case 0x09: out.append("⇥")
                    default: out.append(scalar)
                    }
                } else {
                    out.append(scalar)
                }
                i += length
            } else {
                let hex = String(bytes[i], radix: 16, uppercase: true)
                out.append(contentsOf: "<0x\(hex.count == 1 ? "0" + hex : hex)>".unicodeScalars)
                i += 1
            }
        }
        return String(out)
    }

    /// The well-formed UTF-8 scalar starting at `i` and its length, or nil.
    static func decodeScalar(_ b: ArraySlice<UInt8>, at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = b[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let length: Int
        var value: UInt32
        var minValue: UInt32
        switch b0 {
        case 0xC2...0xDF: length = 2; value = UInt32(b0 & 0x1F); minValue = 0x80
        case 0xE0...0xEF: length = 3; value = UInt32(b0 & 0x0F); minValue = 0x800
        case 0xF0...0xF4: length = 4; value = UInt32(b0 & 0x07); minValue = 0x1_0000
        default: return nil
        }
        guard i + length <= b.endIndex else { return nil }
        for k in 1 ..< length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minValue, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}
