/// Makes untrusted text (tokens, explanations, LLM replies) safe to print.
///
/// Control characters, escape sequences and other invisible code points are
/// replaced by visible symbols, so nothing from data can reach the terminal as
/// a command.
public enum SafeText {
    /// Visible stand-ins for whitespace and control characters.
    public struct Options: Sendable {
        /// Show spaces as `·` (used where whitespace must be visible).
        public var showSpaces: Bool
        /// Show newlines as `↵` (otherwise newlines become `↵` anyway in single-line mode).
        public var showNewlines: Bool
        public init(showSpaces: Bool = false, showNewlines: Bool = true) {
            self.showSpaces = showSpaces
            self.showNewlines = showNewlines
        }
    }

    /// Returns `text` with every control or format character replaced by a visible symbol, and any
    /// registered secret (`SecretRedaction`) replaced by `<redacted>`.
    public static func sanitize(_ text: String, options: Options = Options()) -> String {
        var out = String.UnicodeScalarView()
        for s in SecretRedaction.redact(text).unicodeScalars {
            out.append(contentsOf: visible(s, options: options).unicodeScalars)
        }
        return String(out)
    }

    /// The visible replacement of one scalar (the scalar itself when it is printable).
    public static func visible(_ s: Unicode.Scalar, options: Options = Options()) -> String {
        switch s.value {
        case 0x0A: return options.showNewlines ? "↵" : " "
        case 0x09: return "⇥"
        case 0x0D: return "␍"
        case 0x1B: return "␛"
        case 0x20: return options.showSpaces ? "·" : " "
        case 0x00..<0x20: return String(Unicode.Scalar(0x2400 + s.value)!)  // ␀ … ␟
        case 0x7F: return "␡"
        case 0x80..<0xA0: return "�"  // C1 controls (CSI, OSC…)
        case 0xFFFD: return "�"
        case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return "�"  // bidi/zero-width
        default: return String(s)
        }
    }
}
