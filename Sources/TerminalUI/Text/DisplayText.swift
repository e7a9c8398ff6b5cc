import FeaturescopeCore

/// One grapheme cluster ready for a terminal cell: sanitised text and its display width (0, 1 or 2).
public struct DisplayGlyph: Hashable, Sendable {
    public var text: String
    public var width: Int
}

/// The single way text reaches the screen: sanitises untrusted strings and measures display width.
///
/// Every string drawn by a view passes through `glyphs(_:options:)` (usually via `Screen.write`),
/// so control characters and escape sequences from data become visible symbols, and widths of
/// grapheme clusters are known: CJK and emoji take 2 columns, combining marks 0.
public enum DisplayText {
    /// The truncation mark appended when text does not fit.
    public static let ellipsis = "…"

    /// Splits `text` into sanitised display glyphs.
    ///
    /// Zero-width clusters (a lone combining mark) are merged into the previous glyph
    /// or dropped at the start, so every glyph is 1 or 2 columns wide.
    public static func glyphs(_ text: String, options: SafeText.Options = SafeText.Options()) -> [DisplayGlyph] {
        var out: [DisplayGlyph] = []
        out.reserveCapacity(text.utf8.count)
        let clean = needsSanitising(text, options: options) ? SafeText.sanitize(text, options: options) : text
        for ch in clean {
            let w = width(of: ch)
            if w == 0 {
                if !out.isEmpty { out[out.count - 1].text.append(ch) }
                continue
            }
            out.append(DisplayGlyph(text: String(ch), width: w))
        }
        return out
    }

    /// Display width of `text` after sanitising.
    public static func width(_ text: String, options: SafeText.Options = SafeText.Options()) -> Int {
        if isPlainASCII(text, options: options) { return text.utf8.count }
        return glyphs(text, options: options).reduce(0) { $0 + $1.width }
    }

    /// Sanitises `text` and cuts it to at most `width` columns, ending with `…` when cut.
    public static func truncate(_ text: String, width maxWidth: Int,
                                options: SafeText.Options = SafeText.Options()) -> String {
        guard maxWidth > 0 else { return "" }
        if isPlainASCII(text, options: options) && text.utf8.count <= maxWidth { return text }
        let gs = glyphs(text, options: options)
        let total = gs.reduce(0) { $0 + $1.width }
        if total <= maxWidth { return gs.map(\.text).joined() }
        var out = ""
        var used = 0
        for g in gs {
            if used + g.width > maxWidth - 1 { break }
            out += g.text
            used += g.width
        }
        return out + ellipsis
    }

    /// Pads (or truncates) to exactly `width` columns; `alignRight` pads on the left.
    public static func fit(_ text: String, width: Int, alignRight: Bool = false) -> String {
        let t = truncate(text, width: width)
        let pad = max(0, width - self.width(t))
        let spaces = String(repeating: " ", count: pad)
        return alignRight ? spaces + t : t + spaces
    }

    /// Display width of one grapheme cluster: 0 for combining marks alone, 2 for wide (CJK, emoji), else 1.
    public static func width(of ch: Character) -> Int {
        let scalars = ch.unicodeScalars
        guard let first = scalars.first else { return 0 }
        let v = first.value
        if v < 0x300 { return 1 }  // Latin; controls were replaced by visible symbols already
        let props = first.properties
        switch props.generalCategory {
        case .nonspacingMark, .enclosingMark:
            return 0
        default: break
        }
        if isWide(v) { return 2 }
        if props.isEmojiPresentation { return 2 }
        // Text-default emoji followed by VS16 (U+FE0F) are shown as emoji: 2 columns.
        if props.isEmoji && scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        // Regional-indicator pairs (flags).
        if (0x1F1E6...0x1F1FF).contains(v) { return 2 }
        return 1
    }

    /// East Asian Wide / Fullwidth blocks (a compact subset of Unicode's EastAsianWidth W/F classes).
    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
             0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// True when every byte is printable ASCII and the options keep spaces as spaces.
    static func isPlainASCII(_ text: String, options: SafeText.Options) -> Bool {
        for b in text.utf8 {
            if b < 0x20 || b >= 0x7F { return false }
            if b == 0x20 && options.showSpaces { return false }
        }
        return true
    }

    static func needsSanitising(_ text: String, options: SafeText.Options) -> Bool {
        for s in text.unicodeScalars {
            let v = s.value
            if v < 0x20 || (v >= 0x7F && v < 0xA0) || v == 0xFFFD || (0x200B...0x200F).contains(v)
                || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0xFEFF {
                return true
            }
            if v == 0x20 && options.showSpaces { return true }
        }
        return false
    }
}
