/// The character classes the pre-tokenizer distinguishes, as llama.cpp's
/// `unicode_cpt_flags` does for its GPT-2 splitter.
///
/// Every code point belongs to exactly one class: letters (`\p{L}`), numbers
/// (`\p{N}`), white space (Unicode's White_Space property, llama.cpp's
/// `unicode_set_whitespace`: the same 25 code points) and everything else.
enum ScalarClass: UInt8 {
    case other = 1
    case letter = 2
    case number = 3
    case whitespace = 4
    /// Past the end of the current segment (llama.cpp's empty flags).
    case outOfRange = 0

    /// The class of `value` (a Unicode scalar value).
    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        if value < 0x1_0000 {
            return ScalarClass(rawValue: bmpTable[Int(value)]) ?? .other
        }
        return compute(value)
    }

    /// The class from the Unicode character database.
    static func compute(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return .other }
        if isWhiteSpace(value) { return .whitespace }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Unicode White_Space (PropList.txt), the set llama.cpp treats as `\s`.
    static func isWhiteSpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Classes of the Basic Multilingual Plane, computed once (surrogates count as `other`).
    static let bmpTable: [UInt8] = {
        var table = [UInt8](repeating: ScalarClass.other.rawValue, count: 0x1_0000)
        for v in 0 ..< UInt32(0x1_0000) where !(0xD800...0xDFFF).contains(v) {
            table[Int(v)] = compute(v).rawValue
        }
        return table
    }()
}
